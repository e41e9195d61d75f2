//! The backup history and its actions: back up now, verify, pin, delete.

use backupdesk_core::catalog::ListItem;
use backupdesk_core::clock::SystemClock;
use backupdesk_core::ledger::VerifyDepth;
use backupdesk_core::target::BackupSummary;
use backupdesk_core::verify::{self, VerifyReport};
use tauri::State;
use tauri::ipc::Channel;

use crate::error::CommandResult;
use crate::progress::{ChannelProgress, ProgressEvent};
use crate::state::{self, Operations};

/// The profile's backups, newest first.
#[tauri::command(async)]
pub fn list_backups(profile: String) -> CommandResult<Vec<ListItem>> {
    Ok(state::open(&profile)?.get().list()?)
}

/// Makes a backup now (operation `op`, cancellable: a cancelled backup
/// leaves nothing behind).
#[tauri::command(async)]
pub fn backup_now(
    profile: String,
    op: String,
    on_progress: Channel<ProgressEvent>,
    operations: State<'_, Operations>,
) -> CommandResult<BackupSummary> {
    let progress = ChannelProgress::new(on_progress, operations.begin(&op));
    let result = state::open(&profile).and_then(|target| {
        Ok(target
            .get()
            .backup(
                &state::passphrase(&profile)?,
                &state::backup_options(&profile)?,
                &SystemClock,
                &progress,
            )?
            .summary())
    });
    operations.end(&op);
    result
}

/// Verifies a local backup, quick (decrypt and checksum) or deep (plus
/// SQLite's checks on a staged copy); recorded in the ledger either way.
#[tauri::command(async)]
pub fn verify_backup(
    profile: String,
    name: String,
    deep: bool,
    op: String,
    on_progress: Channel<ProgressEvent>,
    operations: State<'_, Operations>,
) -> CommandResult<VerifyReport> {
    let progress = ChannelProgress::new(on_progress, operations.begin(&op));
    let depth = if deep { VerifyDepth::Deep } else { VerifyDepth::Quick };
    let result = state::local_data(&profile).and_then(|data| {
        Ok(verify::verify(
            &data,
            &name,
            &state::passphrase(&profile)?,
            depth,
            &SystemClock,
            &progress,
        )?)
    });
    operations.end(&op);
    result
}

/// Pins or unpins a local backup (retention never deletes a pinned one).
#[tauri::command(async)]
pub fn set_pinned(profile: String, name: String, pinned: bool) -> CommandResult<()> {
    state::pin(&profile, &name, pinned)
}

/// Deletes a backup (and its `.meta`).
#[tauri::command(async)]
pub fn delete_backup(profile: String, name: String) -> CommandResult<()> {
    Ok(state::open(&profile)?.get().delete(&name)?)
}
