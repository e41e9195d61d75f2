//! The passphrase of an SFTP location's SSH key, kept in the keychain and
//! handed to `ssh` when it asks: ssh runs Backup Desk's own executable as
//! its `SSH_ASKPASS` program, with [`ASKPASS_SCOPE`] naming the location;
//! that run prints the passphrase from the keychain to ssh's pipe and
//! exits ([`answer`], called first by both `main`s). The passphrase never
//! reaches a command line, a file or the environment.

use crate::keychain::{Keychain, SecretKind};

/// The variable that turns a run of Backup Desk into ssh's askpass helper:
/// the keychain scope whose key passphrase to print.
pub(crate) const ASKPASS_SCOPE: &str = "BACKUPDESK_ASKPASS_SCOPE";

/// When this process was started by ssh as its askpass program: prints the
/// key passphrase of the scope ssh was given and returns the exit code
/// (1 when the keychain has none). `None`: a normal run.
pub fn answer() -> Option<i32> {
    let scope = std::env::var(ASKPASS_SCOPE).ok()?;
    let found = Keychain::open().ok().and_then(|k| {
        k.get(&scope, SecretKind::OffsiteKeyPassphrase)
            .ok()
            .flatten()
    });
    Some(match found {
        Some(secret) => {
            use std::io::Write;
            let mut out = std::io::stdout().lock();
            let written = out
                .write_all(secret.as_bytes())
                .and_then(|()| out.write_all(b"\n"))
                .and_then(|()| out.flush());
            i32::from(written.is_err())
        }
        None => 1,
    })
}

/// Whether the keychain holds a key passphrase for `scope`.
pub(crate) fn has_passphrase(scope: &str) -> bool {
    Keychain::open()
        .ok()
        .and_then(|k| {
            k.get(scope, SecretKind::OffsiteKeyPassphrase)
                .ok()
                .flatten()
        })
        .is_some()
}
