//! Consistent snapshots of the live database and SQLite checks on copies.
//!
//! A snapshot is taken with SQLite's online backup API in **one step**
//! (`step(-1)`): the step-wise copy `sqlite3 .backup` does restarts on every
//! commit and never finishes under Server Monitor's write load (contract §6.7).

use std::io::Read;
use std::path::Path;
use std::time::{Duration, Instant};

use rusqlite::{Connection, OpenFlags, backup::StepResult};

use crate::format::meta::TableRows;
use crate::local::page_cache::DropBehind;
use crate::progress::{Phase, Progress};

/// The 16-byte header every non-empty SQLite database starts with.
pub(crate) const SQLITE_HEADER: &[u8; 16] = b"SQLite format 3\0";

/// How long a snapshot keeps retrying while the database is locked.
const BUSY_PATIENCE: Duration = Duration::from_secs(30);

/// Why a snapshot or a check could not be done.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    /// The live database file does not exist.
    #[error("database not found: {0}")]
    DatabaseMissing(String),
    /// The file exists but is not a SQLite database.
    #[error("{0} is not a SQLite database")]
    NotASqliteDatabase(String),
    /// The database stayed locked longer than we wait.
    #[error("the database stayed locked for {0:?}; is a long write running?")]
    Busy(Duration),
    /// SQLite reported an error.
    #[error("SQLite error on {path}: {source}")]
    Sqlite {
        path: String,
        #[source]
        source: rusqlite::Error,
    },
    /// Reading the file failed.
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

impl SnapshotError {
    /// Whether the file is there but is no readable database: not SQLite,
    /// or SQLite says its image is malformed.
    pub(crate) fn is_damaged_database(&self) -> bool {
        match self {
            SnapshotError::NotASqliteDatabase(_) => true,
            SnapshotError::Sqlite { source, .. } => matches!(
                source.sqlite_error_code(),
                Some(rusqlite::ErrorCode::DatabaseCorrupt | rusqlite::ErrorCode::NotADatabase)
            ),
            _ => false,
        }
    }
}

impl crate::KindedError for SnapshotError {
    fn kind(&self) -> crate::ErrorKind {
        match self {
            SnapshotError::DatabaseMissing(_) => crate::ErrorKind::DatabaseMissing,
            SnapshotError::NotASqliteDatabase(_) => crate::ErrorKind::NotASqliteDatabase,
            SnapshotError::Busy(_) => crate::ErrorKind::DatabaseBusy,
            SnapshotError::Sqlite { .. } => crate::ErrorKind::Sqlite,
            SnapshotError::Io { .. } => crate::ErrorKind::Io,
        }
    }
}

/// What was learned about a snapshot while taking it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotInfo {
    /// SQLite page size.
    pub page_size: u64,
    /// Number of pages.
    pub page_count: u64,
    /// Journal mode of the live database (`wal`, `delete`, ...).
    pub journal_mode: String,
    /// Row counts per table, in name order.
    pub tables: Vec<TableRows>,
}

fn sqlite_err(path: &Path) -> impl Fn(rusqlite::Error) -> SnapshotError + '_ {
    move |source| SnapshotError::Sqlite {
        path: path.display().to_string(),
        source,
    }
}

/// Checks that `path` exists and is a SQLite database (a 0-byte file counts:
/// SQLite treats it as an empty database).
///
/// # Errors
/// [`SnapshotError::DatabaseMissing`], [`SnapshotError::NotASqliteDatabase`],
/// [`SnapshotError::Io`].
pub(crate) fn check_is_sqlite(path: &Path) -> Result<(), SnapshotError> {
    use std::os::unix::fs::OpenOptionsExt;
    let shown = path.display().to_string();
    // Non-blocking: a FIFO in the database's place must not hang the
    // operation (and its lock); only a regular file can be a database.
    let opened = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path);
    let mut file = match opened {
        Ok(f) if f.metadata().is_ok_and(|m| !m.is_file()) => {
            return Err(SnapshotError::NotASqliteDatabase(format!(
                "{shown} (not a regular file)"
            )));
        }
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(SnapshotError::DatabaseMissing(shown));
        }
        Err(source) => {
            return Err(SnapshotError::Io {
                path: shown,
                source,
            });
        }
    };
    let mut header = [0u8; 16];
    let mut filled = 0;
    while filled < header.len() {
        match file.read(&mut header[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(source) => {
                return Err(SnapshotError::Io {
                    path: shown,
                    source,
                });
            }
        }
    }
    if filled == 0 || (filled == 16 && &header == SQLITE_HEADER) {
        Ok(())
    } else {
        Err(SnapshotError::NotASqliteDatabase(shown))
    }
}

/// Copies the live database at `live` into a new file `dest` as one
/// consistent snapshot, while other processes keep writing.
///
/// Works for WAL and rollback-journal databases. `dest` must not exist.
///
/// # Errors
/// [`SnapshotError::DatabaseMissing`] / [`SnapshotError::NotASqliteDatabase`]
/// for a bad source, [`SnapshotError::Busy`] when the database stays locked,
/// [`SnapshotError::Sqlite`] otherwise.
pub fn take_snapshot(
    live: &Path,
    dest: &Path,
    progress: &dyn Progress,
) -> Result<SnapshotInfo, SnapshotError> {
    check_is_sqlite(live)?;
    let size = std::fs::metadata(live).map(|m| m.len()).ok();
    progress.start(Phase::Snapshot, size);
    // Read-write (never create), so that SQLite can roll back a hot journal
    // a crashed writer left behind; nothing else is ever written. Read-only
    // when we may not write there.
    let source = Connection::open_with_flags(
        live,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .or_else(|_| {
        Connection::open_with_flags(
            live,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
    })
    .map_err(sqlite_err(live))?;
    source
        .busy_timeout(Duration::from_secs(5))
        .map_err(sqlite_err(live))?;
    let journal_mode: String = source
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .map_err(|e| classify_open(live, e))?;

    // The copy is plaintext: created 0600 before SQLite opens it (SQLite
    // keeps the mode of a file that exists), whatever the umask.
    if !dest.exists() {
        crate::publish::create_private_file(dest).map_err(|source| SnapshotError::Io {
            path: dest.display().to_string(),
            source,
        })?;
    }
    let mut target = Connection::open(dest).map_err(sqlite_err(dest))?;
    {
        let backup =
            rusqlite::backup::Backup::new(&source, &mut target).map_err(sqlite_err(dest))?;
        let started = Instant::now();
        loop {
            match backup.step(-1).map_err(sqlite_err(live))? {
                StepResult::Done => break,
                StepResult::More => continue,
                StepResult::Busy | StepResult::Locked => {
                    if started.elapsed() > BUSY_PATIENCE {
                        return Err(SnapshotError::Busy(BUSY_PATIENCE));
                    }
                    std::thread::sleep(Duration::from_millis(50));
                }
                _ => std::thread::sleep(Duration::from_millis(50)),
            }
        }
    }
    drop(source);
    let page_size = pragma_u64(&target, "page_size").map_err(sqlite_err(dest))?;
    let page_count = pragma_u64(&target, "page_count").map_err(sqlite_err(dest))?;
    let tables = table_rows(&target).map_err(sqlite_err(dest))?;
    target.close().map_err(|(_, e)| sqlite_err(dest)(e))?;
    progress.finish();
    Ok(SnapshotInfo {
        page_size,
        page_count,
        journal_mode,
        tables,
    })
}

/// The live database held still so a backup can read the file in place
/// instead of copying it first, in one of two ways:
/// - [`pin_wal`] (WAL mode, safe beside a running service): a read
///   transaction begun when every WAL frame was already in the file; while
///   it lasts no checkpoint may copy newer frames into the file, so the file
///   stays exactly the database as of that moment, and writers go on
///   appending to the WAL undisturbed (what Litestream does).
/// - [`freeze`] (any mode, only for a database nobody else uses): a write
///   lock (`BEGIN IMMEDIATE`) with no WAL content and no hot journal; a
///   running service's writes would wait for it.
///
/// The transaction ends when this is dropped.
pub(crate) struct FrozenDatabase {
    conn: Connection,
    path: std::path::PathBuf,
    pinned: bool,
    /// What a snapshot would have recorded.
    pub info: SnapshotInfo,
}

impl FrozenDatabase {
    /// The database's bytes: the first `page_count * page_size` bytes of
    /// the file. With `last_read`, the pages read leave the page cache
    /// behind the reader ([`DropBehind`]): for the pre-restore copy of a
    /// database about to be replaced, whose cached pages nobody will use.
    ///
    /// # Errors
    /// When the file cannot be opened.
    pub fn reader(&self, last_read: bool) -> std::io::Result<Box<dyn Read + Send>> {
        let file = std::fs::File::open(&self.path)?;
        Ok(if last_read {
            Box::new(DropBehind::new(file).take(self.size()))
        } else {
            Box::new(file.take(self.size()))
        })
    }

    /// Whether it is pinned ([`pin_wal`]) rather than frozen ([`freeze`]).
    pub(crate) fn is_pinned(&self) -> bool {
        self.pinned
    }

    /// Size of the database in bytes.
    pub fn size(&self) -> u64 {
        self.info.page_count * self.info.page_size
    }
}

impl Drop for FrozenDatabase {
    fn drop(&mut self) {
        let _ = self.conn.execute_batch("ROLLBACK");
    }
}

/// Pins a WAL database (see [`FrozenDatabase`]); `Ok(None)` when it is not
/// in WAL mode or its WAL cannot be fully checkpointed right now (another
/// reader still needs old frames). Writers wait only while the pending
/// frames are checkpointed (milliseconds), never for the read itself.
///
/// # Errors
/// [`SnapshotError::NotASqliteDatabase`] when the file is not SQLite.
pub(crate) fn pin_wal(live: &Path) -> Result<Option<FrozenDatabase>, SnapshotError> {
    check_is_sqlite(live)?;
    let open = || {
        let conn = Connection::open_with_flags(
            live,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(Duration::from_secs(5))?;
        Ok::<_, rusqlite::Error>(conn)
    };
    let (Ok(gate), Ok(reader)) = (open(), open()) else {
        return Ok(None);
    };
    let journal_mode: String = reader
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .map_err(|e| classify_open(live, e))?;
    if !journal_mode.eq_ignore_ascii_case("wal") {
        return Ok(None);
    }
    // No frame can be appended while the gate holds the write lock: the
    // checkpoint below can bring the file fully up to date, and the read
    // transaction begun after it starts with every frame in the file.
    if gate.execute_batch("BEGIN IMMEDIATE").is_err() {
        return Ok(None);
    }
    let checkpoint: rusqlite::Result<(i64, i64, i64)> =
        reader.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        });
    let pinned = match checkpoint {
        Ok((0, log, done)) if log == done => reader
            .execute_batch("BEGIN")
            .and_then(|()| held(reader, live, journal_mode, true)),
        _ => {
            let _ = gate.execute_batch("ROLLBACK");
            return Ok(None);
        }
    };
    let _ = gate.execute_batch("ROLLBACK");
    let pinned = pinned.map_err(sqlite_err(live))?;
    let file_len = std::fs::metadata(live).map(|m| m.len()).unwrap_or(0);
    if file_len < pinned.size() {
        return Ok(None);
    }
    tracing::debug!(
        pages = pinned.info.page_count,
        "WAL database pinned for an in-place read"
    );
    Ok(Some(pinned))
}

/// The [`FrozenDatabase`] of `conn`, whose transaction is open; the first
/// statement here starts its read.
fn held(
    conn: Connection,
    live: &Path,
    journal_mode: String,
    pinned: bool,
) -> rusqlite::Result<FrozenDatabase> {
    let page_size = pragma_u64(&conn, "page_size")?;
    let page_count = pragma_u64(&conn, "page_count")?;
    let tables = table_rows(&conn)?;
    Ok(FrozenDatabase {
        conn,
        path: live.to_path_buf(),
        pinned,
        info: SnapshotInfo {
            page_size,
            page_count,
            journal_mode,
            tables,
        },
    })
}

/// Freezes `live` (see [`FrozenDatabase`]); `Ok(None)` when its file is not
/// the whole database (WAL frames waiting) or it cannot be locked at once.
///
/// # Errors
/// As [`take_snapshot`] for a missing or non-SQLite file.
pub(crate) fn freeze(live: &Path) -> Result<Option<FrozenDatabase>, SnapshotError> {
    check_is_sqlite(live)?;
    let Ok(conn) = Connection::open_with_flags(
        live,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    ) else {
        return Ok(None);
    };
    let journal_mode: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .map_err(|e| classify_open(live, e))?;
    if conn.execute_batch("BEGIN IMMEDIATE").is_err() {
        return Ok(None);
    }
    let frozen = held(conn, live, journal_mode, false).map_err(sqlite_err(live))?;
    let mut wal = live.as_os_str().to_owned();
    wal.push("-wal");
    let file_len = std::fs::metadata(live).map(|m| m.len()).unwrap_or(0);
    let wal_len = std::fs::metadata(std::path::PathBuf::from(wal)).map_or(0, |m| m.len());
    if wal_len > 0 || file_len < frozen.size() {
        return Ok(None);
    }
    Ok(Some(frozen))
}

fn classify_open(path: &Path, e: rusqlite::Error) -> SnapshotError {
    if let rusqlite::Error::SqliteFailure(f, _) = &e
        && f.code == rusqlite::ErrorCode::NotADatabase
    {
        return SnapshotError::NotASqliteDatabase(path.display().to_string());
    }
    sqlite_err(path)(e)
}

/// Row counts of every user table, in name order.
///
/// # Errors
/// Any SQLite error.
pub(crate) fn table_rows(conn: &Connection) -> rusqlite::Result<Vec<TableRows>> {
    let names: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")?
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    names
        .into_iter()
        .map(|name| {
            let rows: i64 = conn.query_row(
                &format!("SELECT count(*) FROM \"{}\"", name.replace('"', "\"\"")),
                [],
                |r| r.get(0),
            )?;
            Ok(TableRows {
                name,
                rows: rows.max(0) as u64,
            })
        })
        .collect()
}

/// What [`take_snapshot`] learns, of a database file no one else uses (a
/// partial restore's rows, staged).
///
/// # Errors
/// The file is no SQLite database, or SQLite fails reading it.
pub(crate) fn info_of(path: &Path) -> Result<SnapshotInfo, SnapshotError> {
    check_is_sqlite(path)?;
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(sqlite_err(path))?;
    let read = || -> rusqlite::Result<SnapshotInfo> {
        Ok(SnapshotInfo {
            page_size: pragma_u64(&conn, "page_size")?,
            page_count: pragma_u64(&conn, "page_count")?,
            journal_mode: conn.query_row("PRAGMA journal_mode", [], |r| r.get(0))?,
            tables: table_rows(&conn)?,
        })
    };
    read().map_err(sqlite_err(path))
}

/// Reads an integer pragma such as `page_size`.
///
/// # Errors
/// Any SQLite error.
pub(crate) fn pragma_u64(conn: &Connection, pragma: &str) -> rusqlite::Result<u64> {
    let value: i64 = conn.query_row(&format!("PRAGMA {pragma}"), [], |r| r.get(0))?;
    Ok(value.max(0) as u64)
}

/// The outcome of SQLite's own checks on a database copy.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct DatabaseReport {
    /// `PRAGMA integrity_check` lines; `["ok"]` when sound.
    pub integrity: Vec<String>,
    /// Rows reported by `PRAGMA foreign_key_check`.
    pub foreign_key_errors: u64,
    /// Row counts per table.
    pub tables: Vec<TableRows>,
    /// Page size.
    pub page_size: u64,
    /// Page count.
    pub page_count: u64,
}

impl DatabaseReport {
    /// Whether `integrity_check` answered exactly `ok`.
    pub(crate) fn integrity_ok(&self) -> bool {
        self.integrity == ["ok"]
    }
}

/// Runs `integrity_check`, `foreign_key_check` and counts rows on a private
/// copy at `path` (which may be modified by SQLite, e.g. a WAL checkpoint).
///
/// Not through a memory map, although that reads 0.1 s faster at 512 MiB:
/// the mapped file would count in the resident set (RSS 555 MiB instead of
/// 50 MiB in `make bench`), and a disk error would be a SIGBUS.
///
/// # Errors
/// [`SnapshotError::NotASqliteDatabase`] when SQLite refuses the file,
/// [`SnapshotError::Sqlite`] for other failures.
pub fn inspect(path: &Path, progress: &dyn Progress) -> Result<DatabaseReport, SnapshotError> {
    check_is_sqlite(path)?;
    progress.start(Phase::IntegrityCheck, None);
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_WRITE)
        .map_err(sqlite_err(path))?;
    let report = inspect_connection(path, &conn)?;
    progress.finish();
    Ok(report)
}

/// The same checks on a read-only connection, for a live WAL database
/// (where readers never block the service's writes).
///
/// # Errors
/// As [`inspect`].
pub(crate) fn inspect_read_only(path: &Path) -> Result<DatabaseReport, SnapshotError> {
    check_is_sqlite(path)?;
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(sqlite_err(path))?;
    conn.busy_timeout(Duration::from_secs(5))
        .map_err(sqlite_err(path))?;
    inspect_connection(path, &conn)
}

fn inspect_connection(path: &Path, conn: &Connection) -> Result<DatabaseReport, SnapshotError> {
    let integrity: rusqlite::Result<Vec<String>> = conn
        .prepare("PRAGMA integrity_check")
        .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect());
    let integrity = match integrity {
        Ok(lines) => lines,
        // A database too damaged for integrity_check to finish has failed it.
        Err(rusqlite::Error::SqliteFailure(f, message))
            if f.code == rusqlite::ErrorCode::DatabaseCorrupt =>
        {
            vec![message.unwrap_or_else(|| "database disk image is malformed".to_owned())]
        }
        Err(e) => return Err(classify_open(path, e)),
    };
    tracing::debug!("integrity_check done");
    let foreign_key_errors: u64 = conn
        .prepare("PRAGMA foreign_key_check")
        .map_err(sqlite_err(path))?
        .query_map([], |_| Ok(()))
        .map_err(sqlite_err(path))?
        .count() as u64;
    tracing::debug!("foreign_key_check done");
    let tables = table_rows(conn).unwrap_or_default();
    tracing::debug!("rows counted");
    let page_size = pragma_u64(conn, "page_size").map_err(sqlite_err(path))?;
    let page_count = pragma_u64(conn, "page_count").map_err(sqlite_err(path))?;
    Ok(DatabaseReport {
        integrity,
        foreign_key_errors,
        tables,
        page_size,
        page_count,
    })
}

#[cfg(test)]
mod tests;
