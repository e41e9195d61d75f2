//! An installation's activity as its logs record it: every backup, verify,
//! drill, prune, delete, push, restore and rotation (`logs/backup.log`,
//! `logs/verify.log`, `logs/restore.log`, written by Backup Desk and by
//! Server Monitor's own scripts in one line format).

use serde::{Deserialize, Serialize};

/// Which of an installation's logs a line comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum LogName {
    /// `logs/backup.log`: backups, prunes, deletions, off-site copies, rotations.
    Backup,
    /// `logs/verify.log`: verifications and restore drills.
    Verify,
    /// `logs/restore.log`: restores and their rollbacks.
    Restore,
}

impl LogName {
    /// Every log, in the order they are read.
    pub(crate) const ALL: [LogName; 3] = [LogName::Backup, LogName::Verify, LogName::Restore];

    /// The file name under `logs/`.
    pub fn file_name(self) -> &'static str {
        match self {
            LogName::Backup => "backup.log",
            LogName::Verify => "verify.log",
            LogName::Restore => "restore.log",
        }
    }

    /// `backup`, `verify` or `restore`, as on the wire and the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            LogName::Backup => "backup",
            LogName::Verify => "verify",
            LogName::Restore => "restore",
        }
    }
}

/// How grave a line is; ordered, so a query can ask for "warning or worse".
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum LogLevel {
    Info,
    Warning,
    Error,
}

impl LogLevel {
    /// `info`, `warning` or `error`, as on the wire and the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            LogLevel::Info => "info",
            LogLevel::Warning => "warning",
            LogLevel::Error => "error",
        }
    }

    /// The level written between brackets (`INFO`, `WARNING`/`WARN`, `ERROR`).
    pub fn parse(word: &str) -> Option<LogLevel> {
        match word.to_ascii_uppercase().as_str() {
            "INFO" | "DEBUG" | "NOTICE" => Some(LogLevel::Info),
            "WARNING" | "WARN" => Some(LogLevel::Warning),
            "ERROR" | "FATAL" | "CRITICAL" => Some(LogLevel::Error),
            _ => None,
        }
    }
}

/// One recorded event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ActivityEntry {
    /// When, in the installation's local time (null: a line without a time,
    /// kept as written).
    pub at: Option<chrono::NaiveDateTime>,
    pub log: LogName,
    /// Null for a line without a level.
    pub level: Option<LogLevel>,
    pub message: String,
}

/// Which entries to return. The default: every log, every level, the
/// newest 500.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(default)]
pub struct ActivityQuery {
    /// Only entries at or after this local time.
    pub since: Option<chrono::NaiveDateTime>,
    /// Only entries whose message contains this text (any case).
    pub search: String,
    /// Only entries at this level or graver (an entry without a level
    /// counts as info).
    pub min_level: Option<LogLevel>,
    /// Only these logs (empty: all).
    pub logs: Vec<LogName>,
    /// At most this many entries, newest first (1 to 10,000).
    pub limit: u32,
}

impl Default for ActivityQuery {
    fn default() -> Self {
        ActivityQuery {
            since: None,
            search: String::new(),
            min_level: None,
            logs: Vec::new(),
            limit: 500,
        }
    }
}

impl ActivityQuery {
    /// The most entries a query may ask for.
    pub(crate) const MAX_LIMIT: u32 = 10_000;

    /// Whether `entry` is one this query asks for.
    pub fn matches(&self, entry: &ActivityEntry) -> bool {
        if !self.logs.is_empty() && !self.logs.contains(&entry.log) {
            return false;
        }
        if let Some(min) = self.min_level
            && entry.level.unwrap_or(LogLevel::Info) < min
        {
            return false;
        }
        if let Some(since) = self.since
            && entry.at.is_none_or(|at| at < since)
        {
            return false;
        }
        let needle = self.search.trim().to_lowercase();
        needle.is_empty() || entry.message.to_lowercase().contains(&needle)
    }
}

/// The entries a query found, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ActivityPage {
    pub entries: Vec<ActivityEntry>,
    /// How many entries matched (more than `entries` when the limit cut).
    pub matching: u32,
    /// Whether a log was longer than what is read of it (its newest part
    /// only): older entries exist that no query here reaches.
    pub older_not_read: bool,
    /// A log that exists but could not be read, and why.
    pub unreadable: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(log: LogName, level: Option<LogLevel>, at: &str, message: &str) -> ActivityEntry {
        ActivityEntry {
            at: chrono::NaiveDateTime::parse_from_str(at, "%Y-%m-%d %H:%M").ok(),
            log,
            level,
            message: message.into(),
        }
    }

    #[test]
    fn levels_read_as_the_scripts_and_we_write_them() {
        assert_eq!(LogLevel::parse("info"), Some(LogLevel::Info));
        assert_eq!(LogLevel::parse("NOTICE"), Some(LogLevel::Info));
        assert_eq!(LogLevel::parse("Warn"), Some(LogLevel::Warning));
        assert_eq!(LogLevel::parse("FATAL"), Some(LogLevel::Error));
        assert_eq!(LogLevel::parse("TRACE-ish"), None);
        assert!(LogLevel::Info < LogLevel::Warning && LogLevel::Warning < LogLevel::Error);
        for log in LogName::ALL {
            assert_eq!(format!("{}.log", log.as_str()), log.file_name());
        }
    }

    #[test]
    fn a_query_asks_for_its_logs_levels_time_and_text() {
        let prune = entry(
            LogName::Backup,
            Some(LogLevel::Info),
            "2026-12-03 02:00",
            "Pruned servers_db_x",
        );
        let failed = entry(
            LogName::Verify,
            Some(LogLevel::Error),
            "2026-12-04 03:00",
            "Verification FAILED: y",
        );
        let bare = entry(LogName::Restore, None, "", "a line without time or level");
        let all = ActivityQuery::default();
        assert!(all.matches(&prune) && all.matches(&failed) && all.matches(&bare));
        let errors = ActivityQuery {
            min_level: Some(LogLevel::Warning),
            ..ActivityQuery::default()
        };
        assert!(!errors.matches(&prune) && errors.matches(&failed) && !errors.matches(&bare));
        let verify_only = ActivityQuery {
            logs: vec![LogName::Verify],
            ..ActivityQuery::default()
        };
        assert!(!verify_only.matches(&prune) && verify_only.matches(&failed));
        let since = ActivityQuery {
            since: chrono::NaiveDateTime::parse_from_str("2026-12-04 00:00", "%Y-%m-%d %H:%M").ok(),
            ..ActivityQuery::default()
        };
        assert!(!since.matches(&prune) && since.matches(&failed) && !since.matches(&bare));
        let search = ActivityQuery {
            search: "  PRUNED ".into(),
            ..ActivityQuery::default()
        };
        assert!(search.matches(&prune) && !search.matches(&failed));
    }
}
