//! A stand-in `crontab` (the real one edits the machine's spool), written
//! from crontab(1): `-l` prints the table or fails with "no crontab for …",
//! `-` replaces it from stdin. And a job line run as cron would run it.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The stand-in `crontab` program in `dir` and the file it keeps the
/// table in (absent: no crontab yet).
pub fn stand_in_crontab(dir: &Path) -> (PathBuf, PathBuf) {
    let table = dir.join("crontab.txt");
    let crontab = dir.join("crontab");
    std::fs::write(
        &crontab,
        format!(
            "#!/bin/sh\ncase \"$1\" in -l) if [ -s {t} ]; then cat {t}; else echo 'no crontab for you' >&2; exit 1; fi ;; -) cat > {t} ;; esac\n",
            t = table.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&crontab, std::fs::Permissions::from_mode(0o755)).unwrap();
    (crontab, table)
}

/// The line of `table`'s job `job` (`backup`, `verify`, `drill`).
pub fn job_line(table: &Path, job: &str) -> String {
    let text = std::fs::read_to_string(table).unwrap();
    text.lines()
        .find(|l| l.ends_with(&format!("# backupdesk-{job}")))
        .unwrap_or_else(|| panic!("no {job} line in {text}"))
        .to_owned()
}

/// Runs a crontab line's command (its five time fields and the output
/// redirection dropped) with `sh`, no passphrase in the environment and
/// no session bus, as cron would.
pub fn run_job_line(line: &str) -> Output {
    let command: Vec<&str> = line.split_whitespace().skip(5).collect();
    let end = command
        .iter()
        .position(|w| w.starts_with('>'))
        .unwrap_or(command.len());
    Command::new("sh")
        .arg("-c")
        .arg(command[..end].join(" "))
        .env_remove("DB_BACKUP_PASSPHRASE")
        .env("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent")
        .stdin(Stdio::null())
        .output()
        .unwrap()
}
