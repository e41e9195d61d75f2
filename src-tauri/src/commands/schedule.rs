//! A profile's scheduled jobs, read, installed and removed from Settings:
//! a local folder's in this account's scheduler (systemd timers, else its
//! crontab), a server's over SSH by the engine there. Server Monitor's API
//! schedules nothing (its own scripts do).

use backupdesk_core::schedule::{ScheduleChange, ScheduleChoice, ScheduleView};
use backupdesk_core::service::{Selection, schedules};

use crate::error::{CommandResult, IpcError, blocking};

/// The schedule as profile `profile` sees it (its jobs, another folder's,
/// none).
#[tauri::command]
pub async fn schedule_status(profile: String) -> CommandResult<ScheduleView> {
    blocking(move || {
        Ok(schedules::apply(
            &Selection::profile(&profile)?,
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
    blocking(move || {
        let selection = Selection::profile(&profile)?;
        let program = super::profiles::engine_binary().ok_or_else(|| IpcError {
            kind: backupdesk_core::ErrorKind::EngineMissing,
            message: "no backupdesk command line is installed beside this app (the backup-desk \
                      package ships /usr/bin/backupdesk): the scheduled jobs would have nothing to run"
                .to_owned(),
        })?;
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
    blocking(move || {
        Ok(schedules::apply(
            &Selection::profile(&profile)?,
            &ScheduleChange::Remove,
        )?)
    })
    .await
}
