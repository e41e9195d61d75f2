//! One `Target` for every place backups live, so the CLI and the app never
//! care which one they drive: [`LocalTarget`] works on a data directory,
//! [`RemoteTarget`] on a server's `/api/database/*`, [`SshTarget`] on a
//! server's data directory through Backup Desk's own engine there. Health,
//! storage and list answer with the same shapes; backup and restore report
//! what each side can say (a local backup knows its `.meta`, a remote one
//! what the server lists).

pub mod backup_summary;
pub mod local;
pub mod opened;
pub mod over_ssh;
pub mod profile;
pub mod remote;
pub mod ssh;

pub use backup_summary::{BackupDetail, BackupSummary, OffsitePush};
pub use local::LocalTarget;
pub use opened::{OpenedTarget, sign_in};
pub use over_ssh::SshTarget;
pub use remote::{RemoteRestorePlan, RemoteTarget};

use crate::KindedError;
use crate::context::OperationContext;
use crate::format::crypto::Passphrase;
use crate::local::backup::{BackupError, BackupOptions, BackupReport};
use crate::local::catalog::{CatalogError, ListItem};
use crate::local::drill::{DrillError, DrillReport};
use crate::local::health::{HealthReport, StorageReport};
use crate::local::ledger::VerifyDepth;
use crate::local::lock::LockError;
use crate::local::restore::{RestoreError, RestoreOptions, RestorePlan, RestoreReport};
use crate::local::verify::{VerifyError, VerifyReport};
use crate::remote::follow::RemoteRestoreReport;
use crate::remote::{RemoteBackup, RemoteError};

/// What a backup produced, on either side.
#[derive(Debug, Clone)]
pub enum BackupDone {
    /// A local backup, with its `.meta`.
    Local(Box<BackupReport>),
    /// A backup the server made.
    Remote(Box<RemoteBackup>),
    /// A backup the engine on an SSH profile's server made, as it
    /// summarised it.
    Ssh(Box<BackupSummary>),
}

/// What a restore would do, on either side (`target` says which).
#[derive(Debug, Clone, serde::Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "target", rename_all = "snake_case")]
pub enum RestorePlanned {
    /// The local plan with row counts.
    Local(Box<RestorePlan>),
    /// The safe remote sequence.
    Remote(Box<RemoteRestorePlan>),
    /// The local plan, made by the engine on an SSH profile's server.
    Ssh(Box<SshRestorePlan>),
}

/// A restore plan the engine on an SSH profile's server made: its local
/// plan (row counts, safety backup, steps), where, and, for a server the
/// profile also reaches through its API, why the restore goes through SSH.
#[derive(Debug, Clone, serde::Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SshRestorePlan {
    #[serde(flatten)]
    pub plan: RestorePlan,
    /// `ssh://user@host/path`.
    pub location: String,
    /// Why not through the API, when the profile has one.
    pub why_ssh: Option<String>,
}

/// What a restore did, on either side (`target` says which).
#[derive(Debug, Clone, serde::Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "target", rename_all = "snake_case")]
pub enum RestoreDone {
    /// A local restore.
    Local(Box<RestoreReport>),
    /// A remote restore, followed until settled and judged: read its
    /// `outcome`, only `restored` means restored.
    Remote(Box<RemoteRestoreReport>),
}

impl RestoreDone {
    /// Whether the backup is now the live database (a local restore that
    /// returns always is; a remote one when its verdict says so).
    pub fn restored(&self) -> bool {
        match self {
            RestoreDone::Local(_) => true,
            RestoreDone::Remote(report) => report.restored(),
        }
    }
}

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
    /// A prune did not run.
    #[error(transparent)]
    Prune(#[from] crate::local::retention::PruneError),
    #[error(transparent)]
    Remote(#[from] RemoteError),
    #[error(transparent)]
    Keychain(#[from] crate::keychain::KeychainError),
    /// Deleting a backup failed.
    #[error("cannot delete {name}: {source}")]
    DeleteFailed {
        name: String,
        #[source]
        source: std::io::Error,
    },
    /// The connection to an SSH profile's server failed.
    #[error(transparent)]
    Ssh(#[from] crate::targets::ssh::SshError),
    /// The engine on an SSH profile's server refused (its own kind).
    #[error("{}", .0.message)]
    Engine(crate::model::KindedMessage),
    /// A verification did not pass.
    #[error(transparent)]
    Verify(#[from] VerifyError),
    /// The schedule could not be read or changed.
    #[error(transparent)]
    Schedule(#[from] crate::local::schedule::ScheduleError),
    /// A restore drill did not pass.
    #[error(transparent)]
    Drill(#[from] DrillError),
    /// Server Monitor's API cannot do this.
    #[error(
        "{location} is reached through Server Monitor's API, which cannot {what}; add SSH to the \
         profile (profile add NAME --ssh USER@HOST --url URL …) so Backup Desk's engine can"
    )]
    NotThroughApi {
        location: String,
        what: &'static str,
    },
    /// The backup's latest verification failed; it is not restored.
    #[error(
        "{0} failed its latest verification, so it is not restored; pick another backup, or verify it again once the cause is fixed"
    )]
    VerificationFailed(String),
}

impl KindedError for TargetError {
    fn kind(&self) -> crate::ErrorKind {
        match self {
            TargetError::Catalog(e) => e.kind(),
            TargetError::Backup(e) => e.kind(),
            TargetError::Restore(e) => e.kind(),
            TargetError::Lock(e) => e.kind(),
            TargetError::Prune(e) => e.kind(),
            TargetError::Remote(e) => e.kind(),
            TargetError::Keychain(e) => e.kind(),
            TargetError::DeleteFailed { .. } => crate::ErrorKind::DeleteFailed,
            TargetError::VerificationFailed(_) => crate::ErrorKind::VerificationFailed,
            TargetError::Verify(e) => e.kind(),
            TargetError::Schedule(e) => e.kind(),
            TargetError::Drill(e) => e.kind(),
            TargetError::NotThroughApi { .. } => crate::ErrorKind::RemoteUnsupported,
            TargetError::Ssh(e) => e.kind(),
            TargetError::Engine(e) => e.kind,
        }
    }
}

/// The operations every target offers, with the server's JSON shapes.
pub trait Target {
    /// What this target is, for humans (`/opt/server-monitor`, `https://…`).
    fn describe(&self) -> String;
    /// `GET /api/database/health`.
    fn health(&self, ctx: &OperationContext<'_>) -> Result<HealthReport, TargetError>;
    /// `GET /api/database/storage`.
    fn storage(&self) -> Result<StorageReport, TargetError>;
    /// `GET /api/database/backups`, newest first.
    fn list(&self) -> Result<Vec<ListItem>, TargetError>;
    /// The installation's unfinished passphrase rotation, if any, as its
    /// record says ("rotation in progress: N of M"). Local: read now;
    /// over SSH: as the engine's latest `list` answer said; Server
    /// Monitor's API knows none (`None`).
    fn rotation(&self) -> Option<crate::local::rotation::RotationState>;
    /// The installation's activity as its logs record it, newest first
    /// (Server Monitor's API has none: refused there).
    fn activity(
        &self,
        query: &crate::model::ActivityQuery,
    ) -> Result<crate::model::ActivityPage, TargetError>;
    /// What keeps the installation backed up unattended (its schedule, its
    /// latest backup attempt): local, read now; over SSH, as the engine's
    /// latest `list` answer said; Server Monitor's API tells none (`None`).
    fn unattended(&self) -> Option<crate::local::schedule::Unattended>;
    /// The installation's scheduled jobs, read, installed or removed as
    /// `change` says (local: this account's scheduler; over SSH: the
    /// engine's on the server; Server Monitor's API schedules nothing).
    fn schedule(
        &self,
        change: &crate::local::schedule::ScheduleChange,
    ) -> Result<crate::local::schedule::ScheduleView, TargetError>;
    /// `POST /api/database/backup`.
    fn backup(
        &self,
        passphrase: &Passphrase,
        options: &BackupOptions,
        ctx: &OperationContext<'_>,
    ) -> Result<BackupDone, TargetError>;
    /// `DELETE /api/database/backups/{name}`.
    fn delete(&self, name: &str) -> Result<(), TargetError>;
    /// Verifies backup `name`: quick (decrypt, size and SHA-256 against
    /// `.meta`) or deep (also SQLite's checks on a staged copy), recorded
    /// where the backups are.
    fn verify(
        &self,
        name: &str,
        passphrase: &Passphrase,
        depth: VerifyDepth,
        ctx: &OperationContext<'_>,
    ) -> Result<VerifyReport, TargetError>;
    /// A restore drill of `name` (default: the newest regular backup) into
    /// a private scratch folder where the backups are; recorded there.
    fn drill(
        &self,
        name: Option<&str>,
        passphrase: &Passphrase,
        ctx: &OperationContext<'_>,
    ) -> Result<DrillReport, TargetError>;
    /// Pins or unpins backup `name` (retention never deletes a pinned one).
    fn set_pinned(&self, name: &str, pinned: bool) -> Result<(), TargetError>;
    /// What a restore of `name` would do (changes nothing).
    fn plan_restore(
        &self,
        name: &str,
        passphrase: Option<&Passphrase>,
        options: &RestoreOptions,
        ctx: &OperationContext<'_>,
    ) -> Result<RestorePlanned, TargetError>;
    /// `POST /api/database/restore`, made safe.
    fn restore(
        &self,
        name: &str,
        passphrase: &Passphrase,
        options: &RestoreOptions,
        ctx: &OperationContext<'_>,
    ) -> Result<RestoreDone, TargetError>;
}

/// Refuses to restore `file` when its latest recorded verification failed
/// (a wrong checksum, a flipped bit, a failed `integrity_check`): the guard
/// both the CLI and the app put before a restore. A backup never verified,
/// or one verified again successfully since, passes.
///
/// `items` is the target's [`Target::list`].
///
/// # Errors
/// [`TargetError::VerificationFailed`].
pub(crate) fn refuse_failed_verification(
    items: &[crate::local::catalog::ListItem],
    file: &str,
) -> Result<(), TargetError> {
    let failed = items.iter().any(|b| {
        b.filename == file && b.verified.state == crate::local::catalog::VerificationStatus::Failed
    });
    if failed {
        return Err(TargetError::VerificationFailed(file.to_owned()));
    }
    Ok(())
}
