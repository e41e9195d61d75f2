//! The private staging folder for plaintext: `data/.backupdesk/staging/`,
//! mode 0700, on the same filesystem as the database. Every staged file is
//! removed when its guard drops (success, error or panic); what a crash or
//! `SIGKILL` leaves behind is removed by the next run.

use std::path::{Path, PathBuf};

use crate::local::layout::DataDir;
use crate::publish::{ensure_private_dir, process_unique};

/// The staging folder of one data directory.
#[derive(Debug, Clone)]
pub(crate) struct Staging {
    dir: PathBuf,
}

impl Staging {
    /// Creates (0700) the staging folder if needed.
    ///
    /// # Errors
    /// When the folder cannot be created or made private.
    pub fn open(data: &DataDir) -> std::io::Result<Self> {
        ensure_private_dir(&data.state())?;
        ensure_private_dir(&data.staging())?;
        Ok(Staging {
            dir: data.staging(),
        })
    }

    /// A staging folder at `dir` (made private, 0700), for a machine with
    /// no installation of its own (the laptop's, under its config folder).
    ///
    /// # Errors
    /// When the folder cannot be created or made private.
    pub fn at(dir: PathBuf) -> std::io::Result<Self> {
        if let Some(parent) = dir.parent() {
            ensure_private_dir(parent)?;
        }
        ensure_private_dir(&dir)?;
        Ok(Staging { dir })
    }

    /// A new private scratch folder in the staging folder, named for this
    /// process (`PID-what-…`): removed when the guard drops, and by the
    /// next run's [`Staging::remove_leftovers`] after a kill.
    ///
    /// # Errors
    /// When the folder cannot be made.
    pub(crate) fn scratch_dir(&self, what: &str) -> std::io::Result<tempfile::TempDir> {
        tempfile::Builder::new()
            .prefix(&format!("{}-{what}-", std::process::id()))
            .tempdir_in(&self.dir)
    }

    /// Removes what dead processes left in the staging folder: every entry
    /// whose `PID-` prefix names no running process (and anything without
    /// such a prefix). Files of live processes, such as a deep verification
    /// running beside a backup, are left alone. Returns how many entries
    /// were removed.
    ///
    /// # Errors
    /// When the folder cannot be read or an entry cannot be removed.
    pub(crate) fn remove_leftovers(&self) -> std::io::Result<usize> {
        let mut removed = 0;
        for entry in std::fs::read_dir(&self.dir)? {
            let entry = entry?;
            let name = entry.file_name();
            let owner_alive = name
                .to_str()
                .and_then(|n| n.split_once('-'))
                .and_then(|(pid, _)| pid.parse::<u32>().ok())
                .is_some_and(process_alive);
            if owner_alive {
                continue;
            }
            let path = entry.path();
            if path.is_dir() {
                std::fs::remove_dir_all(&path)?;
            } else {
                std::fs::remove_file(&path)?;
            }
            removed += 1;
        }
        Ok(removed)
    }

    /// A guard for a new staged file `name` (not created yet), named
    /// `PID-N-name`: two operations of one process staging the same kind
    /// of file at once (a restore's verification beside a background one)
    /// each get their own. The file and
    /// its SQLite companions (`-wal`, `-shm`, `-journal`) are removed when
    /// the guard drops.
    pub fn file(&self, name: &str) -> StagedFile {
        StagedFile {
            path: self.dir.join(format!("{}-{name}", process_unique())),
        }
    }
}

/// Whether process `pid` runs: it exists and is not a zombie (a killed
/// process its parent has not reaped yet has ended all the same).
fn process_alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // `PID (COMMAND) STATE …`; the command may hold `)` itself.
        Ok(stat) => stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.trim_start().chars().next())
            .is_some_and(|state| !matches!(state, 'Z' | 'X')),
        Err(_) => false,
    }
}

/// A staged plaintext file, removed with its SQLite companions on drop.
#[derive(Debug)]
pub(crate) struct StagedFile {
    path: PathBuf,
}

impl StagedFile {
    /// Where the file lives.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The file moved to the staged name `name` in the same folder, its
    /// guard with it (two staged copies of one process each have a name).
    ///
    /// # Errors
    /// The rename failing (the file then stays where it was, guarded).
    pub(crate) fn renamed(self, name: &str) -> std::io::Result<StagedFile> {
        let dir = self.path.parent().unwrap_or(Path::new("."));
        let moved = StagedFile {
            path: dir.join(format!("{}-{name}", process_unique())),
        };
        std::fs::rename(&self.path, &moved.path)?;
        Ok(moved)
    }
}

impl Drop for StagedFile {
    fn drop(&mut self) {
        for suffix in ["", "-wal", "-shm", "-journal"] {
            let mut p = self.path.clone().into_os_string();
            p.push(suffix);
            let _ = std::fs::remove_file(PathBuf::from(p));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_killed_process_not_yet_reaped_is_not_alive() {
        assert!(process_alive(std::process::id()));
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .unwrap();
        let pid = child.id();
        assert!(process_alive(pid));
        child.kill().unwrap();
        // A zombie until reaped: /proc/PID is still there.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while process_alive(pid) {
            assert!(std::time::Instant::now() < deadline, "still alive");
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        assert!(Path::new(&format!("/proc/{pid}")).exists());
        child.wait().unwrap();
        assert!(!process_alive(pid));
    }

    #[test]
    fn leftovers_of_dead_processes_go_and_those_of_live_ones_stay() {
        let dir = tempfile::tempdir().unwrap();
        let staging = Staging::at(dir.path().join("staging")).unwrap();
        let mine = staging.scratch_dir("mine").unwrap();
        let dead = dir.path().join("staging/4194304999-offsite-x");
        std::fs::create_dir_all(dead.join("data/backups")).unwrap();
        std::fs::write(dead.join("data/backups/a.meta"), "x").unwrap();
        std::fs::write(dir.path().join("staging/no-pid"), "x").unwrap();
        assert_eq!(staging.remove_leftovers().unwrap(), 2);
        assert!(mine.path().is_dir());
        assert!(!dead.exists());
    }

    #[test]
    fn two_files_of_one_kind_staged_at_once_by_one_process_each_have_a_name() {
        let dir = tempfile::tempdir().unwrap();
        let staging = Staging::at(dir.path().join("staging")).unwrap();
        let (first, second) = (staging.file("verify.db"), staging.file("verify.db"));
        assert_ne!(first.path(), second.path());
        std::fs::write(first.path(), "a").unwrap();
        std::fs::write(second.path(), "b").unwrap();
        let renamed = second.renamed("verify.db").unwrap();
        assert_ne!(first.path(), renamed.path());
        // Still this live process's: a leftover sweep leaves them.
        assert_eq!(staging.remove_leftovers().unwrap(), 0);
        assert!(first.path().is_file() && renamed.path().is_file());
    }
}
