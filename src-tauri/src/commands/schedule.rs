//! A profile's scheduled jobs, read, installed and removed from Settings:
//! a local folder's in this account's scheduler (systemd timers, else its
//! crontab), a server's over SSH by the engine there. Server Monitor's API
//! schedules nothing (its own scripts do).

use backupdesk_core::local::schedule::{ScheduleChange, ScheduleChoice, ScheduleView};
use backupdesk_core::service::{Selection, schedules};

use crate::error::{CommandResult, in_context};

/// The schedule as profile `profile` sees it (its jobs, another folder's,
/// none).
#[tauri::command]
pub async fn schedule_status(profile: String) -> CommandResult<ScheduleView> {
    in_context(move |ctx| {
        Ok(schedules::apply(
            &Selection::profile(&profile, ctx)?,
            &ScheduleChange::Read,
        )?)
    })
    .await
}

/// Installs the jobs of profile `profile` as `choice` says: locally run by
/// the `backupdesk` command line installed with this app, over SSH by the
/// engine on the server.
#[tauri::command]
pub async fn install_schedule(
    profile: String,
    choice: ScheduleChoice,
) -> CommandResult<ScheduleView> {
    in_context(move |ctx| {
        let selection = Selection::profile(&profile, ctx)?;
        // Over SSH the server's engine schedules its own executable: only a
        // folder on this machine needs the one beside this app.
        let program = if selection.is_ssh() {
            None
        } else {
            Some(super::profiles::engine_binary(
                "the scheduled jobs would have nothing to run",
            )?)
        };
        Ok(schedules::apply(
            &selection,
            &ScheduleChange::Install { choice, program },
        )?)
    })
    .await
}

/// Removes this account's jobs when they are profile `profile`'s.
#[tauri::command]
pub async fn remove_schedule(profile: String) -> CommandResult<ScheduleView> {
    in_context(move |ctx| {
        Ok(schedules::apply(
            &Selection::profile(&profile, ctx)?,
            &ScheduleChange::Remove,
        )?)
    })
    .await
}
