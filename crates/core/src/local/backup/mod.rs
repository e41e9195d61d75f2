//! Making a backup: snapshot, then one streaming pass that hashes,
//! compresses and encrypts, then atomic publication (`.meta` before `.gpg`).

use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::KindedError;
use crate::context::OperationContext;
use crate::format::crypto::{self, Compression, CryptoError, Passphrase, Sealing};
use crate::format::hashing::{HashingWriter, SharedDigest};
use crate::format::meta::BackupMeta;
use crate::format::name::BackupName;
use crate::local::activity_log::{ActivityLog, Level};
use crate::local::catalog::BackupCatalog;
use crate::local::encryption_policy::{EncryptionPolicy, PolicyError};
use crate::local::layout::DataDir;
use crate::local::ledger::Ledger;
use crate::local::lock::{LockError, OperationLock};
use crate::local::page_cache::DropBehind;
use crate::local::retention::{self, PruneOutcome};
use crate::local::snapshot::{self, SnapshotError};
use crate::local::staging::{StagedFile, Staging};
use crate::publish::{
    PART_PREFIX, PART_SUFFIX, PartFile, create_private_file, ensure_private_dir, is_not_writable,
    is_storage_full, part_path, sync_dir,
};

mod stages;

use stages::*;

/// Which kind of encrypted backup to make.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NewBackupKind {
    /// `servers_db_*.db.gpg`.
    #[default]
    Regular,
    /// `prerestore_*.db.gpg`, the safety copy before a restore.
    PreRestore,
    /// `prerestore_rows_*.db.gpg`, the rows a partial restore changes.
    PreRestoreRows,
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
    /// A passphrase that opens none of the backups here starts a new set
    /// on purpose (else it is refused: a backup the stored passphrase
    /// cannot open would split the set).
    pub new_set: bool,
}

impl Default for BackupOptions {
    fn default() -> Self {
        BackupOptions {
            compression: Compression::default(),
            allow_default_passphrase: false,
            kind: NewBackupKind::Regular,
            prune_after: true,
            retention: None,
            new_set: false,
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
    /// The installation's encryption policy cannot be used: no backup is
    /// made under a weaker one.
    #[error(transparent)]
    Policy(#[from] PolicyError),
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
            BackupError::Policy(e) => e.kind(),
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
pub(crate) fn remove_leftovers(data: &DataDir, staging: &Staging) -> usize {
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
#[tracing::instrument(skip(passphrase, ctx), fields(root = %data.root().display()))]
pub fn create_backup(
    data: &DataDir,
    passphrase: &Passphrase,
    options: &BackupOptions,
    ctx: &OperationContext<'_>,
) -> Result<BackupReport, BackupError> {
    let log = ActivityLog::backup(data);
    let result = run(data, passphrase, options, ctx);
    match &result {
        Ok(report) => log.append(
            ctx,
            Level::Info,
            &format!(
                "Backup created: {} ({} bytes, sha256 {})",
                report.path.display(),
                report.meta.gpg_size.unwrap_or(0),
                report.meta.checksum_sha256
            ),
        ),
        Err(e) => log.append(ctx, Level::Error, &format!("Backup failed: {e}")),
    }
    result
}

fn run(
    data: &DataDir,
    passphrase: &Passphrase,
    options: &BackupOptions,
    ctx: &OperationContext<'_>,
) -> Result<BackupReport, BackupError> {
    sealing_for(data, passphrase, options)?;
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
        ctx,
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
                    ctx,
                );
                let outcome =
                    retention::apply(data, &plan, ctx, "the automatic retention after a backup");
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

/// What a new backup of `data` is sealed with: the recipients of its
/// encryption policy, and the passphrase where the policy keeps one (or
/// where there is no policy), checked for new backups. A policy that
/// cannot be read fails the backup: none is made with a weaker one.
///
/// # Errors
/// [`BackupError::Policy`]; the passphrase's refusals.
pub(crate) fn sealing_for(
    data: &DataDir,
    passphrase: &Passphrase,
    options: &BackupOptions,
) -> Result<Sealing, BackupError> {
    match EncryptionPolicy::read(data)? {
        Some(policy) => {
            if policy.passphrase {
                check_passphrase(passphrase, options)?;
            }
            Ok(policy.sealing(passphrase))
        }
        None => {
            check_passphrase(passphrase, options)?;
            Ok(Sealing::passphrase(passphrase.clone()))
        }
    }
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
    ctx: &OperationContext<'_>,
    source: SnapshotSource,
) -> Result<(BackupReport, Option<StagedFile>), BackupError> {
    let started = Instant::now();
    let sealing = sealing_for(data, passphrase, options)?;
    let backups = data.backups();
    ensure_private_dir(&backups).map_err(folder_error(&backups))?;
    let (now, name) = free_name(&backups, options.kind, ctx)?;
    let read = read_snapshot(data, staging, options, ctx, source)?;
    let snapshot_read = read.how;
    let info = read.info.clone();
    let staged = read.staged;
    let (gpg_part, plain_digest, gpg) = encrypt_part(
        &backups,
        &name,
        read.reader,
        read.size,
        &sealing,
        options,
        ctx,
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

/// Encrypts the SQLite file `plain` (a partial restore's rows, staged and
/// complete) as a new `prerestore_rows_` backup with its `.meta`, while the
/// caller holds the [`OperationLock`]. Stages: **name**, **encrypt**,
/// **meta**, **publish**, as for any backup.
///
/// # Errors
/// As [`create_backup`]; the file unreadable.
pub(crate) fn backup_rows(
    data: &DataDir,
    plain: &Path,
    passphrase: &Passphrase,
    ctx: &OperationContext<'_>,
) -> Result<BackupReport, BackupError> {
    let started = Instant::now();
    // The undo of a restore from a backup the default passphrase opened is
    // made with it too: it must open wherever that backup did.
    let options = BackupOptions {
        kind: NewBackupKind::PreRestoreRows,
        allow_default_passphrase: true,
        prune_after: false,
        ..Default::default()
    };
    let sealing = sealing_for(data, passphrase, &options)?;
    let backups = data.backups();
    ensure_private_dir(&backups).map_err(folder_error(&backups))?;
    let (now, name) = free_name(&backups, options.kind, ctx)?;
    let info = snapshot::info_of(plain)?;
    let file = std::fs::File::open(plain).map_err(folder_error(plain))?;
    let size = file.metadata().map_err(folder_error(plain))?.len();
    let (gpg_part, plain_digest, gpg) = encrypt_part(
        &backups,
        &name,
        Box::new(file),
        size,
        &sealing,
        &options,
        ctx,
    )?;
    let meta = meta_of(
        &name,
        now,
        &data.database(),
        plain_digest,
        gpg,
        &options,
        info,
        SnapshotSource::FrozenInPlace,
    );
    let (gpg_path, meta_path) = publish(&backups, &name, &meta, gpg_part)?;
    Ok(BackupReport {
        name,
        path: gpg_path,
        meta_path,
        meta,
        duration: started.elapsed(),
        leftovers_removed: 0,
        snapshot: SnapshotRead::StagedCopy,
        pruned: None,
        warnings: Vec::new(),
    })
}
