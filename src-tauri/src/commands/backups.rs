//! The backup history and its actions: back up now, verify, pin, delete.

use backupdesk_core::local::catalog::ListItem;
use backupdesk_core::local::drill::DrillReport;
use backupdesk_core::local::ledger::VerifyDepth;
use backupdesk_core::local::verify::VerifyReport;
use backupdesk_core::service::backups::{self, BackupSummary};
use backupdesk_core::service::drills;
use backupdesk_core::service::{Selection, StoredPassphrase};
use tauri::State;
use tauri::ipc::Channel;

use crate::error::{CommandResult, in_context, operation};
use crate::progress::ProgressEvent;
use crate::state::{Operations, Session};

/// The profile's backups, newest first.
#[tauri::command]
pub async fn list_backups(profile: String) -> CommandResult<Vec<ListItem>> {
    in_context(move |ctx| Ok(backups::list(&Selection::profile(&profile, ctx)?)?)).await
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
    operation(&operations, op, on_progress, move |ctx| {
        let selection = Selection::profile(&profile, ctx)?;
        Ok(backups::backup(
            &selection,
            &StoredPassphrase::new(&selection, ctx).with_session(&session.0),
            &Default::default(),
            ctx,
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
    operation(&operations, op, on_progress, move |ctx| {
        let selection = Selection::profile(&profile, ctx)?;
        Ok(backups::verify(
            &selection,
            &name,
            &StoredPassphrase::new(&selection, ctx).with_session(&session.0),
            depth,
            ctx,
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
    operation(&operations, op, on_progress, move |ctx| {
        let selection = Selection::profile(&profile, ctx)?;
        Ok(drills::drill(
            &selection,
            name.as_deref(),
            &StoredPassphrase::new(&selection, ctx).with_session(&session.0),
            ctx,
        )?)
    })
    .await
}

/// Pins or unpins a local backup (retention never deletes a pinned one).
#[tauri::command]
pub async fn set_pinned(profile: String, name: String, pinned: bool) -> CommandResult<()> {
    in_context(move |ctx| {
        Ok(backups::set_pinned(
            &Selection::profile(&profile, ctx)?,
            &name,
            pinned,
        )?)
    })
    .await
}

/// Deletes a backup (and its `.meta`).
#[tauri::command]
pub async fn delete_backup(profile: String, name: String) -> CommandResult<()> {
    in_context(move |ctx| {
        Ok(backups::delete(
            &Selection::profile(&profile, ctx)?,
            &name,
            ctx,
        )?)
    })
    .await
}
