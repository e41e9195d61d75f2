//! [`BackupSummary`]: what a backup made, on any side, in the shape the
//! CLI's `--json` prints and the app shows (and an SSH profile's engine
//! answers, read back here).

use serde::{Deserialize, Serialize};

use crate::format::human::size_human;
use crate::format::meta::BackupMeta;
use crate::local::backup::SnapshotRead;
use crate::local::retention::PruneOutcome;
use crate::targets::BackupDone;

/// A backup that was made, on either side: the server's list-item fields
/// (`filename, path, size, size_human, checksum, timestamp`, so the CLI's
/// `--json` stays a drop-in for the scripts), then what only one side can
/// say, tagged by `target`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct BackupSummary {
    /// The new backup's file name.
    pub filename: String,
    /// Where it is (on the server, for a server's).
    pub path: String,
    /// Size of the backup file in bytes.
    pub size: u64,
    pub size_human: String,
    /// SHA-256 of the plaintext snapshot, when known.
    pub checksum: Option<String>,
    /// The `.meta` timestamp, when known.
    pub timestamp: Option<String>,
    /// Wall time in milliseconds (local backups; `null` for a server's).
    pub duration_ms: Option<u64>,
    /// Problems that did not fail the backup.
    pub warnings: Vec<String>,
    /// The automatic push to the installation's off-site locations after
    /// the backup (empty without locations); a failed push never fails the
    /// backup.
    #[serde(default)]
    pub offsite: Vec<OffsitePush>,
    /// What only one side knows.
    #[serde(flatten)]
    pub detail: BackupDetail,
}

/// How the push to one off-site location went after a backup.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct OffsitePush {
    pub location: String,
    pub ok: bool,
    /// Files copied (their SHA-256 confirmed by the store).
    pub copied: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<crate::model::KindedMessage>,
}

/// What a backup's side adds to its summary.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "target", rename_all = "snake_case")]
pub enum BackupDetail {
    /// A backup made here.
    Local {
        /// Full path of the `.meta`.
        meta_path: String,
        /// Leftovers of interrupted earlier runs that were removed.
        leftovers_removed: usize,
        /// How the database was read.
        snapshot: SnapshotRead,
        /// What the automatic prune removed, when it ran.
        pruned: Option<PruneOutcome>,
        /// The `.meta` written.
        meta: Box<BackupMeta>,
    },
    /// A backup the server made.
    Remote {
        /// The server answered with an error although the backup exists.
        server_reported: Option<String>,
        /// The server reused the name of a backup of the same second.
        reused_name: bool,
    },
}

impl From<BackupDone> for BackupSummary {
    fn from(done: BackupDone) -> Self {
        match done {
            BackupDone::Local(report) => {
                let size = report.meta.gpg_size.unwrap_or(0);
                BackupSummary {
                    filename: report.name.file_name().to_owned(),
                    path: report.path.display().to_string(),
                    size,
                    size_human: size_human(size),
                    checksum: Some(report.meta.checksum_sha256.clone()),
                    timestamp: Some(report.meta.timestamp.clone()),
                    duration_ms: Some(report.duration.as_millis() as u64),
                    warnings: report.warnings.clone(),
                    offsite: Vec::new(),
                    detail: BackupDetail::Local {
                        meta_path: report.meta_path.display().to_string(),
                        leftovers_removed: report.leftovers_removed,
                        snapshot: report.snapshot,
                        pruned: report.pruned.clone(),
                        meta: Box::new(report.meta.clone()),
                    },
                }
            }
            BackupDone::Ssh(summary) => *summary,
            BackupDone::Remote(remote) => BackupSummary {
                filename: remote.item.filename.clone(),
                path: remote.item.path.clone(),
                size: remote.item.size,
                size_human: remote.item.size_human.clone(),
                checksum: remote.item.checksum.clone(),
                timestamp: remote.item.timestamp.clone(),
                duration_ms: None,
                warnings: remote.warnings.clone(),
                offsite: Vec::new(),
                detail: BackupDetail::Remote {
                    server_reported: remote.server_reported.clone(),
                    reused_name: remote.reused_name,
                },
            },
        }
    }
}
