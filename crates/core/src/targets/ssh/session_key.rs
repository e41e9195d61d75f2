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
use crate::format::crypto::{self, CryptoError, OpenedSession, Openers, SecretKeys, SessionKeys};
use crate::format::name::BackupName;
use crate::local::keyring::KeychainKeys;
use crate::local::layout::DataDir;
use crate::local::rolling::{DEFAULT_CYCLE, RollingEntry, rolling_plan};

/// How much of the backup is read: the key packets (at most 16 of at most
/// 1 KiB each) and enough of the body to decrypt its first block.
const HEAD_BYTES: usize = 64 * 1024;

/// Which backups of the server a verb reads, as this machine tells before
/// the engine runs: the keys of those, and of no other, are handed over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackupsRead<'a> {
    /// One backup, named.
    One(&'a str),
    /// The backups named (none: every backup).
    Named(&'a [String]),
    /// Two backups, named (a diff).
    Pair(&'a str, &'a str),
    /// The newest regular backup (a drill with no name).
    NewestRegular,
    /// Every backup (`verify --all`).
    All,
    /// The scheduled verification's share: the newest regular backup and
    /// those deep-checked longest ago (`verify --rolling`).
    Rolling,
}

impl SshHost {
    /// The session keys of the backups `which` names, of the installation
    /// at `data_dir` on the server, recovered here: by a key kept in
    /// `ctx`'s secret store (this machine's keychain), else by the admin's
    /// own GnuPG key (through gpg-agent, a card's PIN asked by its
    /// pinentry). `None` when no key here opens any of them (or their
    /// heads cannot be read: the verb itself then says why, in the
    /// engine's words); a backup no key here opens is left out (the
    /// engine reads it as it can).
    pub fn session_keys_here(
        &self,
        data_dir: &Path,
        which: BackupsRead<'_>,
        ctx: &OperationContext<'_>,
    ) -> Option<SessionKeys> {
        let names = match which {
            BackupsRead::One(name) => vec![name.to_owned()],
            BackupsRead::Named(names) if !names.is_empty() => names.to_vec(),
            BackupsRead::Pair(a, b) => vec![a.to_owned(), b.to_owned()],
            other => self.names_read(data_dir, other, ctx).ok()?,
        };
        let keys = KeychainKeys::new(ctx.secrets());
        let mut found = SessionKeys::new();
        for (name, head) in self.heads_of(data_dir, &names).ok()? {
            let key = session_of_head(&head, &keys)
                .ok()
                .or_else(|| crate::local::gnupg_agent::session_key_of_head(&head));
            if let Some(key) = key {
                found.insert(&name, key);
            }
        }
        (!found.is_empty()).then(|| found.recovered_on(&this_machine()))
    }

    /// The names of the backups `which` reads, from the engine's list (the
    /// same catalog and ledger it then reads them by).
    fn names_read(
        &self,
        data_dir: &Path,
        which: BackupsRead<'_>,
        ctx: &OperationContext<'_>,
    ) -> Result<Vec<String>, SshError> {
        #[derive(serde::Deserialize)]
        struct Listed {
            backups: Vec<crate::model::ListItem>,
        }
        let args = [
            "--data-dir".to_owned(),
            data_dir.display().to_string(),
            "--json".to_owned(),
            "list".to_owned(),
        ];
        let run = self.run_engine(&args, None, ctx.quiet().progress())?;
        let listed: Listed = serde_json::from_slice(&run.stdout).map_err(|e| SshError::Failed {
            host: self.destination.clone(),
            detail: format!("the server's list came back unreadable: {e}"),
        })?;
        let entries: Vec<RollingEntry> = listed
            .backups
            .into_iter()
            .filter_map(|item| {
                let name = BackupName::parse(&item.filename).ok()?;
                Some(RollingEntry {
                    pre_restore: name.kind().is_pre_restore(),
                    name: item.filename,
                    deep_checked_at: item.verified.deep_passed_at,
                })
            })
            .collect();
        Ok(match which {
            BackupsRead::One(name) => vec![name.to_owned()],
            BackupsRead::Pair(a, b) => vec![a.to_owned(), b.to_owned()],
            BackupsRead::Named(_) | BackupsRead::All => {
                entries.into_iter().map(|e| e.name).collect()
            }
            BackupsRead::NewestRegular => entries
                .into_iter()
                .find(|e| !e.pre_restore)
                .map(|e| e.name)
                .into_iter()
                .collect(),
            BackupsRead::Rolling => rolling_plan(&entries, DEFAULT_CYCLE),
        })
    }

    /// The first [`HEAD_BYTES`] of each encrypted backup among `names` of
    /// the installation at `data_dir` on the server (their key packets and
    /// the body's start), read in one call; a plaintext backup, or one
    /// that is missing there, is left out.
    ///
    /// # Errors
    /// An invalid name; the connection's own errors; an answer that came
    /// back damaged.
    fn heads_of(
        &self,
        data_dir: &Path,
        names: &[String],
    ) -> Result<Vec<(String, Vec<u8>)>, SshError> {
        let failed = |detail: String| SshError::Failed {
            host: self.destination.clone(),
            detail,
        };
        let mut files = Vec::new();
        for name in names {
            let parsed = BackupName::parse(name).map_err(|e| failed(e.to_string()))?;
            if parsed.kind().is_encrypted() {
                files.push(quote(parsed.file_name()));
            }
        }
        if files.is_empty() {
            return Ok(Vec::new());
        }
        let folder = DataDir::new(data_dir).backups();
        let script = format!(
            "cd {} || exit 3; for f in {}; do [ -f \"$f\" ] && [ -r \"$f\" ] || continue; \
             printf '%s ' \"$f\"; head -c {HEAD_BYTES} \"$f\" | base64 -w 0; echo; done",
            quote(&folder.display().to_string()),
            files.join(" ")
        );
        let run = self.judge(self.run_raw(&script, b"")?)?;
        if run.code != 0 {
            return Err(failed(last_line(&run.stderr)));
        }
        let engine = base64::engine::general_purpose::STANDARD;
        String::from_utf8_lossy(&run.stdout)
            .lines()
            .filter(|l| !l.is_empty())
            .map(|line| {
                let (name, head) = line
                    .split_once(' ')
                    .ok_or_else(|| failed("a backup's head came back damaged".to_owned()))?;
                let head = engine
                    .decode(head)
                    .map_err(|e| failed(format!("the head of {name} came back damaged: {e}")))?;
                Ok((name.to_owned(), head))
            })
            .collect()
    }
}

/// This machine as a server's ledger names the one that proved its
/// backups: `USER@HOST`.
fn this_machine() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .unwrap_or_default();
    let uid = rustix::process::getuid().as_raw().to_string();
    // The account's name: the environment's, else the password file's.
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .ok()
        .filter(|u| !u.is_empty())
        .or_else(|| {
            std::fs::read_to_string("/etc/passwd")
                .ok()?
                .lines()
                .find_map(|l| {
                    let mut fields = l.split(':');
                    let name = fields.next()?;
                    (fields.nth(1)? == uid).then(|| name.to_owned())
                })
        })
        .unwrap_or_default();
    match (user.is_empty(), host.is_empty()) {
        (false, false) => format!("{user}@{host}"),
        (true, false) => host,
        (false, true) => user,
        (true, true) => "another machine".to_owned(),
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
