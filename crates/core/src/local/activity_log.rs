//! Appends to `logs/backup.log`, `logs/restore.log` and `logs/verify.log` in the line format the
//! server's scripts use: `YYYY-MM-DD HH:MM:SS [LEVEL] message`.

use std::io::Write;
use std::path::PathBuf;

use crate::context::OperationContext;
use crate::local::layout::DataDir;

/// Severity of a log line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Level {
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
pub(crate) struct ActivityLog {
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

    /// `logs/notify.log`: every notification attempt and its outcome.
    pub fn notify(data: &DataDir) -> Self {
        ActivityLog {
            path: data.logs().join("notify.log"),
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
    pub fn append(&self, ctx: &OperationContext<'_>, level: Level, message: &str) {
        let line = format!(
            "{} [{}] {}\n",
            ctx.now().format("%Y-%m-%d %H:%M:%S"),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::FixedClock;

    #[test]
    fn a_line_is_dated_by_the_context_and_kept_on_one_line() {
        let dir = tempfile::tempdir().unwrap();
        let data = DataDir::new(dir.path());
        let clock = FixedClock::utc(2026, 12, 4, 8, 9, 10);
        let ctx = OperationContext::bare(&clock);
        let log = ActivityLog::backup(&data);
        log.append(&ctx, Level::Info, "Backup created");
        log.append(&ctx, Level::Error, "two\nlines");
        let text = std::fs::read_to_string(data.logs().join("backup.log")).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2, "{text}");
        assert!(
            lines[0].starts_with("2026-12-04 08:09:10 ["),
            "{}",
            lines[0]
        );
        assert!(lines[0].ends_with("Backup created"));
        assert!(lines[1].ends_with("two lines"), "{}", lines[1]);
    }

    #[test]
    fn a_log_planted_as_a_link_is_never_written_through_and_never_fails_the_caller() {
        let dir = tempfile::tempdir().unwrap();
        let data = DataDir::new(dir.path());
        std::fs::create_dir_all(data.logs()).unwrap();
        let target = dir.path().join("elsewhere");
        std::fs::write(&target, b"untouched").unwrap();
        std::os::unix::fs::symlink(&target, data.logs().join("restore.log")).unwrap();
        let clock = FixedClock::utc(2026, 12, 4, 8, 9, 10);
        ActivityLog::restore(&data).append(&OperationContext::bare(&clock), Level::Info, "x");
        assert_eq!(std::fs::read(&target).unwrap(), b"untouched");
    }
}
