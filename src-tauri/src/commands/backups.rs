//! The backup history and its actions: back up now, verify, pin, delete.

use backupdesk_core::catalog::ListItem;
use backupdesk_core::clock::SystemClock;
use backupdesk_core::drill::DrillReport;
use backupdesk_core::ledger::VerifyDepth;
use backupdesk_core::service::backups::{self, BackupSummary};
use backupdesk_core::service::drills;
use backupdesk_core::service::{Selection, StoredPassphrase};
use backupdesk_core::verify::VerifyReport;
use tauri::State;
use tauri::ipc::Channel;

use crate::error::{CommandResult, blocking, operation};
use crate::progress::ProgressEvent;
use crate::state::{Operations, Session};

/// The profile's backups, newest first.
#[tauri::command]
pub async fn list_backups(profile: String) -> CommandResult<Vec<ListItem>> {
    blocking(move || Ok(backups::list(&Selection::profile(&profile)?)?)).await
}

/// Makes a backup now (operation `op`, cancellable: a cancelled backup
/// leaves nothing behind).
#[tauri::command]
pub async fn backup_now(
    profile: String,
    op: String,
    on_progress: Channel<ProgressEvent>,
    operations: State<'_, Operations>,
    session: State<'_, Session>,
) -> CommandResult<BackupSummary> {
    let session = session.inner().clone();
    operation(&operations, op, on_progress, move |progress| {
        let selection = Selection::profile(&profile)?;
        Ok(backups::backup(
            &selection,
            &StoredPassphrase::new(&selection).with_session(&session.0),
            &Default::default(),
            &SystemClock,
            progress,
        )?)
    })
    .await
}

/// Verifies a local backup, quick (decrypt and checksum) or deep (plus
/// SQLite's checks on a staged copy); recorded in the ledger either way.
#[tauri::command]
pub async fn verify_backup(
    profile: String,
    name: String,
    deep: bool,
    op: String,
    on_progress: Channel<ProgressEvent>,
    operations: State<'_, Operations>,
    session: State<'_, Session>,
) -> CommandResult<VerifyReport> {
    let session = session.inner().clone();
    let depth = if deep {
        VerifyDepth::Deep
    } else {
        VerifyDepth::Quick
    };
    operation(&operations, op, on_progress, move |progress| {
        let selection = Selection::profile(&profile)?;
        Ok(backups::verify(
            &selection,
            &name,
            &StoredPassphrase::new(&selection).with_session(&session.0),
            depth,
            &SystemClock,
            progress,
        )?)
    })
    .await
}

/// Runs a restore drill of `name` (by default the newest backup) into a
/// private scratch folder: the real restore sequence, checks, timing;
/// recorded, and never touching the live database (operation `op`).
#[tauri::command]
pub async fn drill_backup(
    profile: String,
    name: Option<String>,
    op: String,
    on_progress: Channel<ProgressEvent>,
    operations: State<'_, Operations>,
    session: State<'_, Session>,
) -> CommandResult<DrillReport> {
    let session = session.inner().clone();
    operation(&operations, op, on_progress, move |progress| {
        let selection = Selection::profile(&profile)?;
        Ok(drills::drill(
            &selection,
            name.as_deref(),
            &StoredPassphrase::new(&selection).with_session(&session.0),
            &SystemClock,
            progress,
        )?)
    })
    .await
}

/// Pins or unpins a local backup (retention never deletes a pinned one).
#[tauri::command]
pub async fn set_pinned(profile: String, name: String, pinned: bool) -> CommandResult<()> {
    blocking(move || {
        Ok(backups::set_pinned(
            &Selection::profile(&profile)?,
            &name,
            pinned,
        )?)
    })
    .await
}

/// Deletes a backup (and its `.meta`).
#[tauri::command]
pub async fn delete_backup(profile: String, name: String) -> CommandResult<()> {
    blocking(move || {
        Ok(backups::delete(
            &Selection::profile(&profile)?,
            &name,
            &SystemClock,
        )?)
    })
    .await
}
