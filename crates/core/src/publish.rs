//! Crash-safe publication of files: private temporary files, fsync, then a
//! no-clobber link into place, so a listed file is always complete.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Prefix and suffix of temporary files inside `data/backups/`. The server
/// and our catalog ignore dot files; leftovers are removed by the next run.
pub(crate) const PART_PREFIX: &str = ".";
/// See [`PART_PREFIX`].
pub(crate) const PART_SUFFIX: &str = ".part";

/// Creates `dir` (and parents) and takes every access of group and others away (0700 for a new folder).
///
/// # Errors
/// When creation or `chmod` fails.
pub(crate) fn ensure_private_dir(dir: &Path) -> io::Result<()> {
    match std::fs::symlink_metadata(dir) {
        Ok(m) if !m.is_dir() && !m.file_type().is_symlink() => {
            return Err(io::Error::new(
                io::ErrorKind::NotADirectory,
                format!("{} exists but is not a folder", dir.display()),
            ));
        }
        _ => {}
    }
    std::fs::create_dir_all(dir)?;
    // Never through a symbolic link: run as root (the scheduled job), a
    // link planted as `data/backups` would have us chmod whatever it names.
    let metadata = std::fs::symlink_metadata(dir)?;
    if metadata.file_type().is_symlink() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "{} is a symbolic link: Backup Desk only uses real folders here",
                dir.display()
            ),
        ));
    }
    let mode = metadata.permissions().mode() & 0o777;
    // Only ever takes access away from group and others: an admin's
    // stricter mode (0500: read-only backups) stays as it is.
    let private = mode & 0o700;
    if mode != private {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(private))?;
    }
    Ok(())
}

/// Creates a new file readable only by its owner (0600); fails if it exists.
///
/// # Errors
/// Any error from `open(O_CREAT|O_EXCL)`.
pub(crate) fn create_private_file(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
}

/// The temporary name used while `final_name` is being written.
pub(crate) fn part_path(dir: &Path, final_name: &str) -> PathBuf {
    dir.join(format!("{PART_PREFIX}{final_name}{PART_SUFFIX}"))
}

/// Moves the complete, synced file `part` to `dest` without ever replacing an
/// existing `dest` (hard link, then unlink of the temporary name).
///
/// # Errors
/// `AlreadyExists` when `dest` exists; other I/O errors as they come.
pub(crate) fn publish_no_clobber(part: &Path, dest: &Path) -> io::Result<()> {
    std::fs::hard_link(part, dest)?;
    std::fs::remove_file(part)
}

/// fsyncs a directory so renames and links in it are durable.
///
/// # Errors
/// When the directory cannot be opened or synced.
pub(crate) fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// A temporary file that is removed on drop unless it was published.
#[derive(Debug)]
pub(crate) struct PartFile {
    path: PathBuf,
    armed: bool,
}

impl PartFile {
    /// Guards `path`.
    pub fn new(path: PathBuf) -> Self {
        PartFile { path, armed: true }
    }

    /// The temporary path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Keeps the file: it was moved into place by other means.
    pub(crate) fn disarm(mut self) {
        self.armed = false;
    }

    /// Publishes to `dest` (see [`publish_no_clobber`]) and disarms the guard.
    ///
    /// # Errors
    /// As [`publish_no_clobber`].
    pub(crate) fn publish(mut self, dest: &Path) -> io::Result<()> {
        publish_no_clobber(&self.path, dest)?;
        self.armed = false;
        Ok(())
    }
}

impl Drop for PartFile {
    fn drop(&mut self) {
        if self.armed {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Whether an I/O error means the storage is full (ENOSPC, EDQUOT, EFBIG).
pub(crate) fn is_storage_full(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded | io::ErrorKind::FileTooLarge
    )
}

/// Whether an I/O error means we may not write there (EACCES, EPERM, EROFS).
pub(crate) fn is_not_writable(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::PermissionDenied
            | io::ErrorKind::ReadOnlyFilesystem
            // A file or a link where the folder should be: nothing can be
            // written into it as a folder.
            | io::ErrorKind::NotADirectory
            | io::ErrorKind::InvalidInput
    )
}

/// `PID-N`: this process's id and a number no other call in this process
/// got. Names made from it are unique among processes (the PID) and among
/// the threads of one process (the app runs a restore's verification
/// beside a background one: a name of the PID alone was taken twice).
/// Anything that sorts leftovers by their owner reads the PID before the
/// first `-`.
pub(crate) fn process_unique() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("{}-{n}", std::process::id())
}

/// Replaces `path` atomically with `bytes` (0600): temporary file, fsync,
/// rename, fsync of the folder.
///
/// # Errors
/// Any I/O error; `path` is then unchanged.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    use std::io::Write;
    let dir = path.parent().unwrap_or(Path::new("."));
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = PartFile::new(dir.join(format!(".{file_name}.{}.tmp", process_unique())));
    let _ = std::fs::remove_file(tmp.path());
    let mut file = create_private_file(tmp.path())?;
    file.write_all(bytes)?;
    file.sync_all()?;
    std::fs::rename(tmp.path(), path)?;
    tmp.disarm();
    sync_dir(dir)
}

/// The largest config file read (a profile or location book): 4 MiB.
pub(crate) const CONFIG_LIMIT: u64 = 4 << 20;

/// The text of config file `path`: only a regular file (a FIFO, a device
/// or a folder there would hang or mislead the read; a link to a regular
/// file is followed), at most [`CONFIG_LIMIT`] bytes.
///
/// # Errors
/// `NotFound` as usual; `InvalidInput` for what is not a regular file or
/// is too large; other I/O errors as they come.
pub(crate) fn read_config_text(path: &Path) -> io::Result<String> {
    use std::io::Read;
    let meta = std::fs::metadata(path)?;
    if !meta.is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "it is not a regular file (a FIFO, a device or a folder?)",
        ));
    }
    let mut text = String::new();
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(rustix::fs::OFlags::NONBLOCK.bits() as i32)
        .open(path)?;
    file.take(CONFIG_LIMIT + 1).read_to_string(&mut text)?;
    if text.len() as u64 > CONFIG_LIMIT {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("it is larger than {} MiB", CONFIG_LIMIT >> 20),
        ));
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn a_private_folder_is_made_with_its_parents_and_closed_to_others() {
        let dir = tempfile::tempdir().unwrap();
        let deep = dir.path().join("a/b/c");
        ensure_private_dir(&deep).unwrap();
        assert_eq!(mode(&deep), 0o700);
        // One that exists open to others is closed.
        let open = dir.path().join("open");
        std::fs::create_dir(&open).unwrap();
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o777)).unwrap();
        ensure_private_dir(&open).unwrap();
        assert_eq!(mode(&open) & 0o077, 0);
    }

    #[test]
    fn a_private_file_is_0600_and_never_opens_an_existing_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret");
        drop(create_private_file(&path).unwrap());
        assert_eq!(mode(&path), 0o600);
        let err = create_private_file(&path).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AlreadyExists);
    }

    #[test]
    fn publishing_never_replaces_what_is_there() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("backup.gpg");
        std::fs::write(&dest, b"the first").unwrap();
        let part = part_path(dir.path(), "backup.gpg");
        assert_eq!(part.parent(), Some(dir.path()));
        std::fs::write(&part, b"the second").unwrap();
        let err = publish_no_clobber(&part, &dest).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AlreadyExists);
        assert_eq!(std::fs::read(&dest).unwrap(), b"the first");
        // A new name is published, and the part is gone.
        let other = dir.path().join("backup-2.gpg");
        publish_no_clobber(&part, &other).unwrap();
        assert_eq!(std::fs::read(&other).unwrap(), b"the second");
        assert!(!part.exists());
    }

    #[test]
    fn an_unpublished_part_file_is_removed_when_dropped_and_a_disarmed_one_kept() {
        let dir = tempfile::tempdir().unwrap();
        let dropped = dir.path().join(".a.part");
        std::fs::write(&dropped, b"x").unwrap();
        drop(PartFile::new(dropped.clone()));
        assert!(!dropped.exists());
        let kept = dir.path().join(".b.part");
        std::fs::write(&kept, b"x").unwrap();
        PartFile::new(kept.clone()).disarm();
        assert!(kept.exists());
    }

    #[test]
    fn an_atomic_write_replaces_the_whole_file_privately_and_leaves_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("profiles.toml");
        std::fs::write(&path, b"old, longer content").unwrap();
        write_atomic(&path, b"new").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"new");
        assert_eq!(mode(&path), 0o600);
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 1, "{names:?}");
    }

    #[test]
    fn a_config_read_refuses_a_folder_and_what_is_too_large() {
        let dir = tempfile::tempdir().unwrap();
        let err = read_config_text(dir.path()).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        let big = dir.path().join("big.toml");
        let file = std::fs::File::create(&big).unwrap();
        file.set_len(CONFIG_LIMIT + 1).unwrap();
        let err = read_config_text(&big).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        assert!(err.to_string().contains("larger than 4 MiB"), "{err}");
        let small = dir.path().join("small.toml");
        std::fs::write(&small, "a = 1\n").unwrap();
        assert_eq!(read_config_text(&small).unwrap(), "a = 1\n");
    }

    #[test]
    fn full_and_unwritable_storage_are_told_by_their_errors() {
        let full = io::Error::from_raw_os_error(28); // ENOSPC
        assert!(is_storage_full(&full));
        assert!(!is_not_writable(&full));
        let denied = io::Error::from_raw_os_error(13); // EACCES
        assert!(is_not_writable(&denied));
        assert!(!is_storage_full(&denied));
        let read_only = io::Error::from_raw_os_error(30); // EROFS
        assert!(is_not_writable(&read_only));
    }
}
