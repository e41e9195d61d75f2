//! The `.meta` JSON beside each backup (contract §3): six fields the server
//! reads and writes, plus optional extras Backup Desk adds. Readers ignore
//! fields they do not know.

use std::io::Read;
use std::path::Path;

use serde::{Deserialize, Serialize};

/// The largest `.meta` we are willing to read. Real ones are under 2 KiB;
/// anything bigger is refused rather than loaded.
pub(crate) const MAX_META_BYTES: u64 = 256 * 1024;

/// Why a `.meta` could not be used.
#[derive(Debug, thiserror::Error)]
pub enum MetaError {
    /// The file exceeds [`MAX_META_BYTES`].
    #[error("{path}: metadata file is {size} bytes, more than the {MAX_META_BYTES} allowed")]
    MetaTooLarge { path: String, size: u64 },
    /// Not JSON, or a contract field is missing or has the wrong type/shape.
    #[error("{path}: malformed metadata: {reason}")]
    MalformedMeta { path: String, reason: String },
    /// Reading or writing failed.
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

impl crate::KindedError for MetaError {
    fn kind(&self) -> crate::ErrorKind {
        match self {
            MetaError::MetaTooLarge { .. } => crate::ErrorKind::MetaTooLarge,
            MetaError::MalformedMeta { .. } => crate::ErrorKind::MalformedMeta,
            MetaError::Io { .. } => crate::ErrorKind::Io,
        }
    }
}
pub use crate::model::TableRows;

/// The metadata of one backup.
///
/// Invariant: `checksum_sha256` and `size_bytes` describe the plaintext
/// SQLite snapshot (what `gpg -d` yields), never the `.gpg` file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct BackupMeta {
    /// `servers_db_YYYYMMDD_HHMMSS.db`: the backup's name without `.gpg`.
    pub backup_name: String,
    /// RFC 3339 with offset, as `date -Iseconds` writes it.
    pub timestamp: String,
    /// Size of the plaintext snapshot in bytes.
    pub size_bytes: u64,
    /// Lowercase hex SHA-256 of the plaintext snapshot.
    pub checksum_sha256: String,
    /// The live database the snapshot was taken from.
    pub database_path: String,
    /// Whether the backup file is an OpenPGP message.
    pub encrypted: bool,

    /// `"backupdesk"` when Backup Desk wrote this file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool: Option<String>,
    /// Backup Desk's version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_version: Option<String>,
    /// SHA-256 of the `.gpg` file itself: lets anyone check the file's
    /// integrity without the passphrase, and tells "altered file" apart
    /// from "wrong passphrase".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gpg_sha256: Option<String>,
    /// Size of the `.gpg` file in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gpg_size: Option<u64>,
    /// Compression inside the OpenPGP message, e.g. `"zip-6"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compression: Option<String>,
    /// SQLite page size of the snapshot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page_size: Option<u64>,
    /// SQLite page count of the snapshot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page_count: Option<u64>,
    /// Journal mode of the live database when the snapshot was taken.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub journal_mode: Option<String>,
    /// Per-table row counts of the snapshot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tables: Option<Vec<TableRows>>,
}

impl BackupMeta {
    /// Reads and validates the `.meta` at `path`.
    ///
    /// # Errors
    /// [`MetaError::MetaTooLarge`] past [`MAX_META_BYTES`];
    /// [`MetaError::MalformedMeta`] for invalid JSON, missing contract fields,
    /// or a checksum that is not 64 hex digits; [`MetaError::Io`] otherwise.
    pub fn read(path: &Path) -> Result<Self, MetaError> {
        let shown = path.display().to_string();
        let io = |source| MetaError::Io {
            path: shown.clone(),
            source,
        };
        // Non-blocking open, then a regular file only: a FIFO named like a
        // `.meta` must not hang every listing (nor a device feed it forever).
        let file = {
            use std::os::unix::fs::OpenOptionsExt;
            std::fs::OpenOptions::new()
                .read(true)
                .custom_flags(libc::O_NONBLOCK | libc::O_NOFOLLOW)
                .open(path)
                .map_err(|e| {
                    if e.raw_os_error() == Some(libc::ELOOP) {
                        MetaError::MalformedMeta {
                            path: shown.clone(),
                            reason: "it is a symbolic link, which is never followed".into(),
                        }
                    } else {
                        io(e)
                    }
                })?
        };
        let metadata = file.metadata().map_err(io)?;
        if !metadata.is_file() {
            return Err(MetaError::MalformedMeta {
                path: shown,
                reason: "it is not a regular file".into(),
            });
        }
        let size = metadata.len();
        if size > MAX_META_BYTES {
            return Err(MetaError::MetaTooLarge { path: shown, size });
        }
        let mut text = String::new();
        file.take(MAX_META_BYTES + 1)
            .read_to_string(&mut text)
            .map_err(|e| MetaError::MalformedMeta {
                path: shown.clone(),
                reason: e.to_string(),
            })?;
        let meta: BackupMeta =
            serde_json::from_str(&text).map_err(|e| MetaError::MalformedMeta {
                path: shown.clone(),
                reason: e.to_string(),
            })?;
        if !is_sha256_hex(&meta.checksum_sha256) {
            return Err(MetaError::MalformedMeta {
                path: shown,
                reason: "checksum_sha256 is not 64 hexadecimal digits".into(),
            });
        }
        Ok(meta)
    }

    /// The JSON text written to disk (pretty, with a trailing newline).
    pub(crate) fn to_json(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).expect("metadata serializes");
        text.push('\n');
        text
    }
}

fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_contract_example_and_ignores_unknown_fields() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.meta");
        std::fs::write(
            &path,
            r#"{"backup_name":"servers_db_20260110_012354.db","timestamp":"2026-01-10T01:23:54+00:00",
               "size_bytes":225280,"checksum_sha256":"75701f0000000000000000000000000000000000000000000000000000004612",
               "database_path":"/opt/server-monitor/data/servers.db","encrypted":true,"future_field":[1,2]}"#,
        )
        .unwrap();
        let meta = BackupMeta::read(&path).unwrap();
        assert_eq!(meta.size_bytes, 225_280);
        assert!(meta.tool.is_none());
    }

    #[test]
    fn refuses_bad_checksums_and_huge_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.meta");
        std::fs::write(
            &path,
            r#"{"backup_name":"a","timestamp":"t","size_bytes":1,"checksum_sha256":"zz","database_path":"p","encrypted":true}"#,
        )
        .unwrap();
        assert!(matches!(
            BackupMeta::read(&path),
            Err(MetaError::MalformedMeta { .. })
        ));
        std::fs::write(&path, vec![b' '; (MAX_META_BYTES + 1) as usize]).unwrap();
        assert!(matches!(
            BackupMeta::read(&path),
            Err(MetaError::MetaTooLarge { .. })
        ));
    }
}
