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
