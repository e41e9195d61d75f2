//! [`LocalTarget`]: a Server Monitor data directory on this machine.

use crate::context::OperationContext;
use crate::format::crypto::Passphrase;
use crate::local::backup::{self, BackupOptions};
use crate::local::catalog::{BackupCatalog, ListItem};
use crate::local::drill::{self, DrillReport};
use crate::local::health::{self, HealthReport, StorageReport};
use crate::local::layout::DataDir;
use crate::local::ledger::{Ledger, VerifyDepth};
use crate::local::lock::OperationLock;
use crate::local::restore::{self, RestoreOptions};
use crate::local::verify::{self, VerifyReport};
use crate::targets::{BackupDone, RestoreDone, RestorePlanned, Target, TargetError};

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

    fn health(&self, ctx: &OperationContext<'_>) -> Result<HealthReport, TargetError> {
        Ok(health::health(&self.data, ctx))
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

    fn rotation(&self) -> Option<crate::local::rotation::RotationState> {
        crate::local::rotation::in_progress(&self.data)
    }

    fn activity(
        &self,
        query: &crate::model::ActivityQuery,
    ) -> Result<crate::model::ActivityPage, TargetError> {
        Ok(crate::local::activity_history::read(&self.data, query))
    }

    fn unattended(&self) -> Option<crate::local::schedule::Unattended> {
        Some(crate::local::schedule::unattended(self.data.root()))
    }

    fn schedule(
        &self,
        change: &crate::local::schedule::ScheduleChange,
    ) -> Result<crate::local::schedule::ScheduleView, TargetError> {
        Ok(crate::local::schedule::apply(self.data.root(), change)?)
    }

    fn backup(
        &self,
        passphrase: &Passphrase,
        options: &BackupOptions,
        ctx: &OperationContext<'_>,
    ) -> Result<BackupDone, TargetError> {
        Ok(BackupDone::Local(Box::new(backup::create_backup(
            &self.data, passphrase, options, ctx,
        )?)))
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

    fn verify(
        &self,
        name: &str,
        passphrase: &Passphrase,
        depth: VerifyDepth,
        ctx: &OperationContext<'_>,
    ) -> Result<VerifyReport, TargetError> {
        Ok(verify::verify(&self.data, name, passphrase, depth, ctx)?)
    }

    fn drill(
        &self,
        name: Option<&str>,
        passphrase: &Passphrase,
        ctx: &OperationContext<'_>,
    ) -> Result<DrillReport, TargetError> {
        let catalog = BackupCatalog::scan(&self.data)?;
        match name {
            Some(name) => drop(catalog.find(name)?),
            None => drop(drill::default_backup(&catalog)?),
        }
        Ok(drill::drill(&self.data, name, passphrase, ctx)?)
    }

    fn set_pinned(&self, name: &str, pinned: bool) -> Result<(), TargetError> {
        Ok(BackupCatalog::set_pinned(&self.data, name, pinned)?)
    }

    fn plan_restore(
        &self,
        name: &str,
        passphrase: Option<&Passphrase>,
        options: &RestoreOptions,
        ctx: &OperationContext<'_>,
    ) -> Result<RestorePlanned, TargetError> {
        Ok(RestorePlanned::Local(Box::new(restore::plan(
            &self.data, name, passphrase, options, ctx,
        )?)))
    }

    fn restore(
        &self,
        name: &str,
        passphrase: &Passphrase,
        options: &RestoreOptions,
        ctx: &OperationContext<'_>,
    ) -> Result<RestoreDone, TargetError> {
        Ok(RestoreDone::Local(Box::new(restore::restore(
            &self.data, name, passphrase, options, ctx,
        )?)))
    }
}
