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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_path_is_where_the_contract_puts_it_inside_the_root() {
        let data = DataDir::new("/opt/server-monitor");
        assert_eq!(data.root(), Path::new("/opt/server-monitor"));
        assert_eq!(
            data.database(),
            Path::new("/opt/server-monitor/data/servers.db")
        );
        assert_eq!(
            data.backups(),
            Path::new("/opt/server-monitor/data/backups")
        );
        assert_eq!(data.logs(), Path::new("/opt/server-monitor/logs"));
        assert_eq!(
            data.state(),
            Path::new("/opt/server-monitor/data/.backupdesk")
        );
        assert_eq!(
            data.staging(),
            Path::new("/opt/server-monitor/data/.backupdesk/staging")
        );
        assert_eq!(
            data.backup_file("servers_db_20261204_020000.db.gpg"),
            Path::new("/opt/server-monitor/data/backups/servers_db_20261204_020000.db.gpg")
        );
        // Backup Desk's state is never inside the folder the server lists.
        assert!(!data.state().starts_with(data.backups()));
    }
}
