//! The admin's own GnuPG key as a way in (issue 30): a software key or one
//! on a smartcard, used through `gpg` and its `gpg-agent` (which asks for
//! the card's PIN or the key's passphrase with its own pinentry). `gpg`
//! is handed a backup's head alone (its key packets and the body's first
//! bytes) and asked for that one backup's session key; Backup Desk never
//! sees the secret key, and the plaintext never passes through `gpg`.
//!
//! The session key gpg reports is then proven like any other: the body is
//! decrypted with it, its MDC and SHA-256 checked.

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::format::crypto::OpenedSession;
use crate::format::key_packets::KeyPackets;

/// How much of a backup `gpg` is handed: the key packets (at most 16 of at
/// most 1 KiB each) and the start of the body.
pub(crate) const HEAD_BYTES: usize = 64 * 1024;

/// How long `gpg` may take: its agent may be waiting for a card's PIN.
const GPG_WAIT: Duration = Duration::from_secs(120);

/// The session key of the backup at `path`, recovered by the admin's GnuPG
/// keys; `None` when none of them opens it (or there is no `gpg`).
pub(crate) fn session_key_of_file(path: &Path) -> Option<OpenedSession> {
    let mut head = Vec::with_capacity(HEAD_BYTES);
    std::fs::File::open(path)
        .ok()?
        .take(HEAD_BYTES as u64)
        .read_to_end(&mut head)
        .ok()?;
    session_key_of_head(&head)
}

/// The session key of a backup whose first bytes are `head`, as `gpg
/// --show-session-key` reports it (status line `SESSION_KEY ALGO:HEX`);
/// `None` when the backup has no public-key packet, or gpg found no key of
/// the admin's that opens it. gpg is handed the public-key packets only:
/// it never asks for a passphrase (a backup's passphrase is tried here).
pub(crate) fn session_key_of_head(head: &[u8]) -> Option<OpenedSession> {
    let head = KeyPackets::public_key_head(head)?;
    let mut child = Command::new("gpg")
        .args(["--batch", "--quiet", "--no-tty", "--status-fd", "1"])
        .args(["--show-session-key", "--output", "/dev/null", "--decrypt"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let mut stdin = child.stdin.take()?;
    // (gpg stops reading once it fails on the cut-short body: a write
    // error then is expected.)
    let feeder = std::thread::spawn(move || {
        let _ = stdin.write_all(&head);
    });
    let mut stdout = child.stdout.take()?;
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stdout.read_to_string(&mut text);
        text
    });
    let deadline = Instant::now() + GPG_WAIT;
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                break;
            }
        }
    }
    let _ = feeder.join();
    let status = reader.join().ok()?;
    session_key_in_status(&status)
}

/// The `SESSION_KEY` of gpg's status lines.
fn session_key_in_status(status: &str) -> Option<OpenedSession> {
    let line = status
        .lines()
        .find_map(|l| l.strip_prefix("[GNUPG:] SESSION_KEY "))?;
    OpenedSession::parse(line.trim()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_session_key_is_read_from_gpgs_status_lines_only() {
        let key = "9:FCE083A301D1F6B9E6CA5956EDDDFE32566115FE8611C957EA7EFD71B770C6A2";
        let status = format!(
            "[GNUPG:] DECRYPTION_KEY X\n[GNUPG:] SESSION_KEY {key}\n[GNUPG:] BEGIN_DECRYPTION\n"
        );
        let found = session_key_in_status(&status).unwrap();
        assert_eq!(found.to_text().as_str(), key);
        assert!(session_key_in_status("gpg: session key: '9:00'\n").is_none());
        assert!(session_key_in_status("[GNUPG:] SESSION_KEY 9:zz\n").is_none());
    }
}
