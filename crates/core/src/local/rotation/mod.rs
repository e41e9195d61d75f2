//! Passphrase rotation by key packets: the new passphrase is added to
//! every backup as a further way in, the encrypted body untouched
//! ([`crate::format::key_packets`]), and the old one is removed only once
//! every backup the old one opened opens with the new and the new one is
//! kept where the set's passphrase is. A backup set is therefore never
//! split: at every moment each backup opens with the stored passphrase.
//!
//! Stages: **plan** (per backup: it opens with the new passphrase, maybe
//! still with other ways in; with the old only; with neither: left alone,
//! named), **add** (each old-only backup rewritten as a part beside it
//! with the new packet after the old one (gpg 2.2 reads only the first:
//! `gpg -d` with the stored passphrase keeps working meanwhile), proven to
//! open with both, renamed over it,
//! its `.meta`'s file hash updated), **keep** (the caller stores the new
//! passphrase; when it cannot, every backup keeps the old way in),
//! **remove** (each backup rewritten with only the new passphrase's
//! packets). From the first change to the last the rotation's state
//! ([`RotationState`]: stage, N of M, the backup being rewritten) is kept
//! in `data/.backupdesk/rotation.json`, so every screen can say "rotation
//! in progress: N of M", and a run killed anywhere is completed by the
//! next (a `.meta` left describing the file before its rename is
//! repaired from that record). No plaintext is ever written.

use std::io::{BufWriter, Write};

use serde::Serialize;

use crate::KindedError;
use crate::context::OperationContext;
use crate::format::crypto::{CryptoError, Passphrase};
use crate::format::hashing::{HashingWriter, SharedDigest, digest_file};
use crate::format::key_packets::{self, Access, KeyPackets};
use crate::local::catalog::{BackupCatalog, CatalogEntry, CatalogError};
use crate::local::layout::DataDir;
use crate::local::lock::{LockError, OperationLock};
use crate::local::staging::Staging;
use crate::progress::{Phase, Progress};
use crate::publish::{PartFile, create_private_file, part_path, sync_dir, write_atomic};

mod retired;
mod rewrap;
mod state;
pub use retired::{Retired, RetiredWays};
pub use rewrap::{RewrapReport, RewrapRequest, rewrap};
pub use state::{RotationStage, RotationState, in_progress};
use state::{finish_record, record, state_path};

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
    /// One rewritten backup would not fit beside the old one.
    #[error(
        "the backup folder has {available} bytes free; the rotation needs {needed} (each backup \
         is rewritten beside itself before it is replaced): nothing was changed"
    )]
    NoRoom { needed: u64, available: u64 },
    /// Another rewrite of the backups' key packets was cut short: it is
    /// finished first (by running it again).
    #[error("{0}: run it again to finish it first; nothing was changed")]
    OtherUnfinished(String),
    /// The staging folder or the rotation's record cannot be used.
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
            RotationError::OtherUnfinished(_) => crate::ErrorKind::Busy,
            RotationError::Io { .. } => crate::ErrorKind::Io,
        }
    }
}

/// A backup rotation left alone, and why.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
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
    /// Given the new passphrase by this run.
    pub rotated: Vec<String>,
    /// Already opened with the new passphrase (an earlier, cut-short run).
    pub already_rotated: Vec<String>,
    /// Opened by neither passphrase (damaged at its start, or made under
    /// another passphrase): left alone, named.
    pub skipped: Vec<Skipped>,
    /// Opened by the old passphrase but could not be given the new one
    /// (could not be written): the rotation is unfinished, the old
    /// passphrase stays in every backup and stays stored.
    pub failed: Vec<Skipped>,
    /// Backups that still open with the old passphrase too (the removal
    /// was not done or cut short): the rotation is unfinished.
    pub old_kept: Vec<String>,
    /// The rotation's state when this run ended (`None`: finished).
    pub in_progress: Option<RotationState>,
}

impl RotationReport {
    /// Every backup the old passphrase opened now opens with the new one
    /// (then, and only then, the new passphrase is the set's).
    pub fn complete(&self) -> bool {
        self.failed.is_empty()
    }

    /// Complete, and the old passphrase removed from every backup.
    pub fn finished(&self) -> bool {
        self.complete() && self.old_kept.is_empty()
    }

    /// Finished, and nothing was left alone.
    pub fn clean(&self) -> bool {
        self.finished() && self.skipped.is_empty()
    }

    /// One line for the admin and the log.
    pub fn summary(&self) -> String {
        let left_alone = format!(
            "{} left alone (opened by neither passphrase)",
            self.skipped.len()
        );
        let given = self.rotated.len() + self.already_rotated.len();
        if !self.complete() {
            let names: Vec<&str> = self.failed.iter().map(|d| d.filename.as_str()).collect();
            return format!(
                "rotation in progress: {given} of {} backups open with the new passphrase; {} \
                 could not be given it ({}); every backup still opens with the old passphrase, \
                 which stays stored; run the rotation again",
                given + self.failed.len(),
                self.failed.len(),
                names.join(", ")
            );
        }
        if !self.old_kept.is_empty() {
            return format!(
                "rotation in progress: every backup opens with the new passphrase; the old one \
                 is still in {} of them ({}); run the rotation again to remove it; {left_alone}",
                self.old_kept.len(),
                self.old_kept.join(", ")
            );
        }
        format!(
            "{} given the new passphrase, {} already had it, the old one removed from every \
             backup; {left_alone}",
            self.rotated.len(),
            self.already_rotated.len()
        )
    }
}

/// What the plan does with one backup.
enum Step {
    /// It opens with the new passphrase (with `others` other ways in).
    HasNew { others: usize },
    /// It opens with the old passphrase only.
    Add,
    /// It opens with neither.
    LeaveAlone(Skipped),
}

/// Rotates every encrypted backup of `data` from `old` to `new` through
/// the stages of this module. `keep_new` is called once every backup the
/// old passphrase opened opens with the new one: it stores the new
/// passphrase where the set's is and says whether it did; only then is
/// the old passphrase removed from the backups.
///
/// # Errors
/// [`RotationError`] when rotation cannot start (nothing changed then);
/// per-backup failures are in the report.
pub fn rotate(
    data: &DataDir,
    old: &Passphrase,
    new: &Passphrase,
    ctx: &OperationContext<'_>,
    keep_new: &mut dyn FnMut() -> bool,
) -> Result<RotationReport, RotationError> {
    crate::format::crypto::check_new_passphrase(new)?;
    if new.expose() == old.expose() {
        return Err(RotationError::UnusableNewPassphrase(
            "it is the same as the old one",
        ));
    }
    let _lock = OperationLock::acquire(data)?;
    if let Some(other) = in_progress(data).filter(|s| s.stage == RotationStage::Rewrapping) {
        return Err(RotationError::OtherUnfinished(other.words()));
    }
    let staging = Staging::open(data).map_err(io_at(data.staging()))?;
    crate::local::backup::remove_leftovers(data, &staging);
    let catalog = BackupCatalog::scan(data)?;
    repair_interrupted(data, &catalog, &|path| opens_with(path, &[old, new]));
    let mut report = RotationReport::default();
    let mut to_add = Vec::new();
    let mut to_trim = Vec::new();
    for (entry, step) in plan(&catalog, old, new) {
        match step {
            Step::HasNew { others } => {
                report.already_rotated.push(name_of(entry));
                if others > 0 {
                    to_trim.push(entry);
                }
            }
            Step::Add => to_add.push(entry),
            Step::LeaveAlone(left) => report.skipped.push(left),
        }
    }
    check_room(data, to_add.iter().chain(&to_trim).copied())?;
    add_stage(data, &to_add, old, new, ctx, &mut report).map_err(io_at(state_path(data)))?;
    to_trim.extend(
        to_add
            .iter()
            .copied()
            .filter(|e| report.rotated.contains(&name_of(e))),
    );
    if report.complete() && keep_new() {
        remove_stage(data, &to_trim, new, ctx, &mut report).map_err(io_at(state_path(data)))?;
    } else {
        report.old_kept = to_trim.iter().map(|e| name_of(e)).collect();
    }
    if report.finished() {
        finish_record(data);
    }
    report.in_progress = in_progress(data);
    log(data, ctx, &report);
    Ok(report)
}

/// An I/O error at `path` (the staging folder, the record) as the
/// rotation's error.
fn io_at(path: std::path::PathBuf) -> impl FnOnce(std::io::Error) -> RotationError {
    move |source| RotationError::Io {
        path: path.display().to_string(),
        source,
    }
}

fn log(data: &DataDir, ctx: &OperationContext<'_>, report: &RotationReport) {
    use crate::local::activity_log::{ActivityLog, Level};
    let level = if report.clean() {
        Level::Info
    } else {
        Level::Warning
    };
    ActivityLog::backup(data).append(
        ctx,
        level,
        &format!("Passphrase rotation: {}", report.summary()),
    );
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
    let step = |entry: &CatalogEntry| -> Result<Step, CryptoError> {
        let head = KeyPackets::read(&entry.path)?;
        if let Access {
            opens: true,
            others,
        } = head.access(&entry.path, new)?
        {
            return Ok(Step::HasNew { others });
        }
        if head.access(&entry.path, old)?.opens {
            return Ok(Step::Add);
        }
        Err(CryptoError::WrongPassphrase)
    };
    catalog
        .entries()
        .iter()
        .filter(|e| e.name.kind().is_encrypted())
        .map(|entry| {
            let step = step(entry).unwrap_or_else(|e| {
                Step::LeaveAlone(skipped(entry, &BackupRotationError::Crypto(e)))
            });
            (entry, step)
        })
        .collect()
}

/// Refuses when the largest backup to rewrite would not fit beside
/// itself (backups are rewritten one at a time).
fn check_room<'a>(
    data: &DataDir,
    entries: impl Iterator<Item = &'a CatalogEntry>,
) -> Result<(), RotationError> {
    let largest = entries.map(|e| e.size).max().unwrap_or(0);
    if largest == 0 {
        return Ok(());
    }
    let needed = largest + largest / 100 + 64 * 1024;
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
    #[error("the rewritten file does not open as it must ({0}); the backup was left as it was")]
    NotProven(&'static str),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

impl KindedError for BackupRotationError {
    fn kind(&self) -> crate::ErrorKind {
        match self {
            BackupRotationError::Crypto(e) => e.kind(),
            BackupRotationError::NotProven(_) => crate::ErrorKind::CorruptBackup,
            BackupRotationError::Io(e) if crate::publish::is_storage_full(e) => {
                crate::ErrorKind::BackupFolderFull
            }
            BackupRotationError::Io(_) => crate::ErrorKind::Io,
        }
    }
}

/// Stage **add**: each backup given the new passphrase; the state is
/// recorded before each rewrite and after it.
fn add_stage(
    data: &DataDir,
    entries: &[&CatalogEntry],
    old: &Passphrase,
    new: &Passphrase,
    ctx: &OperationContext<'_>,
    report: &mut RotationReport,
) -> std::io::Result<()> {
    if entries.is_empty() {
        return Ok(());
    }
    let state = RotationState {
        stage: RotationStage::Adding,
        done: count(report.already_rotated.len()),
        total: count(entries.len() + report.already_rotated.len()),
        current: None,
    };
    recorded_stage(
        data,
        state,
        entries,
        |e| e,
        ctx,
        |entry| {
            rewrite(data, entry, proven_by(&[new, old]), |out| {
                key_packets::write_with_added(&entry.path, old, new, out)?;
                Ok(())
            })
        },
        |entry, outcome| match outcome {
            Ok(()) => report.rotated.push(name_of(entry)),
            Err(e) => report.failed.push(skipped(entry, &e)),
        },
    )
}

/// Stage **remove**: each backup left with the new passphrase's packets
/// only.
fn remove_stage(
    data: &DataDir,
    entries: &[&CatalogEntry],
    new: &Passphrase,
    ctx: &OperationContext<'_>,
    report: &mut RotationReport,
) -> std::io::Result<()> {
    let state = RotationState {
        stage: RotationStage::Removing,
        done: 0,
        total: count(entries.len()),
        current: None,
    };
    recorded_stage(
        data,
        state,
        entries,
        |e| e,
        ctx,
        |entry| {
            rewrite(data, entry, proven_by(&[new]), |out| {
                key_packets::write_keeping_only(&entry.path, new, out)?;
                Ok(())
            })
        },
        |entry, outcome| {
            if outcome.is_err() {
                report.old_kept.push(name_of(entry));
            }
        },
    )
}

/// Runs `one` on each item of a stage with progress, the state recorded
/// (the backup being rewritten named) before each rewrite and once after
/// the last; each outcome goes to `outcome`.
fn recorded_stage<T>(
    data: &DataDir,
    mut state: RotationState,
    items: &[T],
    entry_of: impl Fn(&T) -> &CatalogEntry,
    ctx: &OperationContext<'_>,
    mut one: impl FnMut(&T) -> Result<(), BackupRotationError>,
    mut outcome: impl FnMut(&CatalogEntry, Result<(), BackupRotationError>),
) -> std::io::Result<()> {
    ctx.start(
        Phase::Encrypt,
        Some(items.iter().map(|i| entry_of(i).size).sum()),
    );
    for item in items {
        let entry = entry_of(item);
        state.current = Some(name_of(entry));
        record(data, &state)?;
        let done = one(item);
        if done.is_ok() {
            state.done += 1;
        }
        outcome(entry, done);
        ctx.advance(entry.size);
    }
    ctx.finish();
    state.current = None;
    record(data, &state)
}

fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// The proof a part opens with each of `must_open`.
fn proven_by<'a>(
    must_open: &'a [&'a Passphrase],
) -> impl FnOnce(&std::path::Path) -> Result<(), BackupRotationError> + 'a {
    move |part| {
        let head = KeyPackets::read(part)?;
        for p in must_open {
            if !head.access(part, p)?.opens {
                return Err(BackupRotationError::NotProven(
                    "a passphrase that must open it does not",
                ));
            }
        }
        Ok(())
    }
}

/// Whether one of `passphrases` opens the backup at `path`.
fn opens_with(path: &std::path::Path, passphrases: &[&Passphrase]) -> bool {
    KeyPackets::read(path).is_ok_and(|head| {
        passphrases
            .iter()
            .any(|p| head.access(path, p).is_ok_and(|a| a.opens))
    })
}

/// Rewrites one backup through `write` into a part beside it, proves the
/// part with `prove`, renames it over the backup, then updates its
/// `.meta`'s file hash and size. A part that fails is removed and the
/// backup left as it was.
fn rewrite(
    data: &DataDir,
    entry: &CatalogEntry,
    prove: impl FnOnce(&std::path::Path) -> Result<(), BackupRotationError>,
    write: impl FnOnce(&mut dyn Write) -> Result<(), BackupRotationError>,
) -> Result<(), BackupRotationError> {
    let backups = data.backups();
    let part = PartFile::new(part_path(&backups, entry.name.file_name()));
    let digest = SharedDigest::default();
    let file = create_private_file(part.path())?;
    {
        let mut out = BufWriter::new(HashingWriter::new(file.try_clone()?, digest.clone()));
        write(&mut out)?;
        out.flush()?;
    }
    file.sync_all()?;
    let written = digest.finish();
    prove(part.path())?;
    test_hooks::killed_before_rename();
    std::fs::rename(part.path(), &entry.path)?;
    part.disarm();
    sync_dir(&backups)?;
    test_hooks::killed_here();
    update_meta(data, entry, written)?;
    Ok(())
}

/// A kill a test injects (feature `test-hooks`:
/// `BACKUPDESK_TEST_ROTATION_KILL_AFTER=N` aborts the process, as SIGKILL
/// would, right after the N-th backup is renamed into place, before its
/// `.meta` is updated; `BACKUPDESK_TEST_ROTATION_KILL_BEFORE=N` right
/// before the N-th rename, its part written and proven), so a test can
/// stop a rotation or a rewrap at a known point.
mod test_hooks {
    #[cfg(feature = "test-hooks")]
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[cfg(feature = "test-hooks")]
    fn abort_at(counter: &AtomicUsize, variable: &str) {
        let reached = counter.fetch_add(1, Ordering::SeqCst) + 1;
        if std::env::var(variable)
            .ok()
            .and_then(|n| n.parse::<usize>().ok())
            == Some(reached)
        {
            std::process::abort();
        }
    }

    pub(super) fn killed_here() {
        #[cfg(feature = "test-hooks")]
        {
            static RENAMED: AtomicUsize = AtomicUsize::new(0);
            abort_at(&RENAMED, "BACKUPDESK_TEST_ROTATION_KILL_AFTER");
        }
    }

    pub(super) fn killed_before_rename() {
        #[cfg(feature = "test-hooks")]
        {
            static PROVEN: AtomicUsize = AtomicUsize::new(0);
            abort_at(&PROVEN, "BACKUPDESK_TEST_ROTATION_KILL_BEFORE");
        }
    }
}

/// The `.meta` of `entry` now describes the file's own hash and size (the
/// plaintext's checksum cannot have changed: the body is untouched).
fn update_meta(
    data: &DataDir,
    entry: &CatalogEntry,
    written: crate::format::hashing::Digested,
) -> std::io::Result<()> {
    let (Some(meta), Some(meta_name)) = (&entry.meta, entry.name.meta_name()) else {
        return Ok(());
    };
    if meta.gpg_sha256.is_none() {
        return Ok(());
    }
    let mut meta = meta.clone();
    meta.gpg_sha256 = Some(written.sha256);
    meta.gpg_size = Some(written.size);
    write_atomic(&data.backups().join(meta_name), meta.to_json().as_bytes())
}

/// A run killed between a backup's rename and its `.meta`'s update left
/// the `.meta` describing the file before: re-derived here once the file
/// is proven to open (`opens`: its body, and so its plaintext checksum, is
/// the one the `.meta` describes).
fn repair_interrupted(
    data: &DataDir,
    catalog: &BackupCatalog,
    opens: &dyn Fn(&std::path::Path) -> bool,
) {
    let Some(current) = in_progress(data).and_then(|s| s.current) else {
        return;
    };
    let Some(entry) = catalog.entries().iter().find(|e| name_of(e) == current) else {
        return;
    };
    let Some(meta) = &entry.meta else { return };
    let Ok(actual) = digest_file(&entry.path) else {
        return;
    };
    if meta.gpg_sha256.is_none() || meta.gpg_sha256.as_deref() == Some(actual.sha256.as_str()) {
        return;
    }
    if opens(&entry.path) {
        let _ = update_meta(data, entry, actual);
    }
}
