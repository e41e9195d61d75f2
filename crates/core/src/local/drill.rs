//! Restore drills: proof that a backup can really be restored, and how
//! long that takes, without touching the live database.
//!
//! A drill restores the backup with the real restore sequence into a
//! private scratch installation (`data/.backupdesk/staging/PID-drill/`,
//! 0700, its backups folder holding hard links of the backup and its
//! `.meta`), then checks the result as the service would find it:
//! `integrity_check`, `foreign_key_check`, and the row count of every table
//! against what `.meta` recorded at backup time. The restore's wall time is
//! the restore-time estimate. The scratch copy is removed however the drill
//! ends; what a killed drill leaves is removed by the next run of any
//! operation (the staging folder's `PID-` rule).
//!
//! The result is recorded in the ledger (`drills`, and as a deep
//! verification: a drill runs every check of one), shown by `list`, kept by
//! retention (the newest backup that passed a drill is never pruned) and on
//! the fleet tile.

use std::path::Path;
use std::time::Instant;

use rusqlite::{Connection, OpenFlags};
use serde::Serialize;

use crate::context::OperationContext;
use crate::format::crypto::Passphrase;
use crate::format::meta::TableRows;
use crate::local::activity_log::{ActivityLog, Level};
use crate::local::catalog::{BackupCatalog, CatalogEntry, CatalogError};
use crate::local::layout::DataDir;
use crate::local::ledger::{Ledger, Verification, VerifyDepth};
use crate::local::restore::{self, RestoreError, RestoreOptions};
use crate::local::staging::Staging;
use crate::model::DrillRecord;
use crate::publish::ensure_private_dir;
use crate::{ErrorKind, KindedError};

/// Why a drill failed (or could not run).
#[derive(Debug, thiserror::Error)]
pub enum DrillError {
    /// No such backup, or no backup to drill.
    #[error(transparent)]
    Catalog(#[from] CatalogError),
    /// There is no regular backup to drill.
    #[error("there is no backup to drill")]
    NoBackup,
    /// The restore into the scratch folder failed: the backup cannot be
    /// restored (or, for a wrong passphrase, not with this passphrase).
    #[error("the drill's restore failed: {0}")]
    Restore(#[source] RestoreError),
    /// The restored database differs from what `.meta` recorded.
    #[error(
        "the restored database does not match its .meta: table {table} has {} rows, the backup recorded {expected}",
        actual.map_or("no".to_owned(), |r| r.to_string())
    )]
    RowCounts {
        table: String,
        expected: u64,
        actual: Option<u64>,
    },
    /// SQLite found the restored database damaged.
    #[error("the restored database fails SQLite's checks: {0}")]
    Checks(String),
    /// The scratch folder could not be made or used.
    #[error("{path}: {source}")]
    Scratch {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

impl KindedError for DrillError {
    fn kind(&self) -> ErrorKind {
        match self {
            DrillError::Catalog(e) => e.kind(),
            DrillError::NoBackup => ErrorKind::NoBackups,
            DrillError::Restore(e) => e.kind(),
            DrillError::RowCounts { .. } => ErrorKind::DrillMismatch,
            DrillError::Checks(_) => ErrorKind::IntegrityCheckFailed,
            DrillError::Scratch { .. } => ErrorKind::Io,
        }
    }
}

impl DrillError {
    /// Whether the failure is the backup's own (recorded as a failed
    /// drill), not the circumstances' (a wrong passphrase, a full disk).
    pub fn is_backup_fault(&self) -> bool {
        match self {
            DrillError::Restore(RestoreError::Verify(e)) => e.is_backup_fault(),
            DrillError::RowCounts { .. } | DrillError::Checks(_) => true,
            _ => false,
        }
    }
}

/// What a passed drill proved.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct DrillReport {
    /// The backup drilled.
    pub filename: String,
    /// How long its restore took (decrypt, checks, swap, check): the
    /// restore-time estimate.
    pub restore_ms: u64,
    /// The whole drill, with the checks of the result.
    pub duration_ms: u64,
    /// Size of the restored database.
    pub size_bytes: u64,
    /// Rows per table of the restored database (equal to `.meta`'s).
    pub tables: Vec<TableRows>,
    /// Whether `.meta` had row counts to compare against.
    pub counts_checked: bool,
    /// Foreign-key violations found (copied faithfully from the live
    /// database at backup time: reported, not a failure).
    pub foreign_key_errors: u64,
    /// When it ran (RFC 3339).
    pub at: String,
}

/// The backup a drill takes by default: the newest regular one.
///
/// # Errors
/// [`DrillError::NoBackup`].
pub(crate) fn default_backup(catalog: &BackupCatalog) -> Result<&CatalogEntry, DrillError> {
    catalog
        .entries()
        .iter()
        .find(|e| !e.name.kind().is_pre_restore())
        .ok_or(DrillError::NoBackup)
}

/// Drills `name` (by default the newest regular backup) and records the
/// outcome in the ledger and `logs/verify.log`.
///
/// # Errors
/// See [`DrillError`]. Nothing live is ever touched: the live database,
/// every backup and `.meta` stay byte-identical.
pub fn drill(
    data: &DataDir,
    name: Option<&str>,
    passphrase: &Passphrase,
    ctx: &OperationContext<'_>,
) -> Result<DrillReport, DrillError> {
    let catalog = BackupCatalog::scan(data)?;
    let entry = match name {
        Some(name) => catalog.find(name)?,
        None => default_backup(&catalog)?,
    };
    let file_name = entry.name.file_name().to_owned();
    let result = run(data, entry, passphrase, ctx);
    let log = ActivityLog::verify(data);
    let at = ctx
        .now()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, false);
    match &result {
        Ok(report) => log.append(
            ctx,
            Level::Info,
            &format!(
                "Restore drill of {file_name} passed: restored in {:.1} s, {} tables",
                report.restore_ms as f64 / 1000.0,
                report.tables.len()
            ),
        ),
        Err(e) => log.append(
            ctx,
            Level::Error,
            &format!("Restore drill of {file_name} failed: {e}"),
        ),
    }
    // Who held the way in: the machine that handed over the session key.
    let by = ctx.session_keys().and_then(|k| k.from()).map(str::to_owned);
    let record = match &result {
        Ok(report) => Some(DrillRecord {
            ok: true,
            at: report.at.clone(),
            restore_ms: Some(report.restore_ms),
            error_kind: None,
            by: by.clone(),
        }),
        Err(e) if e.is_backup_fault() => Some(DrillRecord {
            ok: false,
            at,
            restore_ms: None,
            error_kind: Some(e.kind()),
            by: by.clone(),
        }),
        Err(_) => None,
    };
    if let Some(record) = record {
        // A drill runs every check of a deep verification (and more): its
        // outcome is that verification's too, so a backup that failed a
        // drill is refused for restore like one that failed verification.
        let verification = Verification {
            depth: VerifyDepth::Deep,
            ok: record.ok,
            at: record.at.clone(),
            error_kind: record.error_kind.map(|k| k.as_str().to_owned()),
            by: record.by.clone(),
        };
        let recorded = Ledger::record_drill(data, &file_name, record)
            .and_then(|()| Ledger::record(data, &file_name, verification));
        if let Err(e) = recorded {
            tracing::warn!(error = %e, "cannot record the drill");
        }
    }
    result
}

fn run(
    data: &DataDir,
    entry: &CatalogEntry,
    passphrase: &Passphrase,
    ctx: &OperationContext<'_>,
) -> Result<DrillReport, DrillError> {
    let started = Instant::now();
    let staging = Staging::open(data).map_err(scratch_err(&data.staging()))?;
    let _ = staging.remove_leftovers();
    let scratch = Scratch::create(&staging)?;
    let installation = scratch.installation();
    let file_name = entry.name.file_name();
    scratch.link_backup(data, entry)?;
    let restored = restore::restore(
        &installation,
        file_name,
        passphrase,
        &RestoreOptions::default(),
        ctx,
    )
    .map_err(DrillError::Restore)?;
    let expected = entry.meta.as_ref().and_then(|m| m.tables.clone());
    let (tables, foreign_key_errors) = check_restored(&installation.database())?;
    if let Some(expected) = &expected {
        compare(expected, &tables)?;
    }
    Ok(DrillReport {
        filename: file_name.to_owned(),
        restore_ms: restored.duration_ms,
        duration_ms: started.elapsed().as_millis() as u64,
        size_bytes: std::fs::metadata(installation.database())
            .map(|m| m.len())
            .unwrap_or(0),
        tables,
        counts_checked: expected.is_some(),
        foreign_key_errors,
        at: ctx
            .now()
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, false),
    })
}

/// The restored database as the service would open it: its checks and
/// its row counts.
fn check_restored(db: &Path) -> Result<(Vec<TableRows>, u64), DrillError> {
    let checks = |e: rusqlite::Error| DrillError::Checks(e.to_string());
    let conn = Connection::open_with_flags(db, OpenFlags::SQLITE_OPEN_READ_ONLY).map_err(checks)?;
    let integrity: Vec<String> = conn
        .prepare("PRAGMA integrity_check")
        .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
        .map_err(checks)?;
    if integrity != ["ok"] {
        return Err(DrillError::Checks(integrity.join("; ")));
    }
    let mut statement = conn.prepare("PRAGMA foreign_key_check").map_err(checks)?;
    let mut violations = statement.query([]).map_err(checks)?;
    let mut foreign_key_errors = 0;
    while violations.next().map_err(checks)?.is_some() {
        foreign_key_errors += 1;
    }
    drop(violations);
    drop(statement);
    let tables = crate::local::snapshot::table_rows(&conn).map_err(checks)?;
    Ok((tables, foreign_key_errors))
}

/// Every table `.meta` recorded has exactly its rows (a backup is one
/// moment: nothing may be added or lost).
fn compare(expected: &[TableRows], actual: &[TableRows]) -> Result<(), DrillError> {
    for table in expected {
        let rows = actual.iter().find(|t| t.name == table.name).map(|t| t.rows);
        if rows != Some(table.rows) {
            return Err(DrillError::RowCounts {
                table: table.name.clone(),
                expected: table.rows,
                actual: rows,
            });
        }
    }
    Ok(())
}

/// The private scratch installation of one drill, removed when dropped.
struct Scratch {
    root: std::path::PathBuf,
}

impl Scratch {
    fn create(staging: &Staging) -> Result<Self, DrillError> {
        let guard = staging.file("drill");
        let root = guard.path().to_owned();
        // The folder is ours from here (the StagedFile guard only knows
        // files): drop the guard without it touching anything.
        drop(guard);
        let scratch = Scratch { root };
        ensure_private_dir(&scratch.root).map_err(scratch_err(&scratch.root))?;
        let data = scratch.installation();
        std::fs::create_dir_all(data.backups()).map_err(scratch_err(&data.backups()))?;
        Ok(scratch)
    }

    fn installation(&self) -> DataDir {
        DataDir::new(&self.root)
    }

    /// The backup and its `.meta` in the scratch backups folder: hard links
    /// (same filesystem, no copy, never written), else copies.
    fn link_backup(&self, data: &DataDir, entry: &CatalogEntry) -> Result<(), DrillError> {
        let into = self.installation();
        let mut files = vec![entry.name.file_name().to_owned()];
        if let Some(meta) = entry.name.meta_name()
            && data.backup_file(&meta).is_file()
        {
            files.push(meta);
        }
        for file in files {
            let (from, to) = (data.backup_file(&file), into.backup_file(&file));
            std::fs::hard_link(&from, &to)
                .or_else(|_| std::fs::copy(&from, &to).map(drop))
                .map_err(scratch_err(&to))?;
        }
        Ok(())
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

fn scratch_err(path: &Path) -> impl Fn(std::io::Error) -> DrillError + '_ {
    move |source| DrillError::Scratch {
        path: path.display().to_string(),
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(list: &[(&str, u64)]) -> Vec<TableRows> {
        list.iter()
            .map(|(name, rows)| TableRows {
                name: (*name).to_owned(),
                rows: *rows,
            })
            .collect()
    }

    #[test]
    fn counts_must_match_meta_exactly() {
        let meta = rows(&[("alerts", 3), ("servers", 2)]);
        assert!(compare(&meta, &rows(&[("alerts", 3), ("servers", 2), ("new", 1)])).is_ok());
        let fewer = compare(&meta, &rows(&[("alerts", 2), ("servers", 2)])).unwrap_err();
        assert!(
            matches!(fewer, DrillError::RowCounts { ref table, expected: 3, actual: Some(2) } if table == "alerts")
        );
        let more = compare(&meta, &rows(&[("alerts", 4), ("servers", 2)])).unwrap_err();
        assert!(matches!(
            more,
            DrillError::RowCounts {
                actual: Some(4),
                ..
            }
        ));
        let missing = compare(&meta, &rows(&[("alerts", 3)])).unwrap_err();
        assert!(matches!(
            missing,
            DrillError::RowCounts { actual: None, .. }
        ));
        assert!(missing.is_backup_fault());
    }
}
