//! `health` and `storage`: exactly the JSON shapes of the server's
//! `/api/database/health` and `/api/database/storage` (contract §4), so the
//! app renders a local directory and a remote server the same way.
//!
//! Health never blocks the service: in WAL mode the checks run on a
//! read-only connection to the live file (readers never block writers); in
//! rollback-journal mode, where a long read would hold off every commit, a
//! one-step snapshot is taken first and checked in the private staging folder.

pub use crate::model::{
    BackupStorage, DirectoryStorage, Health, HealthFailure, HealthReport, SizedItem, Storage,
    StorageFailure, StorageReport,
};

use crate::clock::Clock;
use crate::format::human::size_human;
use crate::local::catalog::BackupCatalog;
use crate::local::layout::DataDir;
use crate::local::snapshot::{self, DatabaseReport};
use crate::local::staging::Staging;
use crate::progress::NoProgress;

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
