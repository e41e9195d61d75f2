//! A backup as listings show it, on either side: its kind, its
//! verification, the server's list-item fields and Backup Desk's own.

use serde::{Deserialize, Serialize};

use crate::model::ErrorKind;

/// What a file in the backup folder is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum BackupKind {
    /// `servers_db_*.db.gpg`: a regular encrypted backup.
    Encrypted,
    /// `servers_db_*.db.bak`: plaintext, written by the scripts when gpg was missing.
    LegacyPlain,
    /// `prerestore_*.db.gpg`: an encrypted safety copy made before a restore.
    PreRestoreEncrypted,
    /// `prerestore_*.db`: the scripts' plaintext safety copy.
    PreRestorePlain,
}

impl BackupKind {
    /// Whether files of this kind are OpenPGP messages.
    pub fn is_encrypted(self) -> bool {
        matches!(
            self,
            BackupKind::Encrypted | BackupKind::PreRestoreEncrypted
        )
    }

    /// Whether this is a safety copy made before a restore.
    pub fn is_pre_restore(self) -> bool {
        matches!(
            self,
            BackupKind::PreRestoreEncrypted | BackupKind::PreRestorePlain
        )
    }
}

/// How thoroughly a backup was verified.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum VerifyDepth {
    /// Decrypt, size and SHA-256 against `.meta`.
    Quick,
    /// Quick, plus SQLite `integrity_check` and `foreign_key_check`.
    Deep,
}

/// Whether a backup was verified, and how that went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum VerificationStatus {
    /// Never verified (or its record was forgotten).
    Never,
    /// The latest verification passed.
    Passed,
    /// The latest verification failed: the backup is not restored.
    Failed,
}

impl VerificationStatus {
    /// `never`, `passed` or `failed`, as on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            VerificationStatus::Never => "never",
            VerificationStatus::Passed => "passed",
            VerificationStatus::Failed => "failed",
        }
    }
}

impl std::fmt::Display for VerificationStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Verification state as shown in listings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct VerifiedState {
    /// Never verified, passed or failed.
    pub state: VerificationStatus,
    /// `quick` or `deep`, when verified.
    pub depth: Option<VerifyDepth>,
    /// When, RFC 3339.
    pub at: Option<String>,
    /// The error kind of a failed verification (a kind this version does
    /// not know, recorded by a newer one, reads as none).
    pub error_kind: Option<ErrorKind>,
    /// When it last passed a deep verification.
    pub deep_passed_at: Option<String>,
}

impl VerifiedState {
    /// Never verified, as for a server's backups.
    pub fn never() -> Self {
        VerifiedState {
            state: VerificationStatus::Never,
            depth: None,
            at: None,
            error_kind: None,
            deep_passed_at: None,
        }
    }
}

/// One item of `list --json`: the server's list-item fields
/// (`filename, path, size, size_human, created_at, encrypted, checksum,
/// timestamp`), then Backup Desk's own.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ListItem {
    pub filename: String,
    pub path: String,
    /// Backup Desk: the time in the name (the server's local time), so no
    /// screen parses names again.
    pub taken_at: chrono::NaiveDateTime,
    pub size: u64,
    pub size_human: String,
    /// File mtime, naive local ISO 8601, as the server writes it.
    pub created_at: String,
    pub encrypted: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checksum: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<String>,
    /// Backup Desk: what kind of file this is.
    pub kind: BackupKind,
    /// Backup Desk: whether a usable `.meta` exists.
    pub has_meta: bool,
    /// Backup Desk: why the `.meta` could not be used (null when fine).
    pub meta_problem: Option<String>,
    /// Backup Desk: size of the plaintext snapshot, from `.meta` (null
    /// when unknown, as for a server's backups).
    pub db_size: Option<u64>,
    /// Backup Desk: verification state.
    pub verified: VerifiedState,
    /// Backup Desk: pinned (retention never deletes it).
    pub pinned: bool,
    /// Backup Desk: its latest restore drill (null: never drilled).
    pub drill: Option<DrillRecord>,
}

/// The outcome of the latest restore drill of one backup (kept in the
/// ledger, shown in listings and on the fleet tile).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct DrillRecord {
    /// Whether it passed.
    pub ok: bool,
    /// When it ran (RFC 3339).
    pub at: String,
    /// How long its restore took, when it passed: the restore-time
    /// estimate.
    pub restore_ms: Option<u64>,
    /// Why it failed.
    pub error_kind: Option<ErrorKind>,
}
