//! The SSH client's side of the shell: command lines quoted for the
//! server's shell, the control socket's private folder, and ssh's failure
//! words read into an [`SshError`].

use std::path::{Path, PathBuf};

use super::SshError;

/// What ssh's stderr says went wrong (exit status 255).
pub(super) fn classify_ssh_failure(
    host: &str,
    stderr: &str,
    scanned: impl FnOnce() -> String,
) -> SshError {
    use crate::ssh_words::{SshFailure, read_failure};
    let host = host.to_owned();
    let (failure, detail) = read_failure(stderr);
    match failure {
        SshFailure::ChangedHostKey { fingerprint } => SshError::ChangedHostKey {
            host,
            fingerprint: fingerprint
                .map(|f| format!(" (it now offers {f})"))
                .unwrap_or_default(),
        },
        SshFailure::UnknownHostKey => {
            let f = scanned();
            let fingerprint = if f.is_empty() {
                String::new()
            } else {
                format!(" (it offers {f})")
            };
            SshError::UnknownHostKey { host, fingerprint }
        }
        SshFailure::LoginRefused => SshError::LoginRefused { host, detail },
        SshFailure::Unreachable => SshError::Unreachable { host, detail },
        SshFailure::Other => SshError::Failed { host, detail },
    }
}

/// A private folder for the shared connections' sockets: one per user
/// (a socket is a login) and per Backup Desk config folder (another set of
/// profiles, with its own SSH config, never rides on these connections).
/// In `$XDG_RUNTIME_DIR` when a socket path there fits the 107 bytes a Unix
/// socket allows (ssh adds `bd-` + 40 hex digits + a 17-byte temporary
/// suffix), else in the temporary folder; `None` (no sharing) when no such
/// folder is ours alone.
pub(super) fn control_dir() -> Option<PathBuf> {
    use std::hash::{Hash, Hasher};
    const SOCKET_NAME: usize = 1 + 3 + 40 + 17;
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    // The config folder's override (the default is one per user anyway).
    std::env::var_os("BACKUPDESK_CONFIG_DIR").hash(&mut hasher);
    std::env::var_os("BACKUPDESK_SSH_CONFIG").hash(&mut hasher);
    let uid = rustix::process::getuid().as_raw();
    let name = format!("bd-ssh-{uid}-{:08x}", hasher.finish() as u32);
    let candidates = std::env::var_os("XDG_RUNTIME_DIR")
        .map(PathBuf::from)
        .into_iter()
        .chain([std::env::temp_dir(), PathBuf::from("/tmp")]);
    candidates
        .map(|base| base.join(&name))
        .filter(|dir| dir.as_os_str().len() + SOCKET_NAME <= 107)
        .find(|dir| private_dir(dir, uid))
}

/// Makes `dir` (mode 0700) or accepts it when it exists, is a folder (not
/// a link), is owned by `uid` and nobody else may enter it.
pub(super) fn private_dir(dir: &Path, uid: u32) -> bool {
    use std::os::unix::fs::{DirBuilderExt, MetadataExt};
    let _ = std::fs::DirBuilder::new().mode(0o700).create(dir);
    match std::fs::symlink_metadata(dir) {
        Ok(meta) => meta.is_dir() && meta.uid() == uid && meta.mode() & 0o077 == 0,
        Err(_) => false,
    }
}

/// The last non-empty line of a remote shell's stderr (its reason).
pub(super) fn last_line(stderr: &str) -> String {
    let line = stderr.lines().rev().find(|l| !l.trim().is_empty());
    crate::printable::escaped(line.unwrap_or("it failed without saying why").trim())
}

/// One word for a POSIX shell; `~/` at the start stays expandable.
pub(super) fn quote(word: &str) -> String {
    if let Some(rest) = word.strip_prefix("~/") {
        return format!("~/{}", quote(rest));
    }
    if !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:@%+,".contains(c))
    {
        return word.to_owned();
    }
    format!("'{}'", word.replace('\'', r"'\''"))
}

/// The words as one line the remote shell splits back into them.
pub(super) fn shell_line(words: &[String]) -> String {
    words.iter().map(|w| quote(w)).collect::<Vec<_>>().join(" ")
}
