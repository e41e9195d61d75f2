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
