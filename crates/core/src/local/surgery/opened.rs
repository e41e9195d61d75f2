//! A database opened for looking inside: a backup decrypted and checked
//! into the private staging folder (removed when it is closed, and by the
//! next run after a kill), or the live database, read-only.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use rusqlite::{Connection, OpenFlags};

use super::{SurgeryError, sqlite};
use crate::context::OperationContext;
use crate::format::crypto::Passphrase;
use crate::local::catalog::{BackupCatalog, CatalogEntry};
use crate::local::layout::DataDir;
use crate::local::ledger::VerifyDepth;
use crate::local::staging::{StagedFile, Staging};
use crate::local::verify;

/// A database open read-only: a checked backup's staged copy, or live.
#[derive(Debug)]
pub struct Opened {
    // Declared first: the connection closes before the copy is removed.
    conn: Connection,
    path: PathBuf,
    label: String,
    staged: Option<StagedFile>,
}

impl Opened {
    /// The read-only connection.
    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    /// What it is: the backup's name, or `live`.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// Whether this is the live database.
    pub fn is_live(&self) -> bool {
        self.staged.is_none()
    }

    /// Its file (the staged copy of a backup).
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }
}

/// Opens a read-only connection to `path`, which stays read-only whatever
/// it is asked (`query_only`).
pub(crate) fn read_only(path: &Path) -> Result<Connection, SurgeryError> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(sqlite(format!("opening {}", path.display())))?;
    conn.execute_batch("PRAGMA query_only = 1")
        .map_err(sqlite("making the connection read-only"))?;
    Ok(conn)
}

/// Backup `name` of `data`, decrypted and checked (size and SHA-256 against
/// its `.meta`, `integrity_check`, as a deep verification) into the staging
/// folder, open read-only.
///
/// # Errors
/// No such backup; the checks failing (the backup's own fault, a wrong
/// passphrase, no room to stage it).
pub fn open_backup(
    data: &DataDir,
    name: &str,
    passphrase: &Passphrase,
    ctx: &OperationContext<'_>,
) -> Result<Opened, SurgeryError> {
    let catalog = BackupCatalog::scan(data)?;
    open_entry(data, catalog.find(name)?, passphrase, ctx)
}

/// As [`open_backup`], for an entry of a catalog already read.
pub(crate) fn open_entry(
    data: &DataDir,
    entry: &CatalogEntry,
    passphrase: &Passphrase,
    ctx: &OperationContext<'_>,
) -> Result<Opened, SurgeryError> {
    static OPENED: AtomicUsize = AtomicUsize::new(0);
    let staging = Staging::open(data).map_err(|source| SurgeryError::Io {
        what: format!("the staging folder {}", data.staging().display()),
        source,
    })?;
    let _ = staging.remove_leftovers();
    let (_, staged) = verify::check(data, entry, passphrase, VerifyDepth::Deep, false, ctx)?;
    let staged = staged.expect("a deep check stages its copy");
    let n = OPENED.fetch_add(1, Ordering::Relaxed);
    let staged = staged
        .renamed(&format!("open-{n}.db"))
        .map_err(|source| SurgeryError::Io {
            what: "naming the staged copy".to_owned(),
            source,
        })?;
    Ok(Opened {
        conn: read_only(staged.path())?,
        path: staged.path().to_path_buf(),
        label: entry.name.file_name().to_owned(),
        staged: Some(staged),
    })
}

/// The live database of `data`, read-only.
///
/// # Errors
/// No database there, or SQLite cannot open it.
pub fn open_live(data: &DataDir) -> Result<Opened, SurgeryError> {
    let path = data.database();
    crate::local::snapshot::check_is_sqlite(&path)?;
    Ok(Opened {
        conn: read_only(&path)?,
        label: "live".to_owned(),
        path,
        staged: None,
    })
}
