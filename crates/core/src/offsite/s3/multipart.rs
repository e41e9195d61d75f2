//! One multipart upload under way, in stages: the parts (one read of the
//! file, each part hashed, then kept when the store holds it or sent, a
//! few awaiting the store's answer at once) and the completion against
//! the composite checksum.

use super::*;

/// One multipart upload under way: its key, its id, the file's size.
pub(super) struct Multipart<'a> {
    pub(super) store: &'a S3Bucket,
    pub(super) key: &'a str,
    pub(super) upload_id: &'a str,
    pub(super) size: u64,
    pub(super) progress: &'a dyn Progress,
}

impl Multipart<'_> {
    /// Stage **parts**: one read of the file, each part hashed, then kept
    /// (the store holds it, same size and digest) or sent. Up to IN_FLIGHT
    /// parts wait for the store's answer at once, but only one is being
    /// transmitted at any time (the next starts when its bytes are on
    /// their way), so a push killed cuts off at most one part. Under a
    /// bandwidth limit, which paces each part, one at a time.
    pub(super) async fn parts(
        &self,
        file: &mut std::fs::File,
        held: &[aws_sdk_s3::types::Part],
        throttle: &mut Throttle,
        local: &dyn Fn(std::io::Error) -> OffsiteError,
    ) -> Result<PartsDone, OffsiteError> {
        let parts = self.size.div_ceil(self.store.part_size).max(1);
        let in_flight = if throttle.is_limited() { 1 } else { IN_FLIGHT };
        let mut digests = Vec::with_capacity(parts as usize);
        let mut completed = Vec::with_capacity(parts as usize);
        let mut counts = [0u64; 4];
        let mut sending = tokio::task::JoinSet::new();
        for number in 0..parts {
            let len = part_len(self.size, self.store.part_size, number);
            let mut buffer = vec![0u8; len];
            file.read_exact(&mut buffer).map_err(local)?;
            let digest = Sha256::digest(&buffer).to_vec();
            let checksum = b64(&digest);
            digests.push(digest);
            let part_number = number as i32 + 1;
            if let Some(part) = kept_part(held, part_number, &buffer, &checksum) {
                counts[1] += 1;
                counts[3] += len as u64;
                self.progress.advance(len as u64);
                completed.push(completed_part(part_number, part.e_tag.clone(), checksum));
                continue;
            }
            while sending.len() >= in_flight {
                self.received(sending.join_next().await, &mut completed, throttle)?;
            }
            let (body, taken) = part_body::part_body(buffer);
            sending.spawn(self.send_part(part_number, len, checksum, body));
            counts[0] += 1;
            counts[2] += len as u64;
            // The next part starts once this one's bytes are on their way
            // (or it ended early, e.g. refused).
            loop {
                tokio::select! {
                    _ = taken.notified() => break,
                    done = sending.join_next() => {
                        self.received(done, &mut completed, throttle)?;
                        if sending.is_empty() {
                            break;
                        }
                    }
                }
            }
        }
        while !sending.is_empty() {
            self.received(sending.join_next().await, &mut completed, throttle)?;
        }
        completed.sort_by_key(|p| p.part_number());
        Ok(PartsDone {
            digests,
            completed,
            counts,
        })
    }

    /// One part's request, to be spawned: its number, size, ETag and checksum.
    pub(super) fn send_part(
        &self,
        part_number: i32,
        len: usize,
        checksum: String,
        body: ByteStream,
    ) -> impl std::future::Future<Output = Result<PartSent, OffsiteError>> + Send + 'static {
        let request = self
            .store
            .client
            .upload_part()
            .bucket(&self.store.bucket)
            .key(self.key)
            .upload_id(self.upload_id)
            .part_number(part_number)
            .checksum_algorithm(ChecksumAlgorithm::Sha256)
            .checksum_sha256(&checksum)
            .body(body);
        let bucket = self.store.bucket.clone();
        async move {
            let sent = request
                .send()
                .await
                .map_err(|e| classify("write", &bucket, e))?;
            Ok((part_number, len, sent.e_tag().map(str::to_owned), checksum))
        }
    }

    /// A sent part's answer: counted as progress, paced, recorded.
    pub(super) fn received(
        &self,
        done: Option<Result<Result<PartSent, OffsiteError>, tokio::task::JoinError>>,
        completed: &mut Vec<CompletedPart>,
        throttle: &mut Throttle,
    ) -> Result<(), OffsiteError> {
        let Some(done) = done else { return Ok(()) };
        let (number, len, e_tag, checksum) =
            done.map_err(|e| OffsiteError::Failed(format!("a part upload stopped: {e}")))??;
        self.progress.advance(len as u64);
        throttle.pace(len as u64);
        completed.push(completed_part(number, e_tag, checksum));
        Ok(())
    }

    /// Stage **complete**: the parts joined, and the store's checksum of
    /// what it now holds compared with the one computed here.
    pub(super) fn complete(&self, name: &str, done: PartsDone) -> Result<Uploaded, OffsiteError> {
        let PartsDone {
            digests,
            completed,
            counts: [parts_sent, parts_kept, bytes_sent, bytes_kept],
        } = done;
        let store = self.store;
        let answer = store.call(
            "write",
            store
                .client
                .complete_multipart_upload()
                .bucket(&store.bucket)
                .key(self.key)
                .upload_id(self.upload_id)
                .multipart_upload(
                    CompletedMultipartUpload::builder()
                        .set_parts(Some(completed))
                        .build(),
                )
                .send(),
        )?;
        let expected = composite_checksum(&digests);
        // The store's checksum of what it now holds: in the completion's
        // answer (AWS), else asked for (moto answers it to HEAD only, and
        // without the `-N`).
        let stored = match answer.checksum_sha256() {
            Some(stored) => Some(stored.to_owned()),
            None => store.head(name)?.and_then(|o| o.checksum_sha256),
        };
        let confirmed = stored
            .as_deref()
            .is_some_and(|s| s == expected || Some(s) == expected.split('-').next());
        match stored {
            Some(_) if confirmed => Ok(Uploaded {
                size: self.size,
                checksum_sha256: expected,
                parts_sent: parts_sent as u32,
                parts_kept: parts_kept as u32,
                bytes_sent,
                bytes_kept,
            }),
            other => Err(OffsiteError::ChecksumNotConfirmed {
                name: name.to_owned(),
                expected,
                stored: other.unwrap_or_else(|| "none".to_owned()),
            }),
        }
    }
}

/// A held part counts when its size and digest are ours: its SHA-256 when
/// the store lists it (AWS), else its ETag, the part's MD5 for an
/// unencrypted upload (moto lists no part checksums).
pub(super) fn kept_part<'a>(
    held: &'a [aws_sdk_s3::types::Part],
    part_number: i32,
    buffer: &[u8],
    checksum: &str,
) -> Option<&'a aws_sdk_s3::types::Part> {
    held.iter().find(|p| {
        p.part_number == Some(part_number)
            && p.size == Some(buffer.len() as i64)
            && match p.checksum_sha256.as_deref() {
                Some(stored) => stored == checksum,
                None => {
                    p.e_tag.as_deref().map(|e| e.trim_matches('"'))
                        == Some(hex::encode(<md5::Md5 as md5::Digest>::digest(buffer)).as_str())
                }
            }
    })
}

pub(super) fn completed_part(
    number: i32,
    e_tag: Option<String>,
    checksum: String,
) -> CompletedPart {
    CompletedPart::builder()
        .part_number(number)
        .set_e_tag(e_tag)
        .checksum_sha256(checksum)
        .build()
}
