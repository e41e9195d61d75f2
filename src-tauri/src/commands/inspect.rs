//! Health and storage, in the server's shapes.

use backupdesk_core::clock::SystemClock;
use backupdesk_core::health::{HealthReport, StorageReport};

use crate::error::CommandResult;
use crate::state;

/// Integrity, foreign-key errors, tables with row counts.
#[tauri::command(async)]
pub fn database_health(profile: String) -> CommandResult<HealthReport> {
    Ok(state::open(&profile)?.get().health(&SystemClock)?)
}

/// Database, backups and data folder sizes.
#[tauri::command(async)]
pub fn storage_report(profile: String) -> CommandResult<StorageReport> {
    Ok(state::open(&profile)?.get().storage()?)
}
