//! One `Target` for every place backups live, so the CLI and the app never
//! care which one they drive. [`LocalTarget`] works on a data directory; a
//! remote implementation over the server's `/api/database/*` comes next and
//! answers with the same shapes (the `--json` output does not change).

use crate::ErrorKind;
use crate::backup::{self, BackupError, BackupOptions, BackupReport};
use crate::catalog::{BackupCatalog, CatalogError, ListItem};
use crate::clock::Clock;
use crate::crypto::Passphrase;
use crate::health::{self, HealthReport, StorageReport};
use crate::layout::DataDir;
use crate::ledger::Ledger;
use crate::lock::{LockError, OperationLock};
use crate::progress::Progress;
use crate::restore::{self, RestoreError, RestoreOptions, RestorePlan, RestoreReport};

/// Why an operation on a target failed; `kind()` passes the underlying
/// module's kind through unchanged.
#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    #[error(transparent)]
    Catalog(#[from] CatalogError),
    #[error(transparent)]
    Backup(#[from] BackupError),
    #[error(transparent)]
    Restore(#[from] RestoreError),
    #[error(transparent)]
    Lock(#[from] LockError),
    /// Deleting a backup failed.
    #[error("cannot delete {name}: {source}")]
    DeleteFailed {
        name: String,
        #[source]
        source: std::io::Error,
    },
}

impl ErrorKind for TargetError {
    fn kind(&self) -> &'static str {
        match self {
            TargetError::Catalog(e) => e.kind(),
            TargetError::Backup(e) => e.kind(),
            TargetError::Restore(e) => e.kind(),
            TargetError::Lock(e) => e.kind(),
            TargetError::DeleteFailed { .. } => "delete_failed",
        }
    }
}

/// The operations every target offers, with the server's JSON shapes.
pub trait Target {
    /// What this target is, for humans (`/opt/server-monitor`, `https://…`).
    fn describe(&self) -> String;
    /// `GET /api/database/health`.
    fn health(&self, clock: &dyn Clock) -> Result<HealthReport, TargetError>;
    /// `GET /api/database/storage`.
    fn storage(&self) -> Result<StorageReport, TargetError>;
    /// `GET /api/database/backups`, newest first.
    fn list(&self) -> Result<Vec<ListItem>, TargetError>;
    /// `POST /api/database/backup`.
    fn backup(
        &self,
        passphrase: &Passphrase,
        options: &BackupOptions,
        clock: &dyn Clock,
        progress: &dyn Progress,
    ) -> Result<BackupReport, TargetError>;
    /// `DELETE /api/database/backups/{name}`.
    fn delete(&self, name: &str) -> Result<(), TargetError>;
    /// What a restore of `name` would do (changes nothing).
    fn plan_restore(
        &self,
        name: &str,
        passphrase: Option<&Passphrase>,
        options: &RestoreOptions,
        clock: &dyn Clock,
        progress: &dyn Progress,
    ) -> Result<RestorePlan, TargetError>;
    /// `POST /api/database/restore`, made safe.
    fn restore(
        &self,
        name: &str,
        passphrase: &Passphrase,
        options: &RestoreOptions,
        clock: &dyn Clock,
        progress: &dyn Progress,
    ) -> Result<RestoreReport, TargetError>;
}

/// A Server Monitor data directory on this machine.
#[derive(Debug, Clone)]
pub struct LocalTarget {
    data: DataDir,
}

impl LocalTarget {
    /// The installation at `data`.
    pub fn new(data: DataDir) -> Self {
        LocalTarget { data }
    }

    /// Its data directory (local-only operations: verify, prune, pin).
    pub fn data(&self) -> &DataDir {
        &self.data
    }
}

impl Target for LocalTarget {
    fn describe(&self) -> String {
        self.data.root().display().to_string()
    }

    fn health(&self, clock: &dyn Clock) -> Result<HealthReport, TargetError> {
        Ok(health::health(&self.data, clock))
    }

    fn storage(&self) -> Result<StorageReport, TargetError> {
        Ok(health::storage(&self.data))
    }

    fn list(&self) -> Result<Vec<ListItem>, TargetError> {
        Ok(BackupCatalog::scan(&self.data)?
            .entries()
            .iter()
            .map(|e| e.list_item())
            .collect())
    }

    fn backup(
        &self,
        passphrase: &Passphrase,
        options: &BackupOptions,
        clock: &dyn Clock,
        progress: &dyn Progress,
    ) -> Result<BackupReport, TargetError> {
        Ok(backup::create_backup(
            &self.data, passphrase, options, clock, progress,
        )?)
    }

    /// Removes the backup file first, then its `.meta` (a listed backup never
    /// loses its metadata), then its ledger records.
    fn delete(&self, name: &str) -> Result<(), TargetError> {
        let _lock = OperationLock::acquire(&self.data)?;
        let catalog = BackupCatalog::scan(&self.data)?;
        let entry = catalog.find(name)?;
        std::fs::remove_file(&entry.path).map_err(|source| TargetError::DeleteFailed {
            name: name.to_owned(),
            source,
        })?;
        if let Some(meta) = entry.name.meta_name() {
            let _ = std::fs::remove_file(self.data.backup_file(&meta));
        }
        let _ = crate::publish::sync_dir(&self.data.backups());
        let _ = Ledger::forget(&self.data, &[name.to_owned()]);
        Ok(())
    }

    fn plan_restore(
        &self,
        name: &str,
        passphrase: Option<&Passphrase>,
        options: &RestoreOptions,
        clock: &dyn Clock,
        progress: &dyn Progress,
    ) -> Result<RestorePlan, TargetError> {
        Ok(restore::plan(
            &self.data, name, passphrase, options, clock, progress,
        )?)
    }

    fn restore(
        &self,
        name: &str,
        passphrase: &Passphrase,
        options: &RestoreOptions,
        clock: &dyn Clock,
        progress: &dyn Progress,
    ) -> Result<RestoreReport, TargetError> {
        Ok(restore::restore(
            &self.data, name, passphrase, options, clock, progress,
        )?)
    }
}
