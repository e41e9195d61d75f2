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
        passphrase,
        compression,
        Some(data.len() as u64),
        &NoProgress,
    )
    .unwrap();
    (out, digest)
}

fn opened(cipher: &[u8], candidates: &[&Passphrase]) -> Result<(Vec<u8>, Decrypted), CryptoError> {
    let mut out = Vec::new();
    let done = decrypt(cipher, &mut out, candidates, None, &NoProgress)?;
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
    assert_eq!(done.passphrase_index, 1);
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
        &Passphrase::new("p".into()),
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
