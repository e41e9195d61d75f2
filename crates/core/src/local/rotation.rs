//! Passphrase rotation: re-encrypt every local encrypted backup under a new
//! passphrase, all or nothing, so a backup set is never split between two
//! passphrases by a damaged backup.
//!
//! Stages: **plan** (each backup opens with the new passphrase: already
//! rotated; with the old: to re-encrypt; with neither: not of this set,
//! left alone and named), **room** (the new copies fit beside the old),
//! **prepare** (each decrypted into the private staging folder, checked
//! against its `.meta`, encrypted under the new passphrase into a part file
//! beside it; the plaintext hash must come out the same), **commit** (only
//! when every one prepared: each part renamed over its backup, then its
//! `.meta`). A backup that fails to prepare (damaged inside) stops the
//! rotation before anything is replaced: every part is removed and every
//! backup still opens with the old passphrase. Resumable: a backup that
//! already opens with the new passphrase is not touched again (its
//! `.meta` is repaired if a crash came between the two renames).

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
    /// The new copies would not fit beside the old ones.
    #[error(
        "the backup folder has {available} bytes free; the rotation needs {needed} (each backup \
         is re-encrypted beside the old one before any is replaced): nothing was changed"
    )]
    NoRoom { needed: u64, available: u64 },
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
            RotationError::NoRoom { .. } => crate::ErrorKind::BackupFolderFull,
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
    /// Opened by neither passphrase (made under another one, or damaged
    /// at its start): not of this set, left alone.
    pub skipped: Vec<Skipped>,
    /// Opened by the old passphrase but could not be re-encrypted (damaged
    /// inside): because of them nothing was replaced.
    pub damaged: Vec<Skipped>,
}

impl RotationReport {
    /// Whether every backup the old passphrase opened now opens with the
    /// new one (then, and only then, the new passphrase is the set's).
    pub fn complete(&self) -> bool {
        self.damaged.is_empty()
    }

    /// Complete, and nothing was left alone.
    pub fn clean(&self) -> bool {
        self.complete() && self.skipped.is_empty()
    }

    /// One line for the admin and the log.
    pub fn summary(&self) -> String {
        if self.complete() {
            format!(
                "{} re-encrypted, {} already rotated, {} left alone (opened by neither passphrase)",
                self.rotated.len(),
                self.already_rotated.len(),
                self.skipped.len()
            )
        } else {
            format!(
                "nothing was re-encrypted: {} could not be (damaged: {}); every backup still opens \
                 with the old passphrase",
                self.damaged.len(),
                self.damaged
                    .iter()
                    .map(|d| d.filename.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        }
    }
}

/// What the plan does with one backup.
enum Step {
    /// It opens with the new passphrase: only its `.meta` may need repair.
    Repair,
    /// It opens with the old passphrase.
    Reencrypt,
    /// It opens with neither.
    LeaveAlone(Skipped),
}

/// Re-encrypts every encrypted backup from `old` to `new`, all or nothing
/// (see the module's stages).
///
/// # Errors
/// [`RotationError`] when rotation cannot start (nothing changed then);
/// per-backup failures are in the report.
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
    let mut to_rotate = Vec::new();
    for (entry, step) in plan(&catalog, old, new) {
        match step {
            Step::Repair => match repair_meta(data, entry, new) {
                Ok(()) => report.already_rotated.push(name_of(entry)),
                Err(e) => report.skipped.push(skipped(entry, &e)),
            },
            Step::Reencrypt => to_rotate.push(entry),
            Step::LeaveAlone(left) => report.skipped.push(left),
        }
    }
    check_room(data, &to_rotate)?;
    let mut prepared = Vec::new();
    for entry in &to_rotate {
        match prepare(data, &staging, entry, old, new, progress) {
            Ok(ready) => prepared.push((*entry, ready)),
            Err(e) => report.damaged.push(skipped(entry, &e)),
        }
    }
    if report.complete() {
        // Every one prepared: the swaps (dropped parts remove themselves
        // otherwise, so an incomplete preparation replaces nothing).
        for (entry, ready) in prepared {
            match ready.commit(data) {
                Ok(()) => report.rotated.push(name_of(entry)),
                Err(e) => report.damaged.push(skipped(entry, &e)),
            }
        }
    }
    let log = crate::local::activity_log::ActivityLog::backup(data);
    log.append(
        clock,
        if report.clean() {
            crate::local::activity_log::Level::Info
        } else {
            crate::local::activity_log::Level::Warning
        },
        &format!("Passphrase rotation: {}", report.summary()),
    );
    Ok(report)
}

fn name_of(entry: &CatalogEntry) -> String {
    entry.name.file_name().to_owned()
}

fn skipped(entry: &CatalogEntry, e: &BackupRotationError) -> Skipped {
    Skipped {
        filename: name_of(entry),
        kind: e.kind(),
        message: e.to_string(),
    }
}

/// The plan: what each encrypted backup needs, by which passphrase opens it.
fn plan<'a>(
    catalog: &'a BackupCatalog,
    old: &Passphrase,
    new: &Passphrase,
) -> Vec<(&'a CatalogEntry, Step)> {
    let opens = |entry: &CatalogEntry, passphrase: &Passphrase| {
        std::fs::File::open(&entry.path)
            .map_err(CryptoError::Io)
            .and_then(|f| crypto::check_passphrase(BufReader::new(f), passphrase))
    };
    catalog
        .entries()
        .iter()
        .filter(|e| e.name.kind().is_encrypted())
        .map(|entry| {
            let step = if opens(entry, new).is_ok() {
                Step::Repair
            } else {
                match opens(entry, old) {
                    Ok(()) => Step::Reencrypt,
                    Err(e) => Step::LeaveAlone(skipped(entry, &BackupRotationError::Crypto(e))),
                }
            };
            (entry, step)
        })
        .collect()
}

/// Refuses when the new copies (each as large as its backup) and the
/// largest plaintext do not fit in the backup folder's filesystem.
fn check_room(data: &DataDir, to_rotate: &[&CatalogEntry]) -> Result<(), RotationError> {
    if to_rotate.is_empty() {
        return Ok(());
    }
    let copies: u64 = to_rotate.iter().map(|e| e.size).sum();
    let plaintext = to_rotate
        .iter()
        .map(|e| e.meta.as_ref().map_or(e.size * 4, |m| m.size_bytes))
        .max()
        .unwrap_or(0);
    let needed = copies + plaintext + copies / 100;
    let Ok(stat) = rustix::fs::statvfs(data.backups()) else {
        return Ok(());
    };
    let available = stat.f_bavail.saturating_mul(stat.f_frsize);
    if available < needed {
        return Err(RotationError::NoRoom { needed, available });
    }
    Ok(())
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

/// One backup re-encrypted into part files beside it, not yet swapped in;
/// dropped uncommitted, its parts are removed.
struct Prepared {
    gpg: PartFile,
    gpg_dest: std::path::PathBuf,
    meta: Option<(PartFile, std::path::PathBuf)>,
}

impl Prepared {
    /// The swap: the new `.gpg` replaces the old one atomically, then its
    /// `.meta` (a crash between the two is repaired by the next run).
    fn commit(self, data: &DataDir) -> Result<(), BackupRotationError> {
        std::fs::rename(self.gpg.path(), &self.gpg_dest)?;
        self.gpg.disarm();
        if let Some((part, dest)) = self.meta {
            std::fs::rename(part.path(), &dest)?;
            part.disarm();
        }
        sync_dir(&data.backups())?;
        Ok(())
    }
}

/// Stage **prepare** for one backup: decrypted with `old` into staging,
/// checked against its `.meta`, encrypted under `new` into parts.
fn prepare(
    data: &DataDir,
    staging: &Staging,
    entry: &CatalogEntry,
    old: &Passphrase,
    new: &Passphrase,
    progress: &dyn Progress,
) -> Result<Prepared, BackupRotationError> {
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
    let compression = compression_of(entry);
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
    Ok(Prepared {
        gpg: gpg_part,
        gpg_dest: entry.path.clone(),
        meta: meta_part(data, entry, gpg)?,
    })
}

/// How the backup was compressed (its `.meta` says; the default else).
fn compression_of(entry: &CatalogEntry) -> Compression {
    entry
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
        .unwrap_or_default()
}

/// The new `.meta` (the new file's own hash and size) as a part beside
/// the old one, with where it goes; `None` without a `.meta`.
fn meta_part(
    data: &DataDir,
    entry: &CatalogEntry,
    gpg: crate::format::hashing::Digested,
) -> Result<Option<(PartFile, std::path::PathBuf)>, BackupRotationError> {
    let (Some(meta), Some(meta_name)) = (&entry.meta, entry.name.meta_name()) else {
        return Ok(None);
    };
    let backups = data.backups();
    let mut meta = meta.clone();
    meta.gpg_sha256 = Some(gpg.sha256);
    meta.gpg_size = Some(gpg.size);
    let part = PartFile::new(part_path(&backups, &meta_name));
    let mut f = create_private_file(part.path())?;
    f.write_all(meta.to_json().as_bytes())?;
    f.sync_all()?;
    Ok(Some((part, backups.join(meta_name))))
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
