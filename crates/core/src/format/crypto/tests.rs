//! The OpenPGP format's round trips and refusals, on small messages in
//! memory (the `gpg` interop is proven end to end by the e2e suite).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use sha2::{Digest, Sha256};

use super::*;
use crate::KindedError;
use crate::progress::NoProgress;

fn plain() -> Vec<u8> {
    // Compressible and not: a config-like head and a pseudo-random tail.
    let mut bytes = b"CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT);\n".repeat(200);
    let mut x: u32 = 0x9e37_79b9;
    for _ in 0..40_000 {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        bytes.push(x as u8);
    }
    bytes
}

fn sealed(data: &[u8], passphrase: &Passphrase, compression: Compression) -> (Vec<u8>, Digested) {
    let mut out = Vec::new();
    let digest = encrypt(
        &mut &data[..],
        &mut out,
        "servers.db",
        &Sealing::passphrase(passphrase.clone()),
        compression,
        Some(data.len() as u64),
        &NoProgress,
    )
    .unwrap();
    (out, digest)
}

fn opened(cipher: &[u8], candidates: &[&Passphrase]) -> Result<(Vec<u8>, Decrypted), CryptoError> {
    let mut out = Vec::new();
    let done = decrypt(
        cipher,
        &mut out,
        &Openers::passphrases(candidates),
        None,
        &NoProgress,
    )?;
    Ok((out, done))
}

fn hex_sha256(bytes: &[u8]) -> String {
    format!("{:x}", Sha256::digest(bytes))
}

#[test]
fn every_compression_round_trips_and_reports_the_plaintexts_digest() {
    let data = plain();
    let p = Passphrase::new("correct horse battery staple".into());
    for compression in [
        Compression::None,
        Compression::Fast,
        Compression::Default,
        Compression::Best,
    ] {
        let (cipher, digest) = sealed(&data, &p, compression);
        assert_eq!(digest.sha256, hex_sha256(&data), "{compression:?}");
        assert_eq!(digest.size, data.len() as u64);
        let (back, done) = opened(&cipher, &[&p]).unwrap();
        assert_eq!(back, data, "{compression:?}");
        assert_eq!(done.plaintext, digest);
        assert_eq!(done.ciphertext.size, cipher.len() as u64);
        assert_eq!(done.ciphertext.sha256, hex_sha256(&cipher));
    }
}

#[test]
fn compression_makes_a_compressible_database_smaller() {
    let data = b"INSERT INTO monitoring_history VALUES (1, 'ok');\n".repeat(4000);
    let p = Passphrase::new("a passphrase".into());
    let (none, _) = sealed(&data, &p, Compression::None);
    let (fast, _) = sealed(&data, &p, Compression::Fast);
    assert!(none.len() > data.len());
    assert!(
        fast.len() * 10 < none.len(),
        "{} vs {}",
        fast.len(),
        none.len()
    );
}

#[test]
fn the_wrong_passphrase_is_told_apart_from_damage() {
    let data = plain();
    let (cipher, _) = sealed(&data, &Passphrase::new("right".into()), Compression::Fast);
    let err = opened(&cipher, &[&Passphrase::new("wrong".into())]).unwrap_err();
    assert_eq!(err.kind(), "wrong_passphrase", "{err}");
    let err = check_passphrase(&cipher[..], &Passphrase::new("wrong".into())).unwrap_err();
    assert_eq!(err.kind(), "wrong_passphrase", "{err}");
    assert!(check_passphrase(&cipher[..], &Passphrase::new("right".into())).is_ok());
}

#[test]
fn the_candidate_that_opens_the_message_is_named() {
    let data = plain();
    let right = Passphrase::new("the new one".into());
    let (cipher, _) = sealed(&data, &right, Compression::Fast);
    let old = Passphrase::new("the old one".into());
    let (_, done) = opened(&cipher, &[&old, &right]).unwrap();
    assert_eq!(done.opened_by, OpenedBy::Passphrase(1));
}

#[test]
fn a_truncated_message_is_never_taken_for_a_whole_one() {
    let data = plain();
    let p = Passphrase::new("correct horse".into());
    let (cipher, _) = sealed(&data, &p, Compression::None);
    for keep in [cipher.len() / 2, cipher.len() - 30, cipher.len() - 1] {
        let err = opened(&cipher[..keep], &[&p]).unwrap_err();
        assert_ne!(err.kind(), "wrong_passphrase", "cut at {keep}: {err}");
    }
}

#[test]
fn a_flipped_bit_in_the_body_fails_the_integrity_check() {
    let data = plain();
    let p = Passphrase::new("correct horse".into());
    let (mut cipher, _) = sealed(&data, &p, Compression::None);
    let middle = cipher.len() / 2;
    cipher[middle] ^= 0x01;
    let err = opened(&cipher, &[&p]).unwrap_err();
    assert_ne!(err.kind(), "wrong_passphrase", "{err}");
}

#[test]
fn text_that_is_no_openpgp_message_is_said_to_be_none() {
    let err = opened(
        b"SQLite format 3\0 plain database bytes",
        &[&Passphrase::new("x".into())],
    )
    .unwrap_err();
    assert!(
        matches!(
            err.kind().as_str(),
            "not_openpgp" | "corrupt" | "unsupported_format"
        ),
        "{}: {err}",
        err.kind()
    );
}

/// Progress that counts bytes and asks to stop after `after` of them.
struct StopAfter {
    after: u64,
    seen: AtomicU64,
    asked: AtomicBool,
}

impl Progress for StopAfter {
    fn start(&self, _: Phase, _: Option<u64>) {}
    fn advance(&self, bytes: u64) {
        self.seen.fetch_add(bytes, Ordering::Relaxed);
    }
    fn finish(&self) {}
    fn cancelled(&self) -> bool {
        let stop = self.seen.load(Ordering::Relaxed) >= self.after;
        self.asked.fetch_or(stop, Ordering::Relaxed);
        stop
    }
}

#[test]
fn a_stop_asked_for_cancels_encryption() {
    let data = vec![7u8; 4 << 20];
    let stop = StopAfter {
        after: 0,
        seen: AtomicU64::new(0),
        asked: AtomicBool::new(false),
    };
    let mut out = Vec::new();
    let err = encrypt(
        &mut &data[..],
        &mut out,
        "servers.db",
        &Sealing::passphrase(Passphrase::new("p".into())),
        Compression::None,
        Some(data.len() as u64),
        &stop,
    )
    .unwrap_err();
    assert_eq!(err.kind(), "cancelled", "{err}");
}

#[test]
fn a_generated_passphrase_is_long_random_and_never_the_scripts_default() {
    let a = Passphrase::generate().unwrap();
    let b = Passphrase::generate().unwrap();
    assert!(a.expose().len() >= 20, "{}", a.expose().len());
    assert_ne!(a.expose(), b.expose());
    assert!(!a.is_legacy_default());
    assert!(Passphrase::legacy_default().is_legacy_default());
    assert!(check_new_passphrase(&a).is_ok());
}

/// Secret keys held in memory, by key id.
pub(crate) struct HeldKeys(pub(crate) Vec<openpgp::Cert>);

impl SecretKeys for HeldKeys {
    fn secret_key(&self, key_id: &str) -> Result<Option<openpgp::Cert>, String> {
        Ok(self
            .0
            .iter()
            .find(|c| c.keys().any(|k| k.key().keyid().to_hex() == key_id))
            .cloned())
    }
}

pub(crate) fn sealed_to(data: &[u8], sealing: &Sealing) -> Vec<u8> {
    let mut out = Vec::new();
    encrypt(
        &mut &data[..],
        &mut out,
        "servers.db",
        sealing,
        Compression::Fast,
        None,
        &NoProgress,
    )
    .unwrap();
    out
}

fn opened_by(
    cipher: &[u8],
    passphrases: &[&Passphrase],
    keys: &HeldKeys,
) -> Result<Decrypted, CryptoError> {
    let mut out = Vec::new();
    let openers = Openers {
        passphrases,
        keys: Some(keys),
        session: None,
    };
    let done = decrypt(cipher, &mut out, &openers, None, &NoProgress)?;
    assert_eq!(out, plain());
    Ok(done)
}

#[test]
fn each_recipient_and_the_passphrase_open_a_sealed_backup_alone() {
    let data = plain();
    let (admin, recovery) = (
        generate_key("admin").unwrap(),
        generate_key("recovery").unwrap(),
    );
    let public = |c: &openpgp::Cert| Recipient::from_bytes(armored_secret(c).as_bytes()).unwrap();
    let passphrase = Passphrase::new("recovery passphrase".into());
    let sealing = Sealing {
        recipients: vec![public(&admin), public(&recovery)],
        passphrase: Some(passphrase.clone()),
    };
    let cipher = sealed_to(&data, &sealing);
    let admin_id = public(&admin).encryption_key_ids()[0].clone();
    let done = opened_by(&cipher, &[], &HeldKeys(vec![admin.clone()])).unwrap();
    assert_eq!(done.opened_by, OpenedBy::Key(admin_id));
    assert!(opened_by(&cipher, &[], &HeldKeys(vec![recovery])).is_ok());
    let done = opened_by(&cipher, &[&passphrase], &HeldKeys(vec![])).unwrap();
    assert_eq!(done.opened_by, OpenedBy::Passphrase(0));
    // A stranger's key and a wrong passphrase open nothing, and say which keys would.
    let stranger = generate_key("stranger").unwrap();
    let wrong = Passphrase::new("wrong".into());
    let err = opened_by(&cipher, &[&wrong], &HeldKeys(vec![stranger])).unwrap_err();
    assert_eq!(err.kind(), "wrong_passphrase", "{err}");
    let only_keys = sealed_to(
        &data,
        &Sealing {
            passphrase: None,
            ..sealing
        },
    );
    let err = opened_by(&only_keys, &[&wrong], &HeldKeys(vec![])).unwrap_err();
    assert_eq!(err.kind(), "no_decryption_key", "{err}");
    assert!(
        err.to_string()
            .contains(&public(&admin).encryption_key_ids()[0]),
        "{err}"
    );
}

#[test]
fn a_recipient_never_keeps_secret_parts_and_a_signing_only_cert_is_refused() {
    let key = generate_key("admin <a@example.org>").unwrap();
    let recipient = Recipient::from_bytes(armored_secret(&key).as_bytes()).unwrap();
    assert!(!recipient.armored().contains("PRIVATE"));
    assert_eq!(
        recipient.user_id().as_deref(),
        Some("admin <a@example.org>")
    );
    let (signing_only, _) = openpgp::cert::CertBuilder::new()
        .add_userid("signer")
        .add_signing_subkey()
        .generate()
        .unwrap();
    let armored = armored_secret(&signing_only);
    let err = Recipient::from_bytes(armored.as_bytes()).unwrap_err();
    assert!(matches!(err, KeyError::NoEncryptionKey(_)), "{err}");
    assert!(Recipient::from_bytes(b"not a key").is_err());
}
