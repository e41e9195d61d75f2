//! An S3 upload's stages, as the one upload skeleton
//! ([`crate::offsite::upload`]) runs them.

use super::*;
use crate::offsite::upload::LocalFile;

/// What stage **resume** found for an S3 upload.
pub(crate) enum Resumed {
    /// A file of one part: one request, its SHA-256 checked by the store.
    Whole,
    /// A multipart upload: its key, its id (a cut-off one's, resumed),
    /// the parts the store holds of it.
    Multipart {
        key: String,
        upload_id: String,
        held: Vec<aws_sdk_s3::types::Part>,
    },
}

/// What stage **send** did for an S3 upload.
pub(crate) enum Sent {
    /// The whole file, its SHA-256 (base64).
    Whole { checksum: String },
    /// The parts, to be completed.
    Multipart {
        key: String,
        upload_id: String,
        done: PartsDone,
    },
}

/// An S3 upload's stages: **resume** (a cut-off multipart upload of the
/// key found again, its parts listed; older ones aborted), **send** (the
/// file in one request, or its parts: each kept when the store holds it
/// with the same size and digest, else sent), **confirm** (the parts
/// completed and the store's composite checksum compared with ours).
impl crate::offsite::upload::StagedUpload for S3Bucket {
    type Resumed = Resumed;
    type Sent = Sent;

    fn resume(&self, name: &str, file: &mut LocalFile<'_>) -> Result<Resumed, OffsiteError> {
        if file.size.div_ceil(self.part_size).max(1) == 1 {
            return Ok(Resumed::Whole);
        }
        let key = self.key(name);
        let upload_id = self.resumable_upload(&key)?;
        let held = self.held_parts(&key, &upload_id)?;
        Ok(Resumed::Multipart {
            key,
            upload_id,
            held,
        })
    }

    /// A held part counts only once read and hashed in **send**.
    fn kept_bytes(_: &Resumed) -> u64 {
        0
    }

    fn send(
        &self,
        name: &str,
        resumed: Resumed,
        file: &mut LocalFile<'_>,
        throttle: &mut Throttle,
        progress: &dyn Progress,
    ) -> Result<Sent, OffsiteError> {
        let local = file.error();
        match resumed {
            Resumed::Whole => {
                let mut bytes = Vec::with_capacity(file.size as usize);
                file.file.read_to_end(&mut bytes).map_err(&local)?;
                self.put_bytes(name, &bytes)?;
                progress.advance(file.size);
                throttle.pace(file.size);
                Ok(Sent::Whole {
                    checksum: b64(&Sha256::digest(&bytes)),
                })
            }
            Resumed::Multipart {
                key,
                upload_id,
                held,
            } => {
                let upload = Multipart {
                    store: self,
                    key: &key,
                    upload_id: &upload_id,
                    size: file.size,
                    progress,
                };
                let done =
                    self.runtime
                        .block_on(upload.parts(&mut file.file, &held, throttle, &local))?;
                Ok(Sent::Multipart {
                    key,
                    upload_id,
                    done,
                })
            }
        }
    }

    fn confirm(
        &self,
        name: &str,
        sent: Sent,
        file: &mut LocalFile<'_>,
        progress: &dyn Progress,
    ) -> Result<Uploaded, OffsiteError> {
        match sent {
            Sent::Whole { checksum } => Ok(Uploaded {
                size: file.size,
                checksum_sha256: checksum,
                parts_sent: 1,
                parts_kept: 0,
                bytes_sent: file.size,
                bytes_kept: 0,
            }),
            Sent::Multipart {
                key,
                upload_id,
                done,
            } => Multipart {
                store: self,
                key: &key,
                upload_id: &upload_id,
                size: file.size,
                progress,
            }
            .complete(name, done),
        }
    }
}
