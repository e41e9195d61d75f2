//! Health and storage, in the server's shapes; the activity log.

use backupdesk_core::clock::SystemClock;
use backupdesk_core::health::{HealthReport, StorageReport};
use backupdesk_core::service::{Selection, inspect};

use crate::error::{CommandResult, blocking};

/// Integrity, foreign-key errors, tables with row counts.
#[tauri::command]
pub async fn database_health(profile: String) -> CommandResult<HealthReport> {
    blocking(move || {
        Ok(inspect::health(
            &Selection::profile(&profile)?,
            &SystemClock,
        )?)
    })
    .await
}

/// Database, backups and data folder sizes.
#[tauri::command]
pub async fn storage_report(profile: String) -> CommandResult<StorageReport> {
    blocking(move || Ok(inspect::storage(&Selection::profile(&profile)?)?)).await
}

/// What happened to the installation, newest first (its logs, filtered).
#[tauri::command]
pub async fn activity(
    profile: String,
    query: backupdesk_core::model::ActivityQuery,
) -> CommandResult<backupdesk_core::model::ActivityPage> {
    blocking(move || {
        Ok(backupdesk_core::service::activity::read(
            &Selection::profile(&profile)?,
            &query,
        )?)
    })
    .await
}
