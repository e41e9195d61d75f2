//! The fleet overview.

use backupdesk_core::clock::SystemClock;
use backupdesk_core::fleet::{self, FleetTile};
use backupdesk_core::service::profiles;

use crate::error::{CommandResult, blocking};

/// One tile per profile, problems first.
#[tauri::command]
pub async fn fleet_overview() -> CommandResult<Vec<FleetTile>> {
    blocking(move || Ok(fleet::overview(&profiles::book()?, &SystemClock))).await
}
