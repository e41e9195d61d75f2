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

use crate::context::OperationContext;
use crate::format::human::size_human;
use crate::local::catalog::BackupCatalog;
use crate::local::layout::DataDir;
use crate::local::snapshot::{self, DatabaseReport};
use crate::local::staging::Staging;
use crate::progress::NoProgress;

fn naive_now(ctx: &OperationContext<'_>) -> String {
    ctx.now()
        .naive_local()
        .format("%Y-%m-%dT%H:%M:%S%.6f")
        .to_string()
}

/// Checks the live database like the server does. Errors are part of the
/// report (the error shape), as on the server.
pub fn health(data: &DataDir, ctx: &OperationContext<'_>) -> HealthReport {
    let last_checked = naive_now(ctx);
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
            error: error.to_string(),
            last_checked,
        }),
    }
}

/// Why the live database could not be checked or measured (its text is
/// the report's `error`, as the server's is).
#[derive(Debug, thiserror::Error)]
enum NotChecked {
    /// Reading or checking the database.
    #[error(transparent)]
    Snapshot(#[from] snapshot::SnapshotError),
    /// Its size could not be read.
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// The private staging folder could not be made.
    #[error("{path}: {source}")]
    Staging {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// The backup folder could not be read.
    #[error(transparent)]
    Catalog(#[from] crate::local::catalog::CatalogError),
}

fn check(data: &DataDir) -> Result<(u64, DatabaseReport), NotChecked> {
    let live = data.database();
    snapshot::check_is_sqlite(&live)?;
    let size = std::fs::metadata(&live)?.len();
    let wal = is_wal(&live);
    if wal || size == 0 {
        return Ok((size, snapshot::inspect_read_only(&live)?));
    }
    let staging = Staging::open(data).map_err(|source| NotChecked::Staging {
        path: data.staging().display().to_string(),
        source,
    })?;
    let staged = staging.file("health.db");
    snapshot::take_snapshot(&live, staged.path(), &NoProgress)?;
    let report = snapshot::inspect(staged.path(), &NoProgress)?;
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
        Err(error) => StorageReport::Failed(StorageFailure {
            error: error.to_string(),
        }),
    }
}

fn measure(data: &DataDir) -> Result<Storage, NotChecked> {
    let db_size = std::fs::metadata(data.database())
        .map(|m| m.len())
        .unwrap_or(0);
    let catalog = BackupCatalog::scan(data)?;
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
pub(crate) fn folder_size(dir: &std::path::Path) -> u64 {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::FixedClock;
    use crate::local::demo::{DemoOptions, JournalMode, create_demo};

    fn demo(journal_mode: JournalMode) -> (tempfile::TempDir, DataDir) {
        let dir = tempfile::tempdir().unwrap();
        let data = DataDir::new(dir.path());
        let options = DemoOptions {
            size_bytes: 192 * 1024,
            servers: 2,
            journal_mode,
            ..DemoOptions::default()
        };
        create_demo(&data, &options, FixedClock::utc(2026, 12, 1, 0, 0, 0).0).unwrap();
        (dir, data)
    }

    #[test]
    fn a_sound_database_is_healthy_in_either_journal_mode_and_dated_by_the_context() {
        let clock = FixedClock::utc(2026, 12, 4, 12, 0, 0);
        for mode in [JournalMode::Wal, JournalMode::Delete] {
            let (_dir, data) = demo(mode);
            let HealthReport::Checked(h) = health(&data, &OperationContext::bare(&clock)) else {
                panic!("checked");
            };
            assert!(h.healthy, "{mode:?}");
            assert_eq!(h.integrity_check, "passed");
            assert!(h.tables > 0);
            assert_eq!(h.foreign_key_errors, 0);
            assert!(
                h.last_checked.starts_with("2026-12-04T12:00:00"),
                "{}",
                h.last_checked
            );
        }
    }

    #[test]
    fn a_file_that_is_no_database_is_a_failed_report_not_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let data = DataDir::new(dir.path());
        std::fs::create_dir_all(data.database().parent().unwrap()).unwrap();
        std::fs::write(data.database(), b"this is not SQLite at all, just text").unwrap();
        let clock = FixedClock::utc(2026, 12, 4, 12, 0, 0);
        let report = health(&data, &OperationContext::bare(&clock));
        assert!(!report.healthy());
        assert!(matches!(report, HealthReport::Failed(_)));
    }

    #[test]
    fn storage_counts_the_backups_and_the_data_folder() {
        let (_dir, data) = demo(JournalMode::Delete);
        std::fs::create_dir_all(data.backups()).unwrap();
        std::fs::write(
            data.backups().join("servers_db_20260110_012354.db.gpg"),
            vec![0u8; 1000],
        )
        .unwrap();
        std::fs::write(
            data.backups().join("servers_db_20260111_012354.db.gpg"),
            vec![0u8; 3000],
        )
        .unwrap();
        let StorageReport::Measured(s) = storage(&data) else {
            panic!("measured");
        };
        assert_eq!(s.backups.count, 2);
        assert_eq!(s.backups.total_size, 4000);
        assert_eq!(s.backups.average_size, 2000);
        assert!(s.database.size > 0);
        assert!(s.data_directory.total_size >= s.database.size + 4000);
    }

    #[test]
    fn a_folders_size_counts_files_below_it_and_not_links() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("a/b")).unwrap();
        std::fs::write(dir.path().join("a/one"), vec![0u8; 10]).unwrap();
        std::fs::write(dir.path().join("a/b/two"), vec![0u8; 20]).unwrap();
        std::os::unix::fs::symlink("/etc/passwd", dir.path().join("a/link")).unwrap();
        assert_eq!(folder_size(dir.path()), 30);
        assert_eq!(folder_size(&dir.path().join("missing")), 0);
    }
}
