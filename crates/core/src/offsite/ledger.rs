//! The local record of one location's copies: what the store confirmed
//! when each was pushed, until when it is locked, and the last quick and
//! deep checks. Kept beside the location book (`offsite/NAME.json` in the
//! config folder), written atomically; a copy is "off-site ok" only while
//! its record says so.
//!
//! Invariant: a record is written only after the store answered; losing
//! the file loses history, never copies (verify then reads the store's
//! `.meta` files instead).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::offsite::OffsiteError;
use crate::offsite::store::LockMode;

/// One check of a copy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct CopyCheck {
    /// RFC 3339.
    pub at: String,
    pub ok: bool,
    /// What was wrong, when not ok.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
}

/// What is known of one copy.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(default)]
pub struct CopyRecord {
    pub size: u64,
    /// The SHA-256 the store confirmed at push (base64; composite `-N`
    /// for a multipart copy).
    pub store_checksum: Option<String>,
    /// RFC 3339.
    pub pushed_at: Option<String>,
    /// Until when Object Lock holds it (RFC 3339, UTC).
    pub retain_until: Option<String>,
    pub quick: Option<CopyCheck>,
    pub deep: Option<CopyCheck>,
    /// What the local file was when pushed ([`local_version`]): a local
    /// file of the same size that is another version (a rewrapped backup,
    /// its updated `.meta`) is pushed again. `None` in older ledgers.
    pub local_version: Option<String>,
}

/// A cheap fingerprint of local file `path` named `name`: a `.meta`'s
/// own SHA-256 (it is small); a backup's `.gpg` SHA-256 as its `.meta`
/// records it (updated by every rewrap and rotation); else its size and
/// modification time.
pub(crate) fn local_version(name: &str, path: &std::path::Path) -> Option<String> {
    use sha2::Digest as _;
    if name.ends_with(".meta") {
        let bytes = std::fs::read(path).ok()?;
        return Some(hex::encode(sha2::Sha256::digest(&bytes)));
    }
    let meta = path.with_extension("meta");
    if let Ok(recorded) = crate::format::meta::BackupMeta::read(&meta)
        && let Some(sha) = recorded.gpg_sha256
    {
        return Some(sha);
    }
    let m = std::fs::metadata(path).ok()?;
    let modified = m
        .modified()
        .ok()?
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?;
    Some(format!("{}@{}", m.len(), modified.as_nanos()))
}

/// The records of one location.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct CopyLedger {
    /// The bucket's Object Lock as last read (`None`: never read).
    pub lock: Option<LockState>,
    /// By file name.
    pub copies: BTreeMap<String, CopyRecord>,
    /// How the latest push to this location ended (`None`: none yet).
    pub last_push: Option<CopyCheck>,
    /// Copies a push replaced while their lock still held them: the store
    /// keeps each (an older version) until its lock ends.
    pub superseded: Vec<SupersededCopy>,
}

/// A copy replaced in the store by a newer one of the same backup (after a
/// rewrap) and kept there, locked, until `retain_until`: the ways in its
/// backup had then are still needed to read it until that date.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SupersededCopy {
    /// The backup's file name.
    pub name: String,
    /// Until when its lock keeps it (RFC 3339, UTC).
    pub retain_until: String,
    /// The ways in a rewrap took from the backup since (what only this
    /// older copy still needs).
    pub retired: crate::local::rotation::Retired,
}

impl SupersededCopy {
    /// In words: the older copy kept, until when, and what it still needs.
    pub fn words(&self) -> String {
        let mut needs: Vec<String> = self
            .retired
            .key_ids
            .iter()
            .map(|id| format!("key {id}"))
            .collect();
        if self.retired.passphrase {
            needs.push("the passphrase".to_owned());
        }
        let needs = match needs.is_empty() {
            true => "the ways in it was made with".to_owned(),
            false => needs.join(", "),
        };
        format!(
            "the older copy of {} stays locked until {}: {needs} still needed until then",
            self.name, self.retain_until
        )
    }
}

/// Whether the location's bucket locks copies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum LockState {
    Off,
    On(LockMode),
}

impl CopyLedger {
    /// Where location `name`'s ledger lives under `config_dir`.
    pub fn path(config_dir: &Path, name: &str) -> PathBuf {
        config_dir.join("offsite").join(format!("{name}.json"))
    }

    /// The ledger at `path`; empty when there is none yet.
    ///
    /// # Errors
    /// [`OffsiteError::Book`] when it cannot be read or parsed (it is
    /// never silently replaced).
    pub fn load(path: &Path) -> Result<Self, OffsiteError> {
        match std::fs::read(path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map_err(|e| OffsiteError::Book(path.display().to_string(), e.to_string())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(e) => Err(OffsiteError::Book(
                path.display().to_string(),
                e.to_string(),
            )),
        }
    }

    /// Writes the ledger to `path` (a private folder, atomic replace).
    ///
    /// # Errors
    /// [`OffsiteError::Local`] when it cannot be written.
    pub fn save(&self, path: &Path) -> Result<(), OffsiteError> {
        let local =
            |e: std::io::Error| OffsiteError::Local(path.display().to_string(), e.to_string());
        if let Some(dir) = path.parent() {
            crate::publish::ensure_private_dir(dir).map_err(local)?;
        }
        let bytes = serde_json::to_vec_pretty(self).expect("the ledger serializes");
        crate::publish::write_atomic(path, &bytes).map_err(local)
    }

    /// The record of `name`, made when absent.
    pub fn entry(&mut self, name: &str) -> &mut CopyRecord {
        self.copies.entry(name.to_owned()).or_default()
    }
}

/// Two store checksums name the same bytes: equal, or equal but for the
/// `-N` part count (moto answers a multipart copy's HEAD without it).
pub(crate) fn same_checksum(a: &str, b: &str) -> bool {
    let bare = |s: &str| s.split('-').next().unwrap_or(s).to_owned();
    bare(a) == bare(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ledger_round_trips_and_a_damaged_one_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = CopyLedger::path(dir.path(), "cold");
        assert_eq!(CopyLedger::load(&path).unwrap(), CopyLedger::default());
        let mut ledger = CopyLedger {
            lock: Some(LockState::On(LockMode::Governance)),
            ..Default::default()
        };
        ledger.entry("a.db.gpg").size = 7;
        ledger.save(&path).unwrap();
        assert_eq!(CopyLedger::load(&path).unwrap(), ledger);
        std::fs::write(&path, "{not json").unwrap();
        assert!(matches!(
            CopyLedger::load(&path),
            Err(OffsiteError::Book(..))
        ));
    }

    #[test]
    fn checksums_compare_without_the_part_count() {
        assert!(same_checksum("abc=-3", "abc="));
        assert!(same_checksum("abc=", "abc="));
        assert!(!same_checksum("abc=", "abd="));
    }
}
