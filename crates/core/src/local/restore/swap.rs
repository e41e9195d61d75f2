//! The swap: putting the staged, checked database in place of the live one.
//!
//! Two ways, chosen per restore ([`choose`]):
//! - **rename**, when no process (this one included) has the live database
//!   or its companions open, the live database has no WAL content or hot
//!   journal waiting, and the staged copy can get the live file's owner and
//!   mode: the old file is kept as a hard link in the staging folder, the
//!   staged file (fsynced) is renamed over the live path and the folder
//!   fsynced. A crash leaves the old or the new file, never a mix, and the
//!   live file afterwards *is* the file that passed `integrity_check` (same
//!   inode), so it is not checked a second time; a rollback renames the old
//!   file back.
//! - **backup API**, otherwise: SQLite copies the staged database into the
//!   live one in one step inside its own locking and journaling, so open
//!   readers and a running writer are safe; `integrity_check` then runs on
//!   the live result.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::time::{Duration, Instant};

use rusqlite::{Connection, OpenFlags, backup::StepResult};
use serde::Serialize;

use super::FaultPoint;
use super::holders::{self, Holders};
use crate::format::meta::TableRows;
use crate::local::snapshot;
use crate::local::staging::StagedFile;
use crate::publish::sync_dir;

/// How the staged database was put in place.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum SwapMethod {
    /// An atomic rename (nobody had the live database open).
    Rename,
    /// SQLite's backup API, in one step (the database was in use, or a
    /// rename was not possible).
    BackupApi,
}

/// Why a rename cannot be the swap (SQLite's backup API is used then):
/// said in the debug log, never an error of the restore.
#[derive(Debug, thiserror::Error)]
enum NoRename {
    /// Pending WAL frames or a hot journal (of the live or the staged
    /// database) would be replayed into the wrong file.
    #[error("{0} is not empty")]
    CompanionNotEmpty(String),
    /// Processes hold the live database open.
    #[error("held open by {0:?}")]
    HeldOpen(Vec<u32>),
    /// Who holds it cannot be told.
    #[error("cannot tell who holds it open")]
    HoldersUnknown,
    /// The staging folder is on another filesystem.
    #[error("the staging folder is on another filesystem")]
    OtherFilesystem,
    /// The staged copy cannot be given the live file's owner, mode or
    /// durability, or the previous database kept for a rollback.
    #[error("{what}: {source}")]
    Io {
        what: &'static str,
        #[source]
        source: std::io::Error,
    },
}

fn io(what: &'static str) -> impl FnOnce(std::io::Error) -> NoRename {
    move |source| NoRename::Io { what, source }
}

/// Picks the swap method and, for a rename, prepares the staged file (owner,
/// mode, fsync) and keeps the live file as a hard link at `previous` for a
/// rollback. Never changes the live database.
pub(super) fn choose(staged: &Path, live: &Path, previous: &StagedFile) -> SwapMethod {
    let prepared = prepare_rename(staged, live).and_then(|()| {
        std::fs::hard_link(live, previous.path())
            .map_err(io("cannot keep the previous database for a rollback"))
    });
    match prepared {
        Ok(()) => SwapMethod::Rename,
        Err(why) => {
            tracing::debug!(%why, "swapping with the backup API");
            SwapMethod::BackupApi
        }
    }
}

fn prepare_rename(staged: &Path, live: &Path) -> Result<(), NoRename> {
    let files = holders::database_files(live);
    // Pending WAL frames or a hot journal belong to the old file: a rename
    // would leave them to be replayed into the new one.
    for companion in &files[1..] {
        if let Ok(meta) = std::fs::metadata(companion)
            && meta.len() > 0
            && !companion.to_string_lossy().ends_with("-shm")
        {
            return Err(NoRename::CompanionNotEmpty(companion.display().to_string()));
        }
    }
    for companion in holders::database_files(staged).iter().skip(1) {
        if std::fs::metadata(companion).is_ok_and(|m| m.len() > 0) {
            return Err(NoRename::CompanionNotEmpty(companion.display().to_string()));
        }
    }
    match holders::holders(&files) {
        Holders::Nobody => {}
        Holders::Some(pids) => return Err(NoRename::HeldOpen(pids)),
        Holders::Unknown => return Err(NoRename::HoldersUnknown),
    }
    let live_meta = std::fs::metadata(live).map_err(io("the live database"))?;
    let staged_meta = std::fs::metadata(staged).map_err(io("the staged copy"))?;
    if live_meta.dev() != staged_meta.dev() {
        return Err(NoRename::OtherFilesystem);
    }
    if (live_meta.uid(), live_meta.gid()) != (staged_meta.uid(), staged_meta.gid()) {
        std::os::unix::fs::chown(staged, Some(live_meta.uid()), Some(live_meta.gid()))
            .map_err(io("cannot give the staged copy the live owner"))?;
    }
    std::fs::set_permissions(
        staged,
        std::fs::Permissions::from_mode(live_meta.mode() & 0o7777),
    )
    .map_err(io("cannot give the staged copy the live mode"))?;
    std::fs::File::open(staged)
        .and_then(|f| f.sync_all())
        .map_err(io("cannot sync the staged copy"))?;
    Ok(())
}

/// Why a swap, the check of its result or a rollback failed. The text is
/// what the admin reads inside the restore's error.
#[derive(Debug, thiserror::Error)]
pub enum SwapError {
    /// The staged copy vanished or cannot be read.
    #[error("cannot read the staged copy: {0}")]
    StagedUnreadable(#[source] std::io::Error),
    /// A failure a test forced.
    #[error("{0}")]
    Injected(&'static str),
    /// The atomic rename failed (the live database is as it was).
    #[error("renaming into place failed: {0}")]
    Rename(#[source] std::io::Error),
    /// The folder could not be synced after a rename.
    #[error("cannot sync {dir}: {source}")]
    SyncDir {
        dir: String,
        #[source]
        source: std::io::Error,
    },
    /// After the rename the live path is another file than the checked one.
    #[error("the live path does not hold the checked copy after the rename")]
    NotTheCheckedCopy,
    /// The live database cannot be opened for the check.
    #[error("cannot open the live database: {0}")]
    OpenLive(#[source] rusqlite::Error),
    /// `integrity_check` could not run on the live result.
    #[error("integrity_check failed to run: {0}")]
    IntegrityCheckDidNotRun(#[source] rusqlite::Error),
    /// `integrity_check` found problems in the live result.
    #[error("the live database fails integrity_check after the swap: {}", .0.join("; "))]
    IntegrityCheckFailed(Vec<String>),
    /// The live row counts cannot be read.
    #[error("{0}")]
    Counts(#[source] rusqlite::Error),
    /// A table has fewer rows than the backup (a running service may add
    /// rows, never remove them in that instant).
    #[error(
        "table {table} has {} rows after the swap, the backup has {backup}",
        live.map_or("no".to_owned(), |r| r.to_string())
    )]
    RowsMissing {
        table: String,
        live: Option<u64>,
        backup: u64,
    },
    /// SQLite's backup API failed or gave up (it rolled its copy back).
    #[error("copying into the live database failed: {0}")]
    Copy(#[source] rusqlite::Error),
    /// The kept previous file could not be renamed back.
    #[error("renaming the previous database back failed: {0}")]
    RenameBack(#[source] std::io::Error),
    /// A rollback was needed but there was no database before.
    #[error("there was no live database before the restore")]
    NoPreviousDatabase,
    /// A rollback was needed but no copy of the old content was staged.
    #[error("no copy of the previous content was staged")]
    NoPreviousCopy,
}

fn sync_folder_of(path: &Path) -> Result<(), SwapError> {
    match path.parent() {
        Some(dir) => sync_dir(dir).map_err(|source| SwapError::SyncDir {
            dir: dir.display().to_string(),
            source,
        }),
        None => Ok(()),
    }
}

/// Why a swap failed, and whether the live database was changed by then.
#[derive(Debug)]
pub(super) struct SwapFailure {
    /// Whether the live database holds anything of ours: only then is
    /// there something to roll back.
    pub changed: bool,
    pub error: SwapError,
}

impl SwapFailure {
    fn unchanged(error: SwapError) -> Self {
        SwapFailure {
            changed: false,
            error,
        }
    }

    fn changed(error: SwapError) -> Self {
        SwapFailure {
            changed: true,
            error,
        }
    }
}

/// Renames `staged` over `live` and checks that the live path now holds
/// that very file and its tables; returns the live row counts.
pub(super) fn by_rename(
    staged: &Path,
    live: &Path,
    expected: &[TableRows],
    fault: Option<FaultPoint>,
    pause: Option<Duration>,
) -> Result<Vec<TableRows>, SwapFailure> {
    let staged_id =
        file_id(staged).map_err(|e| SwapFailure::unchanged(SwapError::StagedUnreadable(e)))?;
    if fault == Some(FaultPoint::MidSwap) {
        return Err(SwapFailure::unchanged(SwapError::Injected(
            "injected failure half-way through the swap",
        )));
    }
    if let Some(pause) = pause {
        std::thread::sleep(pause);
    }
    // A rename is atomic: when it fails, the live database is as it was.
    std::fs::rename(staged, live).map_err(|e| SwapFailure::unchanged(SwapError::Rename(e)))?;
    after_rename(live, staged_id, expected, fault).map_err(SwapFailure::changed)
}

fn after_rename(
    live: &Path,
    staged_id: (u64, u64),
    expected: &[TableRows],
    fault: Option<FaultPoint>,
) -> Result<Vec<TableRows>, SwapError> {
    sync_folder_of(live)?;
    if fault == Some(FaultPoint::AfterSwap) {
        return Err(SwapError::Injected("injected failure right after the swap"));
    }
    if file_id(live).ok() != Some(staged_id) {
        return Err(SwapError::NotTheCheckedCopy);
    }
    if fault == Some(FaultPoint::PostSwapCheck) {
        return Err(SwapError::Injected(
            "the live database fails its check after the swap (injected)",
        ));
    }
    let conn = open_live(live)?;
    check_counts(&conn, expected)
}

/// Undoes [`by_rename`]: the kept previous file goes back in place.
pub(super) fn rollback_rename(previous: &Path, live: &Path) -> Result<(), SwapError> {
    std::fs::rename(previous, live).map_err(SwapError::RenameBack)?;
    sync_folder_of(live)
}

fn file_id(path: &Path) -> std::io::Result<(u64, u64)> {
    std::fs::metadata(path).map(|m| (m.dev(), m.ino()))
}

/// Copies `source` into `live` with the backup API in one step, then checks
/// the live result. `expected` (when not empty) are the row counts the live
/// database must have afterwards; returns the live row counts.
pub(super) fn by_backup_api(
    source: &Path,
    live: &Path,
    expected: &[TableRows],
    fault: Option<FaultPoint>,
    pause: Option<Duration>,
    busy_wait: Duration,
) -> Result<Vec<TableRows>, SwapFailure> {
    let started = Instant::now();
    // SQLite copies in one write transaction on the live database and rolls
    // it back itself when the copy fails or gives up: the live database is
    // then exactly as it was, with every commit the service made meanwhile.
    copy_into_live(source, live, fault, pause, busy_wait)
        .map_err(|e| SwapFailure::unchanged(SwapError::Copy(e)))?;
    tracing::debug!(elapsed = ?started.elapsed(), "swap done");
    check_after_copy(live, expected, fault).map_err(SwapFailure::changed)
}

fn check_after_copy(
    live: &Path,
    expected: &[TableRows],
    fault: Option<FaultPoint>,
) -> Result<Vec<TableRows>, SwapError> {
    let started = Instant::now();
    if fault == Some(FaultPoint::AfterSwap) {
        return Err(SwapError::Injected("injected failure right after the swap"));
    }
    let conn = open_live(live)?;
    let integrity: Vec<String> = conn
        .prepare("PRAGMA integrity_check")
        .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
        .map_err(SwapError::IntegrityCheckDidNotRun)?;
    tracing::debug!(elapsed = ?started.elapsed(), "post-swap integrity_check done");
    if integrity != ["ok"] || fault == Some(FaultPoint::PostSwapCheck) {
        return Err(SwapError::IntegrityCheckFailed(integrity));
    }
    check_counts(&conn, expected)
}

fn open_live(live: &Path) -> Result<Connection, SwapError> {
    let conn = Connection::open_with_flags(live, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(SwapError::OpenLive)?;
    conn.busy_timeout(Duration::from_secs(30))
        .map_err(SwapError::OpenLive)?;
    Ok(conn)
}

/// The live row counts, checked against `expected` (when not empty).
fn check_counts(conn: &Connection, expected: &[TableRows]) -> Result<Vec<TableRows>, SwapError> {
    let actual = snapshot::table_rows(conn).map_err(SwapError::Counts)?;
    for table in expected {
        let live_rows = actual.iter().find(|t| t.name == table.name).map(|t| t.rows);
        // A running service may add rows after the swap; fewer is wrong.
        if live_rows.is_none_or(|rows| rows < table.rows) {
            return Err(SwapError::RowsMissing {
                table: table.name.clone(),
                live: live_rows,
                backup: table.rows,
            });
        }
    }
    Ok(actual)
}

fn copy_into_live(
    source: &Path,
    live: &Path,
    fault: Option<FaultPoint>,
    pause: Option<Duration>,
    busy_wait: Duration,
) -> Result<(), rusqlite::Error> {
    let src = Connection::open_with_flags(source, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    let mut dst = Connection::open(live)?;
    dst.busy_timeout(busy_wait.min(Duration::from_secs(30)))?;
    let backup = rusqlite::backup::Backup::new(&src, &mut dst)?;
    if fault == Some(FaultPoint::MidSwap) {
        // Copy some pages, then abandon the copy: SQLite rolls back the
        // destination's open write transaction when the backup is dropped.
        let _ = backup.step(8)?;
        return Err(rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_IOERR),
            Some("injected failure half-way through the swap".to_owned()),
        ));
    }
    if let Some(pause) = pause {
        let half = (snapshot::pragma_u64(&src, "page_count")? / 2).max(1) as i32;
        let _ = backup.step(half)?;
        std::thread::sleep(pause);
    }
    let started = Instant::now();
    loop {
        match backup.step(-1)? {
            StepResult::Done => return Ok(()),
            StepResult::More => {}
            _ if started.elapsed() > busy_wait => {
                return Err(rusqlite::Error::SqliteFailure(
                    rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_BUSY),
                    Some(format!(
                        "the live database stayed locked by another process for {} s",
                        busy_wait.as_secs()
                    )),
                ));
            }
            _ => std::thread::sleep(Duration::from_millis(50)),
        }
    }
}
