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

    /// Writes the bytes of `name` into `dest` (created, never replaced:
    /// an existing file or link there is an error), at most
    /// `bound.max_bytes` of them before `bound`'s deadline; returns their
    /// number.
    ///
    /// # Errors
    /// The store's refusals; `dest` cannot be written; a body longer than
    /// the bound ([`OffsiteError::Overlong`]) or slower
    /// ([`OffsiteError::TooSlow`]).
    fn download(
        &self,
        name: &str,
        dest: &Path,
        bound: &DownloadBound,
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

    /// Whether the checksum [`CopyStore::head`] answers for a copy of
    /// `size` bytes is of its parts rather than of the whole file (S3's
    /// multipart uploads), so only the push's own record can be compared.
    fn checksum_of_parts(&self, _size: u64) -> bool {
        false
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

/// What one download may bring and for how long: the size the store listed
/// (a longer body is refused) and a deadline for the whole answer, so a
/// store that sends without end, or two bytes a second, cannot fill a disk
/// or hold an operation for ever.
#[derive(Debug, Clone)]
pub struct DownloadBound {
    /// The most bytes accepted.
    pub max_bytes: u64,
    /// When the whole answer must have arrived.
    pub deadline: std::time::Instant,
    /// The seconds allowed, for the error.
    pub secs: u64,
}

/// The slowest sustained rate a download is allowed (256 KiB/s).
const SLOWEST_RATE: u64 = 256 * 1024;

/// The time every download is allowed on top of its size's share.
const GRACE_SECS: u64 = 120;

impl DownloadBound {
    /// A download of `size` bytes (as listed): allowed 120 s plus one
    /// second per 256 KiB. (Tests: `BACKUPDESK_TEST_DOWNLOAD_SECS`, in a
    /// test-hooks build only, sets the whole allowance.)
    pub(crate) fn for_size(size: u64) -> Self {
        let secs = GRACE_SECS + size / SLOWEST_RATE;
        #[cfg(feature = "test-hooks")]
        let secs = std::env::var("BACKUPDESK_TEST_DOWNLOAD_SECS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(secs);
        DownloadBound {
            max_bytes: size,
            deadline: std::time::Instant::now() + std::time::Duration::from_secs(secs),
            secs,
        }
    }

    /// The time left (zero once past the deadline).
    pub(crate) fn remaining(&self) -> std::time::Duration {
        self.deadline
            .saturating_duration_since(std::time::Instant::now())
    }

    /// Whether `written` bytes of `name` are still within the bound.
    ///
    /// # Errors
    /// [`OffsiteError::Overlong`], [`OffsiteError::TooSlow`].
    pub fn check(&self, name: &str, written: u64) -> Result<(), OffsiteError> {
        if written > self.max_bytes {
            return Err(OffsiteError::Overlong {
                name: name.to_owned(),
                listed: self.max_bytes,
            });
        }
        if self.remaining().is_zero() {
            return Err(self.too_slow(name));
        }
        Ok(())
    }

    /// The error of a download past its deadline.
    pub(crate) fn too_slow(&self, name: &str) -> OffsiteError {
        OffsiteError::TooSlow {
            name: name.to_owned(),
            secs: self.secs,
        }
    }
}

/// The most pages one listing may have (a million objects at S3's 1000 a
/// page): a store that never stops saying "truncated" is given up on.
pub(crate) const MAX_LISTING_PAGES: usize = 1000;

/// Follows a paged listing's continuation tokens: each must be new (a
/// repeated token would loop for ever) and the pages are bounded.
#[derive(Debug, Default)]
pub(crate) struct Pages {
    seen: std::collections::HashSet<String>,
}

impl Pages {
    /// Whether to ask for the page after one that answered `next` (and
    /// said it is truncated or not).
    ///
    /// # Errors
    /// [`OffsiteError::EndlessListing`]: a token seen before, too many pages.
    pub fn follow(
        &mut self,
        what: &str,
        truncated: bool,
        next: Option<&str>,
    ) -> Result<Option<String>, OffsiteError> {
        let Some(next) = next.filter(|_| truncated) else {
            return Ok(None);
        };
        if self.seen.len() + 1 >= MAX_LISTING_PAGES {
            return Err(OffsiteError::EndlessListing(format!(
                "of {what} has more than {MAX_LISTING_PAGES} pages"
            )));
        }
        if !self.seen.insert(next.to_owned()) {
            return Err(OffsiteError::EndlessListing(format!(
                "of {what} repeats its continuation token"
            )));
        }
        Ok(Some(next.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::KindedError;

    #[test]
    fn a_listing_that_repeats_or_never_ends_is_given_up() {
        let mut pages = Pages::default();
        assert_eq!(
            pages.follow("b", true, Some("t1")).unwrap().as_deref(),
            Some("t1")
        );
        assert_eq!(pages.follow("b", false, Some("t2")).unwrap(), None);
        assert_eq!(pages.follow("b", true, None).unwrap(), None);
        let repeated = pages.follow("b", true, Some("t1")).unwrap_err();
        assert_eq!(repeated.kind(), crate::ErrorKind::BadResponse);
        assert!(repeated.to_string().contains("repeats"), "{repeated}");
        let mut endless = Pages::default();
        let mut error = None;
        for page in 0..=MAX_LISTING_PAGES {
            if let Err(e) = endless.follow("b", true, Some(&format!("t{page}"))) {
                error = Some((page, e));
                break;
            }
        }
        let (page, e) = error.expect("bounded");
        assert!(page < MAX_LISTING_PAGES, "{page}");
        assert!(e.to_string().contains("pages"), "{e}");
    }

    #[test]
    fn a_download_is_bounded_by_its_size_and_its_time() {
        let bound = DownloadBound::for_size(10);
        assert!(bound.check("x", 10).is_ok());
        let long = bound.check("x", 11).unwrap_err();
        assert_eq!(long.kind(), crate::ErrorKind::BadResponse);
        let past = DownloadBound {
            deadline: std::time::Instant::now(),
            ..DownloadBound::for_size(10)
        };
        assert_eq!(
            past.check("x", 1).unwrap_err().kind(),
            crate::ErrorKind::Timeout
        );
    }
}
