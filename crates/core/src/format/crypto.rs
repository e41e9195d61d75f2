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
    passphrase: &Passphrase,
    compression: Compression,
    total: Option<u64>,
    progress: &dyn Progress,
) -> Result<Digested, CryptoError>
where
    W: Write + Send + Sync,
{
    let Some(level) = compression.level() else {
        let message = encryptor(Message::new(out), passphrase)?;
        return write_literal(message, plain, literal_name, total, progress);
    };
    std::thread::scope(|scope| {
        let workers = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2)
            .clamp(1, 8);
        let (sink, compressed) = parallel_deflate::start(scope, u32::from(level), workers);
        let writer = scope.spawn(move || -> Result<(), CryptoError> {
            let message = encryptor(Message::new(out), passphrase)?;
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

fn encryptor<'a>(
    message: Message<'a>,
    passphrase: &Passphrase,
) -> Result<Message<'a>, CryptoError> {
    Encryptor::with_passwords(message, Some(passphrase.to_password()))
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

/// The result of a successful decryption.
#[derive(Debug, Clone)]
pub struct Decrypted {
    /// SHA-256 and size of the plaintext.
    pub plaintext: Digested,
    /// SHA-256 and size of the ciphertext as read.
    pub ciphertext: Digested,
    /// Index into the candidate passphrases of the one that worked.
    pub passphrase_index: usize,
}

#[derive(Default)]
struct HelperState {
    saw_skesk: bool,
    saw_v6: bool,
    /// Encrypted to public keys only, without a passphrase.
    public_key_only: bool,
    opened_with: Option<usize>,
    /// The file's first byte, once read: an OpenPGP packet header has its
    /// high bit set, so a text, gzip or SQLite file is told apart from a
    /// cut-short backup.
    /// (A cell of its own: the reader sets it while the decryptor may hold
    /// this state's lock in a callback.)
    first_byte: Arc<std::sync::OnceLock<u8>>,
}

impl HelperState {
    /// The file began with something no OpenPGP message (binary or
    /// armored) begins with.
    fn began_foreign(&self) -> bool {
        !self.saw_skesk && matches!(self.first_byte.get(), Some(&b) if b & 0x80 == 0 && b != b'-')
    }
}

struct Helper<'p> {
    candidates: &'p [&'p Passphrase],
    state: Arc<Mutex<HelperState>>,
}

impl VerificationHelper for Helper<'_> {
    fn get_certs(&mut self, _: &[openpgp::KeyHandle]) -> openpgp::Result<Vec<openpgp::Cert>> {
        Ok(Vec::new())
    }
    fn check(&mut self, _: MessageStructure) -> openpgp::Result<()> {
        Ok(())
    }
}

impl DecryptionHelper for Helper<'_> {
    fn decrypt(
        &mut self,
        pkesks: &[PKESK],
        skesks: &[SKESK],
        _sym_algo: Option<SymmetricAlgorithm>,
        decrypt: &mut dyn FnMut(Option<SymmetricAlgorithm>, &SessionKey) -> bool,
    ) -> openpgp::Result<Option<openpgp::Cert>> {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.saw_skesk = !skesks.is_empty();
        if skesks.is_empty() && !pkesks.is_empty() {
            state.public_key_only = true;
            return Err(openpgp::Error::InvalidOperation("public-key encryption".into()).into());
        }
        if skesks.iter().any(|s| matches!(s, SKESK::V6(_))) {
            state.saw_v6 = true;
            return Err(openpgp::Error::InvalidOperation("SEIPD v2".into()).into());
        }
        for (index, candidate) in self.candidates.iter().enumerate() {
            let password = candidate.to_password();
            for skesk in skesks {
                if let Ok((algo, key)) = skesk.decrypt(&password)
                    && decrypt(algo, &key)
                {
                    state.opened_with = Some(index);
                    return Ok(None);
                }
            }
        }
        Err(openpgp::Error::InvalidPassword.into())
    }
}

/// Decrypts the OpenPGP message read from `ciphertext` into `sink`, trying
/// each candidate passphrase in order. Streams with a bounded buffer; the
/// data written to `sink` is only trustworthy once this returns `Ok` (the
/// MDC is checked at the end).
///
/// # Errors
/// [`CryptoError::WrongPassphrase`] when no candidate opens it;
/// [`CryptoError::UnsupportedFormat`] for SEIPD v2/AEAD or public-key
/// messages; [`CryptoError::Truncated`], [`CryptoError::Tampered`],
/// [`CryptoError::Corrupt`], [`CryptoError::NotOpenPgp`] for damaged or
/// foreign files; [`CryptoError::Io`] when writing to `sink` fails.
pub fn decrypt<R>(
    ciphertext: R,
    sink: &mut dyn Write,
    candidates: &[&Passphrase],
    total: Option<u64>,
    progress: &dyn Progress,
) -> Result<Decrypted, CryptoError>
where
    R: Read + Send + Sync,
{
    let cipher_digest = SharedDigest::default();
    let state = Arc::new(Mutex::new(HelperState::default()));
    let helper = Helper {
        candidates,
        state: state.clone(),
    };
    progress.start(Phase::Decrypt, total);
    // This thread decrypts and inflates; the caller's thread hashes the
    // plaintext and writes it out, so the two run on separate cores.
    let plain_digest = SharedDigest::default();
    std::thread::scope(|scope| -> Result<(), CryptoError> {
        let (blocks_tx, blocks_rx) = std::sync::mpsc::sync_channel::<Block>(8);
        // Plaintext buffers go back to the decrypting thread for reuse.
        let (spare_tx, spare_rx) = std::sync::mpsc::channel::<Vec<u8>>();
        let reader = ForwardingReader {
            inner: ciphertext,
            tx: blocks_tx.clone(),
            first_byte: state
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .first_byte
                .clone(),
        };
        let state = &state;
        let decrypting =
            scope.spawn(move || decrypt_blocks(reader, helper, state, blocks_tx, spare_rx));
        // Hash both streams here, off the decrypting core.
        let digests = (&cipher_digest, &plain_digest);
        let written = write_blocks(blocks_rx, sink, digests, &spare_tx, progress);
        let decrypted = decrypting.join().unwrap_or_else(|_| {
            Err(CryptoError::Io(io::Error::other(
                "the decryption thread panicked",
            )))
        });
        decrypted?;
        written
    })?;
    progress.finish();
    let opened_with = state
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .opened_with
        .ok_or_else(|| CryptoError::UnsupportedFormat("the message is not encrypted".into()))?;
    Ok(Decrypted {
        plaintext: plain_digest.finish(),
        ciphertext: cipher_digest.finish(),
        passphrase_index: opened_with,
    })
}

/// The decrypting thread: the message opened with the first candidate that
/// fits, its plaintext sent on in blocks (buffers come back for reuse);
/// ends when the plaintext does or the other side stopped listening.
fn decrypt_blocks<R: Read + Send + Sync>(
    reader: ForwardingReader<R>,
    helper: Helper<'_>,
    state: &Arc<Mutex<HelperState>>,
    blocks_tx: std::sync::mpsc::SyncSender<Block>,
    spare_rx: std::sync::mpsc::Receiver<Vec<u8>>,
) -> Result<(), CryptoError> {
    let policy = StandardPolicy::new();
    let mut decryptor = DecryptorBuilder::from_reader(reader)
        .map_err(|e| classify(&e, state))?
        .buffer_size(DECRYPT_BUFFER)
        .with_policy(&policy, None, helper)
        .map_err(|e| classify(&e, state))?;
    loop {
        let mut block = spare_rx
            .try_recv()
            .unwrap_or_else(|_| Vec::with_capacity(STREAM_BUFFER));
        block.resize(STREAM_BUFFER, 0);
        let mut filled = 0;
        while filled < block.len() {
            match decryptor.read(&mut block[filled..]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(classify_io(e, state)),
            }
        }
        if filled == 0 {
            return Ok(());
        }
        block.truncate(filled);
        if blocks_tx.send(Block::Plain(block)).is_err() {
            return Ok(());
        }
    }
}

/// The caller's thread: the ciphertext hashed (and counted as progress,
/// where a cancel is noticed), the plaintext hashed and written to `sink`.
fn write_blocks(
    blocks_rx: std::sync::mpsc::Receiver<Block>,
    sink: &mut dyn Write,
    (cipher_digest, plain_digest): (&SharedDigest, &SharedDigest),
    spare_tx: &std::sync::mpsc::Sender<Vec<u8>>,
    progress: &dyn Progress,
) -> Result<(), CryptoError> {
    for block in blocks_rx {
        match block {
            Block::Cipher(bytes) => {
                cipher_digest.update(&bytes);
                progress.advance(bytes.len() as u64);
                if progress.cancelled() {
                    return Err(CryptoError::Cancelled);
                }
            }
            Block::Plain(bytes) => {
                plain_digest.update(&bytes);
                sink.write_all(&bytes).map_err(CryptoError::Io)?;
                let _ = spare_tx.send(bytes);
            }
        }
    }
    Ok(())
}

/// What the decrypting thread hands to the hashing one.
enum Block {
    /// Bytes of the `.gpg` file as read.
    Cipher(Vec<u8>),
    /// Decrypted, decompressed plaintext.
    Plain(Vec<u8>),
}

/// Passes a copy of everything read on to the hashing thread.
struct ForwardingReader<R> {
    inner: R,
    tx: std::sync::mpsc::SyncSender<Block>,
    first_byte: Arc<std::sync::OnceLock<u8>>,
}

impl<R: Read> Read for ForwardingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n > 0 {
            let _ = self.first_byte.set(buf[0]);
            // A closed channel means the consumer stopped; reading goes on
            // so the decryptor reports its own state.
            let _ = self.tx.send(Block::Cipher(buf[..n].to_vec()));
        }
        Ok(n)
    }
}

fn classify_io(e: io::Error, state: &Arc<Mutex<HelperState>>) -> CryptoError {
    if e.kind() == io::ErrorKind::UnexpectedEof {
        return truncated_or_foreign(e.to_string(), state);
    }
    match e.get_ref() {
        Some(inner) => {
            if let Some(pgp) = inner.downcast_ref::<openpgp::Error>() {
                return classify_openpgp(pgp, state);
            }
            CryptoError::Corrupt(e.to_string())
        }
        None => CryptoError::Io(e),
    }
}

/// An end of file before the message ended: a cut-short backup, unless the
/// file never began like OpenPGP at all.
fn truncated_or_foreign(message: String, state: &Arc<Mutex<HelperState>>) -> CryptoError {
    let st = state.lock().unwrap_or_else(|e| e.into_inner());
    if st.began_foreign() {
        CryptoError::NotOpenPgp(not_a_packet(&message))
    } else {
        CryptoError::Truncated(message)
    }
}

fn not_a_packet(detail: &str) -> String {
    format!(
        "it does not begin with an OpenPGP packet (is it a plain or other kind of file?): {detail}"
    )
}

fn classify(e: &openpgp::anyhow::Error, state: &Arc<Mutex<HelperState>>) -> CryptoError {
    for err in e.chain() {
        if let Some(pgp) = err.downcast_ref::<openpgp::Error>() {
            return classify_openpgp(pgp, state);
        }
        if let Some(io_err) = err.downcast_ref::<io::Error>()
            && io_err.kind() == io::ErrorKind::UnexpectedEof
        {
            return truncated_or_foreign(io_err.to_string(), state);
        }
    }
    let st = state.lock().unwrap_or_else(|e| e.into_inner());
    if !st.saw_skesk {
        return CryptoError::NotOpenPgp(e.to_string());
    }
    CryptoError::Corrupt(e.to_string())
}

fn classify_openpgp(e: &openpgp::Error, state: &Arc<Mutex<HelperState>>) -> CryptoError {
    let st = state.lock().unwrap_or_else(|e| e.into_inner());
    if st.public_key_only {
        return CryptoError::UnsupportedFormat(
            "the message is encrypted to a public key, not with a passphrase; Server Monitor backups are passphrase-encrypted (gpg -c)".into(),
        );
    }
    if st.saw_v6 {
        return CryptoError::UnsupportedFormat(
            "SEIPD v2 / AEAD encryption, which gpg 2.2 cannot read; Backup Desk only accepts SEIPD v1 (MDC)".into(),
        );
    }
    match e {
        openpgp::Error::InvalidPassword => CryptoError::WrongPassphrase,
        openpgp::Error::ManipulatedMessage => CryptoError::Tampered,
        openpgp::Error::MalformedPacket(m) | openpgp::Error::MalformedMessage(m)
            if m.contains("runcated") || m.contains("EOF") =>
        {
            if st.began_foreign() {
                CryptoError::NotOpenPgp(not_a_packet(m))
            } else {
                CryptoError::Truncated(m.clone())
            }
        }
        other if !st.saw_skesk => CryptoError::NotOpenPgp(other.to_string()),
        other => CryptoError::Corrupt(other.to_string()),
    }
}

/// Checks that `passphrase` opens the OpenPGP message read from
/// `ciphertext`, decrypting only its first block (fast, whatever the size).
///
/// # Errors
/// [`CryptoError::WrongPassphrase`] when it does not; the other variants for
/// damaged or foreign files.
pub fn check_passphrase<R>(ciphertext: R, passphrase: &Passphrase) -> Result<(), CryptoError>
where
    R: Read + Send + Sync,
{
    let state = Arc::new(Mutex::new(HelperState::default()));
    let candidates = [passphrase];
    let helper = Helper {
        candidates: &candidates,
        state: state.clone(),
    };
    let policy = StandardPolicy::new();
    let mut decryptor = DecryptorBuilder::from_reader(ciphertext)
        .map_err(|e| classify(&e, &state))?
        .buffer_size(64 * 1024)
        .with_policy(&policy, None, helper)
        .map_err(|e| classify(&e, &state))?;
    match io::copy(&mut (&mut decryptor).take(16), &mut io::sink()) {
        Ok(_) => Ok(()),
        Err(e) => Err(classify_io(e, &state)),
    }
}
