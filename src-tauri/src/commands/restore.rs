//! The restore wizard's two steps: the plan (changes nothing) and the
//! restore itself (confirmed by typing the profile name).

use backupdesk_core::service::restore::ServiceCommands;
use backupdesk_core::service::{Selection, StoredPassphrase, profiles};
use backupdesk_core::targets::{RestoreDone, RestorePlanned};
use tauri::State;
use tauri::ipc::Channel;

use crate::error::{CommandResult, in_context, operation};
use crate::progress::ProgressEvent;
use crate::state::{Operations, Session};

/// What restoring `name` would do: row counts against live, age, the
/// safety backup, the service stopped and started (`service`, optional),
/// the remote safeguards.
#[tauri::command]
pub async fn plan_restore(
    profile: String,
    name: String,
    service: Option<ServiceCommands>,
    session: State<'_, Session>,
) -> CommandResult<RestorePlanned> {
    let session = session.inner().clone();
    in_context(move |ctx| {
        let selection = Selection::profile(&profile, ctx)?;
        Ok(backupdesk_core::service::restore::plan(
            &selection,
            &name,
            &StoredPassphrase::new(&selection, ctx).with_session(&session.0),
            &service.unwrap_or_default().options(),
            ctx,
        )?)
    })
    .await
}

/// Restores `name` after the admin typed the profile name as
/// `confirmation`. Refuses a backup whose latest verification failed.
/// Cancellable until the swap begins (operation `op`).
#[tauri::command]
// Each parameter is a named field of the command's IPC contract or a
// state Tauri injects; grouping them would change what the UI sends.
#[allow(clippy::too_many_arguments)]
pub async fn restore_backup(
    profile: String,
    name: String,
    confirmation: String,
    service: Option<ServiceCommands>,
    op: String,
    on_progress: Channel<ProgressEvent>,
    operations: State<'_, Operations>,
    session: State<'_, Session>,
) -> CommandResult<RestoreDone> {
    let session = session.inner().clone();
    operation(&operations, op, on_progress, move |ctx| {
        Ok(profiles::restore(
            &profile,
            &name,
            &confirmation,
            &service.unwrap_or_default(),
            &session.0,
            ctx,
        )?)
    })
    .await
}
