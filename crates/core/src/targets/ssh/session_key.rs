//! Reading a server's backup with a key held here (issue 30): the server
//! keeps no secret, so the laptop reads the backup's head (its key packets
//! and the body's first bytes) over SSH, recovers that one backup's
//! session key with a key it holds, proves it on the body's first block,
//! and hands only the session key to the server's engine on the channel's
//! stdin. The secret key never leaves this machine; the session key opens
//! that backup and no other.

use std::path::Path;

use base64::Engine as _;

use super::{SshError, SshHost, last_line, quote};
use crate::context::OperationContext;
use crate::format::crypto::{self, CryptoError, OpenedSession, Openers, SecretKeys};
use crate::format::name::BackupName;
use crate::local::keyring::KeychainKeys;
use crate::local::layout::DataDir;

/// How much of the backup is read: the key packets (at most 16 of at most
/// 1 KiB each) and enough of the body to decrypt its first block.
const HEAD_BYTES: usize = 64 * 1024;

impl SshHost {
    /// The session key of backup `name` of the installation at `data_dir`
    /// on the server, recovered here: by a key kept in `ctx`'s secret
    /// store (this machine's keychain), else by the admin's own GnuPG key
    /// (through gpg-agent, a card's PIN asked by its pinentry). `None` when
    /// no key here opens it, it is no encrypted backup of ours, or its head
    /// cannot be read (the verb itself then says why, in the engine's
    /// words).
    pub fn session_key_here(
        &self,
        data_dir: &Path,
        name: &str,
        ctx: &OperationContext<'_>,
    ) -> Option<OpenedSession> {
        let head = self.head_of(data_dir, name).ok().flatten()?;
        let keys = KeychainKeys::new(ctx.secrets());
        session_of_head(&head, &keys)
            .ok()
            .or_else(|| crate::local::gnupg_agent::session_key_of_head(&head))
    }

    /// [`SshHost::session_key_here`] with `keys` only (no GnuPG).
    ///
    /// # Errors
    /// As [`SshHost::head_of`].
    pub fn session_key_of(
        &self,
        data_dir: &Path,
        name: &str,
        keys: &dyn SecretKeys,
    ) -> Result<Option<OpenedSession>, SshError> {
        Ok(self
            .head_of(data_dir, name)?
            .and_then(|head| session_of_head(&head, keys).ok()))
    }

    /// The first [`HEAD_BYTES`] of backup `name` of the installation at
    /// `data_dir` on the server (its key packets and the body's start);
    /// `None` for a plaintext backup.
    ///
    /// # Errors
    /// An invalid name; the connection's own errors; a backup that is
    /// missing or unreadable there.
    fn head_of(&self, data_dir: &Path, name: &str) -> Result<Option<Vec<u8>>, SshError> {
        let failed = |detail: String| SshError::Failed {
            host: self.destination.clone(),
            detail,
        };
        let parsed = BackupName::parse(name).map_err(|e| failed(e.to_string()))?;
        if !parsed.kind().is_encrypted() {
            return Ok(None);
        }
        let path = DataDir::new(data_dir).backup_file(parsed.file_name());
        let script = format!(
            "f={}; [ -f \"$f\" ] && [ -r \"$f\" ] || {{ echo \"no readable backup $f\" >&2; exit 3; }}; \
             head -c {HEAD_BYTES} \"$f\" | base64 -w 0",
            quote(&path.display().to_string())
        );
        let run = self.judge(self.run_raw(&script, b"")?)?;
        if run.code != 0 {
            return Err(failed(last_line(&run.stderr)));
        }
        base64::engine::general_purpose::STANDARD
            .decode(run.stdout.trim_ascii())
            .map(Some)
            .map_err(|e| failed(format!("the head of {name} came back damaged: {e}")))
    }
}

/// The session key of a backup whose first bytes are `head`, recovered by
/// one of `keys` and proven by the body's quick check.
fn session_of_head(head: &[u8], keys: &dyn SecretKeys) -> Result<OpenedSession, CryptoError> {
    let openers = Openers {
        passphrases: &[],
        keys: Some(keys),
        session: None,
    };
    crypto::session_of_head(head, &openers)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::crypto::tests::HeldKeys;
    use crate::format::crypto::{Recipient, Sealing, armored_secret, generate_key};

    #[test]
    fn the_head_alone_gives_the_session_key_that_opens_the_whole_backup() {
        let admin = generate_key("admin").unwrap();
        let public = Recipient::from_bytes(armored_secret(&admin).as_bytes()).unwrap();
        // Bytes deflate cannot shrink (an LCG's high bytes): a body longer
        // than the head read.
        let mut x = 0x2545_f491_u64;
        let plain: Vec<u8> = (0..300_000)
            .map(|_| {
                x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                (x >> 56) as u8
            })
            .collect();
        let sealing = Sealing {
            recipients: vec![public],
            passphrase: None,
        };
        let sealed = crypto::tests::sealed_to(&plain, &sealing);
        assert!(sealed.len() > HEAD_BYTES, "the head is a part of the file");
        let held = HeldKeys(vec![admin]);
        let session = session_of_head(&sealed[..HEAD_BYTES], &held).unwrap();
        // As text and back (what crosses the channel), it opens the whole
        // backup with no key and no passphrase.
        let text = session.to_text();
        let given = OpenedSession::parse(&text).unwrap();
        let mut out = Vec::new();
        let opened = crypto::decrypt(
            std::io::Cursor::new(&sealed),
            &mut out,
            &Openers {
                passphrases: &[],
                keys: None,
                session: Some(&given),
            },
            None,
            &crate::progress::NoProgress,
        )
        .unwrap();
        assert_eq!(out, plain);
        assert_eq!(opened.opened_by, crypto::OpenedBy::GivenSessionKey);
        // No key held here: none.
        assert!(session_of_head(&sealed[..HEAD_BYTES], &HeldKeys(Vec::new())).is_err());
        for bad in ["", "9", "9:zz", "9:00", "200:00ff", "nine:00"] {
            assert!(OpenedSession::parse(bad).is_err(), "{bad:?}");
        }
    }
}
