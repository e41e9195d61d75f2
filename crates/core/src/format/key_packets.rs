//! The key packets at the head of an encrypted backup, changed without
//! touching the encrypted body: a passphrase added as a further way in
//! (one more SKESK packet for the same session key), or every way in but
//! one passphrase's removed. The body (the SEIPD packet and all after it)
//! is copied byte for byte, so the backup's content, its integrity check
//! and its plaintext SHA-256 cannot change, and no plaintext is ever
//! written. Backup Desk tries a passphrase on every SKESK packet; gpg 2.2
//! (Debian 12's, measured: "Bad session key" otherwise) reads only the
//! first, so an added passphrase goes last: `gpg -d` with the passphrase
//! the backup already had keeps working while a rotation runs, and once
//! the old packets are removed the new passphrase is the first and only.
//!
//! The same head is rewrapped to an encryption policy ([`write_rewrapped`]):
//! the session key recovered by any way in (a passphrase, a secret key),
//! and a new head written of one PKESK v3 per recipient key and, where the
//! policy keeps one, a passphrase's SKESK, before the same body.
//!
//! Invariants: the head is at most [`MAX_KEY_PACKETS`] packets of at most
//! [`MAX_PACKET`] bytes each (SKESK v4, PKESK v3, or Marker packets, which
//! are kept);
//! a packet counts as opened by a passphrase only when the body's first
//! block decrypts with the session key it yields (the quick check), never
//! on the SKESK's own say-so.

use std::fs::File;
use std::io::{self, BufReader, Cursor, Read, Seek, SeekFrom, Write};
use std::path::Path;

use openpgp::Packet;
use openpgp::crypto::S2K;
use openpgp::packet::pkesk::PKESK3;
use openpgp::packet::skesk::SKESK4;
use openpgp::packet::{PKESK, SKESK};
use openpgp::parse::Parse;
use openpgp::serialize::Serialize as _;
use openpgp::types::SymmetricAlgorithm;
use sequoia_openpgp as openpgp;

use crate::format::crypto::{
    CryptoError, OpenedSession, Openers, Passphrase, Sealing, check_passphrase, open_session,
};

/// At most this many packets before the body (a rotation adds one).
pub(crate) const MAX_KEY_PACKETS: usize = 16;
/// A key packet larger than this is not one of ours.
pub(crate) const MAX_PACKET: usize = 1024;

const TAG_PKESK: u8 = 1;
const TAG_SKESK: u8 = 3;
const TAG_MARKER: u8 = 10;

/// One packet of the head, as it is in the file.
struct RawPacket {
    tag: u8,
    bytes: Vec<u8>,
}

/// What Server Monitor's own tools can read (contract §2, §6.1, §6.9): its
/// restore (the web page, `scripts/restore-database.sh`, `POST
/// /api/database/restore`) decrypts with a passphrase only. A backup with
/// no passphrase packet (encrypted to keys alone) is to it a file it
/// cannot decrypt, and such a restore leaves a 0-byte live database.
pub const SERVER_RESTORE_NEEDS_A_PASSPHRASE: &str = "Server Monitor's own restore (its web page, scripts/restore-database.sh, POST /api/database/restore) reads only backups with a passphrase: it cannot read one encrypted to keys alone, and its failed decryption leaves an empty live database (contract §6.9)";

/// The head of an encrypted backup: its key packets, and where the body
/// starts.
pub struct KeyPackets {
    packets: Vec<RawPacket>,
    body_offset: u64,
}

impl KeyPackets {
    /// Reads the head of the backup at `path`.
    ///
    /// # Errors
    /// [`CryptoError::NotOpenPgp`] when the file does not begin with an
    /// OpenPGP packet, [`CryptoError::Corrupt`] for a head that is too
    /// long or cut short, [`CryptoError::Io`] when reading fails.
    pub fn read(path: &Path) -> Result<Self, CryptoError> {
        Self::read_from(&mut BufReader::new(
            File::open(path).map_err(CryptoError::Io)?,
        ))
    }

    /// [`KeyPackets::read`] of the bytes `file` gives (a backup's first
    /// bytes read from a server).
    ///
    /// # Errors
    /// As [`KeyPackets::read`].
    pub(crate) fn read_from(file: &mut dyn Read) -> Result<Self, CryptoError> {
        let mut packets = Vec::new();
        let mut offset = 0u64;
        loop {
            let Some((tag, header, length)) = read_header(file)? else {
                return Err(CryptoError::Truncated(
                    "the file ends before its body".into(),
                ));
            };
            if tag != TAG_SKESK && tag != TAG_PKESK && tag != TAG_MARKER {
                if packets.iter().all(|p: &RawPacket| p.tag == TAG_MARKER) {
                    return Err(CryptoError::NotOpenPgp(
                        "no key packet before the encrypted data".into(),
                    ));
                }
                return Ok(KeyPackets {
                    packets,
                    body_offset: offset,
                });
            }
            let Some(length) = length.filter(|l| *l <= MAX_PACKET) else {
                return Err(CryptoError::Corrupt(
                    "a key packet of no sensible length".into(),
                ));
            };
            if packets.len() == MAX_KEY_PACKETS {
                return Err(CryptoError::Corrupt(format!(
                    "more than {MAX_KEY_PACKETS} key packets"
                )));
            }
            let mut bytes = header;
            let start = bytes.len();
            bytes.resize(start + length, 0);
            file.read_exact(&mut bytes[start..])
                .map_err(|_| CryptoError::Truncated("a key packet is cut short".into()))?;
            offset += bytes.len() as u64;
            packets.push(RawPacket { tag, bytes });
        }
    }

    /// `head` (a backup's first bytes) with its passphrase packets left
    /// out: what a tool that would ask for a passphrase it cannot have
    /// (gpg's pinentry) is handed to open it by its public-key packets
    /// alone. `None` when `head` does not begin with key packets.
    pub(crate) fn public_key_head(head: &[u8]) -> Option<Vec<u8>> {
        let parsed = Self::read_from(&mut Cursor::new(head)).ok()?;
        let body = head.get(parsed.body_offset as usize..)?;
        let mut out: Vec<u8> = parsed
            .packets
            .iter()
            .filter(|p| p.tag == TAG_PKESK)
            .flat_map(|p| p.bytes.iter().copied())
            .collect();
        if out.is_empty() {
            return None;
        }
        out.extend_from_slice(body);
        Some(out)
    }

    /// Whether a passphrase opens the backup at all (it has a SKESK
    /// packet): without one, [`SERVER_RESTORE_NEEDS_A_PASSPHRASE`].
    pub fn has_passphrase_way_in(&self) -> bool {
        self.ways_in() > 0
    }

    /// How many passphrase (SKESK) packets the backup has.
    pub(crate) fn ways_in(&self) -> usize {
        self.packets.iter().filter(|p| p.tag == TAG_SKESK).count()
    }

    /// The key ids the public-key packets name (upper-case hex; a packet
    /// that hides its recipient is named by an empty string).
    ///
    /// # Errors
    /// [`CryptoError::Corrupt`] for a PKESK packet that does not parse.
    pub fn recipient_key_ids(&self) -> Result<Vec<String>, CryptoError> {
        self.packets
            .iter()
            .filter(|p| p.tag == TAG_PKESK)
            .map(|p| match Packet::from_bytes(&p.bytes) {
                Ok(Packet::PKESK(PKESK::V3(v3))) => Ok(v3
                    .recipient()
                    .and_then(crate::format::crypto::key_id_hex)
                    .unwrap_or_default()),
                _ => Err(CryptoError::Corrupt(
                    "a public-key packet that does not parse".into(),
                )),
            })
            .collect()
    }

    /// Where the body (the SEIPD packet and all after it) begins.
    pub fn body_offset(&self) -> u64 {
        self.body_offset
    }

    /// The backup's session key, recovered by the first of `openers` that
    /// fits one of its packets and proven on the body's first block.
    ///
    /// # Errors
    /// As [`open_session`].
    pub(crate) fn session(
        &self,
        path: &Path,
        openers: &Openers<'_>,
    ) -> Result<OpenedSession, CryptoError> {
        let head: Vec<u8> = self.packets.iter().flat_map(|p| p.bytes.clone()).collect();
        let mut body = File::open(path).map_err(CryptoError::Io)?;
        body.seek(SeekFrom::Start(self.body_offset))
            .map_err(CryptoError::Io)?;
        open_session(Cursor::new(head).chain(BufReader::new(body)), openers)
    }

    /// The positions of the SKESK packets `passphrase` opens (each proven
    /// on the body's first block).
    ///
    /// # Errors
    /// [`CryptoError::Io`] when the body cannot be read.
    fn opened_by(&self, path: &Path, passphrase: &Passphrase) -> Result<Vec<usize>, CryptoError> {
        let mut opened = Vec::new();
        for (index, packet) in self.packets.iter().enumerate() {
            if packet.tag != TAG_SKESK {
                continue;
            }
            let mut body = File::open(path).map_err(CryptoError::Io)?;
            body.seek(SeekFrom::Start(self.body_offset))
                .map_err(CryptoError::Io)?;
            let alone = Cursor::new(packet.bytes.clone()).chain(BufReader::new(body));
            match check_passphrase(alone, passphrase) {
                Ok(()) => opened.push(index),
                Err(CryptoError::WrongPassphrase) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(opened)
    }

    /// Whether `passphrase` opens the backup, and whether any other way in
    /// is left beside its own.
    ///
    /// # Errors
    /// As [`KeyPackets::opened_by`].
    pub fn access(&self, path: &Path, passphrase: &Passphrase) -> Result<Access, CryptoError> {
        let opened = self.opened_by(path, passphrase)?;
        Ok(Access {
            opens: !opened.is_empty(),
            others: self.ways_in() - opened.len(),
        })
    }
}

/// What one passphrase can do with a backup.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Access {
    /// The passphrase opens it.
    pub opens: bool,
    /// How many other passphrase packets it has.
    pub others: usize,
}

/// Writes the backup at `path` to `out` with `new` added as a way in
/// after every existing one (last: gpg 2.2 reads only the first), the
/// body copied unchanged.
///
/// # Errors
/// [`CryptoError::WrongPassphrase`] when `old` opens none of its packets
/// (nothing is written then); the head's own errors; [`CryptoError::Io`].
pub(crate) fn write_with_added(
    path: &Path,
    old: &Passphrase,
    new: &Passphrase,
    out: &mut dyn Write,
) -> Result<(), CryptoError> {
    let head = KeyPackets::read(path)?;
    let Some(&index) = head.opened_by(path, old)?.first() else {
        return Err(CryptoError::WrongPassphrase);
    };
    let skesk = match Packet::from_bytes(&head.packets[index].bytes) {
        Ok(Packet::SKESK(s)) => s,
        _ => {
            return Err(CryptoError::Corrupt(
                "a key packet that does not parse".into(),
            ));
        }
    };
    let (algo, session_key) = skesk
        .decrypt(&old.to_password())
        .map_err(|_| CryptoError::WrongPassphrase)?;
    let Some(algo) = algo else {
        return Err(CryptoError::UnsupportedFormat(
            "a key packet without a payload algorithm (SEIPD v2)".into(),
        ));
    };
    let added = SKESK4::with_password(
        algo,
        SymmetricAlgorithm::AES256,
        S2K::default(),
        &session_key,
        &new.to_password(),
    )
    .map_err(|e| CryptoError::Corrupt(e.to_string()))?;
    for packet in &head.packets {
        out.write_all(&packet.bytes).map_err(CryptoError::Io)?;
    }
    Packet::from(SKESK::V4(added))
        .serialize(out)
        .map_err(|e| CryptoError::Io(io::Error::other(e.to_string())))?;
    copy_body(path, head.body_offset, out)
}

/// Writes the backup at `path` to `out` with only the ways in `keep`
/// opens (and any Marker packet), the body copied unchanged. Returns how
/// many packets were left out.
///
/// # Errors
/// [`CryptoError::WrongPassphrase`] when `keep` opens none (nothing is
/// written then); the head's own errors; [`CryptoError::Io`].
pub(crate) fn write_keeping_only(
    path: &Path,
    keep: &Passphrase,
    out: &mut dyn Write,
) -> Result<usize, CryptoError> {
    let head = KeyPackets::read(path)?;
    let opened = head.opened_by(path, keep)?;
    if opened.is_empty() {
        return Err(CryptoError::WrongPassphrase);
    }
    let mut left_out = 0;
    for (index, packet) in head.packets.iter().enumerate() {
        if packet.tag == TAG_SKESK && !opened.contains(&index) {
            left_out += 1;
            continue;
        }
        out.write_all(&packet.bytes).map_err(CryptoError::Io)?;
    }
    copy_body(path, head.body_offset, out)?;
    Ok(left_out)
}

/// Writes the backup at `path` to `out` with a new head for `sealing`
/// (one PKESK v3 per encryption key of each recipient, then a passphrase's
/// SKESK v4 where it keeps one; Marker packets kept, every other key packet
/// left out) for the session key `session` the old head gave, and the body
/// copied unchanged.
///
/// # Errors
/// [`CryptoError::Corrupt`] when a packet cannot be made (a recipient's
/// key unusable); the head's own errors; [`CryptoError::Io`].
pub(crate) fn write_rewrapped(
    path: &Path,
    session: &OpenedSession,
    sealing: &Sealing,
    out: &mut dyn Write,
) -> Result<(), CryptoError> {
    sealing.check_some_way_in()?;
    let head = KeyPackets::read(path)?;
    let made = |e: openpgp::anyhow::Error| CryptoError::Corrupt(format!("a key packet: {e}"));
    let mut packets: Vec<Packet> = Vec::new();
    for recipient in &sealing.recipients {
        for key in recipient.encryption_keys() {
            let pkesk = PKESK3::for_recipient(session.algo, &session.key, key).map_err(made)?;
            packets.push(PKESK::V3(pkesk).into());
        }
    }
    if let Some(passphrase) = &sealing.passphrase {
        let skesk = SKESK4::with_password(
            session.algo,
            SymmetricAlgorithm::AES256,
            S2K::default(),
            &session.key,
            &passphrase.to_password(),
        )
        .map_err(made)?;
        packets.push(SKESK::V4(skesk).into());
    }
    for marker in head.packets.iter().filter(|p| p.tag == TAG_MARKER) {
        out.write_all(&marker.bytes).map_err(CryptoError::Io)?;
    }
    for packet in packets {
        packet
            .serialize(out)
            .map_err(|e| CryptoError::Io(io::Error::other(e.to_string())))?;
    }
    copy_body(path, head.body_offset, out)
}

fn copy_body(path: &Path, offset: u64, out: &mut dyn Write) -> Result<(), CryptoError> {
    let mut body = File::open(path).map_err(CryptoError::Io)?;
    body.seek(SeekFrom::Start(offset))
        .map_err(CryptoError::Io)?;
    io::copy(&mut BufReader::with_capacity(1 << 20, body), out).map_err(CryptoError::Io)?;
    Ok(())
}

/// One packet header: its tag, its bytes, and the body's length (`None`
/// for a partial or indeterminate length).
type Header = (u8, Vec<u8>, Option<usize>);

/// Reads one packet header; `Ok(None)` at the end of the file.
fn read_header(r: &mut dyn Read) -> Result<Option<Header>, CryptoError> {
    let mut first = [0u8; 1];
    if r.read(&mut first).map_err(CryptoError::Io)? == 0 {
        return Ok(None);
    }
    let ctb = first[0];
    if ctb & 0x80 == 0 {
        return Err(CryptoError::NotOpenPgp(
            "the file does not begin with an OpenPGP packet".into(),
        ));
    }
    let mut header = vec![ctb];
    let mut byte = |header: &mut Vec<u8>| -> Result<u8, CryptoError> {
        let mut b = [0u8; 1];
        r.read_exact(&mut b)
            .map_err(|_| CryptoError::Truncated("a packet header is cut short".into()))?;
        header.push(b[0]);
        Ok(b[0])
    };
    let be = |bytes: &[u8]| bytes.iter().fold(0usize, |n, b| (n << 8) | usize::from(*b));
    if ctb & 0x40 != 0 {
        let tag = ctb & 0x3f;
        let l0 = byte(&mut header)?;
        let length = match l0 {
            0..=191 => Some(usize::from(l0)),
            192..=223 => {
                Some(((usize::from(l0) - 192) << 8) + usize::from(byte(&mut header)?) + 192)
            }
            255 => {
                let mut four = [0u8; 4];
                for b in &mut four {
                    *b = byte(&mut header)?;
                }
                Some(be(&four))
            }
            _ => None,
        };
        return Ok(Some((tag, header, length)));
    }
    let tag = (ctb >> 2) & 0x0f;
    let octets = match ctb & 0x03 {
        0 => 1,
        1 => 2,
        2 => 4,
        _ => return Ok(Some((tag, header, None))),
    };
    let mut bytes = Vec::with_capacity(octets);
    for _ in 0..octets {
        bytes.push(byte(&mut header)?);
    }
    Ok(Some((tag, header, Some(be(&bytes)))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::crypto::{Compression, Openers, Sealing, decrypt, encrypt};
    use crate::progress::NoProgress;

    fn backup(dir: &Path, passphrase: &Passphrase) -> (std::path::PathBuf, Vec<u8>) {
        let plain: Vec<u8> = (0..200_000u32).flat_map(|i| i.to_le_bytes()).collect();
        let path = dir.join("b.db.gpg");
        let file = File::create(&path).unwrap();
        encrypt(
            &mut plain.as_slice(),
            file,
            "b.db",
            &Sealing::passphrase(passphrase.clone()),
            Compression::Default,
            None,
            &NoProgress,
        )
        .unwrap();
        (path, plain)
    }

    fn opens(path: &Path, p: &Passphrase) -> Option<Vec<u8>> {
        let mut out = Vec::new();
        let candidates = [p];
        decrypt(
            File::open(path).unwrap(),
            &mut out,
            &Openers::passphrases(&candidates),
            None,
            &NoProgress,
        )
        .ok()?;
        Some(out)
    }

    #[test]
    fn a_passphrase_added_then_the_old_removed_keeps_the_body_and_content() {
        let dir = tempfile::tempdir().unwrap();
        let old = Passphrase::new("the old passphrase 2026".into());
        let new = Passphrase::new("the new passphrase 2027".into());
        let (path, plain) = backup(dir.path(), &old);
        let original = std::fs::read(&path).unwrap();
        let head = KeyPackets::read(&path).unwrap();
        let body = &original[head.body_offset as usize..];

        let both = dir.path().join("both.gpg");
        write_with_added(&path, &old, &new, &mut File::create(&both).unwrap()).unwrap();
        assert_eq!(opens(&both, &old).as_deref(), Some(plain.as_slice()));
        assert_eq!(opens(&both, &new).as_deref(), Some(plain.as_slice()));
        let both_bytes = std::fs::read(&both).unwrap();
        assert!(both_bytes.ends_with(body), "the body is copied unchanged");
        let head = KeyPackets::read(&both).unwrap();
        assert_eq!(head.ways_in(), 2);
        assert_eq!(
            head.access(&both, &new).unwrap(),
            Access {
                opens: true,
                others: 1
            }
        );

        let only = dir.path().join("only.gpg");
        let left_out = write_keeping_only(&both, &new, &mut File::create(&only).unwrap()).unwrap();
        assert_eq!(left_out, 1);
        assert_eq!(opens(&only, &new).as_deref(), Some(plain.as_slice()));
        assert!(
            opens(&only, &old).is_none(),
            "the old passphrase opens it no more"
        );
        assert!(std::fs::read(&only).unwrap().ends_with(body));
        assert_eq!(
            KeyPackets::read(&only)
                .unwrap()
                .access(&only, &old)
                .unwrap(),
            Access {
                opens: false,
                others: 1
            }
        );
    }

    #[test]
    fn a_wrong_passphrase_adds_nothing_and_damaged_heads_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let old = Passphrase::new("the old passphrase 2026".into());
        let (path, _) = backup(dir.path(), &old);
        let wrong = Passphrase::new("not the passphrase".into());
        let mut out = Vec::new();
        assert!(matches!(
            write_with_added(&path, &wrong, &old, &mut out),
            Err(CryptoError::WrongPassphrase)
        ));
        assert!(out.is_empty());
        assert!(matches!(
            write_keeping_only(&path, &wrong, &mut out),
            Err(CryptoError::WrongPassphrase)
        ));
        let text = dir.path().join("text");
        std::fs::write(&text, b"SQLite format 3\0").unwrap();
        assert!(matches!(
            KeyPackets::read(&text),
            Err(CryptoError::NotOpenPgp(_))
        ));
        let short = dir.path().join("short");
        std::fs::write(&short, &std::fs::read(&path).unwrap()[..5]).unwrap();
        assert!(matches!(
            KeyPackets::read(&short),
            Err(CryptoError::Truncated(_))
        ));
    }

    #[test]
    fn a_rewrap_gives_the_policys_ways_in_and_keeps_the_body() {
        use crate::KindedError as _;
        use crate::format::crypto::tests::HeldKeys;
        use crate::format::crypto::{Recipient, armored_secret, generate_key};
        let dir = tempfile::tempdir().unwrap();
        let old = Passphrase::new("the old passphrase 2026".into());
        let (path, plain) = backup(dir.path(), &old);
        let original = std::fs::read(&path).unwrap();
        let body = &original[KeyPackets::read(&path).unwrap().body_offset as usize..];
        let (admin, recovery) = (
            generate_key("admin").unwrap(),
            generate_key("recovery").unwrap(),
        );
        let public =
            |c: &openpgp::Cert| Recipient::from_bytes(armored_secret(c).as_bytes()).unwrap();
        let candidates = [&old];
        let session = KeyPackets::read(&path)
            .unwrap()
            .session(&path, &Openers::passphrases(&candidates))
            .unwrap();
        // To two recipients, no passphrase: the old passphrase opens it no more.
        let keys_only = Sealing {
            recipients: vec![public(&admin), public(&recovery)],
            passphrase: None,
        };
        let rewrapped = dir.path().join("rewrapped.gpg");
        write_rewrapped(
            &path,
            &session,
            &keys_only,
            &mut File::create(&rewrapped).unwrap(),
        )
        .unwrap();
        let bytes = std::fs::read(&rewrapped).unwrap();
        let head = KeyPackets::read(&rewrapped).unwrap();
        assert_eq!(
            &bytes[head.body_offset as usize..],
            body,
            "the body is byte for byte the same"
        );
        let mut ids = head.recipient_key_ids().unwrap();
        ids.sort();
        let mut expected: Vec<String> = [&admin, &recovery]
            .iter()
            .flat_map(|c| public(c).encryption_key_ids())
            .collect();
        expected.sort();
        assert_eq!(ids, expected);
        assert_eq!(head.ways_in(), 0);
        assert!(!head.has_passphrase_way_in());
        assert!(
            opens(&rewrapped, &old).is_none(),
            "the old passphrase is no way in"
        );
        for key in [&admin, &recovery] {
            let held = HeldKeys(vec![key.clone()]);
            let mut out = Vec::new();
            decrypt(
                File::open(&rewrapped).unwrap(),
                &mut out,
                &Openers {
                    passphrases: &[],
                    keys: Some(&held),
                    session: None,
                },
                None,
                &NoProgress,
            )
            .unwrap();
            assert_eq!(out, plain, "each recipient opens it alone");
        }
        // Back to the admin and a new passphrase, opened by the admin's key.
        let held = HeldKeys(vec![admin.clone()]);
        let by_key = Openers {
            passphrases: &[],
            keys: Some(&held),
            session: None,
        };
        let session = head.session(&rewrapped, &by_key).unwrap();
        let new = Passphrase::new("the new passphrase 2027".into());
        let with_passphrase = Sealing {
            recipients: vec![public(&admin)],
            passphrase: Some(new.clone()),
        };
        let again = dir.path().join("again.gpg");
        write_rewrapped(
            &rewrapped,
            &session,
            &with_passphrase,
            &mut File::create(&again).unwrap(),
        )
        .unwrap();
        assert!(std::fs::read(&again).unwrap().ends_with(body));
        assert_eq!(opens(&again, &new).as_deref(), Some(plain.as_slice()));
        let stranger = HeldKeys(vec![recovery]);
        let err = KeyPackets::read(&again)
            .unwrap()
            .session(
                &again,
                &Openers {
                    passphrases: &[],
                    keys: Some(&stranger),
                    session: None,
                },
            )
            .err()
            .unwrap();
        assert_eq!(
            err.kind(),
            "no_decryption_key",
            "the removed recipient is refused: {err}"
        );
    }
}
