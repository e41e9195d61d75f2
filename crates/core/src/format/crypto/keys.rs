//! The ways into a backup: the public keys a new backup is sealed to
//! ([`Recipient`], one public-key packet each) beside an optional
//! passphrase (one password packet), and the ways a backup is opened
//! ([`Openers`]: passphrases, and secret keys found by the key id a
//! public-key packet names, through [`SecretKeys`]).
//!
//! Invariants: a [`Recipient`] never holds secret key material (it is
//! stripped on parse, so a policy never carries one); every message is
//! still SEIPD v1 with MDC, whatever the recipients' certificates
//! advertise, because gpg 2.2 reads nothing newer; a key made here
//! ([`generate_key`]) advertises SEIPD v1 only, so `gpg -e -r` to it
//! writes what we read.

use openpgp::Cert;
use openpgp::KeyID;
use openpgp::cert::{CertBuilder, CipherSuite};
use openpgp::parse::Parse;
use openpgp::policy::StandardPolicy;
use openpgp::serialize::SerializeInto as _;
use openpgp::types::{Features, KeyFlags};
use sequoia_openpgp as openpgp;

use super::{OpenedSession, Passphrase};

/// The policy every key is judged by (a constant, so keys borrowed from a
/// certificate outlive no local).
pub(crate) const POLICY: &StandardPolicy<'static> = &StandardPolicy::new();

/// Why a key or certificate cannot be used.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum KeyError {
    /// The bytes are not an OpenPGP certificate.
    #[error("not an OpenPGP certificate: {0}")]
    NotACertificate(String),
    /// A certificate with no key that may encrypt now (all expired,
    /// revoked, signing-only, or of an algorithm we cannot use).
    #[error(
        "the certificate {0} has no valid encryption key (expired, revoked or signing-only): \
         backups cannot be encrypted to it"
    )]
    NoEncryptionKey(String),
    /// A key could not be made.
    #[error("the key could not be made: {0}")]
    Generate(String),
}

impl crate::KindedError for KeyError {
    fn kind(&self) -> crate::ErrorKind {
        crate::ErrorKind::InvalidKey
    }
}

/// One certificate (public parts only) that new backups are encrypted to.
#[derive(Clone, PartialEq)]
pub struct Recipient {
    cert: Cert,
}

impl std::fmt::Debug for Recipient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Recipient({})", self.fingerprint())
    }
}

impl Recipient {
    /// The certificate in `bytes` (armored or binary); any secret key
    /// material in it is dropped.
    ///
    /// # Errors
    /// [`KeyError::NotACertificate`], or [`KeyError::NoEncryptionKey`] when
    /// no key of it may encrypt now.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, KeyError> {
        let cert = Cert::from_bytes(bytes).map_err(|e| KeyError::NotACertificate(e.to_string()))?;
        let recipient = Recipient {
            cert: cert.strip_secret_key_material(),
        };
        if recipient.encryption_keys().is_empty() {
            return Err(KeyError::NoEncryptionKey(recipient.fingerprint()));
        }
        Ok(recipient)
    }

    /// The certificate's fingerprint, upper-case hex (as `gpg` prints it).
    pub fn fingerprint(&self) -> String {
        self.cert.fingerprint().to_hex()
    }

    /// The certificate's primary user ID, when it has a valid one.
    pub fn user_id(&self) -> Option<String> {
        let valid = self.cert.with_policy(POLICY, None).ok()?;
        let userid = valid.primary_userid().ok()?;
        Some(String::from_utf8_lossy(userid.userid().value()).into_owned())
    }

    /// The key ids of the keys that may encrypt (what a public-key packet
    /// names), upper-case hex.
    pub fn encryption_key_ids(&self) -> Vec<String> {
        self.encryption_keys()
            .iter()
            .map(|k| k.keyid().to_hex())
            .collect()
    }

    /// The certificate, armored (public parts only).
    pub fn armored(&self) -> String {
        String::from_utf8(self.cert.armored().to_vec().unwrap_or_default()).unwrap_or_default()
    }

    /// The keys a new message is encrypted to: valid now, not revoked,
    /// flagged for storage or transport encryption.
    pub(crate) fn encryption_keys(
        &self,
    ) -> Vec<
        &openpgp::packet::Key<
            openpgp::packet::key::PublicParts,
            openpgp::packet::key::UnspecifiedRole,
        >,
    > {
        let flags = KeyFlags::empty()
            .set_storage_encryption()
            .set_transport_encryption();
        self.cert
            .keys()
            .with_policy(POLICY, None)
            .supported()
            .alive()
            .revoked(false)
            .key_flags(flags)
            .map(|ka| ka.key().role_as_unspecified())
            .collect()
    }

    /// The recipients of sequoia's encryptor, one per encryption key, each
    /// held to SEIPD v1 (gpg 2.2 reads nothing newer).
    pub(crate) fn sequoia_recipients(&self) -> Vec<openpgp::serialize::stream::Recipient<'_>> {
        self.encryption_keys()
            .into_iter()
            .map(|key| {
                openpgp::serialize::stream::Recipient::new(
                    Features::empty().set_seipdv1(),
                    openpgp::KeyHandle::from(key.keyid()),
                    key,
                )
            })
            .collect()
    }
}

/// Everything a new backup is sealed with: one public-key packet per
/// encryption key of each recipient, and a password packet when a
/// passphrase is given. At least one of the two.
#[derive(Debug, Clone)]
pub struct Sealing {
    /// The certificates to encrypt to.
    pub recipients: Vec<Recipient>,
    /// The passphrase of the password packet, if any.
    pub passphrase: Option<Passphrase>,
}

impl Sealing {
    /// A backup sealed with `passphrase` alone (the scripts' format).
    pub fn passphrase(passphrase: Passphrase) -> Self {
        Sealing {
            recipients: Vec::new(),
            passphrase: Some(passphrase),
        }
    }

    /// Refuses a sealing with no way in at all (nothing to encrypt to):
    /// a message nobody could ever open is never written.
    ///
    /// # Errors
    /// [`super::CryptoError::Io`] saying so.
    pub(crate) fn check_some_way_in(&self) -> Result<(), super::CryptoError> {
        if self.recipients.is_empty() && self.passphrase.is_none() {
            return Err(super::CryptoError::Io(std::io::Error::other(
                "nothing to encrypt to: no recipient and no passphrase",
            )));
        }
        Ok(())
    }
}

/// Where secret keys are found by the key id a public-key packet names
/// (the keychain, an agent). Returning a certificate with its secret key
/// material unencrypted; `Ok(None)` when this place has none for it.
pub trait SecretKeys: Send + Sync {
    /// The certificate holding the secret key of `key_id` (upper-case hex).
    ///
    /// # Errors
    /// When the place cannot be asked (a locked keychain), in words.
    fn secret_key(&self, key_id: &str) -> Result<Option<Cert>, String>;
}

/// What a backup may be opened with: passphrases in order, then secret
/// keys for the public-key packets it carries.
#[derive(Clone, Copy)]
pub struct Openers<'a> {
    /// Candidate passphrases, tried in order on every password packet.
    pub passphrases: &'a [&'a Passphrase],
    /// Where secret keys are looked up, if anywhere.
    pub keys: Option<&'a dyn SecretKeys>,
    /// A session key handed over for this one backup, tried first.
    pub session: Option<&'a OpenedSession>,
}

impl<'a> Openers<'a> {
    /// Passphrases only.
    pub fn passphrases(passphrases: &'a [&'a Passphrase]) -> Self {
        Openers {
            passphrases,
            keys: None,
            session: None,
        }
    }
}

/// A new key for an admin who has none: Curve25519, a signing primary key
/// and an encryption subkey, user ID `name`, advertising SEIPD v1 only (so
/// `gpg -e -r` writes what gpg 2.2 and we read). Returns the certificate
/// with its secret parts (unencrypted: the caller keeps it in the keychain).
///
/// # Errors
/// [`KeyError::Generate`].
pub fn generate_key(name: &str) -> Result<Cert, KeyError> {
    generate(name, None)
}

/// [`generate_key`] with its secret parts encrypted by `passphrase` (the
/// S2K protection `gpg --import` understands: gpg asks for the passphrase
/// when it uses the key). A recovery key whose secret may be written out
/// and printed: without the passphrase it opens nothing.
///
/// # Errors
/// [`KeyError::Generate`].
pub fn generate_protected_key(name: &str, passphrase: &Passphrase) -> Result<Cert, KeyError> {
    generate(name, Some(passphrase.to_password()))
}

fn generate(name: &str, password: Option<openpgp::crypto::Password>) -> Result<Cert, KeyError> {
    let generate = || -> openpgp::Result<Cert> {
        let (cert, _revocation) = CertBuilder::new()
            .set_cipher_suite(CipherSuite::Cv25519)
            .set_profile(openpgp::Profile::RFC4880)?
            .set_features(Features::empty().set_seipdv1())?
            .set_password(password)
            .add_userid(name)
            .add_storage_encryption_subkey()
            .generate()?;
        Ok(cert)
    };
    generate().map_err(|e| KeyError::Generate(e.to_string()))
}

/// The certificate with its secret parts, armored (for the keychain and
/// the recovery sheet only).
pub fn armored_secret(cert: &Cert) -> String {
    String::from_utf8(cert.as_tsk().armored().to_vec().unwrap_or_default()).unwrap_or_default()
}

/// Parses a certificate with its secret parts (from the keychain).
///
/// # Errors
/// [`KeyError::NotACertificate`] when it is not one, or holds no secret.
pub fn secret_from_armored(text: &str) -> Result<Cert, KeyError> {
    let cert =
        Cert::from_bytes(text.as_bytes()).map_err(|e| KeyError::NotACertificate(e.to_string()))?;
    if !cert.is_tsk() {
        return Err(KeyError::NotACertificate(
            "it holds no secret key".to_owned(),
        ));
    }
    Ok(cert)
}

/// The key id `handle` names, upper-case hex (a wildcard has none).
pub(crate) fn key_id_hex(id: &KeyID) -> Option<String> {
    (!id.is_wildcard()).then(|| id.to_hex())
}
