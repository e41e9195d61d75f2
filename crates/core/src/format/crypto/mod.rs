//! OpenPGP symmetric encryption in the format `gpg -d` reads (contract §2):
//! SKESK v4 (AES-256, iterated+salted S2K), SEIPD v1 with MDC, a ZIP
//! (deflate) compressed packet, then a binary literal packet.
//!
//! Never writes SEIPD v2 / AEAD: gpg 2.2 cannot read it.

use std::io::{self, Read, Write};
use std::sync::{Arc, Mutex};

use openpgp::crypto::{Password, SessionKey};
use openpgp::packet::Tag;
use openpgp::packet::{PKESK, SKESK};
use openpgp::parse::Parse;
use openpgp::parse::stream::{
    DecryptionHelper, DecryptorBuilder, MessageStructure, VerificationHelper,
};
use openpgp::policy::StandardPolicy;
use openpgp::serialize::stream::{ArbitraryWriter, Encryptor, LiteralWriter, Message};
use openpgp::types::{CompressionAlgorithm, DataFormat, SymmetricAlgorithm};
use sequoia_openpgp as openpgp;
use zeroize::Zeroizing;

use crate::format::hashing::{Digested, SharedDigest};
use crate::format::parallel_deflate::{self, Reorder};
use crate::progress::{Phase, Progress};

mod decrypt;
mod keys;
mod session_keys;
pub use decrypt::{Decrypted, OpenedBy, OpenedSession, check_passphrase, decrypt};
pub(crate) use decrypt::{open_session, session_of_head};
pub(crate) use keys::key_id_hex;
pub use keys::{
    KeyError, Openers, Recipient, Sealing, SecretKeys, armored_secret, generate_key,
    generate_protected_key, secret_from_armored,
};
pub use session_keys::SessionKeys;

#[cfg(test)]
pub(crate) mod tests;

/// Buffer size for streaming: large enough to be fast, small enough to keep
/// memory flat (sequoia's default of 25 MiB costs ~170 MB RSS on decrypt).
pub const STREAM_BUFFER: usize = 1 << 20;

/// The decryptor's own buffer: small enough to stay in the L2 cache.
const DECRYPT_BUFFER: usize = 1 << 18;

/// The passphrase Server Monitor's scripts use when `$DB_BACKUP_PASSPHRASE`
/// is unset. Backup Desk only ever *reads* backups with it (as a fallback);
/// writing with it requires an explicit opt-in.
const LEGACY_DEFAULT: &str = "ServerMonitorBackup2026";

/// A backup passphrase. Zeroed on drop; never printed by `Debug`.
#[derive(Clone)]
pub struct Passphrase(Zeroizing<String>);

impl Passphrase {
    /// Wraps a passphrase. A trailing newline (from a file or a pipe) is
    /// removed, as `gpg --passphrase-fd` does.
    pub fn new(mut text: String) -> Self {
        while text.ends_with('\n') || text.ends_with('\r') {
            text.pop();
        }
        Passphrase(Zeroizing::new(text))
    }

    /// A new random passphrase (128 bits from the OS, as 8 groups of 4 hex
    /// digits), for a demo that should need no typing.
    ///
    /// # Errors
    /// The OS randomness cannot be read.
    pub fn generate() -> std::io::Result<Self> {
        use std::io::Read;
        let mut bytes = Zeroizing::new([0u8; 16]);
        std::fs::File::open("/dev/urandom")?.read_exact(&mut bytes[..])?;
        let groups: Vec<String> = bytes
            .chunks(2)
            .map(|pair| format!("{:02x}{:02x}", pair[0], pair[1]))
            .collect();
        Ok(Passphrase(Zeroizing::new(groups.join("-"))))
    }

    /// The well-known default of the server's scripts, for reading legacy backups.
    pub fn legacy_default() -> Self {
        Passphrase::new(LEGACY_DEFAULT.to_owned())
    }

    /// Whether this is the well-known default passphrase.
    pub fn is_legacy_default(&self) -> bool {
        self.0.as_str() == LEGACY_DEFAULT
    }

    /// Whether the passphrase is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The passphrase text (for secure storage only; never log it).
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub(crate) fn to_password(&self) -> Password {
        Password::from(self.0.as_bytes())
    }
}

/// Why a passphrase may not encrypt new backups.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PassphraseRefused {
    /// Nothing was given.
    #[error("the passphrase is empty")]
    Empty,
    /// Server Monitor's well-known default: it protects nothing.
    #[error(
        "refusing Server Monitor's well-known default passphrase for new backups; choose your own"
    )]
    Default,
}

impl crate::KindedError for PassphraseRefused {
    fn kind(&self) -> crate::ErrorKind {
        match self {
            PassphraseRefused::Empty => crate::ErrorKind::EmptyPassphrase,
            PassphraseRefused::Default => crate::ErrorKind::DefaultPassphraseRefused,
        }
    }
}

/// The passphrase policy for new backups (storing, rotating to, creating a
/// demo with): not empty, not the scripts' default.
///
/// # Errors
/// [`PassphraseRefused`].
pub fn check_new_passphrase(passphrase: &Passphrase) -> Result<(), PassphraseRefused> {
    if passphrase.is_empty() {
        Err(PassphraseRefused::Empty)
    } else if passphrase.is_legacy_default() {
        Err(PassphraseRefused::Default)
    } else {
        Ok(())
    }
}

impl std::fmt::Debug for Passphrase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Passphrase(<redacted>)")
    }
}

/// Deflate effort inside the OpenPGP message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum Compression {
    /// No compressed packet at all (fastest, largest).
    None,
    /// Deflate level 1.
    Fast,
    /// Deflate level 2: on Server Monitor data zlib-rs at level 2 is within
    /// 4% of gpg's level-6 output (1.038x at 512 MiB) at a third of the CPU.
    #[default]
    Default,
    /// Deflate level 9.
    Best,
}

impl Compression {
    fn level(self) -> Option<u8> {
        match self {
            Compression::None => None,
            Compression::Fast => Some(1),
            Compression::Default => Some(2),
            Compression::Best => Some(9),
        }
    }

    /// The label recorded in `.meta`, e.g. `"zip-6"` or `"none"`.
    pub fn label(self) -> String {
        match self.level() {
            Some(level) => format!("zip-{level}"),
            None => "none".to_owned(),
        }
    }
}

impl std::str::FromStr for Compression {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "none" => Ok(Compression::None),
            "fast" => Ok(Compression::Fast),
            "default" => Ok(Compression::Default),
            "best" => Ok(Compression::Best),
            other => Err(format!(
                "unknown compression '{other}' (none, fast, default, best)"
            )),
        }
    }
}

/// Why encryption or decryption failed.
#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    /// No passphrase we tried opens the message.
    #[error("wrong passphrase: the backup cannot be decrypted with the passphrase given")]
    WrongPassphrase,
    /// The file ends before the message does.
    #[error("the backup file is truncated: {0}")]
    Truncated(String),
    /// The integrity check (MDC) failed: the file was altered.
    #[error("the backup file was altered or damaged: its integrity check (MDC) failed")]
    Tampered,
    /// The file is damaged in a way that stops parsing.
    #[error("the backup file is damaged: {0}")]
    Corrupt(String),
    /// Encrypted to public keys whose secret keys are not reachable here,
    /// and no passphrase given opens it.
    #[error("{}", no_key_message(key_ids, unreachable.as_deref()))]
    NoKey {
        /// The key ids the backup's public-key packets name.
        key_ids: Vec<String>,
        /// Why a place of secret keys could not be asked, if one could not.
        unreachable: Option<String>,
    },
    /// The file is not an OpenPGP message at all.
    #[error("not an encrypted backup: {0}")]
    NotOpenPgp(String),
    /// An OpenPGP message of a kind Backup Desk does not accept.
    #[error("unsupported backup format: {0}")]
    UnsupportedFormat(String),
    /// Reading or writing failed.
    #[error("{0}")]
    Io(#[source] io::Error),
    /// The caller cancelled the operation (see [`Progress::cancelled`]).
    #[error("cancelled")]
    Cancelled,
}

impl crate::KindedError for CryptoError {
    fn kind(&self) -> crate::ErrorKind {
        match self {
            CryptoError::WrongPassphrase => crate::ErrorKind::WrongPassphrase,
            CryptoError::NoKey { .. } => crate::ErrorKind::NoDecryptionKey,
            CryptoError::Truncated(_) => crate::ErrorKind::TruncatedBackup,
            CryptoError::Tampered => crate::ErrorKind::TamperedBackup,
            CryptoError::Corrupt(_) => crate::ErrorKind::CorruptBackup,
            CryptoError::NotOpenPgp(_) => crate::ErrorKind::NotOpenpgp,
            CryptoError::UnsupportedFormat(_) => crate::ErrorKind::UnsupportedFormat,
            CryptoError::Io(_) => crate::ErrorKind::Io,
            CryptoError::Cancelled => crate::ErrorKind::Cancelled,
        }
    }
}

fn no_key_message(key_ids: &[String], unreachable: Option<&str>) -> String {
    let ids = if key_ids.is_empty() {
        "hidden key ids".to_owned()
    } else {
        key_ids.join(", ")
    };
    let mut text = format!(
        "no key here opens this backup: it is encrypted to {ids}, and none of their secret keys \
         is in the keychain or gpg-agent (a passphrase, where the backup has one, did not open it either)"
    );
    if let Some(why) = unreachable {
        text.push_str(&format!("; the keychain could not be asked: {why}"));
    }
    text
}

/// Encrypts `plain` into `out` as one OpenPGP message whose literal packet is
/// named `literal_name`, in a single streaming pass. Returns the SHA-256 and
/// size of the plaintext. `total` (when known) is the plaintext size, for
/// progress.
///
/// Deflate runs on every core ([`crate::format::parallel_deflate`]) while this
/// thread reads and hashes and another encrypts and writes; memory stays
/// bounded by a few blocks in flight.
///
/// # Errors
/// [`CryptoError::Io`] when reading `plain` or writing `out` fails (a full
/// disk keeps its error kind).
pub fn encrypt<W>(
    plain: &mut dyn Read,
    out: W,
    literal_name: &str,
    sealing: &Sealing,
    compression: Compression,
    total: Option<u64>,
    progress: &dyn Progress,
) -> Result<Digested, CryptoError>
where
    W: Write + Send + Sync,
{
    let Some(level) = compression.level() else {
        let message = encryptor(Message::new(out), sealing)?;
        return write_literal(message, plain, literal_name, total, progress);
    };
    std::thread::scope(|scope| {
        let workers = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2)
            .clamp(1, 8);
        let (sink, compressed) = parallel_deflate::start(scope, u32::from(level), workers);
        let writer = scope.spawn(move || -> Result<(), CryptoError> {
            let message = encryptor(Message::new(out), sealing)?;
            let mut packet =
                ArbitraryWriter::new(message, Tag::CompressedData).map_err(openpgp_to_io)?;
            packet
                .write_all(&[u8::from(CompressionAlgorithm::Zip)])
                .map_err(CryptoError::Io)?;
            let mut reorder = Reorder::default();
            let mut finished = false;
            for block in compressed {
                for block in reorder.accept(block) {
                    packet
                        .write_all(&block.bytes.map_err(CryptoError::Io)?)
                        .map_err(CryptoError::Io)?;
                    finished |= block.last;
                }
            }
            if !finished {
                return Err(CryptoError::Io(io::Error::other(
                    "compression stopped early",
                )));
            }
            packet.finalize().map_err(openpgp_to_io)
        });
        let framed = write_literal(Message::new(sink), plain, literal_name, total, progress);
        let written = writer.join().unwrap_or_else(|_| {
            Err(CryptoError::Io(io::Error::other(
                "the encryption thread panicked",
            )))
        });
        // The writer's error (say, a full disk) is the cause of any error the
        // reading side saw when the pipeline stopped.
        written?;
        framed
    })
}

/// The encrypting layer: one public-key packet per recipient key first,
/// then the password packet (gpg tries them in that order), AES-256,
/// SEIPD v1 with MDC.
fn encryptor<'a>(message: Message<'a>, sealing: &'a Sealing) -> Result<Message<'a>, CryptoError> {
    let passwords: Vec<Password> = sealing
        .passphrase
        .iter()
        .map(Passphrase::to_password)
        .collect();
    let recipients: Vec<_> = sealing
        .recipients
        .iter()
        .flat_map(Recipient::sequoia_recipients)
        .collect();
    sealing.check_some_way_in()?;
    Encryptor::for_recipients(message, recipients)
        .add_passwords(passwords)
        .symmetric_algo(SymmetricAlgorithm::AES256)
        .build()
        .map_err(openpgp_to_io)
}

/// Writes the binary literal packet (named `literal_name`) holding `plain`
/// into `message`, hashing the plaintext on the way.
fn write_literal(
    message: Message<'_>,
    plain: &mut dyn Read,
    literal_name: &str,
    total: Option<u64>,
    progress: &dyn Progress,
) -> Result<Digested, CryptoError> {
    let mut literal = LiteralWriter::new(message)
        .format(DataFormat::Binary)
        .filename(literal_name)
        .map_err(openpgp_to_io)?
        .build()
        .map_err(openpgp_to_io)?;
    progress.start(Phase::Encrypt, total);
    let digest = SharedDigest::default();
    let mut buffer = vec![0u8; STREAM_BUFFER];
    loop {
        let n = match plain.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(CryptoError::Io(e)),
        };
        digest.update(&buffer[..n]);
        literal.write_all(&buffer[..n]).map_err(CryptoError::Io)?;
        progress.advance(n as u64);
        if progress.cancelled() {
            return Err(CryptoError::Cancelled);
        }
    }
    literal.finalize().map_err(openpgp_to_io)?;
    progress.finish();
    Ok(digest.finish())
}

/// Sequoia reports I/O failures wrapped in its own error type; keep the
/// I/O error's kind (a full disk must stay a full disk).
fn openpgp_to_io(e: openpgp::anyhow::Error) -> CryptoError {
    let kind = e
        .chain()
        .find_map(|c| c.downcast_ref::<io::Error>())
        .map(|io| io.kind())
        .unwrap_or(io::ErrorKind::Other);
    CryptoError::Io(io::Error::new(kind, e.to_string()))
}
