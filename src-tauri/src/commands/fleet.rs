//! The fleet overview.

use backupdesk_core::clock::SystemClock;
use backupdesk_core::fleet::{self, FleetTile};

use crate::error::{CommandResult, blocking};
use crate::state;

/// One tile per profile, problems first.
#[tauri::command]
pub async fn fleet_overview() -> CommandResult<Vec<FleetTile>> {
    blocking(move || Ok(fleet::overview(&state::book()?, &SystemClock))).await
}
