//! What Backup Desk saw of each backup it made on a server: the server's
//! database fingerprint (logical size, row counts) read right after the
//! backup appeared, so that a later restore of that backup can be checked
//! against what it holds. The server's API never says what a backup holds
//! (its list has no size or row counts of the snapshot), so this record is
//! the only evidence of it.
//!
//! Kept in `server-records.json` in the config folder. It holds no secret;
//! it is a cache: a missing or damaged file only means less evidence (the
//! restore verdict then rests on the change from before), never an error.
//! A record is keyed by server, file name and the file's `created_at`, so a
//! name the server reused within one second (§6.10) does not match an older
//! record.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::outcome::ContentFingerprint;
use crate::model::ListItem;
use crate::publish::{ensure_private_dir, write_atomic};

/// At most this many records per server (the newest names are kept).
const PER_SERVER: usize = 500;

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Recorded {
    created_at: String,
    content: ContentFingerprint,
}

/// The records of every server, by base URL and backup file name.
#[derive(Debug, Default)]
pub(crate) struct ContentRecords {
    path: PathBuf,
    servers: BTreeMap<String, BTreeMap<String, Recorded>>,
}

impl ContentRecords {
    /// The records in `dir` (empty when missing or unreadable).
    pub fn load(dir: &Path) -> Self {
        let path = dir.join("server-records.json");
        let servers = match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_else(|e| {
                tracing::warn!(
                    "{}: {e}; earlier records of server backups are not used",
                    path.display()
                );
                BTreeMap::new()
            }),
            Err(_) => BTreeMap::new(),
        };
        ContentRecords { path, servers }
    }

    /// The recorded content of `item` on `server`, if it is the same file.
    pub fn get(&self, server: &str, item: &ListItem) -> Option<&ContentFingerprint> {
        self.servers
            .get(server)?
            .get(&item.filename)
            .filter(|r| r.created_at == item.created_at)
            .map(|r| &r.content)
    }

    /// Records `content` for `item` on `server` and saves the file.
    ///
    /// # Errors
    /// Writing the file failed (the caller warns; nothing else depends on it).
    pub fn put(
        &mut self,
        server: &str,
        item: &ListItem,
        content: ContentFingerprint,
    ) -> std::io::Result<()> {
        let records = self.servers.entry(server.to_owned()).or_default();
        records.insert(
            item.filename.clone(),
            Recorded {
                created_at: item.created_at.clone(),
                content,
            },
        );
        while records.len() > PER_SERVER {
            let oldest = records.keys().next().cloned();
            if let Some(oldest) = oldest {
                records.remove(&oldest);
            }
        }
        if let Some(dir) = self.path.parent() {
            ensure_private_dir(dir)?;
        }
        let text = serde_json::to_vec_pretty(&self.servers).map_err(std::io::Error::other)?;
        write_atomic(&self.path, &text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::meta::TableRows;
    use crate::format::name::BackupKind;
    use crate::model::VerifiedState;

    fn item(name: &str, created_at: &str) -> ListItem {
        ListItem {
            filename: name.into(),
            path: String::new(),
            taken_at: crate::format::name::BackupName::parse(name)
                .unwrap()
                .taken_at(),
            size: 1,
            size_human: String::new(),
            created_at: created_at.into(),
            encrypted: true,
            checksum: None,
            timestamp: None,
            kind: BackupKind::Encrypted,
            has_meta: false,
            meta_problem: None,
            db_size: None,
            verified: VerifiedState::never(),
            pinned: false,
            drill: None,
            states: Vec::new(),
        }
    }

    #[test]
    fn a_record_survives_a_reload_and_a_reused_name_does_not_match_it() {
        let dir = tempfile::tempdir().unwrap();
        let content = ContentFingerprint {
            logical_size: 8192,
            tables: vec![TableRows {
                name: "servers".into(),
                rows: 3,
            }],
        };
        let first = item("servers_db_20261201_100000.db.gpg", "2026-12-01T10:00:00.1");
        let mut records = ContentRecords::load(dir.path());
        records.put("https://a", &first, content.clone()).unwrap();
        let records = ContentRecords::load(dir.path());
        assert_eq!(records.get("https://a", &first), Some(&content));
        assert_eq!(records.get("https://b", &first), None);
        let rewritten = item("servers_db_20261201_100000.db.gpg", "2026-12-01T10:00:00.9");
        assert_eq!(records.get("https://a", &rewritten), None);
    }

    #[test]
    fn a_damaged_file_is_an_empty_cache() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("server-records.json"), "{not json").unwrap();
        let records = ContentRecords::load(dir.path());
        assert!(records.servers.is_empty());
    }
}
