//! Verifying backups. Quick: decrypt the whole stream and compare size and
//! SHA-256 with `.meta`. Deep: also restore the snapshot into the private
//! staging folder and run SQLite's `integrity_check` and `foreign_key_check`.
//! Every result is recorded in the [`Ledger`].

use std::io::{BufReader, BufWriter, Write};

use serde::Serialize;

use crate::KindedError;
use crate::context::OperationContext;
use crate::format::crypto::{self, CryptoError, Passphrase};
use crate::format::hashing::{Digested, digest_file};
use crate::format::meta::MetaError;
use crate::local::catalog::{BackupCatalog, CatalogEntry, CatalogError};
use crate::local::layout::DataDir;
pub use crate::local::ledger::VerifyDepth;
use crate::local::ledger::{Ledger, Verification};
use crate::local::page_cache::DropBehind;
use crate::local::snapshot::{self, DatabaseReport, SQLITE_HEADER, SnapshotError};
use crate::local::staging::{StagedFile, Staging};

/// Why a backup did not verify.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// The name is invalid or no such backup exists.
    #[error(transparent)]
    Catalog(#[from] CatalogError),
    /// The `.meta` is unusable.
    #[error(transparent)]
    Meta(#[from] MetaError),
    /// Decryption failed.
    #[error(transparent)]
    Crypto(#[from] CryptoError),
    /// The `.gpg` file differs from the one that was written (its SHA-256
    /// in `.meta` does not match): it was altered, damaged or truncated.
    #[error(
        "the backup file was altered or damaged: its SHA-256 is {actual}, the .meta recorded {expected}"
    )]
    BackupAltered { expected: String, actual: String },
    /// The `.gpg` file is shorter than the one that was written.
    #[error("the backup file is truncated: it has {actual} bytes, {expected} were written")]
    BackupTruncated { expected: u64, actual: u64 },
    /// The decrypted snapshot's SHA-256 differs from `.meta`.
    #[error(
        "checksum mismatch: the decrypted snapshot has SHA-256 {actual}, the .meta says {expected}"
    )]
    ChecksumMismatch { expected: String, actual: String },
    /// The decrypted snapshot's size differs from `.meta`.
    #[error("size mismatch: the decrypted snapshot has {actual} bytes, the .meta says {expected}")]
    SizeMismatch { expected: u64, actual: u64 },
    /// The payload is not a SQLite database.
    #[error("the backup decrypts, but what it holds is not a SQLite database")]
    NotASqliteDatabase,
    /// SQLite's `integrity_check` failed on the snapshot.
    #[error("the snapshot fails SQLite's integrity check: {}", .0.join("; "))]
    IntegrityCheckFailed(Vec<String>),
    /// SQLite could not check the snapshot.
    #[error(transparent)]
    Snapshot(#[from] SnapshotError),
    /// Another I/O failure.
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// There is no encrypted backup to test a passphrase on.
    #[error("there is no encrypted backup to test the passphrase on")]
    NoEncryptedBackup,
}

impl KindedError for VerifyError {
    fn kind(&self) -> crate::ErrorKind {
        match self {
            VerifyError::Catalog(e) => e.kind(),
            VerifyError::Meta(e) => e.kind(),
            VerifyError::Crypto(e) => e.kind(),
            VerifyError::NoEncryptedBackup => crate::ErrorKind::NoBackups,
            VerifyError::BackupAltered { .. } => crate::ErrorKind::BackupAltered,
            VerifyError::BackupTruncated { .. } => crate::ErrorKind::TruncatedBackup,
            VerifyError::ChecksumMismatch { .. } => crate::ErrorKind::ChecksumMismatch,
            VerifyError::SizeMismatch { .. } => crate::ErrorKind::SizeMismatch,
            VerifyError::NotASqliteDatabase => crate::ErrorKind::NotASqliteDatabase,
            VerifyError::IntegrityCheckFailed(_) => crate::ErrorKind::IntegrityCheckFailed,
            VerifyError::Snapshot(e) => e.kind(),
            VerifyError::Io { .. } => crate::ErrorKind::Io,
        }
    }
}

/// What a passed verification found.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct VerifyReport {
    /// The backup's file name.
    pub filename: String,
    /// Quick or deep.
    pub depth: VerifyDepth,
    /// Plaintext size.
    pub size_bytes: u64,
    /// Plaintext SHA-256.
    pub checksum_sha256: String,
    /// Whether a `.meta` checksum was there to compare against.
    pub checksum_known: bool,
    /// Whether the backup only opened with the scripts' default passphrase.
    pub opened_with_default_passphrase: bool,
    /// SQLite's findings (deep only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database: Option<DatabaseReport>,
    /// Things worth knowing that do not fail the verification.
    pub warnings: Vec<String>,
}

impl VerifyError {
    /// Whether this failure is the backup's own: its file is altered,
    /// truncated, corrupt, not a backup, or holds a database that fails its
    /// checks. Not: a wrong passphrase, no key here to open it, I/O (a full disk), a damaged `.meta`,
    /// a missing file, a lock.
    pub fn is_backup_fault(&self) -> bool {
        match self {
            VerifyError::BackupAltered { .. }
            | VerifyError::BackupTruncated { .. }
            | VerifyError::ChecksumMismatch { .. }
            | VerifyError::SizeMismatch { .. }
            | VerifyError::NotASqliteDatabase
            | VerifyError::IntegrityCheckFailed(_) => true,
            VerifyError::Crypto(e) => !matches!(
                e,
                CryptoError::WrongPassphrase | CryptoError::NoKey { .. } | CryptoError::Io(_)
            ),
            VerifyError::Snapshot(e) => matches!(e, SnapshotError::NotASqliteDatabase(_)),
            _ => false,
        }
    }
}

/// Verifies the backup called `file_name` and records the outcome.
///
/// `passphrase` is tried first; the scripts' default passphrase is tried as
/// a fallback for legacy backups (and reported as a warning).
///
/// # Errors
/// See [`VerifyError`]. Verification never modifies any backup.
pub fn verify(
    data: &DataDir,
    file_name: &str,
    passphrase: &Passphrase,
    depth: VerifyDepth,
    ctx: &OperationContext<'_>,
) -> Result<VerifyReport, VerifyError> {
    let catalog = BackupCatalog::scan(data)?;
    let entry = catalog.find(file_name)?;
    verify_entry(data, entry, passphrase, depth, ctx)
}

/// Verifies one catalogued backup and records the outcome in the ledger.
///
/// # Errors
/// See [`VerifyError`].
#[tracing::instrument(skip(data, entry, passphrase, ctx), fields(backup = %entry.name.file_name()))]
pub fn verify_entry(
    data: &DataDir,
    entry: &CatalogEntry,
    passphrase: &Passphrase,
    depth: VerifyDepth,
    ctx: &OperationContext<'_>,
) -> Result<VerifyReport, VerifyError> {
    let result = check(data, entry, passphrase, depth, false, ctx).map(|(report, _staged)| report);
    // Only the backup's own fault marks it failed (which then blocks its
    // restore): a wrong passphrase typed now, a full staging disk or a
    // damaged .meta say nothing about the backup, and leave its record alone.
    if let Err(e) = &result
        && !e.is_backup_fault()
    {
        return result;
    }
    let record = Verification {
        depth,
        ok: result.is_ok(),
        at: ctx
            .now()
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, false),
        error_kind: result.as_ref().err().map(|e| e.kind().as_str().to_owned()),
        // Who held the way in: the machine that handed over the keys.
        by: ctx.session_keys().and_then(|k| k.from()).map(str::to_owned),
    };
    if let Err(e) = Ledger::record(data, entry.name.file_name(), record) {
        tracing::warn!(error = %e, "cannot record the verification result");
    }
    let depth_word = match depth {
        VerifyDepth::Quick => "quick",
        VerifyDepth::Deep => "deep",
    };
    let log = crate::local::activity_log::ActivityLog::verify(data);
    match &result {
        Ok(_) => log.append(
            ctx,
            crate::local::activity_log::Level::Info,
            &format!("Verified {} ({depth_word}): passed", entry.name.file_name()),
        ),
        Err(e) => log.append(
            ctx,
            crate::local::activity_log::Level::Error,
            &format!(
                "Verification of {} ({depth_word}) failed: {e}",
                entry.name.file_name()
            ),
        ),
    }
    result
}

/// Runs the checks without recording them. A deep check keeps the verified
/// plaintext copy in the staging folder and hands it back (restore swaps it
/// in); it is removed when the [`StagedFile`] drops. Stages: **meta** (a
/// `.meta` that exists must be usable), **open** (decrypt, or read a
/// plaintext copy; staged when deep), **match** (size and SHA-256 against
/// the `.meta`), **inspect** (SQLite's checks on the staged copy).
pub(crate) fn check(
    data: &DataDir,
    entry: &CatalogEntry,
    passphrase: &Passphrase,
    depth: VerifyDepth,
    sync_staged: bool,
    ctx: &OperationContext<'_>,
) -> Result<(VerifyReport, Option<StagedFile>), VerifyError> {
    let mut warnings = Vec::new();
    let meta = usable_meta(data, entry, &mut warnings)?;
    let staging = if depth == VerifyDepth::Deep {
        Some(Staging::open(data).map_err(io_err(&data.staging()))?)
    } else {
        None
    };
    let staged = staging.as_ref().map(|s| s.file("verify.db"));
    let (plain, opened_with_default) = if entry.name.kind().is_encrypted() {
        let opened = Opened {
            entry,
            meta,
            staged: staged.as_ref(),
        };
        opened.decrypt(passphrase, ctx, &mut warnings)?
    } else {
        (
            read_plaintext(entry, staged.as_ref(), &mut warnings)?,
            false,
        )
    };
    if let Some(meta) = meta {
        match_meta(meta, &plain)?;
    }
    tracing::debug!("decrypted and hashed");
    let database = match &staged {
        Some(staged) => Some(inspect_staged(staged, sync_staged, ctx, &mut warnings)?),
        None => None,
    };
    let report = VerifyReport {
        filename: entry.name.file_name().to_owned(),
        depth,
        size_bytes: plain.size,
        checksum_sha256: plain.sha256,
        checksum_known: meta.is_some(),
        opened_with_default_passphrase: opened_with_default,
        database,
        warnings,
    };
    Ok((report, staged))
}

/// Stage **meta**: the entry's `.meta`; one that exists but cannot be used
/// is the verification's failure (said why); none at all is a warning for
/// an encrypted backup (its checksum is unknown).
fn usable_meta<'a>(
    data: &DataDir,
    entry: &'a CatalogEntry,
    warnings: &mut Vec<String>,
) -> Result<Option<&'a crate::format::meta::BackupMeta>, VerifyError> {
    Ok(match (&entry.meta, &entry.meta_problem) {
        (Some(meta), _) => Some(meta),
        (None, Some(_)) => {
            let meta_name = entry.name.meta_name().unwrap_or_default();
            return Err(
                crate::format::meta::BackupMeta::read(&data.backup_file(&meta_name))
                    .err()
                    .map(VerifyError::Meta)
                    .unwrap_or_else(|| VerifyError::Io {
                        path: meta_name,
                        source: std::io::Error::other("metadata changed while reading"),
                    }),
            );
        }
        (None, None) => {
            if entry.name.kind().is_encrypted() {
                warnings.push("no .meta: the checksum is unknown, only decryption and SQLite checks are possible".to_owned());
            }
            None
        }
    })
}

impl Opened<'_> {
    /// The backup decrypted into `sink` by the session key the admin's own
    /// GnuPG key gives (gpg-agent); `None` when gpg gives none.
    fn by_gnupg(
        &self,
        sink: &mut HeaderCheck,
        ctx: &OperationContext<'_>,
    ) -> Result<Option<Result<crypto::Decrypted, CryptoError>>, VerifyError> {
        let path = &self.entry.path;
        let Some(session) = crate::local::gnupg_agent::session_key_of_file(path) else {
            return Ok(None);
        };
        let file = std::fs::File::open(path).map_err(io_err(path))?;
        let by_gnupg = crypto::Openers {
            passphrases: &[],
            keys: None,
            session: Some(&session),
        };
        Ok(Some(decrypt_file(
            file,
            sink,
            &by_gnupg,
            self.entry.size,
            ctx,
        )))
    }
}

/// The encrypted file as read is the one `.meta` recorded (its SHA-256;
/// shorter than recorded: cut short).
fn ciphertext_as_recorded(
    meta: Option<&crate::format::meta::BackupMeta>,
    decrypted: &crypto::Decrypted,
) -> Result<(), VerifyError> {
    let Some(expected) = meta.and_then(|m| m.gpg_sha256.as_ref()) else {
        return Ok(());
    };
    if *expected == decrypted.ciphertext.sha256 {
        return Ok(());
    }
    if let Some(size) = meta
        .and_then(|m| m.gpg_size)
        .filter(|s| *s > decrypted.ciphertext.size)
    {
        return Err(VerifyError::BackupTruncated {
            expected: size,
            actual: decrypted.ciphertext.size,
        });
    }
    Err(VerifyError::BackupAltered {
        expected: expected.clone(),
        actual: decrypted.ciphertext.sha256.clone(),
    })
}

/// The backup read from `file` decrypted into `sink` by `openers`.
fn decrypt_file(
    file: std::fs::File,
    sink: &mut HeaderCheck,
    openers: &crypto::Openers<'_>,
    size: u64,
    ctx: &OperationContext<'_>,
) -> Result<crypto::Decrypted, CryptoError> {
    crypto::decrypt(
        BufReader::with_capacity(crypto::STREAM_BUFFER, DropBehind::new(file)),
        sink,
        openers,
        Some(size),
        ctx,
    )
}

/// Stage **open** of an encrypted backup: decrypted with the passphrase (or
/// Server Monitor's well-known default, said as a warning) into the staged
/// copy or nowhere, the ciphertext checked against the `.meta`'s record.
struct Opened<'a> {
    entry: &'a CatalogEntry,
    meta: Option<&'a crate::format::meta::BackupMeta>,
    staged: Option<&'a StagedFile>,
}

impl Opened<'_> {
    /// The plaintext's digest, and whether the default passphrase opened it.
    fn decrypt(
        &self,
        passphrase: &Passphrase,
        ctx: &OperationContext<'_>,
        warnings: &mut Vec<String>,
    ) -> Result<(Digested, bool), VerifyError> {
        let (entry, meta, staged) = (self.entry, self.meta, self.staged);
        let io_path = entry.path.clone();
        let file = std::fs::File::open(&entry.path).map_err(io_err(&io_path))?;
        let legacy = Passphrase::legacy_default();
        let candidates: Vec<&Passphrase> = if passphrase.is_legacy_default() {
            vec![passphrase]
        } else {
            vec![passphrase, &legacy]
        };
        let mut sink = HeaderCheck::new(match &staged {
            Some(staged) => Box::new(BufWriter::with_capacity(
                crypto::STREAM_BUFFER,
                crate::publish::create_private_file(staged.path())
                    .map_err(io_err(staged.path()))?,
            )) as Box<dyn Write>,
            None => Box::new(std::io::sink()),
        });
        let keys = crate::local::keyring::KeychainKeys::new(ctx.secrets());
        let openers = crypto::Openers {
            passphrases: &candidates,
            keys: Some(&keys),
            session: ctx.session_key_for(entry.name.file_name()),
        };
        let mut decrypted = decrypt_file(file, &mut sink, &openers, entry.size, ctx);
        // No key here opened it: for a deep check, the admin's own GnuPG
        // key (software or card, through gpg-agent) may.
        if matches!(decrypted, Err(CryptoError::NoKey { .. })) && staged.is_some() {
            decrypted = self.by_gnupg(&mut sink, ctx)?.unwrap_or(decrypted);
        }
        let decrypted = match decrypted {
            Ok(d) => d,
            Err(e @ CryptoError::NoKey { .. }) if staged.is_none() => {
                return sealed_to_keys_elsewhere(entry, meta, e, warnings);
            }
            Err(e) => return Err(diagnose(entry, e)),
        };
        sink.inner.flush().map_err(io_err(&io_path))?;
        if !sink.looks_like_sqlite() {
            return Err(VerifyError::NotASqliteDatabase);
        }
        ciphertext_as_recorded(meta, &decrypted)?;
        let legacy_used =
            !passphrase.is_legacy_default() && decrypted.passphrase_index() == Some(1);
        if legacy_used {
            warnings.push(
                "opened with Server Monitor's well-known default passphrase, not yours".to_owned(),
            );
        }
        Ok((
            decrypted.plaintext,
            legacy_used || passphrase.is_legacy_default(),
        ))
    }
}

/// Stage **open** of a plaintext copy: it must be SQLite (said as a
/// warning: anyone who can read the folder can read it); copied to the
/// staged file when deep; its digest.
fn read_plaintext(
    entry: &CatalogEntry,
    staged: Option<&StagedFile>,
    warnings: &mut Vec<String>,
) -> Result<Digested, VerifyError> {
    let io_path = entry.path.clone();
    snapshot::check_is_sqlite(&entry.path).map_err(|e| match e {
        SnapshotError::NotASqliteDatabase(_) => VerifyError::NotASqliteDatabase,
        other => VerifyError::Snapshot(other),
    })?;
    warnings.push(
        "plaintext backup: not encrypted, and anyone who can read the folder can read it"
            .to_owned(),
    );
    if let Some(staged) = &staged {
        std::fs::copy(&entry.path, staged.path()).map_err(io_err(staged.path()))?;
    }
    digest_file(&entry.path).map_err(io_err(&io_path))
}

/// Stage **match**: the plaintext's size and SHA-256 against the `.meta`.
fn match_meta(meta: &crate::format::meta::BackupMeta, plain: &Digested) -> Result<(), VerifyError> {
    if meta.size_bytes != plain.size {
        return Err(VerifyError::SizeMismatch {
            expected: meta.size_bytes,
            actual: plain.size,
        });
    }
    if !meta.checksum_sha256.eq_ignore_ascii_case(&plain.sha256) {
        return Err(VerifyError::ChecksumMismatch {
            expected: meta.checksum_sha256.clone(),
            actual: plain.sha256.clone(),
        });
    }
    Ok(())
}

/// Stage **inspect**: SQLite's integrity and foreign-key checks on the
/// staged copy (synced to disk meanwhile when it is to become the live
/// database); foreign-key violations are a warning (copied faithfully).
fn inspect_staged(
    staged: &StagedFile,
    sync_staged: bool,
    ctx: &OperationContext<'_>,
    warnings: &mut Vec<String>,
) -> Result<DatabaseReport, VerifyError> {
    // A staged copy that will become the live database is written
    // to disk while SQLite checks it, not after.
    let (report, synced) = std::thread::scope(|scope| {
        let synced = sync_staged
            .then(|| scope.spawn(|| std::fs::File::open(staged.path()).and_then(|f| f.sync_all())));
        let report = snapshot::inspect(staged.path(), ctx);
        tracing::debug!("inspected");
        let synced = synced.map(|t| {
            t.join()
                .unwrap_or_else(|_| Err(std::io::Error::other("fsync thread panicked")))
        });
        tracing::debug!("staged synced");
        (report, synced)
    });
    if let Some(Err(e)) = synced {
        return Err(VerifyError::Io {
            path: staged.path().display().to_string(),
            source: e,
        });
    }
    let report = report.map_err(|e| match e {
        SnapshotError::NotASqliteDatabase(_) => VerifyError::NotASqliteDatabase,
        other => VerifyError::Snapshot(other),
    })?;
    if !report.integrity_ok() {
        return Err(VerifyError::IntegrityCheckFailed(report.integrity));
    }
    if report.foreign_key_errors > 0 {
        warnings.push(format!(
            "{} foreign-key violations (copied faithfully from the live database)",
            report.foreign_key_errors
        ));
    }
    Ok(report)
}

/// Checks that `passphrase` opens the newest encrypted backup (its session
/// key only: instant, whatever the size). Returns that backup's name.
///
/// # Errors
/// [`VerifyError::NoEncryptedBackup`]; [`CryptoError::WrongPassphrase`]
/// (as [`VerifyError::Crypto`]) when it does not open it.
pub fn test_passphrase(data: &DataDir, passphrase: &Passphrase) -> Result<String, VerifyError> {
    let catalog = BackupCatalog::scan(data)?;
    let newest = catalog
        .entries()
        .iter()
        .find(|e| e.name.kind().is_encrypted())
        .ok_or(VerifyError::NoEncryptedBackup)?;
    let file = std::fs::File::open(&newest.path).map_err(io_err(&newest.path))?;
    crypto::check_passphrase(BufReader::new(file), passphrase)?;
    Ok(newest.name.file_name().to_owned())
}

/// Turns a decryption failure into the most precise diagnosis: when `.meta`
/// recorded the `.gpg` file's own SHA-256 and the file no longer matches it,
/// the file was altered — whatever the decryptor made of it.
/// A quick verification of a backup sealed to keys that are not here (an
/// installation that keeps no secret): it passes when the encrypted file is
/// byte for byte the one its `.meta` recorded, said as a warning; the
/// content is proven by a deep verification where a key is. Without a
/// `.meta` to compare with, the missing key is the error.
fn sealed_to_keys_elsewhere(
    entry: &CatalogEntry,
    meta: Option<&crate::format::meta::BackupMeta>,
    e: CryptoError,
    warnings: &mut Vec<String>,
) -> Result<(Digested, bool), VerifyError> {
    let Some((meta, expected)) = meta.and_then(|m| Some((m, m.gpg_sha256.as_ref()?))) else {
        return Err(diagnose(entry, e));
    };
    let actual = digest_file(&entry.path).map_err(io_err(&entry.path))?;
    if actual.sha256 != *expected {
        return Err(diagnose(entry, e));
    }
    warnings.push(
        "not decrypted here (no key for it on this machine, by the encryption policy): the encrypted \
         file is byte for byte the one its .meta recorded; a deep verification where a key is proves \
         its content"
            .to_owned(),
    );
    Ok((
        Digested {
            sha256: meta.checksum_sha256.clone(),
            size: meta.size_bytes,
        },
        false,
    ))
}

fn diagnose(entry: &CatalogEntry, e: CryptoError) -> VerifyError {
    if matches!(e, CryptoError::Cancelled) {
        return VerifyError::Crypto(e);
    }
    if let Some(expected) = entry.meta.as_ref().and_then(|m| m.gpg_size)
        && entry.size < expected
    {
        return VerifyError::BackupTruncated {
            expected,
            actual: entry.size,
        };
    }
    if let Some(expected) = entry.meta.as_ref().and_then(|m| m.gpg_sha256.as_ref())
        && let Ok(Digested { sha256: actual, .. }) = digest_file(&entry.path)
        && *expected != actual
    {
        return VerifyError::BackupAltered {
            expected: expected.clone(),
            actual,
        };
    }
    VerifyError::Crypto(e)
}

fn io_err(path: &std::path::Path) -> impl Fn(std::io::Error) -> VerifyError + '_ {
    move |source| VerifyError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// Passes bytes through while remembering the first 16, to tell a SQLite
/// payload from anything else.
struct HeaderCheck {
    inner: Box<dyn Write>,
    header: Vec<u8>,
}

impl HeaderCheck {
    fn new(inner: Box<dyn Write>) -> Self {
        HeaderCheck {
            inner,
            header: Vec::with_capacity(16),
        }
    }

    fn looks_like_sqlite(&self) -> bool {
        self.header.is_empty() || self.header.as_slice() == SQLITE_HEADER
    }
}

impl Write for HeaderCheck {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.header.len() < 16 {
            let take = (16 - self.header.len()).min(buf.len());
            self.header.extend_from_slice(&buf[..take]);
        }
        self.inner.write_all(buf)?;
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}
