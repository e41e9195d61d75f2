//! The server's health and storage answers (`GET /api/database/health`,
//! `GET /api/database/storage`): what a local installation reports in the
//! same shapes, and what a server sends.

use serde::{Deserialize, Serialize};

/// A table and its row count at snapshot time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct TableRows {
    /// Table name.
    pub name: String,
    /// `SELECT count(*)` at snapshot time.
    pub rows: u64,
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_servers_error_shapes_read_as_failures_and_never_as_healthy() {
        let failed: HealthReport = serde_json::from_str(
            r#"{"healthy": false, "error": "database disk image is malformed", "last_checked": "2026-12-04T10:00:00"}"#,
        )
        .unwrap();
        assert!(matches!(failed, HealthReport::Failed(_)));
        assert!(!failed.healthy());
        let storage: StorageReport =
            serde_json::from_str(r#"{"error": "permission denied"}"#).unwrap();
        assert!(matches!(storage, StorageReport::Failed(_)));
    }

    #[test]
    fn a_storage_answer_round_trips_in_the_servers_shape() {
        let json = serde_json::json!({
            "database": {"size": 4096, "size_human": "4.0 KB"},
            "backups": {"count": 2, "total_size": 3000, "size_human": "2.9 KB", "average_size": 1500},
            "data_directory": {"total_size": 9000, "size_human": "8.8 KB"}
        });
        let read: StorageReport = serde_json::from_value(json.clone()).unwrap();
        let StorageReport::Measured(s) = &read else {
            panic!("measured");
        };
        assert_eq!(s.backups.average_size, 1500);
        assert_eq!(serde_json::to_value(&read).unwrap(), json);
    }
}
