//! Backup Desk's own records about backups, kept in
//! `data/.backupdesk/ledger.json`: when each backup was last verified, how,
//! and with which outcome, and which backups are pinned. Written atomically.
//! A damaged ledger is never overwritten and never read as empty where that
//! could delete something: pins live here, so pruning refuses to run
//! ([`Ledger::read`]) until it is repaired or moved aside; listings still
//! work without its records ([`Ledger::load`]).

use std::collections::{BTreeMap, BTreeSet};
use std::fs::OpenOptions;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::local::layout::DataDir;
use crate::model::DrillRecord;
pub use crate::model::VerifyDepth;
use crate::publish::{ensure_private_dir, write_atomic};

/// The outcome of the latest verification of one backup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Verification {
    /// Quick or deep.
    pub depth: VerifyDepth,
    /// Whether it passed.
    pub ok: bool,
    /// When it ran (RFC 3339).
    pub at: String,
    /// The error kind when it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_kind: Option<String>,
    /// The machine that held the way in, when it was not the one that
    /// ran it (a laptop that handed over session keys); `None`: here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
}

/// Everything in the ledger.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Ledger {
    /// Latest verification per backup file name.
    #[serde(default)]
    pub verifications: BTreeMap<String, Verification>,
    /// Latest *passed deep* verification per backup file name.
    #[serde(default)]
    pub deep_passed: BTreeMap<String, String>,
    /// Backups the admin pinned: retention never deletes them.
    #[serde(default)]
    pub pinned: BTreeSet<String>,
    /// Latest restore drill per backup file name.
    #[serde(default)]
    pub drills: BTreeMap<String, DrillRecord>,
}

fn ledger_path(data: &DataDir) -> PathBuf {
    data.state().join("ledger.json")
}

/// `ledger.json` exists but cannot be read as a ledger.
#[derive(Debug, Clone, thiserror::Error)]
#[error(
    "{path} is damaged ({reason}): it holds the pins, so nothing is pruned or recorded until it is repaired or moved aside"
)]
pub struct LedgerDamaged {
    pub path: String,
    pub reason: String,
}

impl Ledger {
    /// The ledger, strictly: a missing file is an empty ledger; a damaged
    /// one is an error (never read as empty).
    ///
    /// # Errors
    /// [`LedgerDamaged`] when the file cannot be read or parsed.
    pub fn read(data: &DataDir) -> Result<Self, LedgerDamaged> {
        let path = ledger_path(data);
        let damaged = |reason: String| LedgerDamaged {
            path: path.display().to_string(),
            reason,
        };
        match read_regular(&path) {
            Ok(bytes) => parse_object(&bytes).map_err(|e| damaged(e.to_string())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Ledger::default()),
            Err(e) => Err(damaged(e.to_string())),
        }
    }

    /// Loads the ledger; a missing or unreadable one reads as empty (for
    /// showing only: what acts on pins uses [`Ledger::read`]).
    pub fn load(data: &DataDir) -> Self {
        Self::read(data).unwrap_or_else(|e| {
            tracing::warn!("{e}; its records are not shown");
            Ledger::default()
        })
    }

    /// Records a verification result.
    ///
    /// # Errors
    /// When the state folder or the ledger cannot be written.
    pub fn record(
        data: &DataDir,
        file_name: &str,
        verification: Verification,
    ) -> std::io::Result<()> {
        Self::update(data, |ledger| {
            if verification.ok && verification.depth == VerifyDepth::Deep {
                ledger
                    .deep_passed
                    .insert(file_name.to_owned(), verification.at.clone());
            }
            ledger
                .verifications
                .insert(file_name.to_owned(), verification);
        })
    }

    /// Records a restore drill's outcome.
    ///
    /// # Errors
    /// When the state folder or the ledger cannot be written.
    pub(crate) fn record_drill(
        data: &DataDir,
        file_name: &str,
        drill: DrillRecord,
    ) -> std::io::Result<()> {
        Self::update(data, |ledger| {
            ledger.drills.insert(file_name.to_owned(), drill);
        })
    }

    /// The newest backup whose latest drill passed, among `names`.
    pub fn newest_drilled<'a>(&self, names: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
        names
            .into_iter()
            .find(|n| self.drills.get(*n).is_some_and(|d| d.ok))
    }

    /// Pins (`true`) or unpins (`false`) a backup.
    ///
    /// # Errors
    /// When the ledger cannot be written.
    pub fn set_pinned(data: &DataDir, file_name: &str, pinned: bool) -> std::io::Result<()> {
        Self::update(data, |ledger| {
            if pinned {
                ledger.pinned.insert(file_name.to_owned());
            } else {
                ledger.pinned.remove(file_name);
            }
        })
    }

    /// Drops every record of backups that no longer exist.
    ///
    /// # Errors
    /// When the ledger cannot be written.
    pub fn forget(data: &DataDir, file_names: &[String]) -> std::io::Result<()> {
        if file_names.is_empty() {
            return Ok(());
        }
        Self::update(data, |ledger| {
            for name in file_names {
                ledger.verifications.remove(name);
                ledger.deep_passed.remove(name);
                ledger.pinned.remove(name);
                ledger.drills.remove(name);
            }
        })
    }

    /// Read-modify-write under an exclusive lock on `ledger.lock`, so
    /// concurrent processes never lose each other's records; the new ledger
    /// replaces the old one atomically.
    fn update(data: &DataDir, change: impl FnOnce(&mut Ledger)) -> std::io::Result<()> {
        let _lock = lock_ledger(data)?;
        let mut ledger = Ledger::read(data).map_err(std::io::Error::other)?;
        change(&mut ledger);
        write_atomic(
            &ledger_path(data),
            &serde_json::to_vec_pretty(&ledger).expect("ledger serializes"),
        )
    }
}

/// Runs `delete` for backup `file_name` unless it is pinned, under the
/// ledger's lock: a pin that lands while a prune runs (after its plan) is
/// never lost to that prune. Returns whether `delete` ran.
///
/// # Errors
/// A damaged or unreadable ledger (nothing is deleted), or `delete`'s error.
pub(crate) fn delete_unless_pinned(
    data: &DataDir,
    file_name: &str,
    delete: impl FnOnce() -> std::io::Result<()>,
) -> std::io::Result<bool> {
    let _lock = lock_ledger(data)?;
    let ledger = Ledger::read(data).map_err(std::io::Error::other)?;
    if ledger.pinned.contains(file_name) {
        return Ok(false);
    }
    delete()?;
    Ok(true)
}

/// The exclusive lock on `ledger.lock` (a link there is never followed),
/// held until the file is dropped.
fn lock_ledger(data: &DataDir) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    ensure_private_dir(&data.state())?;
    let lock = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW)
        .open(data.state().join("ledger.lock"))?;
    lock.lock()?;
    Ok(lock)
}

/// The bytes of `path`, a regular file: a link is never followed and a
/// FIFO never waited on.
fn read_regular(path: &std::path::Path) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| {
            if e.raw_os_error() == Some(libc::ELOOP) {
                std::io::Error::other("it is a symbolic link, which is never followed")
            } else {
                e
            }
        })?;
    if !file.metadata()?.is_file() {
        return Err(std::io::Error::other("it is not a regular file"));
    }
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// A ledger is a JSON object: serde would also take a bare array (`[]`)
/// as a ledger with no records, which would forget every pin.
fn parse_object(bytes: &[u8]) -> Result<Ledger, NotALedger> {
    let value: serde_json::Value = serde_json::from_slice(bytes)?;
    if !value.is_object() {
        return Err(NotALedger::NotAnObject);
    }
    Ok(serde_json::from_value(value)?)
}

/// Why a ledger file's bytes are no ledger.
#[derive(Debug, thiserror::Error)]
enum NotALedger {
    /// Not JSON, or JSON of the wrong shape.
    #[error(transparent)]
    Json(#[from] serde_json::Error),
    /// JSON, but not an object.
    #[error("it is not a JSON object")]
    NotAnObject,
}

#[cfg(test)]
mod parse_tests {
    use super::parse_object;

    #[test]
    fn only_an_object_is_a_ledger() {
        assert!(parse_object(b"{}").is_ok());
        for bad in [&b"[]"[..], b"null", b"[[], [], []]", b"", b"{"] {
            assert!(
                parse_object(bad).is_err(),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }
}
