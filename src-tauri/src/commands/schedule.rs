//! A local profile's scheduled jobs, read, installed and removed from
//! Settings (this account's scheduler: systemd timers, else its crontab).
//! A server's schedule is installed where it runs (Settings shows the
//! command).

use backupdesk_core::service::profiles;
use backupdesk_core::service::schedules::{self, ScheduleChoice, ScheduleView};

use crate::error::{CommandResult, IpcError, blocking};

/// The schedule as local profile `profile` sees it (its jobs, or another
/// folder's).
#[tauri::command]
pub async fn schedule_status(profile: String) -> CommandResult<ScheduleView> {
    blocking(move || Ok(schedules::view(profiles::local_data(&profile)?.root())?)).await
}

/// Installs the jobs of local profile `profile` as `choice` says, run by
/// the `backupdesk` command line installed with this app.
#[tauri::command]
pub async fn install_schedule(
    profile: String,
    choice: ScheduleChoice,
) -> CommandResult<ScheduleView> {
    blocking(move || {
        let program = super::profiles::engine_binary().ok_or_else(|| IpcError {
            kind: backupdesk_core::ErrorKind::EngineMissing,
            message: "no backupdesk command line is installed beside this app (the backup-desk \
                      package ships /usr/bin/backupdesk): the scheduled jobs would have nothing to run"
                .to_owned(),
        })?;
        let data = profiles::local_data(&profile)?;
        Ok(schedules::install(data.root(), &choice, &program)?)
    })
    .await
}

/// Removes this account's jobs when they are local profile `profile`'s.
#[tauri::command]
pub async fn remove_schedule(profile: String) -> CommandResult<ScheduleView> {
    blocking(move || Ok(schedules::remove(profiles::local_data(&profile)?.root())?)).await
}
