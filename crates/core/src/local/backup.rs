//! Making a backup: snapshot, then one streaming pass that hashes,
//! compresses and encrypts, then atomic publication (`.meta` before `.gpg`).

use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::KindedError;
use crate::clock::Clock;
use crate::format::crypto::{self, Compression, CryptoError, Passphrase};
use crate::format::hashing::{HashingWriter, SharedDigest};
use crate::format::meta::BackupMeta;
use crate::format::name::BackupName;
use crate::local::activity_log::{ActivityLog, Level};
use crate::local::catalog::BackupCatalog;
use crate::local::layout::DataDir;
use crate::local::ledger::Ledger;
use crate::local::lock::{LockError, OperationLock};
use crate::local::page_cache::DropBehind;
use crate::local::retention::{self, PruneOutcome};
use crate::local::snapshot::{self, SnapshotError};
use crate::local::staging::{StagedFile, Staging};
use crate::progress::Progress;
use crate::publish::{
    PART_PREFIX, PART_SUFFIX, PartFile, create_private_file, ensure_private_dir, is_not_writable,
    is_storage_full, part_path, sync_dir,
};

/// Which kind of encrypted backup to make.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NewBackupKind {
    /// `servers_db_*.db.gpg`.
    #[default]
    Regular,
    /// `prerestore_*.db.gpg`, the safety copy before a restore.
    PreRestore,
}

/// Options of [`create_backup`].
#[derive(Debug, Clone)]
pub struct BackupOptions {
    /// Deflate effort (default: gpg's level 6).
    pub compression: Compression,
    /// Allow the scripts' well-known default passphrase for a new backup.
    pub allow_default_passphrase: bool,
    /// Regular or pre-restore.
    pub kind: NewBackupKind,
    /// Prune with the saved retention policy after a successful backup
    /// (default: yes). A failing prune never fails the backup.
    pub prune_after: bool,
    /// The policy for that prune (a profile's); `None`: the one saved in
    /// the data directory, or the default.
    pub retention: Option<crate::local::retention::RetentionPolicy>,
}

impl Default for BackupOptions {
    fn default() -> Self {
        BackupOptions {
            compression: Compression::default(),
            allow_default_passphrase: false,
            kind: NewBackupKind::Regular,
            prune_after: true,
            retention: None,
        }
    }
}

/// What a successful backup produced.
#[derive(Debug, Clone)]
pub struct BackupReport {
    /// The new backup's file name.
    pub name: BackupName,
    /// Full path of the `.gpg`.
    pub path: PathBuf,
    /// Full path of the `.meta`.
    pub meta_path: PathBuf,
    /// The metadata written.
    pub meta: BackupMeta,
    /// Wall time of the whole operation.
    pub duration: Duration,
    /// Leftovers of earlier interrupted runs that were cleaned up.
    pub leftovers_removed: usize,
    /// How the database was read.
    pub snapshot: SnapshotRead,
    /// What the automatic prune removed, when it ran.
    pub pruned: Option<PruneOutcome>,
    /// Problems that did not fail the backup (a prune that could not run).
    pub warnings: Vec<String>,
}

/// Why a backup failed. In every case no partial backup is listed and every
/// existing file is untouched.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// The passphrase is the scripts' well-known default.
    #[error(
        "refusing to encrypt a new backup with Server Monitor's well-known default passphrase; set your own (--passphrase-file or DB_BACKUP_PASSPHRASE) or pass --allow-default-passphrase"
    )]
    DefaultPassphraseRefused,
    /// The passphrase is empty.
    #[error("the backup passphrase is empty")]
    EmptyPassphrase,
    /// Taking the snapshot failed (missing db, not SQLite, locked...).
    #[error(transparent)]
    Snapshot(#[from] SnapshotError),
    /// Another operation runs on this data directory.
    #[error(transparent)]
    Lock(#[from] LockError),
    /// The backup folder has no space left.
    #[error("the backup folder {path} is full: {source}")]
    BackupFolderFull {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// The backup folder cannot be written.
    #[error("cannot write to the backup folder {path}: {source}")]
    BackupFolderNotWritable {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// A backup with this name already exists (two backups in one second).
    #[error("a backup named {0} already exists; wait a second and try again")]
    AlreadyExists(String),
    /// Encryption failed.
    #[error("encryption failed: {0}")]
    Crypto(#[from] CryptoError),
    /// Another I/O failure.
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

impl KindedError for BackupError {
    fn kind(&self) -> crate::ErrorKind {
        match self {
            BackupError::DefaultPassphraseRefused => crate::ErrorKind::DefaultPassphraseRefused,
            BackupError::EmptyPassphrase => crate::ErrorKind::EmptyPassphrase,
            BackupError::Snapshot(e) => e.kind(),
            BackupError::Lock(e) => e.kind(),
            BackupError::BackupFolderFull { .. } => crate::ErrorKind::BackupFolderFull,
            BackupError::BackupFolderNotWritable { .. } => {
                crate::ErrorKind::BackupFolderNotWritable
            }
            BackupError::AlreadyExists(_) => crate::ErrorKind::BackupExists,
            BackupError::Crypto(e) => e.kind(),
            BackupError::Io { .. } => crate::ErrorKind::Io,
        }
    }
}

fn folder_error(path: &Path) -> impl Fn(std::io::Error) -> BackupError + '_ {
    move |source| {
        let path = path.display().to_string();
        if is_storage_full(&source) {
            BackupError::BackupFolderFull { path, source }
        } else if is_not_writable(&source) {
            BackupError::BackupFolderNotWritable { path, source }
        } else {
            BackupError::Io { path, source }
        }
    }
}

fn crypto_folder_error(path: &Path) -> impl Fn(CryptoError) -> BackupError + '_ {
    move |e| match e {
        CryptoError::Io(source) => folder_error(path)(source),
        other => BackupError::Crypto(other),
    }
}

/// Removes what interrupted runs left behind: plaintext in the staging
/// folder, `.part` temporaries in the backup folder, and `.meta` files we
/// wrote whose `.gpg` never got published. Call only under the
/// [`OperationLock`]. Returns how many files were removed.
pub fn remove_leftovers(data: &DataDir, staging: &Staging) -> usize {
    let mut removed = staging.remove_leftovers().unwrap_or(0);
    let Ok(read) = std::fs::read_dir(data.backups()) else {
        return removed;
    };
    for entry in read.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let path = entry.path();
        let stale = if name.starts_with(PART_PREFIX)
            && (name.ends_with(PART_SUFFIX) || name.ends_with(".tmp"))
        {
            true
        } else if let Some(db_name) = name.strip_suffix(".meta") {
            !data.backup_file(&format!("{db_name}.gpg")).exists()
                && BackupMeta::read(&path)
                    .map(|m| m.tool.as_deref() == Some("backupdesk"))
                    .unwrap_or(false)
        } else {
            false
        };
        if stale && std::fs::remove_file(&path).is_ok() {
            removed += 1;
        }
    }
    removed
}

/// Makes a new encrypted backup of the live database.
///
/// # Errors
/// See [`BackupError`]; on any error nothing new is listed and nothing
/// existing changed. A failure is also written to `logs/backup.log`.
#[tracing::instrument(skip(passphrase, clock, progress), fields(root = %data.root().display()))]
pub fn create_backup(
    data: &DataDir,
    passphrase: &Passphrase,
    options: &BackupOptions,
    clock: &dyn Clock,
    progress: &dyn Progress,
) -> Result<BackupReport, BackupError> {
    let log = ActivityLog::backup(data);
    let result = run(data, passphrase, options, clock, progress);
    match &result {
        Ok(report) => log.append(
            clock,
            Level::Info,
            &format!(
                "Backup created: {} ({} bytes, sha256 {})",
                report.path.display(),
                report.meta.gpg_size.unwrap_or(0),
                report.meta.checksum_sha256
            ),
        ),
        Err(e) => log.append(clock, Level::Error, &format!("Backup failed: {e}")),
    }
    result
}

fn run(
    data: &DataDir,
    passphrase: &Passphrase,
    options: &BackupOptions,
    clock: &dyn Clock,
    progress: &dyn Progress,
) -> Result<BackupReport, BackupError> {
    check_passphrase(passphrase, options)?;
    snapshot::check_is_sqlite(&data.database())?;
    let _lock = OperationLock::acquire(data)?;
    let state_dir = data.state();
    let staging = Staging::open(data).map_err(folder_error(&state_dir))?;
    let leftovers_removed = remove_leftovers(data, &staging);
    let (mut report, snapshot) = backup_locked(
        data,
        &staging,
        passphrase,
        options,
        clock,
        progress,
        SnapshotSource::PinnedInPlace,
    )?;
    drop(snapshot);
    report.leftovers_removed = leftovers_removed;
    if options.prune_after {
        let scanned = BackupCatalog::scan(data).and_then(|c| Ok((c, Ledger::read(data)?)));
        match scanned {
            Ok((catalog, ledger)) => {
                let plan = retention::plan(
                    &catalog,
                    &ledger,
                    &options
                        .retention
                        .unwrap_or_else(|| retention::saved_policy(data)),
                    clock,
                );
                let outcome =
                    retention::apply(data, &plan, clock, "the automatic retention after a backup");
                for (name, error) in &outcome.failed {
                    report
                        .warnings
                        .push(format!("could not prune {name}: {error}"));
                }
                report.pruned = Some(outcome);
            }
            Err(e) => report.warnings.push(format!("pruning skipped: {e}")),
        }
    }
    Ok(report)
}

fn check_passphrase(passphrase: &Passphrase, options: &BackupOptions) -> Result<(), BackupError> {
    if passphrase.is_empty() {
        return Err(BackupError::EmptyPassphrase);
    }
    if passphrase.is_legacy_default() && !options.allow_default_passphrase {
        return Err(BackupError::DefaultPassphraseRefused);
    }
    Ok(())
}

/// How a backup read the database (reported as `snapshot` in `--json`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum SnapshotRead {
    /// In place, WAL mode, under a pinned read transaction: writers went on.
    Pinned,
    /// In place under a write lock: nobody else had the database open.
    Frozen,
    /// A copy in the staging folder first (SQLite's backup API, one step).
    StagedCopy,
    /// The file's bytes as they are (a damaged database).
    AsIs,
}

/// Where a backup reads the database from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SnapshotSource {
    /// The live file itself when it is in WAL mode, pinned by a read
    /// transaction while it is read (see [`snapshot::pin_wal`]), safe beside
    /// a running service; otherwise a consistent copy in the staging folder
    /// (SQLite's backup API, one step), handed back to the caller still
    /// staged.
    PinnedInPlace,
    /// The live file itself, pinned (WAL mode) or else frozen by a write
    /// lock while it is read (see [`snapshot::freeze`]): for a database no
    /// other process uses. Falls back to a staged copy when it can be
    /// neither.
    FrozenInPlace,
    /// The live file's bytes as they are, without SQLite: for a damaged
    /// database that SQLite cannot read (the safety copy before a restore
    /// over it). `gpg -d` gives the same damaged file back.
    AsIs,
}

/// Makes a backup while the caller holds the [`OperationLock`]; hands back
/// the plaintext snapshot when one was staged (restore keeps it for a fast
/// rollback). Prunes nothing. Stages: **name**, **read** (the snapshot,
/// [`SnapshotSource`]), **encrypt** (into a part file), **meta**,
/// **publish** (the `.meta` first, then the backup, each renamed into place).
///
/// # Errors
/// As [`create_backup`].
pub(crate) fn backup_locked(
    data: &DataDir,
    staging: &Staging,
    passphrase: &Passphrase,
    options: &BackupOptions,
    clock: &dyn Clock,
    progress: &dyn Progress,
    source: SnapshotSource,
) -> Result<(BackupReport, Option<StagedFile>), BackupError> {
    let started = Instant::now();
    check_passphrase(passphrase, options)?;
    let backups = data.backups();
    ensure_private_dir(&backups).map_err(folder_error(&backups))?;
    let (now, name) = free_name(&backups, options.kind, clock)?;
    let read = read_snapshot(data, staging, options, progress, source)?;
    let snapshot_read = read.how;
    let info = read.info.clone();
    let staged = read.staged;
    let (gpg_part, plain_digest, gpg) = encrypt_part(
        &backups,
        &name,
        read.reader,
        read.size,
        passphrase,
        options,
        progress,
    )?;
    // The database is let go only now: it was read until the end.
    drop(read.held);
    let meta = meta_of(
        &name,
        now,
        &data.database(),
        plain_digest,
        gpg,
        options,
        info,
        source,
    );
    let (gpg_path, meta_path) = publish(&backups, &name, &meta, gpg_part)?;
    let report = BackupReport {
        name,
        path: gpg_path,
        meta_path,
        meta,
        duration: started.elapsed(),
        leftovers_removed: 0,
        snapshot: snapshot_read,
        pruned: None,
        warnings: Vec::new(),
    };
    Ok((report, staged))
}

/// Stage **read**'s outcome: the plaintext to encrypt, its size, what SQLite
/// said of it, and what holds the live database still while it is read.
struct SnapshotToRead {
    reader: Box<dyn Read>,
    size: u64,
    info: snapshot::SnapshotInfo,
    how: SnapshotRead,
    /// The pinned read transaction or write lock on the live database.
    held: Option<snapshot::FrozenDatabase>,
    /// The staged copy, when one was made.
    staged: Option<StagedFile>,
}

/// Stage **read**: the live database pinned or frozen in place, its bytes
/// as they are, or a consistent copy staged first (see [`SnapshotSource`]).
fn read_snapshot(
    data: &DataDir,
    staging: &Staging,
    options: &BackupOptions,
    progress: &dyn Progress,
    source: SnapshotSource,
) -> Result<SnapshotToRead, BackupError> {
    let live = data.database();
    let state_dir = data.state();
    let state_err = folder_error(&state_dir);
    let held = match source {
        SnapshotSource::AsIs => None,
        SnapshotSource::PinnedInPlace => snapshot::pin_wal(&live)?,
        SnapshotSource::FrozenInPlace => match snapshot::pin_wal(&live)? {
            Some(pinned) => Some(pinned),
            None => snapshot::freeze(&live)?,
        },
    };
    if let Some(frozen) = held {
        let how = if frozen.is_pinned() {
            SnapshotRead::Pinned
        } else {
            SnapshotRead::Frozen
        };
        let size = frozen.size();
        let reader = frozen
            .reader(options.kind == NewBackupKind::PreRestore)
            .map_err(folder_error(&live))?;
        tracing::debug!("reading the live database in place");
        return Ok(SnapshotToRead {
            reader: Box::new(reader),
            size,
            info: frozen.info.clone(),
            how,
            held: Some(frozen),
            staged: None,
        });
    }
    if source == SnapshotSource::AsIs {
        let file = std::fs::File::open(&live).map_err(folder_error(&live))?;
        let size = file.metadata().map_err(folder_error(&live))?.len();
        let info = snapshot::SnapshotInfo {
            page_size: 0,
            page_count: 0,
            journal_mode: "unknown".to_owned(),
            tables: Vec::new(),
        };
        return Ok(SnapshotToRead {
            reader: Box::new(file),
            size,
            info,
            how: SnapshotRead::AsIs,
            held: None,
            staged: None,
        });
    }
    let staged = staging.file("snapshot.db");
    let info = snapshot::take_snapshot(&live, staged.path(), progress)?;
    let size = std::fs::metadata(staged.path()).map_err(&state_err)?.len();
    let file = std::fs::File::open(staged.path()).map_err(&state_err)?;
    Ok(SnapshotToRead {
        reader: Box::new(file),
        size,
        info,
        how: SnapshotRead::StagedCopy,
        held: None,
        staged: Some(staged),
    })
}

/// Stage **encrypt**: the plaintext into the backup's part file (hashed on
/// the way in and out, synced); its part, the plaintext's digest and the
/// encrypted file's.
fn encrypt_part(
    backups: &Path,
    name: &BackupName,
    plain: Box<dyn Read>,
    plain_size: u64,
    passphrase: &Passphrase,
    options: &BackupOptions,
    progress: &dyn Progress,
) -> Result<
    (
        PartFile,
        crate::format::hashing::Digested,
        crate::format::hashing::Digested,
    ),
    BackupError,
> {
    let gpg_part = PartFile::new(part_path(backups, name.file_name()));
    let file = create_private_file(gpg_part.path()).map_err(folder_error(backups))?;
    let gpg_digest = SharedDigest::default();
    let writer = HashingWriter::new(
        BufWriter::with_capacity(crypto::STREAM_BUFFER, DropBehind::new(file)),
        gpg_digest.clone(),
    );
    let mut plain = BufReader::with_capacity(crypto::STREAM_BUFFER, test_hooks::slowed(plain));
    let mut sink = WriterHandle::default();
    let digest = crypto::encrypt(
        &mut plain,
        sink.attach(writer),
        name.db_name(),
        passphrase,
        options.compression,
        Some(plain_size),
        progress,
    )
    .map_err(crypto_folder_error(backups))?;
    let mut file = sink.take().map_err(folder_error(backups))?;
    tracing::debug!("encrypted");
    file.sync_all().map_err(folder_error(backups))?;
    tracing::debug!("synced");
    Ok((gpg_part, digest, gpg_digest.finish()))
}

/// Stage **meta**: the `.meta` of the new backup (the contract's fields,
/// then Backup Desk's; no page facts for a database read as it is).
#[allow(clippy::too_many_arguments)]
fn meta_of(
    name: &BackupName,
    now: chrono::DateTime<chrono::FixedOffset>,
    live: &Path,
    plain: crate::format::hashing::Digested,
    gpg: crate::format::hashing::Digested,
    options: &BackupOptions,
    info: snapshot::SnapshotInfo,
    source: SnapshotSource,
) -> BackupMeta {
    let as_is = source == SnapshotSource::AsIs;
    BackupMeta {
        backup_name: name.db_name().to_owned(),
        timestamp: now.to_rfc3339_opts(chrono::SecondsFormat::Secs, false),
        size_bytes: plain.size,
        checksum_sha256: plain.sha256,
        database_path: live.display().to_string(),
        encrypted: true,
        tool: Some("backupdesk".to_owned()),
        tool_version: Some(crate::TOOL_VERSION.to_owned()),
        gpg_sha256: Some(gpg.sha256),
        gpg_size: Some(gpg.size),
        compression: Some(options.compression.label()),
        page_size: (!as_is).then_some(info.page_size),
        page_count: (!as_is).then_some(info.page_count),
        journal_mode: (!as_is).then_some(info.journal_mode),
        tables: (!as_is).then_some(info.tables),
    }
}

/// Stage **publish**: the `.meta` written to its part and renamed into
/// place first, then the backup (a listed backup always has its `.meta`);
/// a backup that cannot be published takes its `.meta` back. The paths of
/// both.
fn publish(
    backups: &Path,
    name: &BackupName,
    meta: &BackupMeta,
    gpg_part: PartFile,
) -> Result<(PathBuf, PathBuf), BackupError> {
    let gpg_path = backups.join(name.file_name());
    let meta_name = name.meta_name().expect("encrypted kinds have a .meta");
    let meta_path = backups.join(&meta_name);
    let meta_part = PartFile::new(part_path(backups, &meta_name));
    {
        let mut file = create_private_file(meta_part.path()).map_err(folder_error(backups))?;
        file.write_all(meta.to_json().as_bytes())
            .map_err(folder_error(backups))?;
        file.sync_all().map_err(folder_error(backups))?;
    }
    let publish_err = |e: std::io::Error| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            BackupError::AlreadyExists(name.file_name().to_owned())
        } else {
            folder_error(backups)(e)
        }
    };
    meta_part.publish(&meta_path).map_err(publish_err)?;
    if let Err(e) = gpg_part.publish(&gpg_path) {
        let _ = std::fs::remove_file(&meta_path);
        return Err(publish_err(e));
    }
    sync_dir(backups).map_err(folder_error(backups))?;
    Ok((gpg_path, meta_path))
}

/// A pause a test injects into the encryption (feature `test-hooks`:
/// `BACKUPDESK_TEST_READ_DELAY_MS` sleeps that long per 64 KiB read of the
/// plaintext), so a GUI test can leave a screen while a backup runs.
mod test_hooks {
    use std::io::Read;

    pub(super) fn slowed(reader: Box<dyn Read>) -> Box<dyn Read> {
        #[cfg(feature = "test-hooks")]
        if let Some(delay) = std::env::var("BACKUPDESK_TEST_READ_DELAY_MS")
            .ok()
            .and_then(|ms| ms.parse().ok())
            .map(std::time::Duration::from_millis)
        {
            return Box::new(Slowed { reader, delay });
        }
        reader
    }

    #[cfg(feature = "test-hooks")]
    struct Slowed {
        reader: Box<dyn Read>,
        delay: std::time::Duration,
    }

    #[cfg(feature = "test-hooks")]
    impl Read for Slowed {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            std::thread::sleep(self.delay);
            let max = buf.len().min(64 * 1024);
            self.reader.read(&mut buf[..max])
        }
    }
}

/// Picks the name for a backup taken now. Names have one-second resolution:
/// when a backup of this second exists already, waits for the next second
/// (a few times at most) rather than failing a scheduled run.
fn free_name(
    backups: &Path,
    kind: NewBackupKind,
    clock: &dyn Clock,
) -> Result<(chrono::DateTime<chrono::FixedOffset>, BackupName), BackupError> {
    let mut attempt = 0;
    loop {
        let now = clock.now();
        let name = match kind {
            NewBackupKind::Regular => BackupName::new_encrypted(now.naive_local()),
            NewBackupKind::PreRestore => BackupName::new_pre_restore(now.naive_local()),
        };
        let taken = backups.join(name.file_name()).exists()
            || name.meta_name().is_some_and(|m| backups.join(m).exists());
        if !taken {
            return Ok((now, name));
        }
        attempt += 1;
        if attempt >= 3 {
            return Err(BackupError::AlreadyExists(name.file_name().to_owned()));
        }
        let into_second = chrono::Timelike::nanosecond(&now).min(999_999_999);
        std::thread::sleep(
            Duration::from_nanos(u64::from(1_000_000_000 - into_second)) + Duration::from_millis(5),
        );
    }
}

/// The `.gpg` file as it is written: hashed, buffered, kept out of the
/// page cache.
type GpgWriter = HashingWriter<BufWriter<DropBehind<std::fs::File>>>;

/// Lets sequoia own the writer while we get the file back afterwards to
/// fsync it: sequoia's `Message` takes its sink by value.
#[derive(Default)]
struct WriterHandle {
    slot: std::sync::Arc<std::sync::Mutex<Option<GpgWriter>>>,
}

impl WriterHandle {
    fn attach(&mut self, writer: GpgWriter) -> SharedWriter {
        *self.slot.lock().unwrap_or_else(|e| e.into_inner()) = Some(writer);
        SharedWriter(self.slot.clone())
    }

    fn take(&mut self) -> std::io::Result<DropBehind<std::fs::File>> {
        let writer = self
            .slot
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
            .ok_or_else(|| std::io::Error::other("writer already taken"))?;
        writer.into_inner().into_inner().map_err(|e| e.into_error())
    }
}

struct SharedWriter(std::sync::Arc<std::sync::Mutex<Option<GpgWriter>>>);

impl Write for SharedWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self.0.lock().unwrap_or_else(|e| e.into_inner()).as_mut() {
            Some(w) => w.write(buf),
            None => Err(std::io::Error::other("writer closed")),
        }
    }
    fn flush(&mut self) -> std::io::Result<()> {
        match self.0.lock().unwrap_or_else(|e| e.into_inner()).as_mut() {
            Some(w) => w.flush(),
            None => Ok(()),
        }
    }
}
