//! Health and storage, in the server's shapes.

use backupdesk_core::clock::SystemClock;
use backupdesk_core::health::{HealthReport, StorageReport};
use backupdesk_core::service::Selection;

use crate::error::{CommandResult, blocking};

/// Integrity, foreign-key errors, tables with row counts.
#[tauri::command]
pub async fn database_health(profile: String) -> CommandResult<HealthReport> {
    blocking(move || {
        Ok(Selection::profile(&profile)?
            .target()
            .health(&SystemClock)?)
    })
    .await
}

/// Database, backups and data folder sizes.
#[tauri::command]
pub async fn storage_report(profile: String) -> CommandResult<StorageReport> {
    blocking(move || Ok(Selection::profile(&profile)?.target().storage()?)).await
}
