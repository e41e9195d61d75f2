//! Health and storage, in the server's shapes; the activity log.

use backupdesk_core::local::health::{HealthReport, StorageReport};
use backupdesk_core::service::{Selection, inspect};

use crate::error::{CommandResult, in_context};

/// Integrity, foreign-key errors, tables with row counts.
#[tauri::command]
pub async fn database_health(profile: String) -> CommandResult<HealthReport> {
    in_context(move |ctx| Ok(inspect::health(&Selection::profile(&profile, ctx)?, ctx)?)).await
}

/// Database, backups and data folder sizes.
#[tauri::command]
pub async fn storage_report(profile: String) -> CommandResult<StorageReport> {
    in_context(move |ctx| Ok(inspect::storage(&Selection::profile(&profile, ctx)?)?)).await
}

/// What happened to the installation, newest first (its logs, filtered).
#[tauri::command]
pub async fn activity(
    profile: String,
    query: backupdesk_core::model::ActivityQuery,
) -> CommandResult<backupdesk_core::model::ActivityPage> {
    in_context(move |ctx| {
        Ok(backupdesk_core::service::activity::read(
            &Selection::profile(&profile, ctx)?,
            &query,
        )?)
    })
    .await
}
