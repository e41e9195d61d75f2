//! `health` and `storage`: exactly the JSON shapes of the server's
//! `/api/database/health` and `/api/database/storage` (contract §4), so the
//! app renders a local directory and a remote server the same way.
//!
//! Health never blocks the service: in WAL mode the checks run on a
//! read-only connection to the live file (readers never block writers); in
//! rollback-journal mode, where a long read would hold off every commit, a
//! one-step snapshot is taken first and checked in the private staging folder.

use serde::{Deserialize, Serialize};

use crate::clock::Clock;
use crate::format::human::size_human;
use crate::format::meta::TableRows;
use crate::local::catalog::BackupCatalog;
use crate::local::layout::DataDir;
use crate::local::snapshot::{self, DatabaseReport};
use crate::local::staging::Staging;
use crate::progress::NoProgress;

/// `GET /api/database/health`, success shape.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Health {
    pub healthy: bool,
    /// `"passed"` or `"failed"`.
    pub integrity_check: String,
    pub size: u64,
    pub size_human: String,
    pub tables: u64,
    pub table_details: Vec<TableRows>,
    pub page_count: u64,
    pub page_size: u64,
    pub foreign_key_errors: u64,
    /// Naive local ISO 8601, as the server writes it.
    pub last_checked: String,
}

/// `GET /api/database/health`, error shape (the server still answers 200).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct HealthFailure {
    /// Always `false`.
    pub healthy: bool,
    pub error: String,
    pub last_checked: String,
}

/// Either health shape.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(untagged)]
pub enum HealthReport {
    /// The checks ran.
    Checked(Health),
    /// The checks could not run.
    Failed(HealthFailure),
}

impl HealthReport {
    /// Whether the database is healthy.
    pub fn healthy(&self) -> bool {
        match self {
            HealthReport::Checked(h) => h.healthy,
            HealthReport::Failed(_) => false,
        }
    }
}

fn naive_now(clock: &dyn Clock) -> String {
    clock
        .now()
        .naive_local()
        .format("%Y-%m-%dT%H:%M:%S%.6f")
        .to_string()
}

/// Checks the live database like the server does. Errors are part of the
/// report (the error shape), as on the server.
pub fn health(data: &DataDir, clock: &dyn Clock) -> HealthReport {
    let last_checked = naive_now(clock);
    match check(data) {
        Ok((size, report)) => {
            let integrity_ok = report.integrity_ok();
            HealthReport::Checked(Health {
                healthy: integrity_ok,
                integrity_check: if integrity_ok { "passed" } else { "failed" }.to_owned(),
                size,
                size_human: size_human(size),
                tables: report.tables.len() as u64,
                table_details: report.tables,
                page_count: report.page_count,
                page_size: report.page_size,
                foreign_key_errors: report.foreign_key_errors,
                last_checked,
            })
        }
        Err(error) => HealthReport::Failed(HealthFailure {
            healthy: false,
            error,
            last_checked,
        }),
    }
}

fn check(data: &DataDir) -> Result<(u64, DatabaseReport), String> {
    let live = data.database();
    snapshot::check_is_sqlite(&live).map_err(|e| e.to_string())?;
    let size = std::fs::metadata(&live).map_err(|e| e.to_string())?.len();
    let wal = is_wal(&live);
    if wal || size == 0 {
        return snapshot::inspect_read_only(&live)
            .map(|r| (size, r))
            .map_err(|e| e.to_string());
    }
    let staging = Staging::open(data).map_err(|e| format!("{}: {e}", data.staging().display()))?;
    let staged = staging.file("health.db");
    snapshot::take_snapshot(&live, staged.path(), &NoProgress).map_err(|e| e.to_string())?;
    let report = snapshot::inspect(staged.path(), &NoProgress).map_err(|e| e.to_string())?;
    Ok((size, report))
}

/// Whether the database file header says WAL (file format versions 2).
fn is_wal(path: &std::path::Path) -> bool {
    use std::io::Read;
    let mut header = [0u8; 20];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut header))
        .map(|()| header[18] == 2 && header[19] == 2)
        .unwrap_or(false)
}

/// `GET /api/database/storage`, success shape.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Storage {
    pub database: SizedItem,
    pub backups: BackupStorage,
    pub data_directory: DirectoryStorage,
}

/// `{"size", "size_human"}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SizedItem {
    pub size: u64,
    pub size_human: String,
}

/// `{"count", "total_size", "size_human", "average_size"}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct BackupStorage {
    pub count: u64,
    pub total_size: u64,
    pub size_human: String,
    /// Bytes per backup, rounded down; 0 without backups.
    pub average_size: u64,
}

/// `{"total_size", "size_human"}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct DirectoryStorage {
    pub total_size: u64,
    pub size_human: String,
}

/// `GET /api/database/storage`, error shape (the server answers 200).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct StorageFailure {
    pub error: String,
}

/// Either storage shape.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(untagged)]
pub enum StorageReport {
    /// Sizes were read.
    Measured(Storage),
    /// They could not be.
    Failed(StorageFailure),
}

/// Sizes of the database, the backups and the whole `data/` folder.
pub fn storage(data: &DataDir) -> StorageReport {
    match measure(data) {
        Ok(s) => StorageReport::Measured(s),
        Err(error) => StorageReport::Failed(StorageFailure { error }),
    }
}

fn measure(data: &DataDir) -> Result<Storage, String> {
    let db_size = std::fs::metadata(data.database())
        .map(|m| m.len())
        .unwrap_or(0);
    let catalog = BackupCatalog::scan(data).map_err(|e| e.to_string())?;
    let count = catalog.entries().len() as u64;
    let total: u64 = catalog.entries().iter().map(|e| e.size).sum();
    let data_folder = data
        .database()
        .parent()
        .map(|p| p.to_path_buf())
        .unwrap_or_default();
    let dir_total = folder_size(&data_folder);
    Ok(Storage {
        database: SizedItem {
            size: db_size,
            size_human: size_human(db_size),
        },
        backups: BackupStorage {
            count,
            total_size: total,
            size_human: size_human(total),
            average_size: total.checked_div(count).unwrap_or(0),
        },
        data_directory: DirectoryStorage {
            total_size: dir_total,
            size_human: size_human(dir_total),
        },
    })
}

/// Total size of the regular files below `dir` (links are not followed).
pub fn folder_size(dir: &std::path::Path) -> u64 {
    let Ok(read) = std::fs::read_dir(dir) else {
        return 0;
    };
    read.flatten()
        .map(|entry| match entry.file_type() {
            Ok(t) if t.is_dir() => folder_size(&entry.path()),
            Ok(t) if t.is_file() => entry.metadata().map(|m| m.len()).unwrap_or(0),
            _ => 0,
        })
        .sum()
}
