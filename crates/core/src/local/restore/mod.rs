//! Restores that cannot lose data. Plan, then execute:
//!
//! 1. resolve the name among catalogued backups only;
//! 2. decrypt into the private staging folder, check size and SHA-256
//!    against `.meta`, run `integrity_check` and `foreign_key_check` — any
//!    failure stops here and the live database is never opened for writing;
//! 3. run the optional stop command;
//! 4. make an encrypted pre-restore backup of the live database (after the
//!    stop, so no write is lost; without a stop command it is taken in
//!    parallel with steps 1–2 and removed again if they fail; if it fails,
//!    the start command runs and nothing was changed);
//! 5. swap: an atomic rename of the checked copy over the live file when no
//!    process has the live database open, else SQLite's backup API copying
//!    it into the live one in a single step, inside SQLite's own locking and
//!    journaling (open readers and a running writer are safe); either way a
//!    crash leaves the old or the new content (see `swap`);
//! 6. check the live result: after a rename, that it is the checked file
//!    itself (same inode) with the expected tables; after a backup-API copy,
//!    `integrity_check` and row counts;
//! 7. run the optional start command.
//!
//! Anything failing from step 5 on triggers an automatic rollback from the
//! pre-restore snapshot, and the error names the pre-restore backup.
//!
//! [`plan`] says what a restore would do; [`restore`] runs the typed
//! sequence of `sequence.rs` (one stage per step, one cleanup guard); the
//! swap and its typed errors are in `swap.rs`, the stop and start commands
//! in `commands.rs`.

use std::path::Path;
use std::time::Duration;

use serde::Serialize;

mod commands;
mod holders;
mod plan;
mod sequence;
mod swap;

pub use commands::{SERVICE_COMMAND_TIMEOUT, ServiceCommandError};
pub use plan::{CountsSource, RestorePlan, TableChange, plan};
pub use swap::{SwapError, SwapMethod};

use crate::KindedError;
use crate::context::OperationContext;
use crate::format::crypto::{Compression, Passphrase};
use crate::format::meta::TableRows;
use crate::local::activity_log::{ActivityLog, Level};
use crate::local::backup::BackupError;
use crate::local::catalog::CatalogError;
use crate::local::layout::DataDir;
use crate::local::lock::LockError;
use crate::local::snapshot::SnapshotError;
use crate::local::verify::VerifyError;

/// A point after the swap began where a test can force a failure.
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultPoint {
    /// Half-way through copying pages into the live database.
    MidSwap,
    /// Right after the swap committed.
    AfterSwap,
    /// The post-swap integrity check reports a failure.
    PostSwapCheck,
    /// The start command fails.
    StartCommand,
}

/// Options of [`plan`] and [`restore`].
#[derive(Debug, Clone, Default)]
pub struct RestoreOptions {
    /// Shell command that stops the service before the swap.
    pub stop_cmd: Option<String>,
    /// Shell command that starts the service after the swap (and after a rollback).
    pub start_cmd: Option<String>,
    /// Compression of the pre-restore backup (default: fast; safety copies
    /// are short-lived and speed matters more than size).
    pub compression: Option<Compression>,
    /// How long the swap waits for another process's lock on a busy live
    /// database before it gives up, changing nothing (default 60 s).
    pub busy_wait: Option<Duration>,
}

/// Failures and pauses a test injects into a restore: only through
/// [`restore_with_faults`] (feature `test-hooks`), or, in a binary built with
/// that feature, `BACKUPDESK_TEST_SWAP_PAUSE_MS` (the SIGKILL tests pause
/// the swap half-way). Never part of [`RestoreOptions`].
#[derive(Debug, Clone, Copy, Default)]
pub struct Faults {
    /// Force a failure at this point.
    pub fault: Option<FaultPoint>,
    /// Pause half-way through the swap.
    pub pause_mid_swap: Option<Duration>,
}

impl Faults {
    /// This process's faults: none, unless core was built with
    /// `test-hooks` and the environment asks for a pause.
    fn of_process() -> Self {
        #[cfg(feature = "test-hooks")]
        {
            Faults {
                fault: None,
                pause_mid_swap: std::env::var("BACKUPDESK_TEST_SWAP_PAUSE_MS")
                    .ok()
                    .and_then(|ms| ms.parse().ok())
                    .map(Duration::from_millis),
            }
        }
        #[cfg(not(feature = "test-hooks"))]
        Faults::default()
    }
}

/// Why a restore did not happen, or was undone.
#[derive(Debug, thiserror::Error)]
pub enum RestoreError {
    /// Another operation runs on this data directory.
    #[error(transparent)]
    Lock(#[from] LockError),
    /// The name is invalid or no such backup exists.
    #[error(transparent)]
    Catalog(#[from] CatalogError),
    /// The backup failed its checks (decryption, checksum, integrity...).
    /// The live database was not touched.
    #[error("the backup cannot be restored: {0}")]
    Verify(#[source] VerifyError),
    /// Planning needs to decrypt the backup (its `.meta` has no row counts)
    /// and no passphrase was given.
    #[error(
        "{0} has no row counts in its .meta: a passphrase is needed to count them in a staged copy"
    )]
    PassphraseRequired(String),
    /// The pre-restore safety backup could not be made; nothing was changed.
    #[error(
        "the pre-restore backup of the live database could not be made, so nothing was changed: {0}"
    )]
    PreRestoreBackupFailed(#[source] BackupError),
    /// The stop command failed; nothing was changed.
    #[error("the stop command `{command}` failed ({detail}); nothing was changed")]
    StopCommandFailed {
        command: String,
        detail: ServiceCommandError,
    },
    /// Something failed after the swap began; the previous content is back.
    #[error(
        "the restore failed after the swap began ({reason}); the live database was rolled back to its previous content, which is also kept in {pre_restore_backup}"
    )]
    RolledBack {
        reason: Box<SwapError>,
        pre_restore_backup: String,
    },
    /// The rollback failed too. The pre-restore backup holds the old state.
    #[error(
        "the restore failed ({reason}) and so did the automatic rollback ({rollback_error}); the previous content is in {pre_restore_backup}: restore it with `backupdesk restore {pre_restore_backup}`"
    )]
    RollbackFailed {
        reason: Box<SwapError>,
        rollback_error: Box<SwapError>,
        pre_restore_backup: String,
    },
    /// The swap could not begin or gave up before it changed anything
    /// (a rename that failed, a copy that SQLite rolled back itself, e.g.
    /// a database locked by another process for too long): the live
    /// database is exactly as it was, with every commit made meanwhile, so
    /// nothing is rolled back.
    #[error(
        "the restore could not replace the live database ({reason}); the live database was not changed (nothing needed rolling back); the safety backup {pre_restore_backup} was made"
    )]
    SwapFailedUnchanged {
        reason: Box<SwapError>,
        pre_restore_backup: String,
    },
    /// The caller cancelled before the swap began; nothing was changed.
    #[error("the restore was cancelled before the swap began; nothing was changed")]
    Cancelled,
    /// Staging the backup failed for another reason.
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// SQLite could not read the staged or live database.
    #[error(transparent)]
    Snapshot(#[from] SnapshotError),
}

impl KindedError for RestoreError {
    fn kind(&self) -> crate::ErrorKind {
        match self {
            RestoreError::Lock(e) => e.kind(),
            RestoreError::Catalog(e) => e.kind(),
            RestoreError::Verify(e) => e.kind(),
            RestoreError::PassphraseRequired(_) => crate::ErrorKind::PassphraseRequired,
            RestoreError::PreRestoreBackupFailed(_) => crate::ErrorKind::PreRestoreBackupFailed,
            RestoreError::StopCommandFailed { .. } => crate::ErrorKind::StopCommandFailed,
            RestoreError::RolledBack { .. } => crate::ErrorKind::RolledBack,
            RestoreError::SwapFailedUnchanged { .. } => crate::ErrorKind::SwapFailedUnchanged,
            RestoreError::RollbackFailed { .. } => crate::ErrorKind::RollbackFailed,
            RestoreError::Io { .. } => crate::ErrorKind::Io,
            RestoreError::Cancelled => crate::ErrorKind::Cancelled,
            RestoreError::Snapshot(e) => e.kind(),
        }
    }
}

/// What a completed restore did.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct RestoreReport {
    /// The backup restored.
    pub backup: String,
    /// The safety backup holding the previous content (`None` when there
    /// was no live database to save).
    pub pre_restore_backup: Option<String>,
    /// How the restored database was put in place.
    pub swap: SwapMethod,
    /// Row counts of the live database afterwards.
    pub tables: Vec<TableRows>,
    /// Wall time.
    pub duration_ms: u64,
    /// Things worth knowing.
    pub warnings: Vec<String>,
}

pub(crate) fn io_err(path: &Path) -> impl Fn(std::io::Error) -> RestoreError + '_ {
    move |source| RestoreError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// [`restore`] with `faults` injected (tests only).
///
/// # Errors
/// As [`restore`].
#[cfg(feature = "test-hooks")]
pub fn restore_with_faults(
    data: &DataDir,
    file_name: &str,
    passphrase: &Passphrase,
    options: &RestoreOptions,
    faults: Faults,
    ctx: &OperationContext<'_>,
) -> Result<RestoreReport, RestoreError> {
    logged(data, file_name, passphrase, options, faults, ctx)
}

/// Restores `file_name` over the live database. See the module docs.
///
/// # Errors
/// See [`RestoreError`]. Before the swap, every error leaves the live
/// database untouched; after it began, the result is either the restored
/// content or, via automatic rollback, exactly the previous content.
#[tracing::instrument(skip(passphrase, ctx, options), fields(root = %data.root().display()))]
pub fn restore(
    data: &DataDir,
    file_name: &str,
    passphrase: &Passphrase,
    options: &RestoreOptions,
    ctx: &OperationContext<'_>,
) -> Result<RestoreReport, RestoreError> {
    logged(
        data,
        file_name,
        passphrase,
        options,
        Faults::of_process(),
        ctx,
    )
}

/// [`run`], with the request and its result in `restore.log`.
fn logged(
    data: &DataDir,
    file_name: &str,
    passphrase: &Passphrase,
    options: &RestoreOptions,
    faults: Faults,
    ctx: &OperationContext<'_>,
) -> Result<RestoreReport, RestoreError> {
    let log = ActivityLog::restore(data);
    log.append(
        ctx,
        Level::Info,
        &format!("Restore of {file_name} requested"),
    );
    let result = sequence::run(data, file_name, passphrase, options, faults, ctx, &log);
    match &result {
        Ok(report) => log.append(
            ctx,
            Level::Info,
            &format!(
                "Database restored from {} (previous content in {})",
                report.backup,
                report
                    .pre_restore_backup
                    .as_deref()
                    .unwrap_or("no pre-restore backup: there was no live database")
            ),
        ),
        Err(e) => log.append(ctx, Level::Error, &format!("Restore failed: {e}")),
    }
    result
}
