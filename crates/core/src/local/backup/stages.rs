//! A backup's stages after its plan: **read** (the live database pinned,
//! frozen or staged), **encrypt** (one streaming pass that hashes,
//! compresses and encrypts into a part), its `.meta`, and **publish**
//! (`.meta` before `.gpg`, atomically), with the name chosen free.

use super::*;
use crate::context::OperationContext;

/// Stage **read**'s outcome: the plaintext to encrypt, its size, what SQLite
/// said of it, and what holds the live database still while it is read.
pub(super) struct SnapshotToRead {
    pub(super) reader: Box<dyn Read>,
    pub(super) size: u64,
    pub(super) info: snapshot::SnapshotInfo,
    pub(super) how: SnapshotRead,
    /// The pinned read transaction or write lock on the live database.
    pub(super) held: Option<snapshot::FrozenDatabase>,
    /// The staged copy, when one was made.
    pub(super) staged: Option<StagedFile>,
}

/// Stage **read**: the live database pinned or frozen in place, its bytes
/// as they are, or a consistent copy staged first (see [`SnapshotSource`]).
pub(super) fn read_snapshot(
    data: &DataDir,
    staging: &Staging,
    options: &BackupOptions,
    ctx: &OperationContext<'_>,
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
    let info = snapshot::take_snapshot(&live, staged.path(), ctx)?;
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
pub(super) fn encrypt_part(
    backups: &Path,
    name: &BackupName,
    plain: Box<dyn Read>,
    plain_size: u64,
    sealing: &crate::format::crypto::Sealing,
    options: &BackupOptions,
    ctx: &OperationContext<'_>,
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
        sealing,
        options.compression,
        Some(plain_size),
        ctx,
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
pub(super) fn meta_of(
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
pub(super) fn publish(
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

/// A pause a test injects into the encryption (feature `test-hooks`): while
/// the file `BACKUPDESK_TEST_READ_GATE` names exists, reading the plaintext
/// waits, so a GUI test can leave a screen while a backup runs and let it
/// finish (at full speed) by removing the file.
pub(super) mod test_hooks {
    use std::io::Read;

    pub(super) fn slowed(reader: Box<dyn Read>) -> Box<dyn Read> {
        #[cfg(feature = "test-hooks")]
        if let Some(gate) = std::env::var_os("BACKUPDESK_TEST_READ_GATE") {
            return Box::new(Gated {
                reader,
                gate: gate.into(),
            });
        }
        reader
    }

    #[cfg(feature = "test-hooks")]
    struct Gated {
        reader: Box<dyn Read>,
        gate: std::path::PathBuf,
    }

    #[cfg(feature = "test-hooks")]
    impl Read for Gated {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            while self.gate.exists() {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            self.reader.read(buf)
        }
    }
}

/// Picks the name for a backup taken now. Names have one-second resolution:
/// when a backup of this second exists already, waits for the next second
/// (a few times at most) rather than failing a scheduled run.
pub(super) fn free_name(
    backups: &Path,
    kind: NewBackupKind,
    ctx: &OperationContext<'_>,
) -> Result<(chrono::DateTime<chrono::FixedOffset>, BackupName), BackupError> {
    let mut attempt = 0;
    loop {
        let now = ctx.now();
        let name = match kind {
            NewBackupKind::Regular => BackupName::new_encrypted(now.naive_local()),
            NewBackupKind::PreRestore => BackupName::new_pre_restore(now.naive_local()),
            NewBackupKind::PreRestoreRows => BackupName::new_pre_restore_rows(now.naive_local()),
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
pub(super) struct WriterHandle {
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

pub(super) struct SharedWriter(std::sync::Arc<std::sync::Mutex<Option<GpgWriter>>>);

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
