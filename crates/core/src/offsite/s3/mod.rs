//! [`S3Bucket`]: one S3-compatible bucket and prefix, driven blocking
//! (aws-sdk-s3 on a private current-thread runtime).
//!
//! Every upload carries SHA-256 checksums the store checks on arrival:
//! one for a small file, one per part of a multipart upload (the store
//! then answers the composite: SHA-256 of the parts' digests, `-N`). A
//! multipart upload cut off (a kill, a dropped connection) is found again
//! through ListMultipartUploads and ListParts: the parts the store holds
//! with the right size and checksum are kept, only the rest is sent.

use std::io::Read;
use std::path::Path;

use aws_sdk_s3::Client;
use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{ChecksumAlgorithm, ChecksumMode, CompletedMultipartUpload, CompletedPart};
use base64::Engine as _;
use sha2::{Digest, Sha256};

use crate::offsite::{OffsiteError, OffsiteKeys};
use crate::progress::{Phase, Progress};

mod location;
mod lock;

pub use location::{S3Location, keep_keys, keys, parse_s3_url};
mod multipart;
mod part_body;
mod staged;

use multipart::Multipart;

use crate::offsite::store::{CopyStore, DownloadBound, LockMode, StoredObject, Uploaded};
use crate::offsite::throttle::Throttle;

/// Parts of a multipart upload (the last may be smaller). S3 wants at
/// least 5 MiB; 8 MiB keeps the requests per pushed backup low.
pub(crate) const PART_SIZE: u64 = 8 * 1024 * 1024;

/// A part the store took: its number, length, ETag and SHA-256 (base64).
type PartSent = (i32, usize, Option<String>, String);

/// What the parts of a multipart upload came to: each part's SHA-256, the
/// parts to complete with, and parts sent, kept, bytes sent, kept.
pub(crate) struct PartsDone {
    digests: Vec<Vec<u8>>,
    completed: Vec<CompletedPart>,
    counts: [u64; 4],
}

/// Parts awaiting the store's answer at once: a store takes each part's
/// request in its own time, and waiting for each before sending the next
/// leaves the link idle between them.
const IN_FLIGHT: usize = 4;

/// One bucket and prefix.
pub(crate) struct S3Bucket {
    client: Client,
    runtime: tokio::runtime::Runtime,
    bucket: String,
    prefix: String,
    part_size: u64,
}

impl S3Bucket {
    /// A client for `bucket` under `prefix`.
    ///
    /// # Errors
    /// [`OffsiteError::Failed`] when no runtime can be made.
    pub fn new(
        bucket: &str,
        prefix: &str,
        endpoint: Option<&str>,
        region: &str,
        path_style: bool,
        keys: &OffsiteKeys,
    ) -> Result<Self, OffsiteError> {
        let credentials = Credentials::new(
            keys.key_id.clone(),
            keys.secret.clone(),
            None,
            None,
            "backupdesk-keychain",
        );
        let mut config = aws_sdk_s3::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(region.to_owned()))
            .credentials_provider(credentials)
            .force_path_style(path_style)
            // Downloads are checked by Backup Desk itself (size and SHA-256
            // against `.meta`, then SQLite's checks), not by a response
            // checksum the SDK would recompute: moto answers a multipart
            // object's composite checksum as if it were the whole object's,
            // which failed every such download ("streaming error").
            .response_checksum_validation(
                aws_sdk_s3::config::ResponseChecksumValidation::WhenRequired,
            );
        if let Some(endpoint) = endpoint {
            config = config.endpoint_url(endpoint);
        }
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| OffsiteError::Failed(format!("no runtime for the S3 client: {e}")))?;
        // (Tests: BACKUPDESK_TEST_PART_SIZE, in a test-hooks build only.)
        #[cfg(feature = "test-hooks")]
        let part_size = std::env::var("BACKUPDESK_TEST_PART_SIZE")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(PART_SIZE);
        #[cfg(not(feature = "test-hooks"))]
        let part_size = PART_SIZE;
        Ok(S3Bucket {
            client: Client::from_conf(config.build()),
            runtime,
            bucket: bucket.to_owned(),
            prefix: prefix.to_owned(),
            part_size,
        })
    }

    /// Runs one request on the bucket's runtime; a refusal comes back in
    /// the admin's terms ([`classify`]), `what` naming the attempt.
    fn call<T, E, R>(
        &self,
        what: &str,
        request: impl std::future::Future<Output = Result<T, SdkError<E, R>>>,
    ) -> Result<T, OffsiteError>
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
        R: std::fmt::Debug,
    {
        self.runtime
            .block_on(request)
            .map_err(|e| classify(what, &self.bucket, e))
    }

    /// The full key of `name` under the prefix.
    pub fn key(&self, name: &str) -> String {
        if self.prefix.is_empty() {
            name.to_owned()
        } else {
            format!("{}/{name}", self.prefix)
        }
    }

    /// What the store holds as `name`, if anything.
    ///
    /// # Errors
    /// The store's refusals.
    pub fn head(&self, name: &str) -> Result<Option<StoredObject>, OffsiteError> {
        let key = self.key(name);
        let answer = self.runtime.block_on(
            self.client
                .head_object()
                .bucket(&self.bucket)
                .key(&key)
                .checksum_mode(ChecksumMode::Enabled)
                .send(),
        );
        match answer {
            Ok(head) => Ok(Some(StoredObject {
                key,
                size: head.content_length().unwrap_or(0).max(0) as u64,
                checksum_sha256: head.checksum_sha256().map(str::to_owned),
                version_id: head.version_id().map(str::to_owned),
                retain_until: head
                    .object_lock_retain_until_date()
                    .and_then(|t| chrono::DateTime::from_timestamp(t.secs(), 0)),
            })),
            Err(SdkError::ServiceError(e)) if e.err().is_not_found() => Ok(None),
            Err(e) => Err(classify("read", &self.bucket, e)),
        }
    }

    /// Every object under the prefix: its name (without the prefix) and
    /// size.
    ///
    /// # Errors
    /// The store's refusals.
    pub fn list(&self) -> Result<Vec<(String, u64)>, OffsiteError> {
        let prefix = if self.prefix.is_empty() {
            String::new()
        } else {
            format!("{}/", self.prefix)
        };
        let mut out = Vec::new();
        let mut token = None;
        let mut pages = crate::offsite::store::Pages::default();
        loop {
            let page = self.call(
                "list",
                self.client
                    .list_objects_v2()
                    .bucket(&self.bucket)
                    .prefix(&prefix)
                    .set_continuation_token(token.clone())
                    .send(),
            )?;
            for object in page.contents() {
                if let Some(name) = object.key().and_then(|k| k.strip_prefix(&prefix))
                    && !name.contains('/')
                {
                    out.push((name.to_owned(), object.size().unwrap_or(0).max(0) as u64));
                }
            }
            token = pages.follow(
                &format!("s3://{}/{prefix}", self.bucket),
                page.is_truncated() == Some(true),
                page.next_continuation_token(),
            )?;
            if token.is_none() {
                break;
            }
        }
        out.sort();
        Ok(out)
    }

    /// Writes the bytes of `name` into `dest` (created, never replaced),
    /// within `bound`.
    ///
    /// # Errors
    /// The store's refusals; `dest` cannot be written; a body longer or
    /// slower than `bound`.
    pub fn download(
        &self,
        name: &str,
        dest: &Path,
        bound: &DownloadBound,
        progress: &dyn Progress,
    ) -> Result<u64, OffsiteError> {
        use std::io::Write;
        let key = self.key(name);
        let local =
            |e: std::io::Error| OffsiteError::Local(dest.display().to_string(), e.to_string());
        let object = self
            .runtime
            .block_on(async {
                tokio::time::timeout(
                    bound.remaining(),
                    self.client
                        .get_object()
                        .bucket(&self.bucket)
                        .key(&key)
                        .send(),
                )
                .await
            })
            .map_err(|_| bound.too_slow(name))?
            .map_err(|e| classify("read", &self.bucket, e))?;
        let total = object.content_length().map(|l| l.max(0) as u64);
        progress.start(Phase::Download, total);
        let mut file = crate::publish::create_private_file(dest).map_err(local)?;
        let mut body = object.body;
        let mut written = 0u64;
        loop {
            let chunk = self
                .runtime
                .block_on(async { tokio::time::timeout(bound.remaining(), body.try_next()).await })
                .map_err(|_| bound.too_slow(name))?
                .map_err(|e| OffsiteError::Failed(format!("reading {key}: {e}")))?;
            let Some(chunk) = chunk else { break };
            written += chunk.len() as u64;
            bound.check(name, written)?;
            file.write_all(&chunk).map_err(local)?;
            progress.advance(chunk.len() as u64);
        }
        file.sync_all().map_err(local)?;
        progress.finish();
        Ok(written)
    }

    /// Sends `bytes` as `name` in one request, checksummed.
    ///
    /// # Errors
    /// The store's refusals; a checksum the store does not confirm.
    pub(crate) fn put_bytes(&self, name: &str, bytes: &[u8]) -> Result<(), OffsiteError> {
        let digest = b64(&Sha256::digest(bytes));
        let answer = self.call(
            "write",
            self.client
                .put_object()
                .bucket(&self.bucket)
                .key(self.key(name))
                .checksum_algorithm(ChecksumAlgorithm::Sha256)
                .checksum_sha256(&digest)
                .body(ByteStream::from(bytes.to_vec()))
                .send(),
        )?;
        match answer.checksum_sha256() {
            Some(stored) if stored == digest => Ok(()),
            other => Err(OffsiteError::ChecksumNotConfirmed {
                name: name.to_owned(),
                expected: digest,
                stored: other.unwrap_or("none").to_owned(),
            }),
        }
    }

    /// The id of the cut-off upload of `key` to resume, else a new one;
    /// older cut-off uploads of it are aborted (no orphan is left).
    fn resumable_upload(&self, key: &str) -> Result<String, OffsiteError> {
        let listed = self.call(
            "list",
            self.client
                .list_multipart_uploads()
                .bucket(&self.bucket)
                .prefix(key)
                .send(),
        )?;
        let mut ours: Vec<_> = listed
            .uploads()
            .iter()
            .filter(|u| u.key() == Some(key))
            .filter_map(|u| Some((u.initiated().cloned(), u.upload_id()?.to_owned())))
            .collect();
        ours.sort_by_key(|u| u.0);
        if let Some((_, newest)) = ours.pop() {
            for (_, stale) in ours {
                self.abort(key, &stale)?;
            }
            return Ok(newest);
        }
        let created = self.call(
            "write",
            self.client
                .create_multipart_upload()
                .bucket(&self.bucket)
                .key(key)
                .checksum_algorithm(ChecksumAlgorithm::Sha256)
                .send(),
        )?;
        created
            .upload_id()
            .map(str::to_owned)
            .ok_or_else(|| OffsiteError::Failed(format!("no upload id for {key}")))
    }

    fn held_parts(
        &self,
        key: &str,
        upload_id: &str,
    ) -> Result<Vec<aws_sdk_s3::types::Part>, OffsiteError> {
        let mut parts = Vec::new();
        let mut marker = None;
        let mut pages = crate::offsite::store::Pages::default();
        loop {
            let page = self.call(
                "list",
                self.client
                    .list_parts()
                    .bucket(&self.bucket)
                    .key(key)
                    .upload_id(upload_id)
                    .set_part_number_marker(marker.clone())
                    .send(),
            )?;
            parts.extend(page.parts().iter().cloned());
            marker = pages.follow(
                &format!("the parts of {key}"),
                page.is_truncated() == Some(true),
                page.next_part_number_marker(),
            )?;
            if marker.is_none() {
                break;
            }
        }
        Ok(parts)
    }

    fn abort(&self, key: &str, upload_id: &str) -> Result<(), OffsiteError> {
        self.call(
            "write",
            self.client
                .abort_multipart_upload()
                .bucket(&self.bucket)
                .key(key)
                .upload_id(upload_id)
                .send(),
        )?;
        Ok(())
    }
}

impl CopyStore for S3Bucket {
    fn checksum_of_parts(&self, size: u64) -> bool {
        // A copy over one part was uploaded in parts: its checksum is of
        // the parts' checksums.
        size > PART_SIZE
    }

    fn list(&self) -> Result<Vec<(String, u64)>, OffsiteError> {
        S3Bucket::list(self)
    }
    fn head(&self, name: &str) -> Result<Option<StoredObject>, OffsiteError> {
        S3Bucket::head(self, name)
    }
    fn download(
        &self,
        name: &str,
        dest: &Path,
        bound: &DownloadBound,
        progress: &dyn Progress,
    ) -> Result<u64, OffsiteError> {
        S3Bucket::download(self, name, dest, bound, progress)
    }
    fn put_bytes(&self, name: &str, bytes: &[u8]) -> Result<(), OffsiteError> {
        S3Bucket::put_bytes(self, name, bytes)
    }
    fn upload_file(
        &self,
        name: &str,
        path: &Path,
        throttle: &mut Throttle,
        progress: &dyn Progress,
    ) -> Result<Uploaded, OffsiteError> {
        crate::offsite::upload::upload(self, name, path, throttle, progress)
    }
    fn delete(&self, name: &str, version: Option<&str>) -> Result<(), OffsiteError> {
        self.delete_version(name, version)
    }
    fn object_lock(&self) -> Result<Option<LockMode>, OffsiteError> {
        S3Bucket::object_lock(self)
    }
    fn retain_until(
        &self,
        name: &str,
        mode: LockMode,
        until: chrono::DateTime<chrono::Utc>,
    ) -> Result<(), OffsiteError> {
        S3Bucket::retain_until(self, name, mode, until)
    }
}

fn part_len(size: u64, part_size: u64, number: u64) -> usize {
    (size - number * part_size).min(part_size) as usize
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// S3's checksum of a multipart object: SHA-256 of the parts' digests,
/// then `-` and the number of parts.
pub(crate) fn composite_checksum(part_digests: &[Vec<u8>]) -> String {
    let mut hasher = Sha256::new();
    for digest in part_digests {
        hasher.update(digest);
    }
    format!("{}-{}", b64(&hasher.finalize()), part_digests.len())
}

/// A store's refusal in the admin's terms: a key it does not accept is
/// `Denied`, no answer at all `Unreachable`, the rest `Failed` with the
/// store's own code.
fn classify<E, R>(what: &str, bucket: &str, e: SdkError<E, R>) -> OffsiteError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match &e {
        SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) => {
            OffsiteError::Unreachable(DisplayErrorContext(&e).to_string())
        }
        _ => match e.code() {
            Some(
                code @ ("AccessDenied"
                | "InvalidAccessKeyId"
                | "SignatureDoesNotMatch"
                | "InvalidToken"
                | "ExpiredToken"
                | "AllAccessDisabled"),
            ) => OffsiteError::Denied {
                bucket: bucket.to_owned(),
                what: what.to_owned(),
                code: code.to_owned(),
            },
            Some(code) => OffsiteError::Failed(format!(
                "the store refused to {what} in {bucket}: {code}{}",
                e.message().map(|m| format!(" ({m})")).unwrap_or_default()
            )),
            None => OffsiteError::Failed(format!(
                "the store's answer to {what} in {bucket} could not be read: {}",
                DisplayErrorContext(&e)
            )),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_composite_checksum_is_the_digest_of_the_part_digests() {
        // Two parts "a" and "b": sha256(sha256("a") || sha256("b")), base64, "-2".
        let parts = vec![Sha256::digest(b"a").to_vec(), Sha256::digest(b"b").to_vec()];
        let mut joined = Sha256::digest(b"a").to_vec();
        joined.extend(Sha256::digest(b"b"));
        assert_eq!(
            composite_checksum(&parts),
            format!("{}-2", b64(&Sha256::digest(&joined)))
        );
        assert_eq!(part_len(20, 8, 2), 4);
        assert_eq!(part_len(16, 8, 1), 8);
    }
}
