//! The restore plan: what a restore would do, with row counts of the
//! backup against the live database. Changes nothing.

use std::path::Path;

use chrono::NaiveDateTime;
use rusqlite::{Connection, OpenFlags};
use serde::Serialize;

use crate::context::OperationContext;
use crate::format::crypto::Passphrase;
use crate::format::key_packets::{KeyPackets, SERVER_RESTORE_NEEDS_A_PASSPHRASE};
use crate::format::meta::TableRows;
use crate::format::name::{BackupKind, BackupName};
use crate::local::catalog::{BackupCatalog, CatalogEntry};
use crate::local::layout::DataDir;
use crate::local::snapshot;
use crate::local::verify::{self, VerifyDepth};

use super::{RestoreError, RestoreOptions};

/// Row counts of one table in the backup and in the live database.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct TableChange {
    pub name: String,
    /// Rows in the backup (`None`: the table is not in the backup).
    pub backup_rows: Option<u64>,
    /// Rows in the live database (`None`: the table is not live).
    pub live_rows: Option<u64>,
}

/// Where a restore plan's row counts of the backup come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum CountsSource {
    /// The backup's `.meta` (no decryption needed).
    Meta,
    /// A decrypted, checked copy staged for the plan (no `.meta` counts).
    StagedCopy,
}

/// What a restore would do.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
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
    ctx: &OperationContext<'_>,
) -> Result<RestorePlan, RestoreError> {
    let catalog = BackupCatalog::scan(data)?;
    let entry = catalog.find(file_name)?;
    let live = data.database();
    let live_tables = live_counts(&live);
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
                verify::check(data, entry, passphrase, VerifyDepth::Deep, false, ctx)
                    .map_err(RestoreError::Verify)?;
            let tables = report.database.map(|d| d.tables).unwrap_or_default();
            (tables, CountsSource::StagedCopy, Some(report.size_bytes))
        }
    };
    let now = ctx.now();
    let pre = BackupName::new_pre_restore(now.naive_local())
        .file_name()
        .to_owned();
    Ok(RestorePlan {
        backup: file_name.to_owned(),
        kind: entry.name.kind(),
        taken_at: entry.name.taken_at(),
        age_seconds: (now.naive_local() - entry.name.taken_at()).num_seconds(),
        has_meta: entry.meta.is_some(),
        counts_from,
        tables: table_changes(&backup_tables, &live_tables),
        live_size: std::fs::metadata(&live).map(|m| m.len()).unwrap_or(0),
        backup_db_size,
        pre_restore_backup: pre,
        stop_cmd: options.stop_cmd.clone(),
        start_cmd: options.start_cmd.clone(),
        steps: steps(file_name, &live, options),
        warnings: warnings(entry, &live, options),
    })
}

/// Every table of either side with its row counts.
fn table_changes(backup: &[TableRows], live: &[TableRows]) -> Vec<TableChange> {
    let mut names: Vec<&str> = backup.iter().map(|t| t.name.as_str()).collect();
    names.extend(live.iter().map(|t| t.name.as_str()));
    names.sort_unstable();
    names.dedup();
    names
        .into_iter()
        .map(|name| TableChange {
            name: name.to_owned(),
            backup_rows: backup.iter().find(|t| t.name == name).map(|t| t.rows),
            live_rows: live.iter().find(|t| t.name == name).map(|t| t.rows),
        })
        .collect()
}

/// What the plan warns of: no `.meta`, a plaintext file, a backup only
/// Backup Desk can restore (no passphrase packet), no stop command.
fn warnings(entry: &CatalogEntry, live: &Path, options: &RestoreOptions) -> Vec<String> {
    let mut warnings = Vec::new();
    if entry.meta.is_none() {
        warnings.push("this backup has no .meta: its checksum cannot be checked, only that it decrypts and passes SQLite's checks".to_owned());
    }
    if !entry.name.kind().is_encrypted() {
        warnings
            .push("this backup is a plaintext file left by Server Monitor's scripts".to_owned());
    } else if KeyPackets::read(&entry.path).is_ok_and(|head| !head.has_passphrase_way_in()) {
        warnings.push(format!(
            "this backup has no passphrase (it is encrypted to keys alone): only Backup Desk restores it, as here; {SERVER_RESTORE_NEEDS_A_PASSPHRASE}"
        ));
    }
    if options.stop_cmd.is_none() && live.exists() {
        warnings.push("no stop command (--stop-cmd, or the wizard's Stop command): the swap is safe against a running service, but writes it makes between the safety backup and the swap are lost".to_owned());
    }
    warnings
}

/// The restore's steps in words, in order.
fn steps(file_name: &str, live: &Path, options: &RestoreOptions) -> Vec<String> {
    let mut steps = vec![
        format!(
            "decrypt {file_name} into the private staging folder and check its size and SHA-256"
        ),
        "run integrity_check and foreign_key_check on the staged copy".to_owned(),
    ];
    if let Some(cmd) = &options.stop_cmd {
        steps.push(format!("stop the service: {cmd}"));
    }
    if live.exists() {
        // Its name has the time it is made, said in the outcome.
        steps.push(
            "back up the live database, encrypted, as a prerestore_… safety backup (named when it is made)"
                .to_owned(),
        );
        steps.push(format!(
            "put the checked copy in place of {}: an atomic rename when no process has it open, else SQLite's backup API in one step",
            live.display()
        ));
    } else {
        // A machine rebuilt from an off-site copy: nothing to keep first.
        steps.push(format!(
            "put the checked copy in place as {}, a new database (there is none to back up first)",
            live.display()
        ));
    }
    steps.push(
        "check the live database (the renamed file itself, or integrity_check after a copy); on any failure roll back automatically".to_owned(),
    );
    if let Some(cmd) = &options.start_cmd {
        steps.push(format!("start the service: {cmd}"));
    }
    steps
}

fn live_counts(live: &Path) -> Vec<TableRows> {
    Connection::open_with_flags(live, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .ok()
        .and_then(|c| snapshot::table_rows(&c).ok())
        .unwrap_or_default()
}
