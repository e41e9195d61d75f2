//! Whether any process has a database file open, read from `/proc`.
//!
//! A rename can replace the live database only when nobody holds it: a
//! process with the old file open would go on reading and writing the old
//! inode and its writes would be lost. When that cannot be known for sure
//! (no `/proc`, another user's process we may not inspect), the answer is
//! [`Holders::Unknown`] and the restore uses SQLite's backup API instead.

use std::path::{Path, PathBuf};

/// Who holds a set of files open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Holders {
    /// No process, this one included, has any of them open.
    Nobody,
    /// These processes have at least one of them open.
    Some(Vec<u32>),
    /// `/proc` could not tell (missing, or a process we may not inspect).
    Unknown,
}

/// The live database and the companions SQLite keeps beside it.
pub(crate) fn database_files(live: &Path) -> Vec<PathBuf> {
    ["", "-wal", "-shm", "-journal"]
        .iter()
        .map(|suffix| {
            let mut p = live.as_os_str().to_owned();
            p.push(suffix);
            PathBuf::from(p)
        })
        .collect()
}

/// Scans every process's open file descriptors for `paths`.
pub(crate) fn holders(paths: &[PathBuf]) -> Holders {
    let wanted: Vec<PathBuf> = paths
        .iter()
        .filter_map(|p| std::fs::canonicalize(p).ok())
        .collect();
    if wanted.is_empty() {
        return Holders::Nobody;
    }
    let Ok(procs) = std::fs::read_dir("/proc") else {
        return Holders::Unknown;
    };
    let mut found = Vec::new();
    for entry in procs.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        let fds = match std::fs::read_dir(entry.path().join("fd")) {
            Ok(fds) => fds,
            // The process ended while we looked.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(_) => return Holders::Unknown,
        };
        for fd in fds.flatten() {
            if let Ok(target) = std::fs::read_link(fd.path())
                && wanted.contains(&target)
            {
                found.push(pid);
                break;
            }
        }
    }
    if found.is_empty() {
        Holders::Nobody
    } else {
        Holders::Some(found)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_this_process_holds_is_seen_and_a_closed_one_is_not() {
        let dir = std::env::temp_dir().join(format!("holders-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("x.db");
        std::fs::write(&path, b"x").unwrap();
        let files = database_files(&path);
        let open = std::fs::File::open(&path).unwrap();
        assert_eq!(holders(&files), Holders::Some(vec![std::process::id()]));
        drop(open);
        assert_eq!(holders(&files), Holders::Nobody);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
