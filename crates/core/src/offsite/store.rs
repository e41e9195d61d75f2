//! [`CopyStore`]: what every kind of off-site store does for Backup Desk
//! (list, read, write a verified copy, delete, lock), so that push,
//! verify, prune and fetch never care whether a location is a bucket or
//! an SFTP folder.

use std::path::Path;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::offsite::OffsiteError;
use crate::offsite::throttle::Throttle;
use crate::progress::Progress;

/// What the store holds under a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredObject {
    pub key: String,
    pub size: u64,
    /// The store's SHA-256 checksum, base64 (`-N` for a multipart one).
    pub checksum_sha256: Option<String>,
    /// The version the key names now (a versioned bucket).
    pub version_id: Option<String>,
    /// Until when Object Lock keeps it from being deleted, if at all.
    pub retain_until: Option<chrono::DateTime<chrono::Utc>>,
}

/// What an upload sent and the store confirmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Uploaded {
    pub size: u64,
    /// The checksum the store reported, equal to the one computed here.
    pub checksum_sha256: String,
    /// Parts sent now (a resumed upload skips those the store had).
    pub parts_sent: u32,
    /// Parts the store already held from a cut-off upload.
    pub parts_kept: u32,
    /// Bytes sent now.
    pub bytes_sent: u64,
    /// Bytes a cut-off earlier copy had sent already, kept.
    pub bytes_kept: u64,
}

/// How a locked copy is held.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum LockMode {
    /// An account with `s3:BypassGovernanceRetention` can still lift it.
    Governance,
    /// Nobody can delete it before its date, not even the root account.
    Compliance,
}

/// One off-site store holding one installation's copies (a bucket's
/// prefix, an SFTP folder). Every method is blocking.
pub trait CopyStore {
    /// Every file (name without the prefix, size), temporaries left out.
    ///
    /// # Errors
    /// The store's refusals.
    fn list(&self) -> Result<Vec<(String, u64)>, OffsiteError>;

    /// What the store holds as `name`, if anything.
    ///
    /// # Errors
    /// The store's refusals.
    fn head(&self, name: &str) -> Result<Option<StoredObject>, OffsiteError>;

    /// Writes the bytes of `name` into `dest` (created); returns their number.
    ///
    /// # Errors
    /// The store's refusals; `dest` cannot be written.
    fn download(
        &self,
        name: &str,
        dest: &Path,
        progress: &dyn Progress,
    ) -> Result<u64, OffsiteError>;

    /// Sends `bytes` as `name`, confirmed.
    ///
    /// # Errors
    /// The store's refusals; bytes the store does not confirm.
    fn put_bytes(&self, name: &str, bytes: &[u8]) -> Result<(), OffsiteError>;

    /// Copies the file at `path` as `name`, resuming a cut-off copy, and
    /// counts it only once the store confirmed its SHA-256 (S3) or it was
    /// read back and hashed (SFTP).
    ///
    /// # Errors
    /// The store's refusals; the file cannot be read; a copy that does not
    /// match.
    fn upload_file(
        &self,
        name: &str,
        path: &Path,
        throttle: &mut Throttle,
        progress: &dyn Progress,
    ) -> Result<Uploaded, OffsiteError>;

    /// Removes `name` for good (`version`: the one [`CopyStore::head`] named).
    ///
    /// # Errors
    /// The store's refusals (a locked copy among them).
    fn delete(&self, name: &str, version: Option<&str>) -> Result<(), OffsiteError>;

    /// Whether [`CopyStore::head`] answers each copy's SHA-256 (S3 does; an
    /// SFTP folder keeps none, so only reading it back can check its bytes).
    fn keeps_checksums(&self) -> bool {
        true
    }

    /// The store's lock for copies, if it has one.
    ///
    /// # Errors
    /// The store's refusals.
    fn object_lock(&self) -> Result<Option<LockMode>, OffsiteError>;

    /// Keeps `name` from deletion until `until`.
    ///
    /// # Errors
    /// The store's refusals; a store without locks.
    fn retain_until(
        &self,
        name: &str,
        mode: LockMode,
        until: DateTime<Utc>,
    ) -> Result<(), OffsiteError>;
}
