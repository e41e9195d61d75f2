//! How a job is written and read back: its command line (one word per
//! path, quoted when it holds spaces), its crontab line and unit files,
//! and the scheduler's programs (`systemctl`, `crontab`) it is handed to.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::{Job, JobTime, ScheduleError, ScheduleSpec};

/// The `--data-dir` a job's command names.
pub(super) fn data_dir_in(command: &str) -> Option<String> {
    let mut words = words_of(command).into_iter();
    words.find(|w| w == "--data-dir")?;
    words.next()
}

/// `path` as one word of a job's command line, for both systemd's
/// `ExecStart=` and cron's `sh`: as written, or double-quoted when it holds
/// spaces (a home like `/home/server home`). Characters either would
/// still read specially inside the quotes (`%`, `$`, `` ` ``, `\`, quotes,
/// tabs, line breaks) are refused.
pub(super) fn safe(path: &Path) -> Result<String, ScheduleError> {
    let text = path.display().to_string();
    if text.chars().any(|c| {
        (c.is_whitespace() && c != ' ') || matches!(c, '"' | '\'' | '%' | '\\' | '$' | '`')
    }) {
        return Err(ScheduleError::UnsafePath(text));
    }
    Ok(if text.contains(' ') {
        format!("\"{text}\"")
    } else {
        text
    })
}

/// The words of a job's command line as [`safe`] wrote them (a
/// double-quoted word keeps its spaces).
pub(super) fn words_of(command: &str) -> Vec<String> {
    let mut words = Vec::new();
    let (mut word, mut quoted, mut started) = (String::new(), false, false);
    for c in command.chars() {
        match c {
            '"' => (quoted, started) = (!quoted, true),
            ' ' | '\t' if !quoted => {
                if started {
                    words.push(std::mem::take(&mut word));
                }
                started = false;
            }
            c => {
                word.push(c);
                started = true;
            }
        }
    }
    if started {
        words.push(word);
    }
    words
}

pub(super) fn check_passphrase_file(path: &Path) -> Result<(), ScheduleError> {
    let shown = path.display().to_string();
    let meta =
        std::fs::metadata(path).map_err(|_| ScheduleError::PassphraseFileMissing(shown.clone()))?;
    let mode = meta.permissions().mode() & 0o777;
    let uid = effective_uid();
    if mode & 0o077 != 0 || meta.uid() != uid {
        return Err(ScheduleError::PassphraseFileNotPrivate { path: shown, mode });
    }
    Ok(())
}

pub(super) fn effective_uid() -> u32 {
    // The owner of our own process's /proc entry is our effective uid.
    std::fs::metadata("/proc/self")
        .map(|m| m.uid())
        .unwrap_or(0)
}

pub(super) fn command_line(spec: &ScheduleSpec, job: Job) -> Result<String, ScheduleError> {
    let passphrase = match &spec.passphrase_file {
        Some(file) => format!(" --passphrase-file {}", safe(file)?),
        None => String::new(),
    };
    Ok(format!(
        "{} --data-dir {}{passphrase} --yes {}",
        safe(&spec.program)?,
        safe(&spec.data_dir)?,
        job.verb()
    ))
}

/// The jobs `spec` asks for, with their times.
pub(super) fn wanted(spec: &ScheduleSpec) -> Vec<(Job, JobTime)> {
    let daily = |at| JobTime { weekday: None, at };
    let mut jobs = vec![(Job::Backup, daily(spec.at))];
    if let Some(at) = spec.verify_at {
        jobs.push((Job::Verify, daily(at)));
    }
    if let Some(time) = spec.drill {
        jobs.push((Job::Drill, time));
    }
    jobs
}

pub(super) fn run(
    program: &Path,
    args: &[&str],
    stdin: Option<&str>,
) -> Result<String, ScheduleError> {
    use std::io::Write;
    let failed = |message: String| ScheduleError::CommandFailed {
        program: program.display().to_string(),
        message,
    };
    let mut child = Command::new(program)
        .args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| failed(e.to_string()))?;
    if let (Some(text), Some(mut pipe)) = (stdin, child.stdin.take()) {
        pipe.write_all(text.as_bytes())
            .map_err(|e| failed(e.to_string()))?;
    }
    let out = child
        .wait_with_output()
        .map_err(|e| failed(e.to_string()))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(failed(
            String::from_utf8_lossy(&out.stderr).trim().to_owned(),
        ))
    }
}

pub(super) fn current_crontab(crontab: &Path) -> Result<String, ScheduleError> {
    match run(crontab, &["-l"], None) {
        Ok(text) => Ok(text),
        // `crontab -l` fails with "no crontab for user" when there is none.
        Err(ScheduleError::CommandFailed { message, .. }) if message.contains("no crontab") => {
            Ok(String::new())
        }
        Err(e) => Err(e),
    }
}

pub(super) fn is_job_line(line: &str, job: Job) -> bool {
    line.trim_end().ends_with(&format!("# {}", job.unit_name()))
}

pub(super) fn without_our_lines(crontab: &str) -> String {
    crontab
        .lines()
        .filter(|l| !Job::ALL.iter().any(|j| is_job_line(l, *j)))
        .map(|l| format!("{l}\n"))
        .collect()
}

pub(super) fn unit_paths(unit_dir: &Path, job: Job) -> (PathBuf, PathBuf) {
    (
        unit_dir.join(format!("{}.service", job.unit_name())),
        unit_dir.join(format!("{}.timer", job.unit_name())),
    )
}
