//! What keeps an installation backed up while nobody looks: this
//! account's scheduled jobs as the installation sees them, and its latest
//! backup attempt as its log records it. Read where the installation is
//! (over SSH, the engine's `list` answer carries it), judged by the fleet
//! tile.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::ScheduleView;
use crate::local::activity_history;
use crate::local::layout::DataDir;
use crate::model::{ActivityEntry, ActivityQuery, LogName};

/// The evidence for the tile's schedule rules.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Unattended {
    /// The schedule (`None`: it could not be read, e.g. no `crontab`
    /// program: unknown, not missing).
    pub schedule: Option<ScheduleView>,
    /// The newest "Backup created" or "Backup failed" line of
    /// `logs/backup.log` (`None`: no attempt recorded).
    pub latest_attempt: Option<ActivityEntry>,
}

impl Unattended {
    /// Whether the latest backup attempt failed.
    pub(crate) fn latest_attempt_failed(&self) -> bool {
        self.latest_attempt
            .as_ref()
            .is_some_and(|e| attempt_failed(e) == Some(true))
    }
}

/// The evidence for the installation at `data_dir`, read now.
pub fn unattended(data_dir: &Path) -> Unattended {
    let query = ActivityQuery {
        logs: vec![LogName::Backup],
        search: "backup ".into(),
        limit: 200,
        ..ActivityQuery::default()
    };
    let latest_attempt = activity_history::read(&DataDir::new(data_dir), &query)
        .entries
        .into_iter()
        .find(|e| attempt_failed(e).is_some());
    Unattended {
        schedule: super::view(data_dir).ok(),
        latest_attempt,
    }
}

/// Whether `entry` records a failed backup attempt (`Some(true)`), a
/// successful one (`Some(false)`), or no attempt.
pub(crate) fn attempt_failed(entry: &ActivityEntry) -> Option<bool> {
    if entry.message.starts_with("Backup failed") {
        Some(true)
    } else if entry.message.starts_with("Backup created") {
        Some(false)
    } else {
        None
    }
}
