//! Surgical recovery for a selection: look inside a backup or the live
//! database, compare two of them, restore some rows of a backup (or undo
//! such a restore). A local installation's files are read here; an SSH
//! profile's verb runs in its server's engine (the CLI relays it there);
//! a server's API cannot read a backup's content and is refused with
//! `remote_no_content`.

use serde::Serialize;

use crate::context::OperationContext;
use crate::format::name::BackupName;
use crate::local::catalog::BackupCatalog;
use crate::local::layout::DataDir;
use crate::local::surgery::{
    self, ChangesReport, DiffOptions, DiffReport, Opened, PageRequest, PartialOptions, PartialPlan,
    PartialReport, QueryLimits, QueryResult, TableInfo, TablePage,
};
use crate::service::error::ServiceError;
use crate::service::selection::{PassphraseSource, Selection};

type Result<T> = std::result::Result<T, ServiceError>;

/// What to look inside.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A backup, by name.
    Backup(String),
    /// The live database (read-only).
    Live,
}

/// The tables of a backup or of live.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct TablesReport {
    /// The backup's name, or `live`.
    pub source: String,
    pub tables: Vec<TableInfo>,
}

/// A partial restore planned (a dry run) or done.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum RowsOutcome {
    Planned(PartialPlan),
    Done(PartialReport),
}

/// The installation whose files are read here.
fn installation(selection: &Selection) -> Result<&DataDir> {
    match selection.installation() {
        Err(ServiceError::RemoteUnsupported { name, base_url }) if !selection.is_ssh() => {
            Err(ServiceError::RemoteNoContent { name, base_url })
        }
        other => other,
    }
}

/// `source` opened: a backup found (before any passphrase is asked for),
/// decrypted and checked into the staging folder; or live, read-only.
fn open(
    data: &DataDir,
    source: &Source,
    passphrases: &dyn PassphraseSource,
    ctx: &OperationContext<'_>,
) -> Result<Opened> {
    Ok(match source {
        Source::Live => surgery::open_live(data)?,
        Source::Backup(name) => {
            BackupCatalog::scan(data)?.find(name)?;
            let passphrase = crate::service::selection::reading_passphrase_of(data, passphrases)?;
            surgery::open_backup(data, name, &passphrase, ctx)?
        }
    })
}

/// Rows one page of the app's grid holds at most.
pub const PAGE_ROWS_MAX: u64 = 500;

/// `source` opened to be looked at over several calls (the app keeps it
/// between commands), with its tables. Dropping it removes a backup's
/// staged copy; a copy left by a kill is removed by the next open.
///
/// # Errors
/// A server's API; an unknown backup, or one failing its checks.
pub fn open_source(
    selection: &Selection,
    source: &Source,
    passphrases: &dyn PassphraseSource,
    ctx: &OperationContext<'_>,
) -> Result<(Opened, TablesReport)> {
    let opened = open(installation(selection)?, source, passphrases, ctx)?;
    let report = tables_of(&opened)?;
    Ok((opened, report))
}

/// The tables of an opened source.
///
/// # Errors
/// SQLite cannot read its schema.
pub fn tables_of(opened: &Opened) -> Result<TablesReport> {
    Ok(TablesReport {
        source: opened.label().to_owned(),
        tables: surgery::tables(opened.connection(), "main")?,
    })
}

/// Every table of `source`: rows, size, columns, keys.
///
/// # Errors
/// A server's API; an unknown backup, or one failing its checks.
pub fn tables(
    selection: &Selection,
    source: &Source,
    passphrases: &dyn PassphraseSource,
    ctx: &OperationContext<'_>,
) -> Result<TablesReport> {
    Ok(open_source(selection, source, passphrases, ctx)?.1)
}

/// One page of a table of an opened source (at most [`PAGE_ROWS_MAX`]
/// rows), within the default query limits.
///
/// # Errors
/// No such table or column; the query limits.
pub fn page(opened: &Opened, request: &PageRequest) -> Result<TablePage> {
    let request = PageRequest {
        limit: request.limit.clamp(1, PAGE_ROWS_MAX),
        ..request.clone()
    };
    Ok(surgery::page(
        opened.connection(),
        &request,
        QueryLimits::default(),
    )?)
}

/// Runs one read-only statement on an opened source within `limits`.
///
/// # Errors
/// A statement that could write; one past its time; SQLite's own.
pub fn query_opened(opened: &Opened, sql: &str, limits: QueryLimits) -> Result<QueryResult> {
    Ok(surgery::query(opened.connection(), sql, limits)?)
}

/// Runs one read-only statement on `source` within `limits`.
///
/// # Errors
/// As [`tables`]; a statement that could write; one past its time.
pub fn query(
    selection: &Selection,
    source: &Source,
    sql: &str,
    limits: QueryLimits,
    passphrases: &dyn PassphraseSource,
    ctx: &OperationContext<'_>,
) -> Result<QueryResult> {
    let opened = open(installation(selection)?, source, passphrases, ctx)?;
    query_opened(&opened, sql, limits)
}

/// Compares two opened sources (table by table, rows by key).
///
/// # Errors
/// A table neither has; SQLite's own.
pub fn compare(old: &Opened, new: &Opened, options: &DiffOptions) -> Result<DiffReport> {
    Ok(surgery::diff(old, new, options)?)
}

/// Compares `old` with `new` (table by table, rows by key).
///
/// # Errors
/// As [`tables`], for either; a table neither has.
pub fn diff(
    selection: &Selection,
    old: &Source,
    new: &Source,
    options: &DiffOptions,
    passphrases: &dyn PassphraseSource,
    ctx: &OperationContext<'_>,
) -> Result<DiffReport> {
    let data = installation(selection)?;
    let old = open(data, old, passphrases, ctx)?;
    let new = open(data, new, passphrases, ctx)?;
    compare(&old, &new, options)
}

/// Restores `options` of backup `name` into live, or with `dry_run`
/// plans it; `name` a `prerestore_rows_` backup: undoes the partial
/// restore that made it. Callers confirm first.
///
/// # Errors
/// As [`tables`]; the partial restore's own (live unchanged in each).
pub fn restore_rows(
    selection: &Selection,
    name: &str,
    options: &PartialOptions,
    dry_run: bool,
    passphrases: &dyn PassphraseSource,
    ctx: &OperationContext<'_>,
) -> Result<RowsOutcome> {
    let data = installation(selection)?;
    BackupCatalog::scan(data)?.find(name)?;
    let passphrase = crate::service::selection::reading_passphrase_of(data, passphrases)?;
    if is_rows_backup(name) && options.tables.is_empty() {
        return Ok(
            match surgery::undo_rows(data, name, &passphrase, dry_run, ctx)? {
                Ok(done) => RowsOutcome::Done(done),
                Err(plan) => RowsOutcome::Planned(plan),
            },
        );
    }
    Ok(if dry_run {
        RowsOutcome::Planned(surgery::plan_rows(data, name, &passphrase, options, ctx)?)
    } else {
        RowsOutcome::Done(surgery::restore_rows(
            data,
            name,
            &passphrase,
            options,
            ctx,
        )?)
    })
}

/// Whether `name` is a partial restore's undo (restored only as such).
pub fn is_rows_backup(name: &str) -> bool {
    BackupName::parse(name).is_ok_and(|n| n.kind().is_rows())
}

/// The history of the installation's configuration from its backups:
/// each kept backup compared with the one before it, from the last one
/// before `since` (or all), in the tables an admin sets.
///
/// # Errors
/// As [`tables`] (a backup that cannot be opened is skipped, and said).
pub fn changes(
    selection: &Selection,
    since: Option<chrono::NaiveDateTime>,
    passphrases: &dyn PassphraseSource,
    ctx: &OperationContext<'_>,
) -> Result<ChangesReport> {
    let data = installation(selection)?;
    BackupCatalog::scan(data)?;
    let passphrase = crate::service::selection::reading_passphrase_of(data, passphrases)?;
    Ok(surgery::changes(data, &passphrase, since, ctx)?)
}
