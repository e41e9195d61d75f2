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
    /// How new backups are sealed (issue 30: shown on the tile).
    #[serde(default)]
    pub encryption: Option<EncryptionGlance>,
}

/// An installation's encryption policy at a glance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct EncryptionGlance {
    /// Public keys new backups are encrypted to (0: no policy).
    pub keys: usize,
    /// Whether the passphrase is a way in (the installation keeps it).
    pub passphrase: bool,
    /// The policy file cannot be used (backups stop): why.
    pub problem: Option<String>,
}

impl EncryptionGlance {
    /// The policy of the installation at `data`, read now.
    pub fn of(data: &DataDir) -> Self {
        match crate::local::encryption_policy::EncryptionPolicy::read(data) {
            Ok(None) => EncryptionGlance {
                keys: 0,
                passphrase: true,
                problem: None,
            },
            Ok(Some(policy)) => EncryptionGlance {
                keys: policy.recipients.len(),
                passphrase: policy.passphrase,
                problem: None,
            },
            Err(e) => EncryptionGlance {
                keys: 0,
                passphrase: true,
                problem: Some(e.to_string()),
            },
        }
    }
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
        encryption: Some(EncryptionGlance::of(&DataDir::new(data_dir))),
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
