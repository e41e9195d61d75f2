//! An installation's encryption policy: the certificates every new backup
//! is encrypted to, and whether a passphrase is a further way in. Kept
//! (public parts only) in `data/.backupdesk/encryption.json`, read by every
//! backup made here (scheduled, manual, the safety backup of a restore),
//! so no backup is ever sealed more weakly than the policy says.
//!
//! Invariants: a policy has at least two independent ways in (two
//! recipients, or a recipient and the passphrase); a policy file that
//! cannot be read as one (edited by hand into nonsense, a certificate that
//! no longer parses, a fingerprint that does not match its certificate, a
//! secret key pasted in) is an error, never "no policy"; with no file at
//! all, backups are sealed with the passphrase alone (the scripts' format).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::format::crypto::{Passphrase, Recipient, Sealing};
use crate::local::layout::DataDir;

/// The file's format version.
const VERSION: u32 = 1;
/// A policy file larger than this is not one of ours.
const MAX_FILE: u64 = 1 << 20;

/// Why a policy was refused or could not be read.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    /// Fewer than two independent ways in.
    #[error(
        "an encryption policy needs at least two independent ways in (two recipients, or a \
         recipient and a passphrase); this one has {ways_in}: losing that one key would lose \
         every backup"
    )]
    TooFewWaysIn {
        /// How many it has.
        ways_in: usize,
    },
    /// The policy file is not a policy.
    #[error(
        "the encryption policy {path} cannot be used ({why}); no backup is made until it is fixed (`backupdesk encryption set`)"
    )]
    Unreadable {
        /// The file.
        path: String,
        /// What is wrong, in words.
        why: String,
    },
    /// Reading or writing the file failed.
    #[error("the encryption policy {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

impl crate::KindedError for PolicyError {
    fn kind(&self) -> crate::ErrorKind {
        match self {
            PolicyError::TooFewWaysIn { .. } | PolicyError::Unreadable { .. } => {
                crate::ErrorKind::EncryptionPolicyInvalid
            }
            PolicyError::Io { .. } => crate::ErrorKind::Io,
        }
    }
}

/// An installation's encryption policy (see the module doc).
#[derive(Debug, Clone, PartialEq)]
pub struct EncryptionPolicy {
    /// The certificates new backups are encrypted to.
    pub recipients: Vec<Recipient>,
    /// Whether the installation's passphrase is a further way in (the
    /// server then keeps it, as today); `false`: the server keeps no secret.
    pub passphrase: bool,
}

/// The file as stored.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyFile {
    version: u32,
    passphrase: bool,
    recipients: Vec<RecipientFile>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RecipientFile {
    fingerprint: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    user_id: Option<String>,
    certificate: String,
}

impl EncryptionPolicy {
    /// How many independent ways into a backup this policy gives.
    pub fn ways_in(&self) -> usize {
        self.recipients.len() + usize::from(self.passphrase)
    }

    /// Refuses a policy with fewer than two ways in, or a certificate
    /// named twice.
    ///
    /// # Errors
    /// [`PolicyError::TooFewWaysIn`].
    pub fn check(&self) -> Result<(), PolicyError> {
        let mut seen: Vec<String> = self.recipients.iter().map(Recipient::fingerprint).collect();
        seen.sort();
        seen.dedup();
        let ways_in = seen.len() + usize::from(self.passphrase);
        if ways_in < 2 {
            return Err(PolicyError::TooFewWaysIn { ways_in });
        }
        Ok(())
    }

    /// What a new backup is sealed with under this policy.
    pub fn sealing(&self, passphrase: &Passphrase) -> Sealing {
        Sealing {
            recipients: self.recipients.clone(),
            passphrase: self.passphrase.then(|| passphrase.clone()),
        }
    }

    fn path(data: &DataDir) -> PathBuf {
        data.state().join("encryption.json")
    }

    /// The installation's policy; `Ok(None)` when it has none.
    ///
    /// # Errors
    /// [`PolicyError::Unreadable`] for a file that is not a valid policy,
    /// [`PolicyError::Io`] when it cannot be read.
    pub fn read(data: &DataDir) -> Result<Option<Self>, PolicyError> {
        let path = Self::path(data);
        let shown = path.display().to_string();
        let unreadable = |why: String| PolicyError::Unreadable {
            path: shown.clone(),
            why,
        };
        let bytes = match std::fs::metadata(&path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => {
                return Err(PolicyError::Io {
                    path: shown,
                    source,
                });
            }
            Ok(meta) if meta.len() > MAX_FILE => {
                return Err(unreadable(format!("{} bytes, too large", meta.len())));
            }
            Ok(_) => std::fs::read(&path).map_err(|source| PolicyError::Io {
                path: shown.clone(),
                source,
            })?,
        };
        let file: PolicyFile =
            serde_json::from_slice(&bytes).map_err(|e| unreadable(format!("not a policy: {e}")))?;
        let policy = Self::from_file(file).map_err(unreadable)?;
        policy.check().map_err(|e| unreadable(e.to_string()))?;
        Ok(Some(policy))
    }

    fn from_file(file: PolicyFile) -> Result<Self, String> {
        if file.version != VERSION {
            return Err(format!(
                "version {} (this Backup Desk reads {VERSION})",
                file.version
            ));
        }
        let mut recipients = Vec::new();
        for entry in file.recipients {
            if entry.certificate.contains("PRIVATE KEY BLOCK") {
                return Err(format!(
                    "the entry for {} holds a secret key; a policy holds public certificates only",
                    entry.fingerprint
                ));
            }
            let recipient = Recipient::from_bytes(entry.certificate.as_bytes())
                .map_err(|e| format!("the entry for {}: {e}", entry.fingerprint))?;
            if !recipient
                .fingerprint()
                .eq_ignore_ascii_case(entry.fingerprint.trim())
            {
                return Err(format!(
                    "the entry says fingerprint {} but its certificate is {}",
                    entry.fingerprint,
                    recipient.fingerprint()
                ));
            }
            recipients.push(recipient);
        }
        Ok(EncryptionPolicy {
            recipients,
            passphrase: file.passphrase,
        })
    }

    /// Writes the policy (after [`Self::check`]), atomically and durably.
    ///
    /// # Errors
    /// The check's error, or [`PolicyError::Io`].
    pub fn write(&self, data: &DataDir) -> Result<(), PolicyError> {
        self.check()?;
        let file = PolicyFile {
            version: VERSION,
            passphrase: self.passphrase,
            recipients: self
                .recipients
                .iter()
                .map(|r| RecipientFile {
                    fingerprint: r.fingerprint(),
                    user_id: r.user_id(),
                    certificate: r.armored(),
                })
                .collect(),
        };
        let path = Self::path(data);
        let io = |source| PolicyError::Io {
            path: path.display().to_string(),
            source,
        };
        std::fs::create_dir_all(data.state()).map_err(io)?;
        let text = serde_json::to_vec_pretty(&file).map_err(|e| io(std::io::Error::other(e)))?;
        crate::publish::write_atomic(&path, &text).map_err(io)
    }

    /// Removes the policy: backups go back to the passphrase alone.
    ///
    /// # Errors
    /// [`PolicyError::Io`] when it exists and cannot be removed.
    pub fn remove(data: &DataDir) -> Result<bool, PolicyError> {
        let path = Self::path(data);
        match std::fs::remove_file(&path) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(source) => Err(PolicyError::Io {
                path: path.display().to_string(),
                source,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::crypto::generate_key;

    fn recipient(name: &str) -> Recipient {
        let cert = generate_key(name).unwrap();
        Recipient::from_bytes(crate::format::crypto::armored_secret(&cert).as_bytes()).unwrap()
    }

    #[test]
    fn fewer_than_two_ways_in_is_refused_and_nothing_is_written() {
        let dir = tempfile::tempdir().unwrap();
        let data = DataDir::new(dir.path());
        let one = EncryptionPolicy {
            recipients: vec![recipient("a")],
            passphrase: false,
        };
        assert!(matches!(
            one.write(&data),
            Err(PolicyError::TooFewWaysIn { ways_in: 1 })
        ));
        let same_twice = EncryptionPolicy {
            recipients: vec![one.recipients[0].clone(), one.recipients[0].clone()],
            passphrase: false,
        };
        assert!(same_twice.check().is_err());
        assert!(EncryptionPolicy::read(&data).unwrap().is_none());
    }

    #[test]
    fn a_policy_round_trips_public_parts_only() {
        let dir = tempfile::tempdir().unwrap();
        let data = DataDir::new(dir.path());
        let policy = EncryptionPolicy {
            recipients: vec![recipient("admin <a@example.org>"), recipient("recovery")],
            passphrase: false,
        };
        policy.write(&data).unwrap();
        let text = std::fs::read_to_string(EncryptionPolicy::path(&data)).unwrap();
        assert!(!text.contains("PRIVATE KEY"), "{text}");
        assert!(text.contains("admin <a@example.org>"));
        assert_eq!(EncryptionPolicy::read(&data).unwrap(), Some(policy));
    }

    #[test]
    fn a_file_edited_into_nonsense_is_a_clear_error_not_no_policy() {
        let dir = tempfile::tempdir().unwrap();
        let data = DataDir::new(dir.path());
        let policy = EncryptionPolicy {
            recipients: vec![recipient("a"), recipient("b")],
            passphrase: true,
        };
        policy.write(&data).unwrap();
        let path = EncryptionPolicy::path(&data);
        let good = std::fs::read_to_string(&path).unwrap();
        let other = recipient("c").fingerprint();
        let first = policy.recipients[0].fingerprint();
        for (what, text) in [
            ("not json", "recipients: everyone".to_owned()),
            (
                "a wrong version",
                good.replace("\"version\": 1", "\"version\": 7"),
            ),
            ("a mismatched fingerprint", good.replacen(&first, &other, 1)),
            (
                "a cut certificate",
                good.replacen("-----END PGP PUBLIC KEY BLOCK-----", "", 1),
            ),
            (
                "an unknown field",
                good.replacen("\"passphrase\"", "\"extra\": 1, \"passphrase\"", 1),
            ),
        ] {
            std::fs::write(&path, text).unwrap();
            let err = EncryptionPolicy::read(&data).unwrap_err();
            assert!(
                matches!(err, PolicyError::Unreadable { .. }),
                "{what}: {err}"
            );
            assert_eq!(
                crate::KindedError::kind(&err),
                crate::ErrorKind::EncryptionPolicyInvalid
            );
        }
    }
}
