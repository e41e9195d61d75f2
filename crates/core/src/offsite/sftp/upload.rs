//! An upload's stages after the connection: **resume** (a cut-off copy's
//! verified prefix kept, anything else at the part's name removed),
//! **write** (the rest, exclusively created, never through a link) and
//! **confirm** (the store's bytes hashed against the file's before the
//! part is renamed into place).

use super::*;
use crate::offsite::upload::{LocalFile, StagedUpload};

/// What stage **resume** found: the part's path, the verified prefix
/// kept, whether a plain part is there.
pub(crate) struct Resumed {
    part: PathBuf,
    kept: u64,
    plain: bool,
}

/// What stage **write** did: the part, the bytes kept and sent.
pub(crate) struct Sent {
    part: PathBuf,
    kept: u64,
    sent: u64,
}

/// An SFTP copy's stages: **resume**, **write** (stage **send**) and
/// **confirm**, as the methods below do them.
impl StagedUpload for SftpFolder {
    type Resumed = Resumed;
    type Sent = Sent;

    fn resume(&self, name: &str, file: &mut LocalFile<'_>) -> Result<Resumed, OffsiteError> {
        self.ensure_folder()?;
        let part = self.path(&Self::part_name(name));
        let local = file.error();
        let (kept, plain) = self.kept_prefix(&part, &mut file.file, file.size, &local)?;
        Ok(Resumed { part, kept, plain })
    }

    fn kept_bytes(resumed: &Resumed) -> u64 {
        resumed.kept
    }

    fn send(
        &self,
        _name: &str,
        resumed: Resumed,
        file: &mut LocalFile<'_>,
        throttle: &mut Throttle,
        progress: &dyn Progress,
    ) -> Result<Sent, OffsiteError> {
        file.seek(resumed.kept)?;
        let write = PartWrite {
            part: &resumed.part,
            size: file.size,
            kept: resumed.kept,
            plain: resumed.plain,
        };
        let local = file.error();
        let sent = self.write_part(&write, &mut file.file, throttle, progress, &local)?;
        Ok(Sent {
            part: resumed.part,
            kept: resumed.kept,
            sent,
        })
    }

    fn confirm(
        &self,
        name: &str,
        sent: Sent,
        file: &mut LocalFile<'_>,
        progress: &dyn Progress,
    ) -> Result<Uploaded, OffsiteError> {
        let local = file.error();
        let checksum = self.read_back(
            name,
            &sent.part,
            &mut file.file,
            file.size,
            progress,
            &local,
        )?;
        Ok(Uploaded {
            size: file.size,
            checksum_sha256: checksum,
            parts_sent: u32::from(sent.sent > 0),
            parts_kept: u32::from(sent.kept > 0),
            bytes_sent: sent.sent,
            bytes_kept: sent.kept,
        })
    }
}

/// Where stage **write** puts the bytes: the part, the file's size, the
/// verified prefix kept, whether a plain part is there.
pub(super) struct PartWrite<'a> {
    pub(super) part: &'a Path,
    pub(super) size: u64,
    pub(super) kept: u64,
    pub(super) plain: bool,
}

impl SftpFolder {
    /// Stage **resume**: a cut-off copy's prefix is kept when it is a plain
    /// file (never a link: it would be written through) that reads back as
    /// the file's. Anything else at the part's name is removed (a link
    /// itself, not what it points to). The bytes kept, and whether a plain
    /// part is there.
    pub(super) fn kept_prefix(
        &self,
        part: &Path,
        source: &mut std::fs::File,
        size: u64,
        local: &dyn Fn(std::io::Error) -> OffsiteError,
    ) -> Result<(u64, bool), OffsiteError> {
        let found = self
            .runtime
            .block_on(async { self.sftp().fs().symlink_metadata(part).await })
            .ok();
        let plain = found
            .as_ref()
            .is_some_and(|m| m.file_type().is_some_and(|t| t.is_file()));
        if found.is_some() && !plain {
            self.runtime
                .block_on(async { self.sftp().fs().remove_file(part).await })
                .map_err(|e| self.failure("remove what was left at the copy's part name", e))?;
        }
        let held = found
            .filter(|_| plain)
            .and_then(|m| m.len())
            .filter(|&len| len > 0 && len <= size)
            .unwrap_or(0);
        if held == 0 {
            return Ok((0, plain));
        }
        let ours = hash_local(source, Some(held)).map_err(local)?;
        let theirs =
            self.runtime
                .block_on(self.hash_remote(part, held, &crate::progress::NoProgress));
        let kept = if theirs.is_ok_and(|t| t.finalize() == ours.finalize()) {
            held
        } else {
            0
        };
        Ok((kept, plain))
    }

    /// Stage **write**: the rest of `source` into the part (made anew,
    /// exclusively, unless a verified prefix is kept), synced and closed.
    /// The bytes sent.
    pub(super) fn write_part(
        &self,
        write: &PartWrite<'_>,
        source: &mut std::fs::File,
        throttle: &mut Throttle,
        progress: &dyn Progress,
        local: &dyn Fn(std::io::Error) -> OffsiteError,
    ) -> Result<u64, OffsiteError> {
        use std::io::{Read, SeekFrom};
        let PartWrite {
            part,
            size,
            kept,
            plain,
        } = *write;
        let sent: Result<u64, Stalled> = self.runtime.block_on(async {
            let mut options = self.sftp().options();
            options.write(true);
            if kept == 0 {
                if plain {
                    // A part that did not read back as the file's.
                    self.sftp()
                        .fs()
                        .remove_file(part)
                        .await
                        .map_err(|e| self.failure("write", e))?;
                }
                options.create_new(true);
            }
            let mut file = options
                .open(part)
                .await
                .map_err(|e| self.failure("write", e))?;
            if kept > 0 {
                file.set_len(kept)
                    .await
                    .map_err(|e| self.failure("write", e))?;
                file.seek(SeekFrom::Start(kept))
                    .await
                    .map_err(|e| self.failure("write", SftpError::IOError(e)))?;
            }
            let mut buffer = vec![0u8; CHUNK];
            let mut sent = 0u64;
            loop {
                let n = source.read(&mut buffer).map_err(local)?;
                if n == 0 {
                    break;
                }
                if let Err(e) = file.write_all(&buffer[..n]).await {
                    return Err(Stalled::Write(e, size - kept - sent));
                }
                sent += n as u64;
                progress.advance(n as u64);
                throttle.pace(n as u64);
            }
            if self.sftp().support_fsync() {
                file.sync_all().await.map_err(|e| Stalled::Write(e, 1))?;
            }
            file.close().await.map_err(|e| Stalled::Write(e, 1))?;
            Ok(sent)
        });
        sent.map_err(|stalled| match stalled {
            Stalled::Write(e, needed) => self.write_failure(e, needed),
            Stalled::Other(e) => e,
        })
    }

    /// Stage **confirm**: the part read back and hashed against the file
    /// before it counts (removed when it differs), then renamed into place.
    /// The file's SHA-256, base64.
    pub(super) fn read_back(
        &self,
        name: &str,
        part: &Path,
        source: &mut std::fs::File,
        size: u64,
        progress: &dyn Progress,
        local: &dyn Fn(std::io::Error) -> OffsiteError,
    ) -> Result<String, OffsiteError> {
        use std::io::{Seek, SeekFrom};
        source.seek(SeekFrom::Start(0)).map_err(local)?;
        let ours = hash_local(source, None).map_err(local)?.finalize();
        progress.start(Phase::Download, Some(size));
        let theirs = self
            .runtime
            .block_on(self.hash_remote(part, size, progress))
            .map_err(|e| self.failure("read back", e))?
            .finalize();
        progress.finish();
        let b64 = |d: &[u8]| {
            use base64::Engine as _;
            base64::engine::general_purpose::STANDARD.encode(d)
        };
        if theirs != ours {
            let _ = self
                .runtime
                .block_on(async { self.sftp().fs().remove_file(part).await });
            return Err(OffsiteError::ChecksumNotConfirmed {
                name: name.to_owned(),
                expected: b64(&ours),
                stored: b64(&theirs),
            });
        }
        let dest = self.path(name);
        self.runtime
            .block_on(async {
                let mut fs = self.sftp().fs();
                if !self.sftp().support_posix_rename() {
                    let _ = fs.remove_file(&dest).await;
                }
                fs.rename(part, &dest).await
            })
            .map_err(|e| self.failure("rename the verified copy", e))?;
        Ok(b64(&ours))
    }
}

/// The SHA-256 of `source` from where it is: its next `len` bytes, or to
/// its end.
pub(super) fn hash_local(source: &mut std::fs::File, len: Option<u64>) -> std::io::Result<Sha256> {
    use std::io::Read;
    let mut hash = Sha256::new();
    let mut buffer = vec![0u8; CHUNK];
    let mut left = len.unwrap_or(u64::MAX);
    while left > 0 {
        let want = left.min(CHUNK as u64) as usize;
        let n = match len {
            Some(_) => {
                source.read_exact(&mut buffer[..want])?;
                want
            }
            None => source.read(&mut buffer[..want])?,
        };
        if n == 0 {
            break;
        }
        hash.update(&buffer[..n]);
        left -= n as u64;
    }
    Ok(hash)
}

/// Why a copy's writing stopped (told apart outside the runtime, which a
/// full folder's check needs).
pub(super) enum Stalled {
    Write(SftpError, u64),
    Other(OffsiteError),
}

impl From<OffsiteError> for Stalled {
    fn from(e: OffsiteError) -> Self {
        Stalled::Other(e)
    }
}
