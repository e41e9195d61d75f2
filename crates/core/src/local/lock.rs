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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::KindedError;

    #[test]
    fn one_changing_operation_at_a_time_and_the_lock_is_freed_on_drop() {
        let dir = tempfile::tempdir().unwrap();
        let data = DataDir::new(dir.path());
        let first = OperationLock::acquire(&data).unwrap();
        let err = OperationLock::acquire(&data).unwrap_err();
        assert_eq!(err.kind(), "busy", "{err}");
        assert!(err.to_string().contains(&dir.path().display().to_string()));
        drop(first);
        assert!(OperationLock::acquire(&data).is_ok());
    }

    #[test]
    fn a_lock_file_planted_as_a_link_is_never_followed() {
        let dir = tempfile::tempdir().unwrap();
        let data = DataDir::new(dir.path());
        std::fs::create_dir_all(data.state()).unwrap();
        let target = dir.path().join("elsewhere");
        std::fs::write(&target, b"not yours").unwrap();
        std::os::unix::fs::symlink(&target, data.state().join("lock")).unwrap();
        let err = OperationLock::acquire(&data).unwrap_err();
        assert_eq!(err.kind(), "io", "{err}");
        assert_eq!(std::fs::read(&target).unwrap(), b"not yours");
    }
}
