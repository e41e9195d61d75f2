//! Restoring only some tables or rows of a backup into the live database,
//! while its service keeps writing: **stage** (the backup decrypted and
//! checked), **mark** (in one write transaction on live, with a busy
//! timeout: the keys of the rows to insert, update and, with `replace`,
//! delete; with `with_parents`, the referenced rows the backup has and
//! live lacks), **save** (those rows as live has them, and the keys
//! touched, into a small database encrypted as a `prerestore_rows_`
//! backup: the undo), **apply**, **check** (`foreign_key_check` must find
//! nothing new, else everything rolls back naming what would dangle), and
//! **commit**. A kill before the commit leaves live as it was (SQLite's
//! own rollback); the staged plaintext is removed by the next run. Every
//! table outside the selection is left as it is.
//!
//! Restoring a `prerestore_rows_` backup is its undo: the touched keys of
//! each table made exactly as that backup holds them.

mod undo_file;
mod work;

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::{Opened, SurgeryError, open_backup};
use crate::context::OperationContext;
use crate::format::crypto::Passphrase;
use crate::format::name::BackupName;
use crate::local::backup;
use crate::local::layout::DataDir;
use crate::local::lock::OperationLock;
use work::Transaction;

/// What to restore of a backup (the app sends it without
/// `busy_timeout`, which then takes its default).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct PartialOptions {
    /// The tables (at least one).
    pub tables: Vec<String>,
    /// An SQL expression on each table's columns choosing its rows
    /// (`None`: every row).
    pub where_sql: Option<String>,
    /// Make the chosen rows of live exactly the backup's (rows only in
    /// live deleted); otherwise merge (rows only in live kept).
    pub replace: bool,
    /// Bring along the rows of other tables the restored rows reference,
    /// when live lacks them and the backup has them.
    pub with_parents: bool,
    /// How long to wait for the service's write to end before each step.
    #[serde(skip, default = "default_busy_timeout")]
    #[cfg_attr(feature = "ts", ts(skip))]
    pub busy_timeout: Duration,
}

impl Default for PartialOptions {
    fn default() -> Self {
        PartialOptions {
            tables: Vec::new(),
            where_sql: None,
            replace: false,
            with_parents: false,
            busy_timeout: default_busy_timeout(),
        }
    }
}

fn default_busy_timeout() -> Duration {
    Duration::from_secs(10)
}

/// What a partial restore does (or did) to one table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(rename = "RowsTableChange"))]
pub struct TableChange {
    pub table: String,
    pub insert: u64,
    pub update: u64,
    pub delete: u64,
    /// Brought along as the parent of restored rows (`--with-parents`).
    pub parent: bool,
    /// The tables whose rows point at this one's.
    pub referenced_by: Vec<String>,
}

/// A partial restore's plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct PartialPlan {
    pub backup: String,
    /// `merge`, `replace` or `undo`.
    pub mode: String,
    pub where_sql: Option<String>,
    pub tables: Vec<TableChange>,
}

/// A partial restore done.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct PartialReport {
    pub plan: PartialPlan,
    /// The backup of the rows as they were: restoring it undoes this.
    pub undo_backup: String,
    pub duration_ms: u64,
}

/// Which rows of each table: `(table, SQL expression)`.
type Chosen = Vec<(String, String)>;

fn chosen(options: &PartialOptions) -> Chosen {
    let expression = options.where_sql.clone().unwrap_or_else(|| "1".to_owned());
    options
        .tables
        .iter()
        .map(|t| (t.clone(), expression.clone()))
        .collect()
}

fn mode(options: &PartialOptions) -> &'static str {
    if options.replace { "replace" } else { "merge" }
}

/// The plan of restoring `options` of backup `name` (nothing is changed).
///
/// # Errors
/// As [`restore_rows`], up to the plan.
pub fn plan_rows(
    data: &DataDir,
    name: &str,
    passphrase: &Passphrase,
    options: &PartialOptions,
    ctx: &OperationContext<'_>,
) -> Result<PartialPlan, SurgeryError> {
    refuse_rows_backup(name)?;
    let opened = open_backup(data, name, passphrase, ctx)?;
    let tx = Transaction::mark(data, &opened, &chosen(options), options)?;
    Ok(tx.plan(name, mode(options), options.where_sql.clone()))
}

/// Restores `options` of backup `name` into live (see the module).
///
/// # Errors
/// No such backup, or it fails its checks; a table missing or differing
/// ([`SurgeryError::SchemaDiffers`]); `--where` not fitting a table; rows
/// that would dangle ([`SurgeryError::DanglingReferences`]); the undo
/// not saved; live busy past the timeout. Live is unchanged in each case.
pub fn restore_rows(
    data: &DataDir,
    name: &str,
    passphrase: &Passphrase,
    options: &PartialOptions,
    ctx: &OperationContext<'_>,
) -> Result<PartialReport, SurgeryError> {
    refuse_rows_backup(name)?;
    let _lock = OperationLock::acquire(data)?;
    let opened = open_backup(data, name, passphrase, ctx)?;
    let plan_of = |tx: &Transaction| tx.plan(name, mode(options), options.where_sql.clone());
    run(
        data,
        &opened,
        &chosen(options),
        options,
        passphrase,
        ctx,
        plan_of,
    )
}

/// Undoes the partial restore whose rows backup is `name`: each table's
/// touched rows made exactly as that backup holds them (what the restore
/// inserted removed, what it changed or deleted put back). `dry_run`:
/// the plan only.
///
/// # Errors
/// As [`restore_rows`].
pub fn undo_rows(
    data: &DataDir,
    name: &str,
    passphrase: &Passphrase,
    dry_run: bool,
    ctx: &OperationContext<'_>,
) -> Result<Result<PartialReport, PartialPlan>, SurgeryError> {
    let _lock = (!dry_run)
        .then(|| OperationLock::acquire(data))
        .transpose()?;
    let opened = open_backup(data, name, passphrase, ctx)?;
    let chosen = undo_file::touched(&opened)?;
    let options = PartialOptions {
        tables: chosen.iter().map(|(t, _)| t.clone()).collect(),
        replace: true,
        ..Default::default()
    };
    let plan_of = |tx: &Transaction| tx.plan(name, "undo", None);
    if dry_run {
        let tx = Transaction::mark(data, &opened, &chosen, &options)?;
        return Ok(Err(plan_of(&tx)));
    }
    run(data, &opened, &chosen, &options, passphrase, ctx, plan_of).map(Ok)
}

/// A rows backup is undone, never restored from in part.
fn refuse_rows_backup(name: &str) -> Result<(), SurgeryError> {
    match BackupName::parse(name) {
        Ok(parsed) if parsed.kind().is_rows() => Err(SurgeryError::RowsBackup(name.to_owned())),
        _ => Ok(()),
    }
}

/// Stages **mark**, **save**, **apply**, **check**, **commit**.
fn run(
    data: &DataDir,
    opened: &Opened,
    chosen: &Chosen,
    options: &PartialOptions,
    passphrase: &Passphrase,
    ctx: &OperationContext<'_>,
    plan_of: impl Fn(&Transaction) -> PartialPlan,
) -> Result<PartialReport, SurgeryError> {
    let started = Instant::now();
    let tx = Transaction::mark(data, opened, chosen, options)?;
    test_hooks::killed_at("marked");
    let plan = plan_of(&tx);
    let before = tx.dangling()?;
    let saved = undo_file::save(data, &tx, opened.label(), &plan.mode, ctx)?;
    test_hooks::killed_at("saved");
    tx.apply()?;
    test_hooks::killed_at("applied");
    let after = tx.dangling()?;
    let new: Vec<_> = after.difference(&before).collect();
    if !new.is_empty() {
        return Err(SurgeryError::DanglingReferences(work::describe_dangling(
            &new,
        )));
    }
    let undo =
        backup::backup_rows(data, saved.path(), passphrase, ctx).map_err(SurgeryError::Undo)?;
    drop(saved);
    test_hooks::killed_at("published");
    if let Err(e) = tx.commit() {
        let _ = std::fs::remove_file(&undo.path);
        let _ = std::fs::remove_file(&undo.meta_path);
        return Err(e);
    }
    Ok(PartialReport {
        plan,
        undo_backup: undo.name.file_name().to_owned(),
        duration_ms: started.elapsed().as_millis() as u64,
    })
}

/// A kill a test injects (feature `test-hooks`):
/// `BACKUPDESK_TEST_ROWS_KILL_AT=STAGE` aborts the process, as SIGKILL
/// would (no clean-up, the transaction open), right after that stage:
/// `marked`, `saved`, `applied` or `published`.
mod test_hooks {
    pub(super) fn killed_at(_stage: &str) {
        #[cfg(feature = "test-hooks")]
        if std::env::var("BACKUPDESK_TEST_ROWS_KILL_AT").is_ok_and(|s| s == _stage) {
            std::process::abort();
        }
    }
}
