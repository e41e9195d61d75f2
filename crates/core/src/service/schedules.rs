//! An installation's scheduled jobs (the daily backup, the daily rolling
//! verification, the weekly restore drill): read, installed and removed
//! where the installation is, through its target: this account's scheduler
//! for a local folder, the engine on the server over SSH (which checks the
//! server's passphrase file there). Server Monitor's API schedules nothing
//! (its own scripts do). The one API the CLI's `schedule` verb and the
//! app's Settings call; the rules are in `local::schedule`.

use crate::local::schedule::{ScheduleChange, ScheduleView};
use crate::service::{Selection, ServiceError};

/// Reads, installs or removes the selection's schedule, as `change` says.
///
/// # Errors
/// A missing data folder; a server reached through its API only
/// (`remote_unsupported`); the schedule's own errors (an invalid time, a
/// passphrase file that is not private or opens no backup, another
/// folder's jobs, the scheduler failing); SSH failures.
pub fn apply(selection: &Selection, change: &ScheduleChange) -> Result<ScheduleView, ServiceError> {
    selection.require_existing()?;
    Ok(selection.target().schedule(change)?)
}

/// What to do with an SSH profile's proving jobs on this machine.
#[derive(Debug, Clone)]
pub enum ProvingChange {
    /// Say which are installed.
    Read,
    /// Install (or replace) them: the verification daily at `choice.at`,
    /// the drill as `choice` says (its day and time; none with
    /// `drill: false`), run by `program` (this machine's `backupdesk`).
    Install {
        choice: crate::local::schedule::ScheduleChoice,
        program: std::path::PathBuf,
    },
    /// Remove them.
    Remove,
}

/// The jobs on this machine that prove the backups of an SSH profile's
/// server that keeps no secret: a daily rolling deep verification and a
/// weekly drill, run here where the key is (the server's engine gets the
/// session keys of the backups it reads; its ledger records this machine
/// as the one that proved them). The jobs find the profile through the
/// config folder and SSH config in force now.
///
/// # Errors
/// Not an SSH profile (a local installation schedules its own jobs; an API
/// profile cannot verify); an invalid time; the scheduler failing.
pub fn proving(
    selection: &Selection,
    change: &ProvingChange,
) -> Result<crate::local::schedule::proving::ProvingStatus, ServiceError> {
    use crate::local::schedule::proving::{self, ProvingSpec, UserScheduler};
    if !selection.is_ssh() {
        return Err(ServiceError::NotAnSshProfile(selection.label().to_owned()));
    }
    let profile = selection.label();
    let scheduler = UserScheduler::detect();
    let schedule_error = |e: crate::local::schedule::ScheduleError| {
        ServiceError::from(crate::targets::TargetError::from(e))
    };
    match change {
        ProvingChange::Read => proving::status(&scheduler, profile),
        ProvingChange::Remove => proving::remove(&scheduler, profile),
        ProvingChange::Install { choice, program } => {
            let times = choice.times().map_err(schedule_error)?;
            let env = ["BACKUPDESK_CONFIG_DIR", "BACKUPDESK_SSH_CONFIG"]
                .into_iter()
                .filter_map(|k| {
                    let value = std::env::var_os(k)?;
                    Some((k.to_owned(), std::path::absolute(value).ok()?))
                })
                .collect();
            let spec = ProvingSpec {
                profile: profile.to_owned(),
                program: program.clone(),
                verify_at: times.at,
                drill: times.drill,
                env,
            };
            proving::install(&scheduler, &spec)
        }
    }
    .map_err(schedule_error)
}
