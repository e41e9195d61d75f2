//! The Server Monitor data directory layout (contract §1).

use std::path::{Path, PathBuf};

/// A Server Monitor installation root such as `/opt/server-monitor`.
///
/// Invariant: every path handed out is inside `root`; names coming from users
/// are validated by [`crate::format::name`] before they are joined here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataDir {
    root: PathBuf,
}

impl DataDir {
    /// The installation at `root` (nothing is checked or created).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        DataDir { root: root.into() }
    }

    /// The installation root.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `data/servers.db`, the live database.
    pub fn database(&self) -> PathBuf {
        self.root.join("data").join("servers.db")
    }

    /// `data/backups/`, where backups live.
    pub fn backups(&self) -> PathBuf {
        self.root.join("data").join("backups")
    }

    /// `logs/`, the plain-text logs shared with the server's scripts.
    pub fn logs(&self) -> PathBuf {
        self.root.join("logs")
    }

    /// `data/.backupdesk/`: Backup Desk's own state (lock, ledger, staging).
    /// Kept out of `data/backups/` so the server never lists it.
    pub fn state(&self) -> PathBuf {
        self.root.join("data").join(".backupdesk")
    }

    /// `data/.backupdesk/staging/`: the private (0700) folder where plaintext
    /// snapshots live while they are being encrypted or checked.
    pub fn staging(&self) -> PathBuf {
        self.state().join("staging")
    }

    /// The path of the backup file called `file_name` (already validated).
    pub fn backup_file(&self, file_name: &str) -> PathBuf {
        self.backups().join(file_name)
    }
}
