//! One changing operation at a time per data directory.

use std::fs::{File, OpenOptions, TryLockError};

use crate::local::layout::DataDir;
use crate::publish::ensure_private_dir;

/// Why the lock could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another Backup Desk process holds it.
    #[error("another Backup Desk operation is running on {0}; try again when it has finished")]
    Busy(String),
    /// The lock file could not be created or opened.
    #[error("cannot create the lock file in {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

impl crate::KindedError for LockError {
    fn kind(&self) -> crate::ErrorKind {
        match self {
            LockError::Busy(_) => crate::ErrorKind::Busy,
            LockError::Io { .. } => crate::ErrorKind::Io,
        }
    }
}

/// An exclusive advisory lock on `data/.backupdesk/lock`, released on drop
/// (and by the kernel if the process dies).
#[derive(Debug)]
pub struct OperationLock {
    _file: File,
}

impl OperationLock {
    /// Takes the lock without waiting.
    ///
    /// # Errors
    /// [`LockError::Busy`] when another process holds it.
    pub fn acquire(data: &DataDir) -> Result<Self, LockError> {
        let state = data.state();
        let io = |source| LockError::Io {
            path: state.display().to_string(),
            source,
        };
        ensure_private_dir(&state).map_err(io)?;
        let file = {
            use std::os::unix::fs::OpenOptionsExt;
            OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .mode(0o600)
                // A lock file that is a symlink is never followed.
                .custom_flags(libc::O_NOFOLLOW)
                .open(state.join("lock"))
                .map_err(io)?
        };
        match file.try_lock() {
            Ok(()) => Ok(OperationLock { _file: file }),
            Err(TryLockError::WouldBlock) => {
                Err(LockError::Busy(data.root().display().to_string()))
            }
            Err(TryLockError::Error(e)) => Err(io(e)),
        }
    }
}
