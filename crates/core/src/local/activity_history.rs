//! Reads an installation's activity back from its logs (the lines
//! [`super::activity_log::ActivityLog`] and Server Monitor's scripts
//! append), newest first, filtered by an [`ActivityQuery`].
//!
//! Invariants: only the newest [`TAIL_BYTES`] of each log are read (a log
//! never rotated can be large; the page says when older lines exist); a log
//! is opened only as a regular file, never through a link (as root, a link
//! planted as `logs/backup.log` would show any file of the machine); a line
//! the format does not know is kept, attached to the entry before it.

use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use crate::local::layout::DataDir;
use crate::model::{ActivityEntry, ActivityPage, ActivityQuery, LogLevel, LogName};

/// How much of each log is read, from its end.
pub(crate) const TAIL_BYTES: u64 = 4 * 1024 * 1024;

/// The entries of `data`'s logs that `query` asks for, newest first. A
/// missing log (or `logs/` folder) is no error: nothing happened yet.
pub fn read(data: &DataDir, query: &ActivityQuery) -> ActivityPage {
    let mut all = Vec::new();
    let mut older_not_read = false;
    let mut unreadable = Vec::new();
    for log in LogName::ALL {
        if !query.logs.is_empty() && !query.logs.contains(&log) {
            continue;
        }
        let path = data.logs().join(log.file_name());
        match tail(&path, TAIL_BYTES) {
            Ok(None) => {}
            Ok(Some((text, cut))) => {
                older_not_read |= cut;
                let mut entries = parse(log, &text);
                entries.reverse();
                all.extend(entries);
            }
            Err(e) => unreadable.push(format!("{}: {e}", path.display())),
        }
    }
    // Stable: entries of one second keep their newest-first order.
    all.sort_by_key(|e| std::cmp::Reverse(e.at));
    let limit = query.limit.clamp(1, ActivityQuery::MAX_LIMIT) as usize;
    let matching: Vec<ActivityEntry> = all.into_iter().filter(|e| query.matches(e)).collect();
    ActivityPage {
        matching: matching.len() as u32,
        entries: matching.into_iter().take(limit).collect(),
        older_not_read,
        unreadable,
    }
}

/// The last `max` bytes of the regular file `path` from its first whole
/// line, and whether anything before was left out; `None` when it does not
/// exist.
fn tail(path: &Path, max: u64) -> std::io::Result<Option<(String, bool)>> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = match std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)
    {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) if e.raw_os_error() == Some(libc::ELOOP) => {
            return Err(std::io::Error::other(
                "a link, not a log file; not followed",
            ));
        }
        Err(e) => return Err(e),
    };
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(std::io::Error::other("not a regular file"));
    }
    let cut = meta.len() > max;
    if cut {
        file.seek(SeekFrom::Start(meta.len() - max))?;
    }
    let mut bytes = Vec::new();
    file.take(max).read_to_end(&mut bytes)?;
    let mut text = String::from_utf8_lossy(&bytes).into_owned();
    if cut {
        // The first line is most likely a part of one: dropped.
        let start = text.find('\n').map_or(text.len(), |i| i + 1);
        text.drain(..start);
    }
    Ok(Some((text, cut)))
}

/// The entries of one log's text, in file order.
fn parse(log: LogName, text: &str) -> Vec<ActivityEntry> {
    let mut entries: Vec<ActivityEntry> = Vec::new();
    for line in text.lines() {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.trim().is_empty() {
            continue;
        }
        match parse_line(line) {
            Some((at, level, message)) => entries.push(ActivityEntry {
                at: Some(at),
                log,
                level,
                message: message.to_owned(),
            }),
            None => match entries.last_mut() {
                Some(previous) => {
                    previous.message.push('\n');
                    previous.message.push_str(line);
                }
                None => entries.push(ActivityEntry {
                    at: None,
                    log,
                    level: None,
                    message: line.to_owned(),
                }),
            },
        }
    }
    entries
}

/// `YYYY-MM-DD HH:MM:SS [LEVEL] message`; the level is optional.
fn parse_line(line: &str) -> Option<(chrono::NaiveDateTime, Option<LogLevel>, &str)> {
    let stamp = line.get(..19)?;
    let at = chrono::NaiveDateTime::parse_from_str(stamp, "%Y-%m-%d %H:%M:%S").ok()?;
    let rest = line[19..].trim_start();
    if let Some(after) = rest.strip_prefix('[')
        && let Some(end) = after.find(']')
        && let Some(level) = LogLevel::parse(&after[..end])
    {
        return Some((at, Some(level), after[end + 1..].trim_start()));
    }
    Some((at, None, rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> chrono::NaiveDateTime {
        chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").unwrap()
    }

    fn installation(logs: &[(&str, &str)]) -> (tempfile::TempDir, DataDir) {
        let dir = tempfile::tempdir().unwrap();
        let data = DataDir::new(dir.path());
        std::fs::create_dir_all(data.logs()).unwrap();
        for (name, text) in logs {
            std::fs::write(data.logs().join(name), text).unwrap();
        }
        (dir, data)
    }

    #[test]
    fn lines_levels_and_continuations() {
        let text = "gpg: a line before any time\n\
                    2026-12-01 02:00:00 [INFO] Backup created: a.db.gpg\n\
                    2026-12-01 02:00:01 [ERROR] Upload failed:\n\
                    \x20 caused by: refused\r\n\
                    2026-12-01 02:00:02 no level here\n\n";
        let entries = parse(LogName::Backup, text);
        assert_eq!(entries.len(), 4);
        assert_eq!(entries[0].at, None);
        assert_eq!(entries[1].level, Some(LogLevel::Info));
        assert_eq!(entries[1].message, "Backup created: a.db.gpg");
        assert_eq!(entries[2].message, "Upload failed:\n  caused by: refused");
        assert_eq!(entries[3].level, None);
        assert_eq!(entries[3].message, "no level here");
    }

    #[test]
    fn every_log_merged_newest_first_and_filtered() {
        let (_dir, data) = installation(&[
            (
                "backup.log",
                "2026-12-01 02:00:00 [INFO] Backup created: a\n\
                 2026-12-02 02:00:00 [INFO] Backup created: b\n\
                 2026-12-02 02:00:00 [INFO] Pruned a (daily rule)\n",
            ),
            (
                "verify.log",
                "2026-12-01 03:00:00 [ERROR] Verification FAILED: a\n",
            ),
            ("restore.log", "2026-12-03 09:00:00 [WARNING] Rolled back\n"),
        ]);
        let all = read(&data, &ActivityQuery::default());
        let words: Vec<&str> = all.entries.iter().map(|e| e.message.as_str()).collect();
        assert_eq!(
            words,
            [
                "Rolled back",
                "Pruned a (daily rule)",
                "Backup created: b",
                "Verification FAILED: a",
                "Backup created: a"
            ]
        );
        assert_eq!(all.matching, 5);
        assert!(!all.older_not_read);

        let grave = ActivityQuery {
            min_level: Some(LogLevel::Warning),
            ..Default::default()
        };
        assert_eq!(read(&data, &grave).matching, 2);
        let searched = ActivityQuery {
            search: " BACKUP CREATED ".into(),
            since: Some(at("2026-12-02 00:00:00")),
            ..Default::default()
        };
        let found = read(&data, &searched);
        assert_eq!(found.entries.len(), 1);
        assert_eq!(found.entries[0].message, "Backup created: b");
        let only_verify = ActivityQuery {
            logs: vec![LogName::Verify],
            limit: 1,
            ..Default::default()
        };
        assert_eq!(read(&data, &only_verify).entries[0].log, LogName::Verify);
        let limited = ActivityQuery {
            limit: 2,
            ..Default::default()
        };
        let page = read(&data, &limited);
        assert_eq!((page.entries.len(), page.matching), (2, 5));
    }

    #[test]
    fn no_logs_yet_is_an_empty_page() {
        let dir = tempfile::tempdir().unwrap();
        let page = read(&DataDir::new(dir.path()), &ActivityQuery::default());
        assert!(page.entries.is_empty() && page.unreadable.is_empty());
    }

    #[test]
    fn a_link_or_a_fifo_is_not_read() {
        let (_dir, data) = installation(&[]);
        let secret = data.root().join("secret");
        std::fs::write(&secret, "2026-12-01 02:00:00 [INFO] root's secret\n").unwrap();
        std::os::unix::fs::symlink(&secret, data.logs().join("backup.log")).unwrap();
        let fifo = std::process::Command::new("mkfifo")
            .arg(data.logs().join("verify.log"))
            .status()
            .unwrap();
        assert!(fifo.success());
        let page = read(&data, &ActivityQuery::default());
        assert!(page.entries.is_empty());
        assert_eq!(page.unreadable.len(), 2, "{:?}", page.unreadable);
        assert!(
            page.unreadable[0].contains("a link"),
            "{:?}",
            page.unreadable
        );
    }

    #[test]
    fn only_the_newest_part_of_a_long_log_is_read() {
        let (_dir, data) = installation(&[]);
        let mut text = String::new();
        let line = |n: u32| {
            format!(
                "2026-12-01 02:00:00 [INFO] entry {n:07} {}\n",
                "x".repeat(60)
            )
        };
        let mut n = 0;
        while (text.len() as u64) < TAIL_BYTES + 1000 {
            text.push_str(&line(n));
            n += 1;
        }
        std::fs::write(data.logs().join("backup.log"), &text).unwrap();
        let page = read(
            &data,
            &ActivityQuery {
                limit: 1,
                ..Default::default()
            },
        );
        assert!(page.older_not_read);
        assert!(
            page.entries[0]
                .message
                .starts_with(&format!("entry {:07}", n - 1))
        );
        assert!((page.matching as u64) < u64::from(n));
        // No half line at the cut.
        let (text, cut) = tail(&data.logs().join("backup.log"), TAIL_BYTES)
            .unwrap()
            .unwrap();
        assert!(
            cut && text.starts_with("2026-12-01 02:00:00 [INFO] entry "),
            "{}",
            &text[..80]
        );
    }
}
