//! The fleet overview.

use backupdesk_core::clock::SystemClock;
use backupdesk_core::fleet::{self, FleetTile};

use crate::error::CommandResult;
use crate::state;

/// One tile per profile, problems first.
#[tauri::command(async)]
pub fn fleet_overview() -> CommandResult<Vec<FleetTile>> {
    Ok(fleet::overview(&state::book()?, &SystemClock))
}
