//! The restore as a typed sequence. Each stage takes what the stage before
//! produced, so none can run out of order:
//!
//! [`LiveDatabase`] → [`stage`] → [`Staged`] → [`stop_service`] →
//! [`protect`] → [`SafetyBackup`] → [`swap_in`] → [`Swapped`] →
//! [`finish`] (the report) or [`roll_back`] (the error).
//!
//! One guard, [`Cleanup`], owns everything a run must undo however it
//! ends: a safety backup made beside checks that then failed (or a run
//! cancelled before the swap) is removed, and once the service was stopped
//! it is started again on every way out but success (where [`finish`]
//! starts it and reports a failure, never undoing the restore).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rusqlite::Connection;

use super::commands::{ServiceCommandError, restart_service, run_shell};
use super::holders;
use super::swap::{self, SwapError, SwapMethod};
use super::{FaultPoint, Faults, RestoreError, RestoreOptions, RestoreReport};
use crate::context::OperationContext;
use crate::format::crypto::{Compression, Passphrase};
use crate::format::meta::TableRows;
use crate::format::name::BackupName;
use crate::local::activity_log::{ActivityLog, Level};
use crate::local::backup::{self, BackupError, BackupOptions, NewBackupKind, SnapshotSource};
use crate::local::catalog::{BackupCatalog, CatalogEntry};
use crate::local::layout::DataDir;
use crate::local::lock::OperationLock;
use crate::local::retention;
use crate::local::snapshot::{self, SnapshotError};
use crate::local::staging::{StagedFile, Staging};
use crate::local::verify::{self, VerifyDepth, VerifyError};
use crate::progress::{NoProgress, Progress};

/// Nice value of the pre-restore backup taken beside the staging checks.
/// Those checks are the critical path and get the larger share of the two
/// cores; at 5 the safety backup also keeps pace with the staged copy being
/// written, which reuses the pages its reading frees (measured at 512 MiB:
/// 4.2 s at 5, 4.4 s at 10, 4.5 s at 3, 4.9 s at 0).
mod ending;

use ending::*;

const PRE_RESTORE_NICE: i32 = 5;

/// What every stage of one run shares.
pub(super) struct Run<'a> {
    pub data: &'a DataDir,
    pub passphrase: &'a Passphrase,
    pub options: &'a RestoreOptions,
    pub faults: Faults,
    pub ctx: OperationContext<'a>,
    pub log: &'a ActivityLog,
    staging: Staging,
    started: Instant,
    /// Things worth knowing, for the report.
    warnings: Vec<String>,
}

/// The live database file: the link's target when the live path is a
/// symlink (the file the service really uses), with whether it exists.
pub(super) struct LiveDatabase {
    path: PathBuf,
    exists: bool,
}

/// The backup decrypted into staging and checked (size, SHA-256,
/// `integrity_check`, `foreign_key_check`), with the safety backup taken
/// beside the checks when there was no service to stop first.
pub(super) struct Staged {
    copy: StagedFile,
    expected_tables: Vec<TableRows>,
    early_safety: Option<SafetyResult>,
}

type SafetyResult = Result<(backup::BackupReport, Option<StagedFile>), BackupError>;

/// The encrypted copy of the live database before the swap (`name` is
/// `None` when there was no live database), and its staged plaintext
/// snapshot when one is left for a fast rollback.
pub(super) struct SafetyBackup {
    name: Option<String>,
    snapshot: Option<StagedFile>,
}

impl SafetyBackup {
    fn label(&self) -> String {
        self.name.clone().unwrap_or_else(|| "(none)".to_owned())
    }
}

/// A swap that changed the live database: its method, the old content
/// kept for a rollback, and the check of the result.
pub(super) struct Swapped {
    method: SwapMethod,
    previous: StagedFile,
    checked: Result<Vec<TableRows>, SwapError>,
}

/// The one cleanup guard of a run (see the module docs).
pub(super) struct Cleanup<'a> {
    options: &'a RestoreOptions,
    ctx: OperationContext<'a>,
    log: &'a ActivityLog,
    /// The `.gpg` and `.meta` of a safety backup nobody needs.
    discard: Option<(PathBuf, PathBuf)>,
    /// Whether the service must be started again on the way out.
    restart: bool,
}

impl<'a> Cleanup<'a> {
    fn new(run: &Run<'a>) -> Self {
        Cleanup {
            options: run.options,
            ctx: run.ctx,
            log: run.log,
            discard: None,
            restart: false,
        }
    }

    /// Removes this safety backup on the way out unless [`Cleanup::keep`]
    /// is called.
    fn discard_on_exit(&mut self, gpg: PathBuf, meta: PathBuf) {
        self.discard = Some((gpg, meta));
    }

    /// The safety backup is needed: keep it whatever happens.
    fn keep(&mut self) {
        self.discard = None;
    }
}

impl Drop for Cleanup<'_> {
    fn drop(&mut self) {
        if let Some((gpg, meta)) = self.discard.take() {
            let _ = std::fs::remove_file(gpg);
            let _ = std::fs::remove_file(meta);
        }
        if self.restart {
            restart_service(self.options, &self.ctx, self.log);
        }
    }
}

/// The whole sequence, under the operation lock.
#[allow(clippy::too_many_arguments)]
pub(super) fn run(
    data: &DataDir,
    file_name: &str,
    passphrase: &Passphrase,
    options: &RestoreOptions,
    faults: Faults,
    ctx: &OperationContext<'_>,
    log: &ActivityLog,
) -> Result<RestoreReport, RestoreError> {
    let _lock = OperationLock::acquire(data)?;
    let staging = Staging::open(data).map_err(super::io_err(&data.staging()))?;
    backup::remove_leftovers(data, &staging);
    let catalog = BackupCatalog::scan(data)?;
    let entry = catalog.find(file_name)?;
    let mut run = Run {
        data,
        passphrase,
        options,
        faults,
        ctx: *ctx,
        log,
        staging,
        started: Instant::now(),
        warnings: Vec::new(),
    };
    let live = LiveDatabase::resolve(&mut run)?;
    run.warn_of_default_passphrase();
    let mut cleanup = Cleanup::new(&run);
    let staged = stage(&mut run, entry, &live, &mut cleanup)?;
    stop_service(&run, &mut cleanup)?;
    let safety = protect(&mut run, &live, staged.early_safety, &mut cleanup)?;
    // Last chance to cancel: after this the swap begins.
    if run.ctx.cancelled() {
        if let Some(name) = &safety.name {
            cleanup.discard_on_exit(
                data.backup_file(name),
                data.backup_file(&name.replace(".db.gpg", ".db.meta")),
            );
        }
        return Err(RestoreError::Cancelled);
    }
    let mut safety = safety;
    let swapped = swap_in(
        &run,
        staged.copy,
        &staged.expected_tables,
        &live,
        &mut safety,
    )?;
    match swapped.checked {
        Ok(tables) => Ok(finish(
            run,
            file_name,
            swapped.method,
            swapped.previous,
            tables,
            &safety,
            &mut cleanup,
        )),
        Err(reason) => Err(roll_back(
            &run,
            &live,
            swapped.method,
            &swapped.previous,
            reason,
            safety,
        )),
    }
}

impl Run<'_> {
    fn info(&self, text: &str) {
        self.log.append(&self.ctx, Level::Info, text);
    }

    /// The safety backup uses the passphrase the restore was given, even
    /// the scripts' well-known default (refusing would block the restore
    /// of a legacy installation), but never silently.
    fn warn_of_default_passphrase(&mut self) {
        if self.passphrase.is_legacy_default() {
            self.warnings.push("the pre-restore backup is encrypted with Server Monitor's well-known default passphrase: set your own and rotate (`backupdesk passphrase rotate`)".to_owned());
            self.log.append(
                &self.ctx,
                Level::Warning,
                "Pre-restore backup encrypted with the well-known default passphrase",
            );
        }
    }

    fn safety_options(&self) -> BackupOptions {
        BackupOptions {
            compression: self.options.compression.unwrap_or(Compression::Fast),
            allow_default_passphrase: true,
            kind: NewBackupKind::PreRestore,
            prune_after: false,
            retention: None,
            // (The live database's safety copy, under the set's passphrase.)
            new_set: true,
        }
    }

    /// A safety backup of the live database read as `source`.
    fn safety_backup(&self, source: SnapshotSource, ctx: &OperationContext<'_>) -> SafetyResult {
        backup::backup_locked(
            self.data,
            &self.staging,
            self.passphrase,
            &self.safety_options(),
            ctx,
            source,
        )
    }
}

impl LiveDatabase {
    /// The file to restore into. A live database that is a symlink is
    /// restored into the file it points to (the link stays): replacing the
    /// link would leave the file the service really uses with the old
    /// content.
    fn resolve(run: &mut Run<'_>) -> Result<Self, RestoreError> {
        let link = run.data.database();
        let path = match std::fs::symlink_metadata(&link) {
            Ok(m) if m.file_type().is_symlink() => {
                let target = std::fs::canonicalize(&link).map_err(super::io_err(&link))?;
                run.warnings.push(format!(
                    "{} is a symbolic link: restored into the file it points to, {}",
                    link.display(),
                    target.display()
                ));
                target
            }
            _ => link,
        };
        let exists = path.exists();
        Ok(LiveDatabase { path, exists })
    }

    /// How the safety backup reads the live file in place: frozen by a
    /// write lock when no other process has it open, else pinned (or
    /// copied into staging first), so a running service is never blocked
    /// for long.
    fn safety_source(&self) -> SnapshotSource {
        if holders::holders(&holders::database_files(&self.path)) == holders::Holders::Nobody {
            SnapshotSource::FrozenInPlace
        } else {
            SnapshotSource::PinnedInPlace
        }
    }
}

/// Stage 1: decrypt and check the backup; the live database is not touched
/// before this passes. With no service to stop first, the safety backup of
/// the live database is taken at the same time, on the other core (and
/// removed again by the guard if the checks fail).
fn stage(
    run: &mut Run<'_>,
    entry: &CatalogEntry,
    live: &LiveDatabase,
    cleanup: &mut Cleanup<'_>,
) -> Result<Staged, RestoreError> {
    let deep_check = |ctx: &OperationContext<'_>| {
        verify::check(
            run.data,
            entry,
            run.passphrase,
            VerifyDepth::Deep,
            true,
            ctx,
        )
    };
    let parallel = run.options.stop_cmd.is_none() && live.exists;
    let (checked, early_safety) = if parallel {
        std::thread::scope(|scope| {
            let safety = scope.spawn(|| {
                // The staged checks are the critical path: the safety
                // backup fills the cycles they leave.
                let _ = rustix::process::setpriority_process(None, PRE_RESTORE_NICE);
                let made = run.safety_backup(live.safety_source(), &run.ctx.quiet());
                tracing::debug!(elapsed = ?run.started.elapsed(), "parallel pre-restore backup done");
                made
            });
            let checked = deep_check(&run.ctx);
            let safety = safety.join().unwrap_or_else(|_| {
                Err(BackupError::Io {
                    path: run.data.backups().display().to_string(),
                    source: std::io::Error::other("the pre-restore backup thread panicked"),
                })
            });
            (checked, Some(safety))
        })
    } else {
        (deep_check(&run.ctx), None)
    };
    if let Some(Ok((made, _))) = &early_safety {
        cleanup.discard_on_exit(made.path.clone(), made.meta_path.clone());
    }
    let (report, copy) = match checked {
        Ok(_) if run.ctx.cancelled() => return Err(RestoreError::Cancelled),
        Ok(checked) => checked,
        Err(VerifyError::Crypto(crate::format::crypto::CryptoError::Cancelled)) => {
            return Err(RestoreError::Cancelled);
        }
        Err(e) => return Err(RestoreError::Verify(e)),
    };
    let copy = copy.expect("a deep check keeps its staged copy");
    tracing::debug!(elapsed = ?run.started.elapsed(), "staged and checked");
    run.warnings.extend(report.warnings.iter().cloned());
    run.info(&format!(
        "{} decrypted and checked ({} bytes, integrity ok)",
        entry.name.file_name(),
        report.size_bytes
    ));
    if live.exists {
        // A damaged live database does not stop the restore: it is kept
        // as it is (by `protect`) and replaced.
        match snapshot::check_is_sqlite(&live.path) {
            Ok(()) => match_page_size(&live.path, copy.path())?,
            Err(e) if e.is_damaged_database() => {}
            Err(e) => return Err(RestoreError::from(e)),
        }
    }
    Ok(Staged {
        copy,
        expected_tables: report.database.map(|d| d.tables).unwrap_or_default(),
        early_safety,
    })
}

/// Stage 2: the optional stop command. From here on, every way out but
/// success starts the service again.
fn stop_service(run: &Run<'_>, cleanup: &mut Cleanup<'_>) -> Result<(), RestoreError> {
    if let Some(cmd) = &run.options.stop_cmd {
        run_shell(cmd).map_err(|detail| RestoreError::StopCommandFailed {
            command: cmd.clone(),
            detail,
        })?;
        run.info(&format!("Service stopped: {cmd}"));
    }
    cleanup.restart = true;
    Ok(())
}

/// Stage 3: the safety backup, encrypted like any other (taken after the
/// service stopped, when there is one, so no write is lost; or the one
/// taken beside the checks); its snapshot stays staged for a fast
/// rollback. A damaged live database is kept as it is.
fn protect(
    run: &mut Run<'_>,
    live: &LiveDatabase,
    early: Option<SafetyResult>,
    cleanup: &mut Cleanup<'_>,
) -> Result<SafetyBackup, RestoreError> {
    cleanup.keep();
    let made = match early {
        Some(result) => Some(result),
        None if live.exists => Some(run.safety_backup(live.safety_source(), &run.ctx)),
        None => None,
    };
    let safety = match made {
        Some(Ok((made, snapshot))) => {
            run.info(&format!(
                "Pre-restore backup created: {}",
                made.path.display()
            ));
            SafetyBackup {
                name: Some(made.name.file_name().to_owned()),
                snapshot,
            }
        }
        Some(Err(BackupError::Snapshot(e))) if e.is_damaged_database() => {
            // The very disaster a restore exists for: the live database is
            // damaged. Keep it as it is, encrypted, then go on.
            let (made, _) = run
                .safety_backup(SnapshotSource::AsIs, &run.ctx)
                .map_err(RestoreError::PreRestoreBackupFailed)?;
            let text = format!(
                "the live database is damaged ({e}): it is kept as it was, encrypted, in {} (`gpg -d` gives the damaged file back byte for byte)",
                made.name.file_name()
            );
            run.log.append(&run.ctx, Level::Warning, &text);
            run.warnings.push(text);
            SafetyBackup {
                name: Some(made.name.file_name().to_owned()),
                snapshot: None,
            }
        }
        Some(Err(e)) => return Err(RestoreError::PreRestoreBackupFailed(e)),
        None => {
            run.warnings
                .push("there was no live database, so there is no pre-restore backup".to_owned());
            SafetyBackup {
                name: None,
                snapshot: None,
            }
        }
    };
    tracing::debug!(elapsed = ?run.started.elapsed(), "pre-restore backup done");
    Ok(safety)
}

/// Stage 4: the swap and the check of its result. A swap that gave up
/// before anything of ours reached the live database is an error here
/// (nothing to roll back: rolling back would only overwrite what the
/// service committed since the snapshot); one that changed it comes back
/// with its check, for [`finish`] or [`roll_back`].
fn swap_in(
    run: &Run<'_>,
    copy: StagedFile,
    expected_tables: &[TableRows],
    live: &LiveDatabase,
    safety: &mut SafetyBackup,
) -> Result<Swapped, RestoreError> {
    let previous = run.staging.file("previous.db");
    let method = if live.exists {
        swap::choose(copy.path(), &live.path, &previous)
    } else {
        SwapMethod::BackupApi
    };
    // A backup-API swap rolls back from a staged copy of the old content;
    // when the safety backup read the live file in place, make that copy now.
    if method == SwapMethod::BackupApi && live.exists && safety.snapshot.is_none() {
        let copy = run.staging.file("rollback.db");
        snapshot::take_snapshot(&live.path, copy.path(), &NoProgress)?;
        safety.snapshot = Some(copy);
    }
    let faults = run.faults;
    let swapped = match method {
        SwapMethod::Rename => swap::by_rename(
            copy.path(),
            &live.path,
            expected_tables,
            faults.fault,
            faults.pause_mid_swap,
        ),
        SwapMethod::BackupApi => swap::by_backup_api(
            copy.path(),
            &live.path,
            expected_tables,
            faults.fault,
            faults.pause_mid_swap,
            run.busy_wait(),
        ),
    };
    drop(copy);
    tracing::debug!(elapsed = ?run.started.elapsed(), ?method, "swapped and checked");
    let checked = match swapped {
        Ok(tables) => Ok(tables),
        Err(failure) if !failure.changed => {
            run.log.append(
                &run.ctx,
                Level::Error,
                &format!(
                    "Restore failed before it changed the live database: {}; nothing to roll back",
                    failure.error
                ),
            );
            return Err(RestoreError::SwapFailedUnchanged {
                reason: Box::new(failure.error),
                pre_restore_backup: safety.label(),
            });
        }
        Err(failure) => Err(failure.error),
    };
    Ok(Swapped {
        method,
        previous,
        checked,
    })
}

impl Run<'_> {
    fn busy_wait(&self) -> Duration {
        self.options.busy_wait.unwrap_or(Duration::from_secs(60))
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
