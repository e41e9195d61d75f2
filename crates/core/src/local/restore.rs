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

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use chrono::NaiveDateTime;
use rusqlite::{Connection, OpenFlags};
use serde::Serialize;

mod holders;
mod swap;

pub use swap::SwapMethod;

use crate::KindedError;
use crate::clock::Clock;
use crate::format::crypto::{Compression, Passphrase};
use crate::format::meta::TableRows;
use crate::format::name::{BackupKind, BackupName};
use crate::local::activity_log::{ActivityLog, Level};
use crate::local::backup::{self, BackupError, BackupOptions, NewBackupKind, SnapshotSource};
use crate::local::catalog::{BackupCatalog, CatalogError};
use crate::local::layout::DataDir;
use crate::local::lock::{LockError, OperationLock};
use crate::local::retention;
use crate::local::snapshot::{self, SnapshotError};
use crate::local::staging::{StagedFile, Staging};
use crate::local::verify::{self, VerifyDepth, VerifyError};
use crate::progress::{NoProgress, Progress};

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
    StopCommandFailed { command: String, detail: String },
    /// Something failed after the swap began; the previous content is back.
    #[error(
        "the restore failed after the swap began ({reason}); the live database was rolled back to its previous content, which is also kept in {pre_restore_backup}"
    )]
    RolledBack {
        reason: String,
        pre_restore_backup: String,
    },
    /// The rollback failed too. The pre-restore backup holds the old state.
    #[error(
        "the restore failed ({reason}) and so did the automatic rollback ({rollback_error}); the previous content is in {pre_restore_backup}: restore it with `backupdesk restore {pre_restore_backup}`"
    )]
    RollbackFailed {
        reason: String,
        rollback_error: String,
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
        reason: String,
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

/// Row counts of one table in the backup and in the live database.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct TableChange {
    pub name: String,
    /// Rows in the backup (`None`: the table is not in the backup).
    pub backup_rows: Option<u64>,
    /// Rows in the live database (`None`: the table is not live).
    pub live_rows: Option<u64>,
}

/// Where a restore plan's row counts of the backup come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum CountsSource {
    /// The backup's `.meta` (no decryption needed).
    Meta,
    /// A decrypted, checked copy staged for the plan (no `.meta` counts).
    StagedCopy,
}

/// What a restore would do.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct RestorePlan {
    /// The backup to restore.
    pub backup: String,
    /// Its kind.
    pub kind: BackupKind,
    /// The time in its name.
    pub taken_at: NaiveDateTime,
    /// Its age relative to the clock, in seconds.
    pub age_seconds: i64,
    /// Whether a `.meta` with checksums exists.
    pub has_meta: bool,
    /// Where the backup's row counts come from.
    pub counts_from: CountsSource,
    /// Per-table row counts, backup against live.
    pub tables: Vec<TableChange>,
    /// Size of the live database now.
    pub live_size: u64,
    /// Size of the database in the backup, when known.
    pub backup_db_size: Option<u64>,
    /// The name the pre-restore safety backup will get (approximately: the
    /// second it is taken).
    pub pre_restore_backup: String,
    pub stop_cmd: Option<String>,
    pub start_cmd: Option<String>,
    /// The steps, in order, in words.
    pub steps: Vec<String>,
    /// Things the admin should know before confirming.
    pub warnings: Vec<String>,
}

/// What a completed restore did.
#[derive(Debug, Clone, Serialize)]
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

/// Nice value of the pre-restore backup taken beside the staging checks.
/// Those checks are the critical path and get the larger share of the two
/// cores; at 5 the safety backup also keeps pace with the staged copy being
/// written, which reuses the pages its reading frees (measured at 512 MiB:
/// 4.2 s at 5, 4.4 s at 10, 4.5 s at 3, 4.9 s at 0).
const PRE_RESTORE_NICE: i32 = 5;

fn io_err(path: &Path) -> impl Fn(std::io::Error) -> RestoreError + '_ {
    move |source| RestoreError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// Plans the restore of `file_name` without changing anything. Row counts
/// come from `.meta` when it has them; otherwise the backup is decrypted
/// into the staging folder and counted (which needs `passphrase`).
///
/// # Errors
/// An unknown or invalid name; a backup that fails its checks when it has
/// to be staged.
pub fn plan(
    data: &DataDir,
    file_name: &str,
    passphrase: Option<&Passphrase>,
    options: &RestoreOptions,
    clock: &dyn Clock,
    progress: &dyn Progress,
) -> Result<RestorePlan, RestoreError> {
    let catalog = BackupCatalog::scan(data)?;
    let entry = catalog.find(file_name)?;
    let live = data.database();
    let live_tables = live_counts(&live);
    let mut warnings = Vec::new();
    let meta_tables = entry.meta.as_ref().and_then(|m| m.tables.clone());
    let (backup_tables, counts_from, backup_db_size) = match meta_tables {
        Some(tables) => (
            tables,
            CountsSource::Meta,
            entry.meta.as_ref().map(|m| m.size_bytes),
        ),
        None => {
            let Some(passphrase) = passphrase else {
                return Err(RestoreError::PassphraseRequired(file_name.to_owned()));
            };
            let (report, _staged) =
                verify::check(data, entry, passphrase, VerifyDepth::Deep, false, progress)
                    .map_err(RestoreError::Verify)?;
            let tables = report.database.map(|d| d.tables).unwrap_or_default();
            (tables, CountsSource::StagedCopy, Some(report.size_bytes))
        }
    };
    if entry.meta.is_none() {
        warnings.push("this backup has no .meta: its checksum cannot be checked, only that it decrypts and passes SQLite's checks".to_owned());
    }
    if !entry.name.kind().is_encrypted() {
        warnings
            .push("this backup is a plaintext file left by Server Monitor's scripts".to_owned());
    }
    if options.stop_cmd.is_none() {
        warnings.push("no --stop-cmd: the swap is safe against a running service, but writes it makes between the safety backup and the swap are lost".to_owned());
    }
    let now = clock.now();
    let pre = BackupName::new_pre_restore(now.naive_local())
        .file_name()
        .to_owned();
    let mut names: Vec<&str> = backup_tables.iter().map(|t| t.name.as_str()).collect();
    names.extend(live_tables.iter().map(|t| t.name.as_str()));
    names.sort_unstable();
    names.dedup();
    let tables = names
        .into_iter()
        .map(|name| TableChange {
            name: name.to_owned(),
            backup_rows: backup_tables
                .iter()
                .find(|t| t.name == name)
                .map(|t| t.rows),
            live_rows: live_tables.iter().find(|t| t.name == name).map(|t| t.rows),
        })
        .collect();
    let mut steps = vec![
        format!(
            "decrypt {file_name} into the private staging folder and check its size and SHA-256"
        ),
        "run integrity_check and foreign_key_check on the staged copy".to_owned(),
    ];
    if let Some(cmd) = &options.stop_cmd {
        steps.push(format!("stop the service: {cmd}"));
    }
    steps.push(format!("back up the live database, encrypted, as {pre}"));
    steps.push(format!(
        "put the checked copy in place of {}: an atomic rename when no process has it open, else SQLite's backup API in one step",
        live.display()
    ));
    steps.push(
        "check the live database (the renamed file itself, or integrity_check after a copy); on any failure roll back automatically".to_owned(),
    );
    if let Some(cmd) = &options.start_cmd {
        steps.push(format!("start the service: {cmd}"));
    }
    Ok(RestorePlan {
        backup: file_name.to_owned(),
        kind: entry.name.kind(),
        taken_at: entry.name.taken_at(),
        age_seconds: (now.naive_local() - entry.name.taken_at()).num_seconds(),
        has_meta: entry.meta.is_some(),
        counts_from,
        tables,
        live_size: std::fs::metadata(&live).map(|m| m.len()).unwrap_or(0),
        backup_db_size,
        pre_restore_backup: pre,
        stop_cmd: options.stop_cmd.clone(),
        start_cmd: options.start_cmd.clone(),
        steps,
        warnings,
    })
}

fn live_counts(live: &Path) -> Vec<TableRows> {
    Connection::open_with_flags(live, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .ok()
        .and_then(|c| snapshot::table_rows(&c).ok())
        .unwrap_or_default()
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
    clock: &dyn Clock,
    progress: &dyn Progress,
) -> Result<RestoreReport, RestoreError> {
    logged(
        data, file_name, passphrase, options, faults, clock, progress,
    )
}

/// Restores `file_name` over the live database. See the module docs.
///
/// # Errors
/// See [`RestoreError`]. Before the swap, every error leaves the live
/// database untouched; after it began, the result is either the restored
/// content or, via automatic rollback, exactly the previous content.
#[tracing::instrument(skip(passphrase, clock, progress, options), fields(root = %data.root().display()))]
pub fn restore(
    data: &DataDir,
    file_name: &str,
    passphrase: &Passphrase,
    options: &RestoreOptions,
    clock: &dyn Clock,
    progress: &dyn Progress,
) -> Result<RestoreReport, RestoreError> {
    logged(
        data,
        file_name,
        passphrase,
        options,
        Faults::of_process(),
        clock,
        progress,
    )
}

/// [`run`], with the request and its result in `restore.log`.
fn logged(
    data: &DataDir,
    file_name: &str,
    passphrase: &Passphrase,
    options: &RestoreOptions,
    faults: Faults,
    clock: &dyn Clock,
    progress: &dyn Progress,
) -> Result<RestoreReport, RestoreError> {
    let log = ActivityLog::restore(data);
    log.append(
        clock,
        Level::Info,
        &format!("Restore of {file_name} requested"),
    );
    let result = run(
        data, file_name, passphrase, options, faults, clock, progress, &log,
    );
    match &result {
        Ok(report) => log.append(
            clock,
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
        Err(e) => log.append(clock, Level::Error, &format!("Restore failed: {e}")),
    }
    result
}

/// The restore as one sequence: live file → staged and checked backup →
/// service stopped → safety backup → swap and check → (rollback) → service
/// started. Every way out is cleaned up by two guards: a safety backup made
/// in parallel with checks that then failed is removed
/// ([`UnusedSafetyBackup`]), and once the service was stopped it is started
/// again however the run ends ([`RestartOnExit`]).
#[allow(clippy::too_many_arguments)]
fn run(
    data: &DataDir,
    file_name: &str,
    passphrase: &Passphrase,
    options: &RestoreOptions,
    faults: Faults,
    clock: &dyn Clock,
    progress: &dyn Progress,
    log: &ActivityLog,
) -> Result<RestoreReport, RestoreError> {
    let started = Instant::now();
    let _lock = OperationLock::acquire(data)?;
    let staging = Staging::open(data).map_err(io_err(&data.staging()))?;
    backup::remove_leftovers(data, &staging);
    let catalog = BackupCatalog::scan(data)?;
    let entry = catalog.find(file_name)?;
    let mut warnings = Vec::new();

    let live = live_file(data, &mut warnings)?;
    let live_exists = live.exists();
    // The safety backup uses the passphrase the restore was given, even
    // the scripts' well-known default (refusing would block the restore of
    // a legacy installation), but never silently.
    if passphrase.is_legacy_default() {
        warnings.push("the pre-restore backup is encrypted with Server Monitor's well-known default passphrase: set your own and rotate (`backupdesk passphrase rotate`)".to_owned());
        log.append(
            clock,
            Level::Warning,
            "Pre-restore backup encrypted with the well-known default passphrase",
        );
    }
    let pre_options = BackupOptions {
        compression: options.compression.unwrap_or(Compression::Fast),
        allow_default_passphrase: true,
        kind: NewBackupKind::PreRestore,
        prune_after: false,
        retention: None,
    };

    // Stage and check the backup; the live database is not touched before
    // this passes. With no service to stop first, the safety backup of the
    // live database is taken at the same time, on the other core.
    let parallel = options.stop_cmd.is_none() && live_exists;
    let (checked, early_pre) = if parallel {
        std::thread::scope(|scope| {
            let pre = scope.spawn(|| {
                // The staged checks are the critical path: the safety
                // backup fills the cycles they leave.
                let _ = rustix::process::setpriority_process(None, PRE_RESTORE_NICE);
                let r = backup::backup_locked(
                    data,
                    &staging,
                    passphrase,
                    &pre_options,
                    clock,
                    &NoProgress,
                    pre_source(&live),
                );
                tracing::debug!(elapsed = ?started.elapsed(), "parallel pre-restore backup done");
                r
            });
            let checked = verify::check(data, entry, passphrase, VerifyDepth::Deep, true, progress);
            let pre = pre.join().unwrap_or_else(|_| {
                Err(BackupError::Io {
                    path: data.backups().display().to_string(),
                    source: std::io::Error::other("the pre-restore backup thread panicked"),
                })
            });
            (checked, Some(pre))
        })
    } else {
        (
            verify::check(data, entry, passphrase, VerifyDepth::Deep, true, progress),
            None,
        )
    };
    let mut unused_safety = UnusedSafetyBackup::of(&early_pre);
    let (report, staged) = match checked {
        Ok(_) if progress.cancelled() => return Err(RestoreError::Cancelled),
        Ok(checked) => checked,
        Err(VerifyError::Crypto(crate::format::crypto::CryptoError::Cancelled)) => {
            return Err(RestoreError::Cancelled);
        }
        Err(e) => return Err(RestoreError::Verify(e)),
    };
    let staged = staged.expect("a deep check keeps its staged copy");
    tracing::debug!(elapsed = ?started.elapsed(), "staged and checked");
    warnings.extend(report.warnings.iter().cloned());
    let expected_tables = report.database.map(|d| d.tables).unwrap_or_default();
    log.append(
        clock,
        Level::Info,
        &format!(
            "{file_name} decrypted and checked ({} bytes, integrity ok)",
            report.size_bytes
        ),
    );

    if live_exists {
        // A damaged live database does not stop the restore: it is kept
        // as it is (below) and replaced.
        match snapshot::check_is_sqlite(&live) {
            Ok(()) => match_page_size(&live, staged.path())?,
            Err(e) if e.is_damaged_database() => {}
            Err(e) => return Err(RestoreError::from(e)),
        }
    }

    if let Some(cmd) = &options.stop_cmd {
        run_shell(cmd).map_err(|detail| RestoreError::StopCommandFailed {
            command: cmd.clone(),
            detail,
        })?;
        log.append(clock, Level::Info, &format!("Service stopped: {cmd}"));
    }
    let mut restart = RestartOnExit {
        options,
        clock,
        log,
        armed: true,
    };

    // The safety backup, encrypted like any other (taken after the service
    // stopped, when there is one, so no write is lost); its snapshot stays
    // staged for a fast rollback.
    let safety_backup = |source| {
        backup::backup_locked(
            data,
            &staging,
            passphrase,
            &pre_options,
            clock,
            progress,
            source,
        )
    };
    unused_safety.adopt();
    let pre_result = match early_pre {
        Some(result) => Some(result),
        None if live_exists => Some(safety_backup(pre_source(&live))),
        None => None,
    };
    let (pre_name, pre_snapshot) = match pre_result {
        Some(Ok((pre, snapshot))) => {
            log.append(
                clock,
                Level::Info,
                &format!("Pre-restore backup created: {}", pre.path.display()),
            );
            (Some(pre.name.file_name().to_owned()), snapshot)
        }
        Some(Err(BackupError::Snapshot(e))) if e.is_damaged_database() => {
            // The very disaster a restore exists for: the live database is
            // damaged. Keep it as it is, encrypted, then go on.
            match safety_backup(SnapshotSource::AsIs) {
                Ok((pre, _)) => {
                    let text = format!(
                        "the live database is damaged ({e}): it is kept as it was, encrypted, in {} (`gpg -d` gives the damaged file back byte for byte)",
                        pre.name.file_name()
                    );
                    log.append(clock, Level::Warning, &text);
                    warnings.push(text);
                    (Some(pre.name.file_name().to_owned()), None)
                }
                Err(e) => return Err(RestoreError::PreRestoreBackupFailed(e)),
            }
        }
        Some(Err(e)) => return Err(RestoreError::PreRestoreBackupFailed(e)),
        None => {
            warnings
                .push("there was no live database, so there is no pre-restore backup".to_owned());
            (None, None)
        }
    };

    // The point of no return begins: from here on, failures roll back.
    tracing::debug!(elapsed = ?started.elapsed(), "pre-restore backup done");
    // Last chance to cancel: after this line the swap begins.
    if progress.cancelled() {
        if let Some(pre) = &pre_name {
            let _ = std::fs::remove_file(data.backup_file(pre));
            let _ = std::fs::remove_file(data.backup_file(&pre.replace(".db.gpg", ".db.meta")));
        }
        return Err(RestoreError::Cancelled);
    }
    let previous = staging.file("previous.db");
    let method = if live_exists {
        swap::choose(staged.path(), &live, &previous)
    } else {
        SwapMethod::BackupApi
    };
    // A backup-API swap rolls back from a staged copy of the old content;
    // when the safety backup read the live file in place, make that copy now.
    let mut pre_snapshot = pre_snapshot;
    if method == SwapMethod::BackupApi && live_exists && pre_snapshot.is_none() {
        let copy = staging.file("rollback.db");
        snapshot::take_snapshot(&live, copy.path(), &NoProgress)?;
        pre_snapshot = Some(copy);
    }
    let busy_wait = options.busy_wait.unwrap_or(Duration::from_secs(60));
    let swapped = match method {
        SwapMethod::Rename => swap::by_rename(
            staged.path(),
            &live,
            &expected_tables,
            faults.fault,
            faults.pause_mid_swap,
        ),
        SwapMethod::BackupApi => swap::by_backup_api(
            staged.path(),
            &live,
            &expected_tables,
            faults.fault,
            faults.pause_mid_swap,
            busy_wait,
        ),
    };
    let outcome = match swapped {
        Ok(tables) => Ok(tables),
        Err(failure) if !failure.changed => {
            // Nothing of ours is in the live database: rolling back would
            // only overwrite what the service committed since the snapshot.
            drop(staged);
            let pre_restore_backup = pre_name.clone().unwrap_or_else(|| "(none)".to_owned());
            log.append(
                clock,
                Level::Error,
                &format!(
                    "Restore failed before it changed the live database: {}; nothing to roll back",
                    failure.reason
                ),
            );
            return Err(RestoreError::SwapFailedUnchanged {
                reason: failure.reason,
                pre_restore_backup,
            });
        }
        Err(failure) => Err(failure.reason),
    };
    drop(staged);
    tracing::debug!(elapsed = ?started.elapsed(), ?method, "swapped and checked");

    match outcome {
        Ok(tables) => {
            // The restored database is in place and checked. A start command
            // that fails now may still have started the service (which then
            // writes into the restored file): rolling back underneath it
            // would lose those writes, so its failure is reported, never
            // undone.
            restart.armed = false;
            if let Some(cmd) = &options.start_cmd {
                let started = if faults.fault == Some(FaultPoint::StartCommand) {
                    Err("start command failed (injected fault)".to_owned())
                } else {
                    run_shell(cmd)
                };
                match started {
                    Ok(()) => log.append(clock, Level::Info, "Service started"),
                    Err(e) => {
                        let text = format!(
                            "the restore is in place, but the start command `{cmd}` failed ({e}): check whether the service runs and start it by hand"
                        );
                        log.append(clock, Level::Error, &text);
                        warnings.push(text);
                    }
                }
            }
            // The old file (kept for a rollback) goes while old safety
            // backups are pruned: freeing 512 MiB takes 0.1 s.
            std::thread::scope(|scope| {
                scope.spawn(move || drop(previous));
                prune_pre_restore(data, clock, &mut warnings);
            });
            Ok(RestoreReport {
                backup: file_name.to_owned(),
                pre_restore_backup: pre_name,
                swap: method,
                tables,
                duration_ms: started.elapsed().as_millis() as u64,
                warnings,
            })
        }
        Err(reason) => {
            log.append(
                clock,
                Level::Error,
                &format!("Restore failed after the swap began: {reason}; rolling back"),
            );
            let pre_restore_backup = pre_name.clone().unwrap_or_else(|| "(none)".to_owned());
            let rollback = match (method, &pre_snapshot) {
                _ if !live_exists => {
                    Err("there was no live database before the restore".to_owned())
                }
                (SwapMethod::Rename, _) => swap::rollback_rename(previous.path(), &live),
                (SwapMethod::BackupApi, Some(snapshot)) => {
                    swap::by_backup_api(snapshot.path(), &live, &[], None, None, busy_wait)
                        .map(drop)
                        .map_err(|f| f.reason)
                }
                (SwapMethod::BackupApi, None) => {
                    Err("no copy of the previous content was staged".to_owned())
                }
            };
            match rollback {
                Ok(()) => {
                    log.append(
                        clock,
                        Level::Info,
                        &format!("Rolled back; previous content also kept in {pre_restore_backup}"),
                    );
                    Err(RestoreError::RolledBack {
                        reason,
                        pre_restore_backup,
                    })
                }
                Err(rollback_error) => Err(RestoreError::RollbackFailed {
                    reason,
                    rollback_error,
                    pre_restore_backup,
                }),
            }
        }
    }
}

/// The file to restore into. A live database that is a symlink is
/// restored into the file it points to (the link stays): replacing the link
/// would leave the file the service really uses with the old content.
fn live_file(data: &DataDir, warnings: &mut Vec<String>) -> Result<PathBuf, RestoreError> {
    let link = data.database();
    match std::fs::symlink_metadata(&link) {
        Ok(m) if m.file_type().is_symlink() => {
            let target = std::fs::canonicalize(&link).map_err(io_err(&link))?;
            warnings.push(format!(
                "{} is a symbolic link: restored into the file it points to, {}",
                link.display(),
                target.display()
            ));
            Ok(target)
        }
        _ => Ok(link),
    }
}

/// A safety backup taken in parallel with checks: removed when dropped
/// unless [`UnusedSafetyBackup::adopt`]ed, so a refused restore changes
/// nothing.
struct UnusedSafetyBackup(Option<(PathBuf, PathBuf)>);

impl UnusedSafetyBackup {
    fn of(early: &Option<Result<(backup::BackupReport, Option<StagedFile>), BackupError>>) -> Self {
        match early {
            Some(Ok((pre, _))) => {
                UnusedSafetyBackup(Some((pre.path.clone(), pre.meta_path.clone())))
            }
            _ => UnusedSafetyBackup(None),
        }
    }

    fn adopt(&mut self) {
        self.0 = None;
    }
}

impl Drop for UnusedSafetyBackup {
    fn drop(&mut self) {
        if let Some((gpg, meta)) = self.0.take() {
            let _ = std::fs::remove_file(gpg);
            let _ = std::fs::remove_file(meta);
        }
    }
}

/// Once the service was stopped (or the point where it would be passed),
/// starts it again when dropped while armed: every failure after that
/// point leaves the service running. The success path disarms it and starts
/// the service itself (a failure there is reported, never undone).
struct RestartOnExit<'a> {
    options: &'a RestoreOptions,
    clock: &'a dyn Clock,
    log: &'a ActivityLog,
    armed: bool,
}

impl Drop for RestartOnExit<'_> {
    fn drop(&mut self) {
        if self.armed {
            restart_service(self.options, self.clock, self.log);
        }
    }
}

/// The safety backup reads the live file in place: pinned (WAL mode) or
/// frozen by a write lock when no other process has it open; pinned or
/// else copied into the staging folder first otherwise, so a running
/// service is never blocked for long.
fn pre_source(live: &Path) -> SnapshotSource {
    if holders::holders(&holders::database_files(live)) == holders::Holders::Nobody {
        SnapshotSource::FrozenInPlace
    } else {
        SnapshotSource::PinnedInPlace
    }
}

/// Runs the start command after a failure, so the service is not left
/// stopped; its own failure is logged.
fn restart_service(options: &RestoreOptions, clock: &dyn Clock, log: &ActivityLog) {
    if let Some(cmd) = &options.start_cmd {
        match run_shell(cmd) {
            Ok(()) => log.append(clock, Level::Info, "Service started again"),
            Err(e) => log.append(
                clock,
                Level::Error,
                &format!("The start command failed too: {e}"),
            ),
        }
    }
}

fn prune_pre_restore(data: &DataDir, clock: &dyn Clock, warnings: &mut Vec<String>) {
    let policy = retention::saved_policy(data);
    let Ok(catalog) = BackupCatalog::scan(data) else {
        return;
    };
    let ledger = crate::local::ledger::Ledger::load(data);
    let mut plan = retention::plan(&catalog, &ledger, &policy, clock);
    plan.decisions
        .retain(|d| BackupName::parse(&d.filename).is_ok_and(|n| n.kind().is_pre_restore()));
    let outcome = retention::apply(data, &plan);
    for (name, error) in outcome.failed {
        warnings.push(format!(
            "could not prune the old pre-restore backup {name}: {error}"
        ));
    }
}

/// If the live database uses another page size than the staged copy,
/// rebuilds the staged copy with the live page size (the backup API cannot
/// change the page size of a WAL database).
fn match_page_size(live: &Path, staged: &Path) -> Result<(), RestoreError> {
    // Read from the file headers: no SQLite connection to the live file
    // (which could be refused while a crashed writer's hot journal waits).
    let (Some(live_size), Some(staged_size)) = (header_page_size(live), header_page_size(staged))
    else {
        return Ok(());
    };
    if live_size == staged_size {
        return Ok(());
    }
    let conn = Connection::open(staged).map_err(|e| sqlite(staged, e))?;
    conn.query_row("PRAGMA journal_mode=DELETE", [], |_| Ok(()))
        .map_err(|e| sqlite(staged, e))?;
    conn.execute_batch(&format!("PRAGMA page_size={live_size}; VACUUM;"))
        .map_err(|e| sqlite(staged, e))?;
    Ok(())
}

/// The page size recorded in a database file's header (offset 16, big
/// endian, 1 meaning 65536); `None` for an empty or unreadable file.
fn header_page_size(path: &Path) -> Option<u64> {
    use std::io::Read;
    let mut header = [0u8; 18];
    std::fs::File::open(path)
        .ok()?
        .read_exact(&mut header)
        .ok()?;
    match u16::from_be_bytes([header[16], header[17]]) {
        1 => Some(65536),
        n => Some(u64::from(n)),
    }
}

fn sqlite(path: &Path, source: rusqlite::Error) -> RestoreError {
    RestoreError::Snapshot(SnapshotError::Sqlite {
        path: path.display().to_string(),
        source,
    })
}

/// How long a stop or start command may run before it is killed.
pub const SERVICE_COMMAND_TIMEOUT: Duration = Duration::from_secs(120);

/// Runs `cmd` with `sh -c`, in its own process group, with no passphrase in
/// its environment (`DB_BACKUP_PASSPHRASE` is removed), stdin and stdout
/// closed and stderr in a file (so a daemon it forks, which keeps them,
/// cannot hold the restore), killed with its whole group after
/// [`SERVICE_COMMAND_TIMEOUT`]. The error says how it failed.
fn run_shell(cmd: &str) -> Result<(), String> {
    run_shell_within(cmd, SERVICE_COMMAND_TIMEOUT)
}

fn run_shell_within(cmd: &str, timeout: Duration) -> Result<(), String> {
    use std::io::{Read, Seek};
    use std::os::unix::process::CommandExt;
    let mut stderr = tempfile::tempfile().map_err(|e| format!("cannot run it: {e}"))?;
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(cmd)
        .env_remove("DB_BACKUP_PASSPHRASE")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(
            stderr
                .try_clone()
                .map_err(|e| format!("cannot run it: {e}"))?,
        )
        .process_group(0)
        .spawn()
        .map_err(|e| format!("cannot run it: {e}"))?;
    let started = std::time::Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if started.elapsed() < timeout => {
                std::thread::sleep(Duration::from_millis(50))
            }
            Ok(None) | Err(_) => {
                let group = rustix::process::Pid::from_raw(child.id() as i32);
                if let Some(group) = group {
                    let _ =
                        rustix::process::kill_process_group(group, rustix::process::Signal::KILL);
                }
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "it did not finish within {} s and was killed",
                    timeout.as_secs()
                ));
            }
        }
    };
    if status.success() {
        Ok(())
    } else {
        let mut text = String::new();
        let _ = stderr.rewind();
        let _ = stderr.take(4096).read_to_string(&mut text);
        Err(format!("{status}; {}", text.trim()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_service_command_cannot_hang_the_restore() {
        // A daemon keeping stdout and stderr open does not block the command.
        let started = std::time::Instant::now();
        run_shell_within("sleep 30 & echo started", Duration::from_secs(10)).unwrap();
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{:?}",
            started.elapsed()
        );
        // A command that never ends is killed at the timeout.
        let err = run_shell_within("sleep 30", Duration::from_millis(300)).unwrap_err();
        assert!(err.contains("killed"), "{err}");
        let err = run_shell_within("echo nope >&2; exit 3", Duration::from_secs(10)).unwrap_err();
        assert!(err.contains("nope"), "{err}");
    }
}
