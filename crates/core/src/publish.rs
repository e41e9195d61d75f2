//! Crash-safe publication of files: private temporary files, fsync, then a
//! no-clobber link into place, so a listed file is always complete.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Prefix and suffix of temporary files inside `data/backups/`. The server
/// and our catalog ignore dot files; leftovers are removed by the next run.
pub const PART_PREFIX: &str = ".";
/// See [`PART_PREFIX`].
pub const PART_SUFFIX: &str = ".part";

/// Creates `dir` (and parents) and takes every access of group and others away (0700 for a new folder).
///
/// # Errors
/// When creation or `chmod` fails.
pub fn ensure_private_dir(dir: &Path) -> io::Result<()> {
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
pub fn create_private_file(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
}

/// The temporary name used while `final_name` is being written.
pub fn part_path(dir: &Path, final_name: &str) -> PathBuf {
    dir.join(format!("{PART_PREFIX}{final_name}{PART_SUFFIX}"))
}

/// Moves the complete, synced file `part` to `dest` without ever replacing an
/// existing `dest` (hard link, then unlink of the temporary name).
///
/// # Errors
/// `AlreadyExists` when `dest` exists; other I/O errors as they come.
pub fn publish_no_clobber(part: &Path, dest: &Path) -> io::Result<()> {
    std::fs::hard_link(part, dest)?;
    std::fs::remove_file(part)
}

/// fsyncs a directory so renames and links in it are durable.
///
/// # Errors
/// When the directory cannot be opened or synced.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// A temporary file that is removed on drop unless it was published.
#[derive(Debug)]
pub struct PartFile {
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
    pub fn disarm(mut self) {
        self.armed = false;
    }

    /// Publishes to `dest` (see [`publish_no_clobber`]) and disarms the guard.
    ///
    /// # Errors
    /// As [`publish_no_clobber`].
    pub fn publish(mut self, dest: &Path) -> io::Result<()> {
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
pub fn is_storage_full(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded | io::ErrorKind::FileTooLarge
    )
}

/// Whether an I/O error means we may not write there (EACCES, EPERM, EROFS).
pub fn is_not_writable(e: &io::Error) -> bool {
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

/// Replaces `path` atomically with `bytes` (0600): temporary file, fsync,
/// rename, fsync of the folder.
///
/// # Errors
/// Any I/O error; `path` is then unchanged.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    use std::io::Write;
    let dir = path.parent().unwrap_or(Path::new("."));
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = PartFile::new(dir.join(format!(".{file_name}.{}.tmp", std::process::id())));
    let _ = std::fs::remove_file(tmp.path());
    let mut file = create_private_file(tmp.path())?;
    file.write_all(bytes)?;
    file.sync_all()?;
    std::fs::rename(tmp.path(), path)?;
    tmp.disarm();
    sync_dir(dir)
}

/// The largest config file read (a profile or location book): 4 MiB.
pub const CONFIG_LIMIT: u64 = 4 << 20;

/// The text of config file `path`: only a regular file (a FIFO, a device
/// or a folder there would hang or mislead the read; a link to a regular
/// file is followed), at most [`CONFIG_LIMIT`] bytes.
///
/// # Errors
/// `NotFound` as usual; `InvalidInput` for what is not a regular file or
/// is too large; other I/O errors as they come.
pub fn read_config_text(path: &Path) -> io::Result<String> {
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
