//! Passphrase rotation: re-encrypt every local encrypted backup under a new
//! passphrase. For each backup: decrypt with the old passphrase into the
//! private staging folder, check the plaintext against `.meta`, encrypt
//! under the new passphrase (the plaintext hash must come out the same),
//! then swap atomically (new `.meta` and `.gpg` written under temporary
//! names, renamed into place). Resumable: a backup that already opens with
//! the new passphrase is not touched again (its `.meta` is repaired if a
//! crash came between the two renames). A backup the old passphrase does
//! not open is reported and left alone.

use std::io::{BufReader, BufWriter, Write};

use serde::Serialize;

use crate::KindedError;
use crate::clock::Clock;
use crate::format::crypto::{self, Compression, CryptoError, Passphrase};
use crate::format::hashing::{HashingWriter, SharedDigest, digest_file};
use crate::format::meta::BackupMeta;
use crate::local::catalog::{BackupCatalog, CatalogEntry, CatalogError};
use crate::local::layout::DataDir;
use crate::local::lock::{LockError, OperationLock};
use crate::local::staging::Staging;
use crate::progress::{NoProgress, Progress};
use crate::publish::{PartFile, create_private_file, part_path, sync_dir};

/// Why rotation could not run at all (per-backup problems are reported in
/// the [`RotationReport`] instead).
#[derive(Debug, thiserror::Error)]
pub enum RotationError {
    /// Another operation runs on this data directory.
    #[error(transparent)]
    Lock(#[from] LockError),
    /// The backup folder cannot be read.
    #[error(transparent)]
    Catalog(#[from] CatalogError),
    /// The new passphrase is refused by the policy for new backups.
    #[error("unusable new passphrase: {0}")]
    Refused(#[from] crate::format::crypto::PassphraseRefused),
    /// The new passphrase is the same as the old one.
    #[error("unusable new passphrase: {0}")]
    UnusableNewPassphrase(&'static str),
    /// The staging folder cannot be used.
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

impl KindedError for RotationError {
    fn kind(&self) -> crate::ErrorKind {
        match self {
            RotationError::Lock(e) => e.kind(),
            RotationError::Catalog(e) => e.kind(),
            RotationError::Refused(e) => e.kind(),
            RotationError::UnusableNewPassphrase(_) => crate::ErrorKind::SamePassphrase,
            RotationError::Io { .. } => crate::ErrorKind::Io,
        }
    }
}

/// A backup rotation left alone, and why.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Skipped {
    pub filename: String,
    /// Error kind, e.g. `wrong_passphrase`.
    pub kind: crate::ErrorKind,
    pub message: String,
}

/// What a rotation did.
#[derive(Debug, Clone, Default, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct RotationReport {
    /// Re-encrypted under the new passphrase by this run.
    pub rotated: Vec<String>,
    /// Already under the new passphrase (an earlier, interrupted run).
    pub already_rotated: Vec<String>,
    /// Left alone, with the reason.
    pub skipped: Vec<Skipped>,
}

impl RotationReport {
    /// Whether every encrypted backup now opens with the new passphrase.
    pub fn complete(&self) -> bool {
        self.skipped.is_empty()
    }
}

/// Re-encrypts every encrypted backup from `old` to `new`.
///
/// # Errors
/// [`RotationError`] when rotation cannot start; per-backup failures are in
/// the report and leave that backup untouched.
pub fn rotate(
    data: &DataDir,
    old: &Passphrase,
    new: &Passphrase,
    clock: &dyn Clock,
    progress: &dyn Progress,
) -> Result<RotationReport, RotationError> {
    crate::format::crypto::check_new_passphrase(new)?;
    if new.expose() == old.expose() {
        return Err(RotationError::UnusableNewPassphrase(
            "it is the same as the old one",
        ));
    }
    let _lock = OperationLock::acquire(data)?;
    let staging = Staging::open(data).map_err(|source| RotationError::Io {
        path: data.staging().display().to_string(),
        source,
    })?;
    crate::local::backup::remove_leftovers(data, &staging);
    let catalog = BackupCatalog::scan(data)?;
    let mut report = RotationReport::default();
    for entry in catalog
        .entries()
        .iter()
        .filter(|e| e.name.kind().is_encrypted())
    {
        let name = entry.name.file_name().to_owned();
        let opens_with_new = std::fs::File::open(&entry.path)
            .map(|f| crypto::check_passphrase(BufReader::new(f), new).is_ok())
            .unwrap_or(false);
        let outcome = if opens_with_new {
            repair_meta(data, entry, new).map(|()| false)
        } else {
            reencrypt(data, &staging, entry, old, new, progress).map(|()| true)
        };
        match outcome {
            Ok(true) => report.rotated.push(name),
            Ok(false) => report.already_rotated.push(name),
            Err(e) => report.skipped.push(Skipped {
                filename: name,
                kind: e.kind(),
                message: e.to_string(),
            }),
        }
    }
    let log = crate::local::activity_log::ActivityLog::backup(data);
    log.append(
        clock,
        if report.complete() {
            crate::local::activity_log::Level::Info
        } else {
            crate::local::activity_log::Level::Warning
        },
        &format!(
            "Passphrase rotation: {} re-encrypted, {} already rotated, {} left alone",
            report.rotated.len(),
            report.already_rotated.len(),
            report.skipped.len()
        ),
    );
    Ok(report)
}

/// A per-backup failure.
#[derive(Debug, thiserror::Error)]
enum BackupRotationError {
    #[error(transparent)]
    Crypto(#[from] CryptoError),
    #[error("the decrypted snapshot does not match its .meta ({0})")]
    ChecksumMismatch(String),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

impl KindedError for BackupRotationError {
    fn kind(&self) -> crate::ErrorKind {
        match self {
            BackupRotationError::Crypto(e) => e.kind(),
            BackupRotationError::ChecksumMismatch(_) => crate::ErrorKind::ChecksumMismatch,
            BackupRotationError::Io(_) => crate::ErrorKind::Io,
        }
    }
}

fn reencrypt(
    data: &DataDir,
    staging: &Staging,
    entry: &CatalogEntry,
    old: &Passphrase,
    new: &Passphrase,
    progress: &dyn Progress,
) -> Result<(), BackupRotationError> {
    let staged = staging.file("rotate.db");
    let decrypted = {
        let mut out = BufWriter::new(create_private_file(staged.path())?);
        let file = std::fs::File::open(&entry.path)?;
        let d = crypto::decrypt(
            BufReader::new(file),
            &mut out,
            &[old],
            Some(entry.size),
            progress,
        )?;
        out.flush()?;
        d
    };
    if let Some(meta) = &entry.meta
        && (meta.checksum_sha256 != decrypted.plaintext.sha256
            || meta.size_bytes != decrypted.plaintext.size)
    {
        return Err(BackupRotationError::ChecksumMismatch(
            entry.name.file_name().to_owned(),
        ));
    }
    let backups = data.backups();
    let gpg_part = PartFile::new(part_path(&backups, entry.name.file_name()));
    let gpg_digest = SharedDigest::default();
    let file = create_private_file(gpg_part.path())?;
    let compression = entry
        .meta
        .as_ref()
        .and_then(|m| m.compression.as_deref())
        .map(|label| {
            if label == "none" {
                Compression::None
            } else {
                Compression::Default
            }
        })
        .unwrap_or_default();
    let plain_again = {
        let writer = HashingWriter::new(file.try_clone()?, gpg_digest.clone());
        let mut plain =
            BufReader::with_capacity(crypto::STREAM_BUFFER, std::fs::File::open(staged.path())?);
        crypto::encrypt(
            &mut plain,
            writer,
            entry.name.db_name(),
            new,
            compression,
            None,
            &NoProgress,
        )?
    };
    file.sync_all()?;
    if plain_again != decrypted.plaintext {
        return Err(BackupRotationError::ChecksumMismatch(
            entry.name.file_name().to_owned(),
        ));
    }
    let gpg = gpg_digest.finish();
    let meta_part = match (&entry.meta, entry.name.meta_name()) {
        (Some(meta), Some(meta_name)) => {
            let mut meta = meta.clone();
            meta.gpg_sha256 = Some(gpg.sha256);
            meta.gpg_size = Some(gpg.size);
            let part = PartFile::new(part_path(&backups, &meta_name));
            let mut f = create_private_file(part.path())?;
            f.write_all(meta.to_json().as_bytes())?;
            f.sync_all()?;
            Some((part, backups.join(meta_name)))
        }
        _ => None,
    };
    // The swap: the new .gpg replaces the old one atomically, then its .meta.
    std::fs::rename(gpg_part.path(), &entry.path)?;
    gpg_part.disarm();
    if let Some((part, dest)) = meta_part {
        std::fs::rename(part.path(), &dest)?;
        part.disarm();
    }
    sync_dir(&backups)?;
    Ok(())
}

/// After a crash between the two renames, the `.gpg` is new and the
/// `.meta` still describes the old file: re-derive the file's own hash,
/// once the plaintext is proven to match the recorded checksum.
fn repair_meta(
    data: &DataDir,
    entry: &CatalogEntry,
    new: &Passphrase,
) -> Result<(), BackupRotationError> {
    let (Some(meta), Some(meta_name)) = (&entry.meta, entry.name.meta_name()) else {
        return Ok(());
    };
    let actual = digest_file(&entry.path)?;
    if meta.gpg_sha256.as_deref() == Some(actual.sha256.as_str()) || meta.gpg_sha256.is_none() {
        return Ok(());
    }
    let file = std::fs::File::open(&entry.path)?;
    let d = crypto::decrypt(
        BufReader::new(file),
        &mut std::io::sink(),
        &[new],
        None,
        &NoProgress,
    )?;
    if d.plaintext.sha256 != meta.checksum_sha256 {
        return Err(BackupRotationError::ChecksumMismatch(
            entry.name.file_name().to_owned(),
        ));
    }
    let mut repaired: BackupMeta = meta.clone();
    repaired.gpg_sha256 = Some(actual.sha256);
    repaired.gpg_size = Some(actual.size);
    crate::publish::write_atomic(
        &data.backups().join(meta_name),
        repaired.to_json().as_bytes(),
    )?;
    Ok(())
}
