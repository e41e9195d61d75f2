//! Appends to `logs/backup.log`, `logs/restore.log` and `logs/verify.log` in the line format the
//! server's scripts use: `YYYY-MM-DD HH:MM:SS [LEVEL] message`.

use std::io::Write;
use std::path::PathBuf;

use crate::clock::Clock;
use crate::local::layout::DataDir;

/// Severity of a log line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// Normal progress.
    Info,
    /// Something the admin should look at.
    Warning,
    /// The operation failed.
    Error,
}

impl Level {
    fn label(self) -> &'static str {
        match self {
            Level::Info => "INFO",
            Level::Warning => "WARNING",
            Level::Error => "ERROR",
        }
    }
}

/// One of the plain-text logs of an installation.
#[derive(Debug, Clone)]
pub struct ActivityLog {
    path: PathBuf,
}

impl ActivityLog {
    /// `logs/backup.log`.
    pub fn backup(data: &DataDir) -> Self {
        ActivityLog {
            path: data.logs().join("backup.log"),
        }
    }

    /// `logs/verify.log`: verifications and restore drills (the scheduled
    /// jobs' own lines).
    pub fn verify(data: &DataDir) -> Self {
        ActivityLog {
            path: data.logs().join("verify.log"),
        }
    }

    /// `logs/restore.log`.
    pub fn restore(data: &DataDir) -> Self {
        ActivityLog {
            path: data.logs().join("restore.log"),
        }
    }

    /// Appends one line, creating `logs/` if missing. Logging never makes an
    /// operation fail: errors are reported through `tracing` and dropped.
    pub fn append(&self, clock: &dyn Clock, level: Level, message: &str) {
        let line = format!(
            "{} [{}] {}\n",
            clock.now().format("%Y-%m-%d %H:%M:%S"),
            level.label(),
            message.replace('\n', " ")
        );
        let result = (|| -> std::io::Result<()> {
            if let Some(dir) = self.path.parent() {
                std::fs::create_dir_all(dir)?;
            }
            use std::os::unix::fs::OpenOptionsExt;
            // Never appended through a symlink (as root it could be any file).
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .mode(0o644)
                .custom_flags(libc::O_NOFOLLOW)
                .open(&self.path)?
                .write_all(line.as_bytes())
        })();
        if let Err(e) = result {
            tracing::warn!(path = %self.path.display(), error = %e, "cannot write the activity log");
        }
    }
}
