//! Surgical recovery: look inside a backup (its tables, read-only
//! queries), compare it with another or with the live database, and
//! restore only some tables or rows of it, as safely as a full restore.
//!
//! A backup is always decrypted and checked first (size and SHA-256
//! against its `.meta`, `integrity_check`) into the private staging folder,
//! as a deep verification does; the live database is only ever opened
//! read-only, except by a partial restore, which changes it in one write
//! transaction after saving the rows it changes as an encrypted
//! `prerestore_rows_` backup (its undo).

mod diff;
mod history;
mod opened;
mod page;
mod partial;
mod query;
mod schema;
#[cfg(test)]
mod tests;

pub use diff::{ColumnChange, DiffOptions, DiffReport, RowChange, TableDiff, diff};
pub use history::{ChangesReport, ConfigChange, RECORDED_TABLES, Skipped, changes};
pub use opened::{Opened, open_backup, open_live};
pub use page::{PageRequest, TablePage, page};
pub use partial::{
    PartialOptions, PartialPlan, PartialReport, TableChange, plan_rows, restore_rows, undo_rows,
};
pub use query::{QueryLimits, QueryResult, query};
pub use schema::{Column, ForeignKey, TableInfo, tables};

use crate::local::backup::BackupError;
use crate::local::catalog::CatalogError;
use crate::local::lock::LockError;
use crate::local::verify::VerifyError;
use crate::{ErrorKind, KindedError};

/// Why looking inside, comparing or a partial restore failed; in every
/// case the live database and every backup are as they were.
#[derive(Debug, thiserror::Error)]
pub enum SurgeryError {
    #[error(transparent)]
    Catalog(#[from] CatalogError),
    /// The backup did not pass its checks (or could not be opened).
    #[error(transparent)]
    Verify(#[from] VerifyError),
    #[error(transparent)]
    Lock(#[from] LockError),
    /// The live database is missing or no SQLite database.
    #[error(transparent)]
    Live(#[from] crate::local::snapshot::SnapshotError),
    /// The undo backup of a partial restore could not be made.
    #[error("the rows to be changed could not be saved first, so nothing was changed: {0}")]
    Undo(#[source] BackupError),
    /// A statement that could write, or more than one statement.
    #[error(
        "{0}: only one read-only statement (SELECT, WITH, VALUES or EXPLAIN) is run here; nothing was changed"
    )]
    ReadOnlyQuery(String),
    /// The query ran past its time limit and was stopped.
    #[error("the query was stopped after {0} s (its time limit); narrow it, or raise --time-limit")]
    QueryStopped(u64),
    /// A table named is in neither database, or not in one of them.
    #[error("no table {table} in {place}")]
    NoSuchTable { table: String, place: String },
    /// A table without a declared primary key cannot be compared row by row.
    #[error("table {0} has no primary key: its rows cannot be matched between the backup and live")]
    NoPrimaryKey(String),
    /// The table's columns differ between the backup and live.
    #[error(
        "table {table} differs between the backup and live ({detail}): it is not restored row by row; restore the whole backup instead"
    )]
    SchemaDiffers { table: String, detail: String },
    /// Rows would reference rows that are not there; rolled back.
    #[error(
        "the restore would leave rows pointing at rows that are not there, so it was rolled back and nothing changed: {0}; add --with-parents to bring the referenced rows from the backup too"
    )]
    DanglingReferences(String),
    /// `--where` is no valid SQL expression for the table.
    #[error("--where does not apply to table {table}: {message}")]
    BadWhere { table: String, message: String },
    /// This backup holds some rows, not a database to restore over live.
    #[error(
        "{0} holds only the rows a partial restore changed: restoring it undoes that restore (no --table)"
    )]
    RowsBackup(String),
    /// SQLite failed.
    #[error("{what}: {source}")]
    Sqlite {
        what: String,
        #[source]
        source: rusqlite::Error,
    },
    /// A staged file could not be made or read.
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
}

impl KindedError for SurgeryError {
    fn kind(&self) -> ErrorKind {
        match self {
            SurgeryError::Catalog(e) => e.kind(),
            SurgeryError::Verify(e) => e.kind(),
            SurgeryError::Lock(e) => e.kind(),
            SurgeryError::Live(e) => e.kind(),
            SurgeryError::Undo(e) => e.kind(),
            SurgeryError::ReadOnlyQuery(_) => ErrorKind::ReadOnlyQuery,
            SurgeryError::QueryStopped(_) => ErrorKind::QueryStopped,
            SurgeryError::NoSuchTable { .. } => ErrorKind::NoSuchTable,
            SurgeryError::NoPrimaryKey(_) => ErrorKind::SchemaDiffers,
            SurgeryError::SchemaDiffers { .. } => ErrorKind::SchemaDiffers,
            SurgeryError::DanglingReferences(_) => ErrorKind::DanglingReferences,
            SurgeryError::BadWhere { .. } => ErrorKind::BadWhere,
            SurgeryError::RowsBackup(_) => ErrorKind::RowsBackup,
            SurgeryError::Sqlite { source, .. } if is_busy(source) => ErrorKind::DatabaseBusy,
            SurgeryError::Sqlite { .. } => ErrorKind::Sqlite,
            SurgeryError::Io { .. } => ErrorKind::Io,
        }
    }
}

fn is_busy(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    )
}

/// Maps a SQLite error to [`SurgeryError::Sqlite`] saying what was done.
pub(crate) fn sqlite(what: impl Into<String>) -> impl FnOnce(rusqlite::Error) -> SurgeryError {
    let what = what.into();
    move |source| SurgeryError::Sqlite { what, source }
}
