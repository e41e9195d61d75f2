//! The history of a server's configuration, from its backups alone: the
//! kept backups walked oldest first, each compared with the one before it
//! in the tables an admin sets (servers, users, webhooks, settings, …),
//! leaving out those the service records into (samples, alerts, logs,
//! sessions). Two staged copies at most exist at any time.

use chrono::NaiveDateTime;
use serde::Serialize;

use super::diff::{DiffOptions, TableDiff, diff};
use super::opened::open_entry;
use super::schema::table_names;
use super::{Opened, SurgeryError};
use crate::context::OperationContext;
use crate::format::crypto::Passphrase;
use crate::local::catalog::{BackupCatalog, CatalogEntry};
use crate::local::layout::DataDir;
use crate::model::KindedMessage;

/// The tables the service records into, left out of the history.
pub const RECORDED_TABLES: [&str; 8] = [
    "monitoring_history",
    "alerts",
    "audit_logs",
    "webhook_deliveries",
    "terminal_sessions",
    "server_inventory_latest",
    "server_inventory_snapshots",
    "sessions",
];

/// What changed in the configuration between two backups.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ConfigChange {
    pub older: String,
    pub newer: String,
    /// The changed tables, with their changed rows (the first page).
    pub tables: Vec<TableDiff>,
}

/// The configuration's history.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ChangesReport {
    /// Backups compared (the one before `since` included, as the base).
    pub backups: u32,
    /// Only the pairs where something changed, oldest first.
    pub changes: Vec<ConfigChange>,
    /// Backups that could not be opened, and why (the walk goes on).
    pub skipped: Vec<Skipped>,
}

/// A backup left out of the walk.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Skipped {
    pub backup: String,
    pub error: KindedMessage,
}

/// Walks the regular backups of `data` (from the last one before `since`,
/// or all), oldest first.
///
/// # Errors
/// The catalog unreadable; SQLite failing to compare two opened copies.
pub fn changes(
    data: &DataDir,
    passphrase: &Passphrase,
    since: Option<NaiveDateTime>,
    ctx: &OperationContext<'_>,
) -> Result<ChangesReport, SurgeryError> {
    let catalog = BackupCatalog::scan(data)?;
    let mut names: Vec<(NaiveDateTime, &CatalogEntry)> = catalog
        .entries()
        .iter()
        .filter(|e| !e.name.kind().is_pre_restore())
        .map(|e| (e.name.taken_at(), e))
        .collect();
    names.sort_by(|a, b| (a.0, a.1.name.file_name()).cmp(&(b.0, b.1.name.file_name())));
    if let Some(since) = since {
        let base = names.iter().rposition(|(at, _)| *at < since);
        names.drain(..base.unwrap_or(0));
    }
    let mut report = ChangesReport {
        backups: 0,
        changes: Vec::new(),
        skipped: Vec::new(),
    };
    let mut previous: Option<Opened> = None;
    for (_, entry) in names {
        let opened = match open_entry(data, entry, passphrase, ctx) {
            Ok(opened) => opened,
            Err(e) => {
                report.skipped.push(Skipped {
                    backup: entry.name.file_name().to_owned(),
                    error: KindedMessage::of(&e),
                });
                continue;
            }
        };
        report.backups += 1;
        if let Some(older) = &previous {
            let tables = config_changes(older, &opened)?;
            if !tables.is_empty() {
                report.changes.push(ConfigChange {
                    older: older.label().to_owned(),
                    newer: opened.label().to_owned(),
                    tables,
                });
            }
        }
        previous = Some(opened);
    }
    Ok(report)
}

/// The configuration tables that differ between `older` and `newer`.
fn config_changes(older: &Opened, newer: &Opened) -> Result<Vec<TableDiff>, SurgeryError> {
    let mut tables = table_names(older.connection(), "main")?;
    for table in table_names(newer.connection(), "main")? {
        if !tables.contains(&table) {
            tables.push(table);
        }
    }
    tables.retain(|t| !RECORDED_TABLES.contains(&t.as_str()));
    let options = DiffOptions {
        tables,
        rows: true,
        limit: 50,
        offset: 0,
    };
    Ok(diff(older, newer, &options)?
        .tables
        .into_iter()
        .filter(TableDiff::changed)
        .collect())
}
