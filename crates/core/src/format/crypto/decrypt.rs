//! Decryption: the message streamed through sequoia with a bounded
//! buffer, each candidate passphrase tried on every key packet, and every
//! way a file can fail to be a backup of ours told apart (truncated,
//! altered, damaged, foreign, unsupported, wrong passphrase).

use super::*;

/// The result of a successful decryption.
#[derive(Debug, Clone)]
pub struct Decrypted {
    /// SHA-256 and size of the plaintext.
    pub plaintext: Digested,
    /// SHA-256 and size of the ciphertext as read.
    pub ciphertext: Digested,
    /// The way in that opened it.
    pub opened_by: OpenedBy,
}

/// The way in that opened a backup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OpenedBy {
    /// The candidate passphrase at this index.
    Passphrase(usize),
    /// The secret key of this key id (upper-case hex).
    Key(String),
    /// The session key handed over for this one backup (by a laptop that
    /// holds a key, to a server that holds none).
    GivenSessionKey,
}

impl Decrypted {
    /// The index of the passphrase that opened it, if one did.
    pub fn passphrase_index(&self) -> Option<usize> {
        match self.opened_by {
            OpenedBy::Passphrase(index) => Some(index),
            OpenedBy::Key(_) | OpenedBy::GivenSessionKey => None,
        }
    }
}

#[derive(Default)]
struct HelperState {
    saw_skesk: bool,
    saw_v6: bool,
    /// The key ids of the public-key packets when none could be opened.
    keys_missing: Option<Vec<String>>,
    /// Why a place of secret keys could not be asked.
    keys_unreachable: Option<String>,
    opened_with: Option<OpenedBy>,
    /// The session key that opened the body, kept for a rewrap.
    session_key: Option<(SymmetricAlgorithm, SessionKey)>,
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
    openers: Openers<'p>,
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
        sym_algo: Option<SymmetricAlgorithm>,
        decrypt: &mut dyn FnMut(Option<SymmetricAlgorithm>, &SessionKey) -> bool,
    ) -> openpgp::Result<Option<openpgp::Cert>> {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.saw_skesk = !skesks.is_empty() || !pkesks.is_empty();
        if skesks.iter().any(|s| matches!(s, SKESK::V6(_)))
            || pkesks.iter().any(|p| matches!(p, PKESK::V6(_)))
        {
            state.saw_v6 = true;
            return Err(openpgp::Error::InvalidOperation("SEIPD v2".into()).into());
        }
        if let Some(given) = self.openers.session
            && decrypt(Some(given.algo), &given.key)
        {
            state.opened_with = Some(OpenedBy::GivenSessionKey);
            state.session_key = Some((given.algo, given.key.clone()));
            return Ok(None);
        }
        for (index, candidate) in self.openers.passphrases.iter().enumerate() {
            let password = candidate.to_password();
            for skesk in skesks {
                if let Ok((algo, key)) = skesk.decrypt(&password)
                    && decrypt(algo, &key)
                {
                    state.opened_with = Some(OpenedBy::Passphrase(index));
                    state.session_key = algo.map(|algo| (algo, key));
                    return Ok(None);
                }
            }
        }
        if let Some(opened) = self.open_with_keys(pkesks, sym_algo, decrypt, &mut state) {
            state.opened_with = Some(opened);
            return Ok(None);
        }
        if !pkesks.is_empty() && (skesks.is_empty() || self.openers.passphrases.is_empty()) {
            state.keys_missing = Some(pkesks.iter().filter_map(pkesk_key_id).collect());
        }
        Err(openpgp::Error::InvalidPassword.into())
    }
}

impl Helper<'_> {
    /// Each public-key packet tried with the secret key its key id finds
    /// (a wildcard packet with every key found for the others).
    fn open_with_keys(
        &self,
        pkesks: &[PKESK],
        sym_algo: Option<SymmetricAlgorithm>,
        decrypt: &mut dyn FnMut(Option<SymmetricAlgorithm>, &SessionKey) -> bool,
        state: &mut HelperState,
    ) -> Option<OpenedBy> {
        let keys = self.openers.keys?;
        for pkesk in pkesks {
            let Some(key_id) = pkesk_key_id(pkesk) else {
                continue;
            };
            let cert = match keys.secret_key(&key_id) {
                Ok(Some(cert)) => cert,
                Ok(None) => continue,
                Err(why) => {
                    state.keys_unreachable = Some(why);
                    continue;
                }
            };
            for key in cert.keys().secret() {
                if key.key().keyid().to_hex() != key_id {
                    continue;
                }
                let Ok(mut pair) = key.key().clone().into_keypair() else {
                    continue;
                };
                if let Some((algo, session_key)) = pkesk.decrypt(&mut pair, sym_algo)
                    && decrypt(algo, &session_key)
                {
                    state.session_key = algo.or(sym_algo).map(|algo| (algo, session_key));
                    return Some(OpenedBy::Key(key_id));
                }
            }
        }
        None
    }
}

/// The key id a public-key packet names (upper-case hex), if not hidden.
fn pkesk_key_id(pkesk: &PKESK) -> Option<String> {
    match pkesk {
        PKESK::V3(v3) => v3.recipient().and_then(super::keys::key_id_hex),
        _ => None,
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
    openers: &Openers<'_>,
    total: Option<u64>,
    progress: &dyn Progress,
) -> Result<Decrypted, CryptoError>
where
    R: Read + Send + Sync,
{
    let cipher_digest = SharedDigest::default();
    let state = Arc::new(Mutex::new(HelperState::default()));
    let helper = Helper {
        openers: *openers,
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
        .take()
        .ok_or_else(|| CryptoError::UnsupportedFormat("the message is not encrypted".into()))?;
    Ok(Decrypted {
        plaintext: plain_digest.finish(),
        ciphertext: cipher_digest.finish(),
        opened_by: opened_with,
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
    if let Some(key_ids) = &st.keys_missing {
        return CryptoError::NoKey {
            key_ids: key_ids.clone(),
            unreachable: st.keys_unreachable.clone(),
        };
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

/// A backup's session key, recovered by one of its ways in and proven on
/// the body's first block. It opens that one backup and nothing else: what
/// a laptop holding a key hands a server's engine (on the channel's stdin)
/// so the server decrypts the backup without ever holding a secret key.
pub struct OpenedSession {
    /// The body's cipher.
    pub(crate) algo: SymmetricAlgorithm,
    /// The key the body is encrypted with.
    pub(crate) key: SessionKey,
}

impl std::fmt::Debug for OpenedSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "OpenedSession({}, key hidden)", self.algo)
    }
}

impl OpenedSession {
    /// As text, `ALGO:HEX` (gpg's `--override-session-key` form: the
    /// cipher's OpenPGP number, then the key).
    pub fn to_text(&self) -> Zeroizing<String> {
        Zeroizing::new(format!(
            "{}:{}",
            u8::from(self.algo),
            openpgp::fmt::hex::encode(&self.key[..])
        ))
    }

    /// Reads [`OpenedSession::to_text`]'s form.
    ///
    /// # Errors
    /// [`CryptoError::Corrupt`] for text that is not `ALGO:HEX` of a cipher
    /// we write and a key of its size.
    pub fn parse(text: &str) -> Result<Self, CryptoError> {
        let bad = || CryptoError::Corrupt("a handed-over session key is not ALGO:HEX".into());
        let (algo, hex) = text.trim().split_once(':').ok_or_else(bad)?;
        let algo = SymmetricAlgorithm::from(algo.parse::<u8>().map_err(|_| bad())?);
        let bytes = Zeroizing::new(openpgp::fmt::hex::decode(hex).map_err(|_| bad())?);
        if !algo.is_supported() || algo.key_size().ok() != Some(bytes.len()) {
            return Err(bad());
        }
        Ok(OpenedSession {
            algo,
            key: SessionKey::from(&bytes[..]),
        })
    }
}

/// The session key of a message of which only `head` is at hand (its key
/// packets and the body's first bytes, read from a server), recovered by
/// the first of `openers` that fits and proven by the body's quick check
/// (the two repeated bytes after SEIPD v1's first block, which sequoia
/// checks before it accepts a key): the rest of the message is not needed.
///
/// # Errors
/// As [`open_session`], for a head that holds no way in the openers fit.
pub(crate) fn session_of_head(
    head: &[u8],
    openers: &Openers<'_>,
) -> Result<OpenedSession, CryptoError> {
    let state = Arc::new(Mutex::new(HelperState::default()));
    let helper = Helper {
        openers: *openers,
        state: state.clone(),
    };
    let policy = StandardPolicy::new();
    let opened = DecryptorBuilder::from_bytes(head)
        .and_then(|b| b.buffer_size(16 * 1024).with_policy(&policy, None, helper));
    // Cut short by design: what counts is whether a key was accepted.
    let recorded = state
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .session_key
        .take();
    match (recorded, opened) {
        (Some((algo, key)), _) => Ok(OpenedSession { algo, key }),
        (None, Err(e)) => Err(classify(&e, &state)),
        (None, Ok(_)) => Err(CryptoError::UnsupportedFormat(
            "a key packet without a payload algorithm (SEIPD v2)".into(),
        )),
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
    let candidates = [passphrase];
    open_session(ciphertext, &Openers::passphrases(&candidates)).map(|_| ())
}

/// The session key of the message read from `ciphertext`, recovered by
/// the first of `openers` that fits and proven by decrypting only the
/// body's first block (fast, whatever the size). Nothing of the plaintext
/// leaves this function.
///
/// # Errors
/// [`CryptoError::WrongPassphrase`] or [`CryptoError::NoKey`] when no way
/// in fits; the other variants for damaged or foreign files.
pub(crate) fn open_session<R>(
    ciphertext: R,
    openers: &Openers<'_>,
) -> Result<OpenedSession, CryptoError>
where
    R: Read + Send + Sync,
{
    let state = Arc::new(Mutex::new(HelperState::default()));
    let helper = Helper {
        openers: *openers,
        state: state.clone(),
    };
    let policy = StandardPolicy::new();
    let mut decryptor = DecryptorBuilder::from_reader(ciphertext)
        .map_err(|e| classify(&e, &state))?
        .buffer_size(64 * 1024)
        .with_policy(&policy, None, helper)
        .map_err(|e| classify(&e, &state))?;
    if let Err(e) = io::copy(&mut (&mut decryptor).take(16), &mut io::sink()) {
        return Err(classify_io(e, &state));
    }
    drop(decryptor);
    let session = state
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .session_key
        .take();
    session
        .map(|(algo, key)| OpenedSession { algo, key })
        .ok_or_else(|| {
            CryptoError::UnsupportedFormat(
                "a key packet without a payload algorithm (SEIPD v2)".into(),
            )
        })
}
