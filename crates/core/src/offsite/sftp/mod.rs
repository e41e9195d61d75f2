//! [`SftpFolder`]: a folder on an SSH host, reached with the system
//! OpenSSH client (`ssh -s HOST sftp`: the admin's config, agent and jump
//! hosts work) and spoken to with `openssh-sftp-client`.
//!
//! The host key is pinned in Backup Desk's own `known_hosts` when the
//! location is added (`accept-new`), and every later connection checks it
//! strictly against that file: a changed key stops everything.
//!
//! A copy is written as `.NAME.part`, then read back and hashed; only when
//! its SHA-256 equals the local file's is it renamed to `NAME` (so a
//! listed copy is always whole). A push cut off earlier resumes after the
//! part's verified prefix: the bytes already there are read back and
//! compared with the file's first bytes, and only the rest is sent.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use futures_core::Stream;
use openssh_sftp_client::{Error as SftpError, Sftp, SftpOptions};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncSeekExt};

use crate::offsite::OffsiteError;
use crate::offsite::store::CopyStore;
use crate::offsite::store::{DownloadBound, LockMode, StoredObject, Uploaded};
use crate::offsite::throttle::Throttle;
use crate::progress::{Phase, Progress};

mod location;
mod upload;

pub use location::{SftpLocation, parse_sftp_spec};

/// Bytes per write or read request.
const CHUNK: usize = 256 * 1024;

/// One connected folder.
pub struct SftpFolder {
    runtime: tokio::runtime::Runtime,
    sftp: Option<Sftp>,
    child: tokio::process::Child,
    host: String,
    folder: PathBuf,
}

/// The `ssh -s … sftp` command for `spec`: its own known-hosts file
/// (strict, or accept-new on a location's first use), no shared
/// connection, the identity if given, batch mode unless a key passphrase
/// in the keychain is to be asked through the askpass helper.
fn ssh_command(
    spec: &SftpLocation,
    known_hosts: &Path,
    pin_new_key: bool,
    askpass_scope: Option<&str>,
) -> tokio::process::Command {
    let mut cmd = tokio::process::Command::new("ssh");
    if let Some(config) = std::env::var_os("BACKUPDESK_SSH_CONFIG") {
        cmd.arg("-F").arg(config);
    }
    if let Some(port) = spec.port {
        cmd.arg("-p").arg(port.to_string());
    }
    let checking = if pin_new_key { "accept-new" } else { "yes" };
    // A key with a passphrase in the keychain: ssh may ask for it, and
    // only for it (no password, no keyboard-interactive), from this
    // executable run as its askpass helper (see `askpass`).
    let asks = askpass_scope.filter(|scope| crate::offsite::askpass::has_passphrase(scope));
    match (asks, std::env::current_exe()) {
        (Some(scope), Ok(exe)) => {
            cmd.env("SSH_ASKPASS", exe)
                .env("SSH_ASKPASS_REQUIRE", "force")
                .env(crate::offsite::askpass::ASKPASS_SCOPE, scope)
                .args([
                    "-o",
                    "BatchMode=no",
                    "-o",
                    "PasswordAuthentication=no",
                    "-o",
                    "KbdInteractiveAuthentication=no",
                    "-o",
                    "NumberOfPasswordPrompts=1",
                ]);
        }
        _ => {
            cmd.args(["-o", "BatchMode=yes"]);
        }
    }
    cmd.args(["-T", "-o"])
        .arg(format!("StrictHostKeyChecking={checking}"))
        .arg("-o")
        .arg(format!("UserKnownHostsFile={}", known_hosts.display()))
        .args([
            "-o",
            "GlobalKnownHostsFile=/dev/null",
            "-o",
            "ConnectTimeout=10",
            "-o",
            "ControlMaster=no",
            "-o",
            "ControlPath=none",
            "-o",
            "LogLevel=ERROR",
        ]);
    if let Some(identity) = &spec.identity {
        cmd.arg("-i")
            .arg(identity)
            .args(["-o", "IdentitiesOnly=yes"]);
    }
    cmd.args(["-s", "--", &spec.destination, "sftp"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true);
    cmd
}

impl SftpFolder {
    /// Connects to `spec` with the host keys of `known_hosts`; with
    /// `pin_new_key`, a host not in it yet is added (the location's first
    /// use), else it is refused. When the keychain holds a key passphrase
    /// for `askpass_scope`, ssh gets it through the askpass helper.
    ///
    /// # Errors
    /// No ssh client, an unknown or changed host key, a refused login, an
    /// unreachable host, no SFTP there.
    pub fn connect(
        spec: &SftpLocation,
        known_hosts: &Path,
        pin_new_key: bool,
        askpass_scope: Option<&str>,
    ) -> Result<Self, OffsiteError> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| OffsiteError::Failed(format!("no runtime for SFTP: {e}")))?;
        if let Some(dir) = known_hosts.parent() {
            crate::publish::ensure_private_dir(dir)
                .map_err(|e| OffsiteError::Local(dir.display().to_string(), e.to_string()))?;
        }
        let mut cmd = ssh_command(spec, known_hosts, pin_new_key, askpass_scope);
        let host = spec.destination.clone();
        let mut child = {
            let _entered = runtime.enter();
            cmd.spawn().map_err(|e| {
                OffsiteError::Failed(format!(
                    "cannot run ssh ({e}); install the OpenSSH client (apt install openssh-client)"
                ))
            })?
        };
        let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            return Err(OffsiteError::Failed("ssh gave no pipes".into()));
        };
        match runtime.block_on(Sftp::new(stdin, stdout, SftpOptions::default())) {
            Ok(sftp) => Ok(SftpFolder {
                runtime,
                sftp: Some(sftp),
                child,
                host,
                folder: PathBuf::from(&spec.path),
            }),
            Err(e) => {
                let stderr = runtime.block_on(async {
                    let _ = child.wait().await;
                    let mut text = String::new();
                    if let Some(mut err) = child.stderr.take() {
                        let _ = err.read_to_string(&mut text).await;
                    }
                    text
                });
                Err(connect_failure(&host, &stderr, &e))
            }
        }
    }

    fn sftp(&self) -> &Sftp {
        self.sftp.as_ref().expect("open until dropped")
    }

    fn path(&self, name: &str) -> PathBuf {
        self.folder.join(name)
    }

    fn part_name(name: &str) -> String {
        format!(".{name}.part")
    }

    /// An SFTP error in the admin's terms.
    fn failure(&self, what: &str, e: SftpError) -> OffsiteError {
        let folder = self.folder.display().to_string();
        match &e {
            SftpError::SftpError(kind, message) => match format!("{kind:?}").as_str() {
                "PermDenied" => OffsiteError::ReadOnly {
                    host: self.host.clone(),
                    folder,
                    detail: format!("{what}: {message}"),
                },
                _ => OffsiteError::Failed(format!(
                    "{} refused to {what} in {folder}: {message}",
                    self.host
                )),
            },
            _ => OffsiteError::Failed(format!("SFTP to {} failed to {what}: {e}", self.host)),
        }
    }

    /// After a failed write: the folder is full when the host says it has
    /// less room than `needed` (OpenSSH's statvfs extension), else the
    /// failure as it is.
    fn write_failure(&self, e: SftpError, needed: u64) -> OffsiteError {
        let free = self.runtime.block_on(async {
            let mut fs = self.sftp().fs();
            fs.statvfs(&self.folder).await.ok()
        });
        if let Some(stats) = free {
            let available = stats.bavail.saturating_mul(stats.frsize);
            if available < needed {
                return OffsiteError::Full {
                    host: self.host.clone(),
                    folder: self.folder.display().to_string(),
                    detail: format!("{available} bytes free, {needed} more needed ({e})"),
                };
            }
        }
        self.failure("write", e)
    }

    /// Makes the folder when it is missing (its parent must exist).
    fn ensure_folder(&self) -> Result<(), OffsiteError> {
        self.runtime
            .block_on(async {
                let mut fs = self.sftp().fs();
                if fs.metadata(&self.folder).await.is_ok() {
                    return Ok(());
                }
                fs.create_dir(&self.folder).await
            })
            .map_err(|e| self.failure("create the folder", e))
    }

    /// SHA-256 of the first `len` bytes of remote `path`, read back.
    async fn hash_remote(
        &self,
        path: &Path,
        len: u64,
        progress: &dyn Progress,
    ) -> Result<Sha256, SftpError> {
        let mut file = self.sftp().open(path).await?;
        let mut hasher = Sha256::new();
        let mut left = len;
        while left > 0 {
            let want = left.min(CHUNK as u64) as u32;
            let Some(chunk) = file
                .read(want, bytes::BytesMut::with_capacity(want as usize))
                .await?
            else {
                break;
            };
            hasher.update(&chunk);
            left -= chunk.len() as u64;
            progress.advance(chunk.len() as u64);
        }
        file.close().await?;
        if left > 0 {
            return Err(SftpError::IOError(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "the copy is shorter than it should be",
            )));
        }
        Ok(hasher)
    }
}

impl Drop for SftpFolder {
    fn drop(&mut self) {
        if let Some(sftp) = self.sftp.take() {
            let _ = self.runtime.block_on(sftp.close());
        }
        let _ = self.runtime.block_on(self.child.wait());
    }
}

impl CopyStore for SftpFolder {
    fn list(&self) -> Result<Vec<(String, u64)>, OffsiteError> {
        /// As many as an S3 listing may hold ([`crate::offsite::store::MAX_LISTING_PAGES`]
        /// pages of 1000).
        const MAX_LISTED: usize = crate::offsite::store::MAX_LISTING_PAGES * 1000;
        // `None`: more entries than any real folder of copies holds.
        let listed: Result<Option<Vec<(String, u64)>>, SftpError> = self.runtime.block_on(async {
            let mut fs = self.sftp().fs();
            let dir = match fs.open_dir(&self.folder).await {
                Ok(dir) => dir,
                Err(SftpError::SftpError(kind, _)) if format!("{kind:?}") == "NoSuchFile" => {
                    return Ok(Some(Vec::new()));
                }
                Err(e) => return Err(e),
            };
            let mut entries = std::pin::pin!(dir.read_dir());
            let mut out = Vec::new();
            let mut seen = 0usize;
            while let Some(entry) = std::future::poll_fn(|cx| entries.as_mut().poll_next(cx)).await
            {
                let entry = entry?;
                seen += 1;
                if seen > MAX_LISTED {
                    return Ok(None);
                }
                let name = entry.filename().to_string_lossy().into_owned();
                let meta = entry.metadata();
                let regular = entry.file_type().is_some_and(|t| t.is_file());
                if regular && !name.starts_with('.') {
                    out.push((name, meta.len().unwrap_or(0)));
                }
            }
            Ok(Some(out))
        });
        let mut listed = listed
            .map_err(|e| self.failure("list", e))?
            .ok_or_else(|| {
                OffsiteError::EndlessListing(format!(
                    "of {} has more than {MAX_LISTED} entries",
                    self.folder.display()
                ))
            })?;
        listed.sort();
        Ok(listed)
    }

    fn head(&self, name: &str) -> Result<Option<StoredObject>, OffsiteError> {
        let path = self.path(name);
        let answer = self
            .runtime
            .block_on(async { self.sftp().fs().metadata(&path).await });
        match answer {
            Ok(meta) => Ok(Some(StoredObject {
                key: path.display().to_string(),
                size: meta.len().unwrap_or(0),
                checksum_sha256: None,
                version_id: None,
                retain_until: None,
            })),
            Err(SftpError::SftpError(kind, _)) if format!("{kind:?}") == "NoSuchFile" => Ok(None),
            Err(e) => Err(self.failure("read", e)),
        }
    }

    fn download(
        &self,
        name: &str,
        dest: &Path,
        bound: &DownloadBound,
        progress: &dyn Progress,
    ) -> Result<u64, OffsiteError> {
        use std::io::Write;
        let local =
            |e: std::io::Error| OffsiteError::Local(dest.display().to_string(), e.to_string());
        let path = self.path(name);
        let mut out = crate::publish::create_private_file(dest).map_err(local)?;
        let read = self.runtime.block_on(async {
            tokio::time::timeout(bound.remaining(), async {
                let mut file = self
                    .sftp()
                    .open(&path)
                    .await
                    .map_err(|e| self.failure("read", e))?;
                let size = file.metadata().await.ok().and_then(|m| m.len());
                progress.start(Phase::Download, size);
                let mut written = 0u64;
                loop {
                    let chunk = file
                        .read(CHUNK as u32, bytes::BytesMut::with_capacity(CHUNK))
                        .await
                        .map_err(|e| self.failure("read", e))?;
                    let Some(chunk) = chunk else { break };
                    written += chunk.len() as u64;
                    bound.check(name, written)?;
                    out.write_all(&chunk).map_err(local)?;
                    progress.advance(chunk.len() as u64);
                }
                let _ = file.close().await;
                Ok::<u64, OffsiteError>(written)
            })
            .await
        });
        let written = read.map_err(|_| bound.too_slow(name))??;
        out.sync_all().map_err(local)?;
        progress.finish();
        Ok(written)
    }

    fn put_bytes(&self, name: &str, bytes: &[u8]) -> Result<(), OffsiteError> {
        use std::io::Write;
        use std::os::fd::AsRawFd;
        // An unnamed file (already unlinked): a kill leaves nothing behind.
        let local = |e: std::io::Error| OffsiteError::Local("a scratch file".into(), e.to_string());
        let mut scratch = tempfile::tempfile().map_err(local)?;
        scratch.write_all(bytes).map_err(local)?;
        let path = PathBuf::from(format!("/proc/self/fd/{}", scratch.as_raw_fd()));
        self.upload_file(
            name,
            &path,
            &mut Throttle::unlimited(),
            &crate::progress::NoProgress,
        )
        .map(|_| ())
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

    fn delete(&self, name: &str, _version: Option<&str>) -> Result<(), OffsiteError> {
        let path = self.path(name);
        self.runtime
            .block_on(async { self.sftp().fs().remove_file(&path).await })
            .map_err(|e| self.failure("delete", e))
    }

    fn object_lock(&self) -> Result<Option<LockMode>, OffsiteError> {
        Ok(None)
    }

    fn keeps_checksums(&self) -> bool {
        false
    }

    fn retain_until(
        &self,
        _name: &str,
        _mode: LockMode,
        _until: DateTime<Utc>,
    ) -> Result<(), OffsiteError> {
        Err(OffsiteError::Failed(format!(
            "{}: an SFTP folder cannot lock a copy",
            self.host
        )))
    }
}

/// Why the connection could not be made, from ssh's own words.
fn connect_failure(host: &str, stderr: &str, e: &SftpError) -> OffsiteError {
    use crate::ssh_words::{SshFailure, read_failure};
    let host = host.to_owned();
    let (failure, last_line) = read_failure(stderr);
    match failure {
        SshFailure::ChangedHostKey { fingerprint } => OffsiteError::HostKeyChanged {
            host,
            fingerprint: fingerprint
                .map(|f| format!(" (it now offers {f})"))
                .unwrap_or_default(),
        },
        SshFailure::UnknownHostKey => OffsiteError::HostKeyUnknown { host },
        SshFailure::LoginRefused => OffsiteError::LoginRefused {
            host,
            detail: last_line,
        },
        SshFailure::Unreachable => OffsiteError::Unreachable(format!("{host}: {last_line}")),
        SshFailure::Other if stderr.contains("subsystem request failed") => {
            OffsiteError::Failed(format!("{host} offers no SFTP ({last_line})"))
        }
        SshFailure::Other => OffsiteError::Failed(format!(
            "SFTP to {host} failed: {}",
            if last_line.is_empty() {
                e.to_string()
            } else {
                last_line
            }
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ssh_failures_are_told_apart() {
        let e = SftpError::InvalidResponse(&"eof");
        assert!(matches!(
            connect_failure("h", "@@@ WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED! @@@\nThe fingerprint for the ED25519 key sent by the remote host is\nSHA256:abc.\n", &e),
            OffsiteError::HostKeyChanged { fingerprint, .. } if fingerprint.contains("SHA256:abc")
        ));
        assert!(matches!(
            connect_failure("h", "Host key verification failed.\n", &e),
            OffsiteError::HostKeyUnknown { .. }
        ));
        assert!(matches!(
            connect_failure("h", "u@h: Permission denied (publickey).\n", &e),
            OffsiteError::LoginRefused { .. }
        ));
        assert!(matches!(
            connect_failure(
                "h",
                "ssh: connect to host h port 1: Connection refused\n",
                &e
            ),
            OffsiteError::Unreachable(_)
        ));
    }
}
