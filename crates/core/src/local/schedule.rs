//! Daily scheduled backups, replacing `setup-backup-automation.sh`: a
//! systemd timer where systemd runs, else a crontab entry. The passphrase
//! comes from a root-only file named in the job, never from the job line.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use chrono::NaiveTime;
use serde::Serialize;

/// The marker on our crontab line and the systemd unit's base name.
pub const JOB_NAME: &str = "backupdesk-backup";

/// Where the job goes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Scheduler {
    /// A `.service` + `.timer` pair in `unit_dir`, driven by `systemctl`.
    Systemd {
        /// Usually `/etc/systemd/system`.
        unit_dir: PathBuf,
        /// The `systemctl` program.
        systemctl: PathBuf,
    },
    /// A line in the user's crontab, edited with the `crontab` program.
    Cron {
        /// The `crontab` program.
        crontab: PathBuf,
    },
}

impl Scheduler {
    /// systemd when it is running (`/run/systemd/system` exists), else cron.
    /// `BACKUPDESK_SYSTEMD_UNIT_DIR`, `BACKUPDESK_SYSTEMCTL` and
    /// `BACKUPDESK_CRONTAB` override the locations (used by the tests, since
    /// no systemd runs on the build machines).
    pub fn detect() -> Self {
        let env_path = |name: &str| std::env::var_os(name).map(PathBuf::from);
        let unit_dir = env_path("BACKUPDESK_SYSTEMD_UNIT_DIR");
        if unit_dir.is_some() || Path::new("/run/systemd/system").is_dir() {
            Scheduler::Systemd {
                unit_dir: unit_dir.unwrap_or_else(|| PathBuf::from("/etc/systemd/system")),
                systemctl: env_path("BACKUPDESK_SYSTEMCTL").unwrap_or_else(|| "systemctl".into()),
            }
        } else {
            Scheduler::Cron {
                crontab: env_path("BACKUPDESK_CRONTAB").unwrap_or_else(|| "crontab".into()),
            }
        }
    }
}

/// What to schedule.
#[derive(Debug, Clone)]
pub struct ScheduleSpec {
    /// Local time of day of the daily run.
    pub at: NaiveTime,
    /// The `backupdesk` binary to run.
    pub program: PathBuf,
    /// The installation to back up.
    pub data_dir: PathBuf,
    /// The root-only file holding the passphrase.
    pub passphrase_file: PathBuf,
}

/// Why scheduling failed.
#[derive(Debug, thiserror::Error)]
pub enum ScheduleError {
    /// The passphrase file is missing.
    #[error("passphrase file {0} does not exist")]
    PassphraseFileMissing(String),
    /// The passphrase file can be read by others, or is not ours.
    #[error(
        "passphrase file {path} must be owned by the user running the job and not readable by group or others (mode {mode:o}); run: chmod 600 {path}"
    )]
    PassphraseFileNotPrivate { path: String, mode: u32 },
    /// A path contains characters that cannot be put in a job line safely.
    #[error(
        "path {0} contains characters that cannot be used in a scheduled job (whitespace, quotes, %, or newlines)"
    )]
    UnsafePath(String),
    /// `systemctl` or `crontab` failed.
    #[error("{program} failed: {message}")]
    CommandFailed { program: String, message: String },
    /// Writing unit files failed.
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

impl crate::KindedError for ScheduleError {
    fn kind(&self) -> crate::ErrorKind {
        match self {
            ScheduleError::PassphraseFileMissing(_) => crate::ErrorKind::PassphraseFileMissing,
            ScheduleError::PassphraseFileNotPrivate { .. } => {
                crate::ErrorKind::PassphraseFileNotPrivate
            }
            ScheduleError::UnsafePath(_) => crate::ErrorKind::UnsafePath,
            ScheduleError::CommandFailed { .. } => crate::ErrorKind::CommandFailed,
            ScheduleError::Io { .. } => crate::ErrorKind::Io,
        }
    }
}

/// The state of the scheduled job.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ScheduleStatus {
    /// Where we looked.
    pub scheduler: Scheduler,
    /// Whether our job is installed.
    pub installed: bool,
    /// The job's definition (crontab line or timer calendar), when installed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub definition: Option<String>,
}

fn safe(path: &Path) -> Result<String, ScheduleError> {
    let text = path.display().to_string();
    if text
        .chars()
        .any(|c| c.is_whitespace() || matches!(c, '"' | '\'' | '%' | '\\' | '$' | '`'))
    {
        return Err(ScheduleError::UnsafePath(text));
    }
    Ok(text)
}

fn check_passphrase_file(path: &Path) -> Result<(), ScheduleError> {
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

fn effective_uid() -> u32 {
    // The owner of our own process's /proc entry is our effective uid.
    std::fs::metadata("/proc/self")
        .map(|m| m.uid())
        .unwrap_or(0)
}

fn command_line(spec: &ScheduleSpec) -> Result<String, ScheduleError> {
    Ok(format!(
        "{} --data-dir {} --passphrase-file {} --yes backup",
        safe(&spec.program)?,
        safe(&spec.data_dir)?,
        safe(&spec.passphrase_file)?
    ))
}

fn run(program: &Path, args: &[&str], stdin: Option<&str>) -> Result<String, ScheduleError> {
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

fn current_crontab(crontab: &Path) -> Result<String, ScheduleError> {
    match run(crontab, &["-l"], None) {
        Ok(text) => Ok(text),
        // `crontab -l` fails with "no crontab for user" when there is none.
        Err(ScheduleError::CommandFailed { message, .. }) if message.contains("no crontab") => {
            Ok(String::new())
        }
        Err(e) => Err(e),
    }
}

fn without_our_line(crontab: &str) -> String {
    crontab
        .lines()
        .filter(|l| !l.contains(&format!("# {JOB_NAME}")))
        .map(|l| format!("{l}\n"))
        .collect()
}

fn unit_paths(unit_dir: &Path) -> (PathBuf, PathBuf) {
    (
        unit_dir.join(format!("{JOB_NAME}.service")),
        unit_dir.join(format!("{JOB_NAME}.timer")),
    )
}

/// Installs (or replaces) the daily job.
///
/// # Errors
/// [`ScheduleError`]: an unsafe or non-private passphrase file, a failing
/// `systemctl`/`crontab`, or unwritable unit files.
pub fn install(
    scheduler: &Scheduler,
    spec: &ScheduleSpec,
) -> Result<ScheduleStatus, ScheduleError> {
    check_passphrase_file(&spec.passphrase_file)?;
    let command = command_line(spec)?;
    match scheduler {
        Scheduler::Systemd {
            unit_dir,
            systemctl,
        } => {
            let (service, timer) = unit_paths(unit_dir);
            let service_text = format!(
                "[Unit]\nDescription=Backup Desk: encrypted backup of the Server Monitor database\nAfter=network.target\n\n[Service]\nType=oneshot\nExecStart={command}\nNice=10\nIOSchedulingClass=best-effort\nIOSchedulingPriority=7\n"
            );
            let timer_text = format!(
                "[Unit]\nDescription=Daily Backup Desk backup\n\n[Timer]\nOnCalendar=*-*-* {}\nPersistent=true\nRandomizedDelaySec=60\n\n[Install]\nWantedBy=timers.target\n",
                spec.at.format("%H:%M:00")
            );
            for (path, text) in [(&service, service_text), (&timer, timer_text)] {
                std::fs::write(path, text).map_err(|source| ScheduleError::Io {
                    path: path.display().to_string(),
                    source,
                })?;
            }
            run(systemctl, &["daemon-reload"], None)?;
            run(
                systemctl,
                &["enable", "--now", &format!("{JOB_NAME}.timer")],
                None,
            )?;
        }
        Scheduler::Cron { crontab } => {
            let mut table = without_our_line(&current_crontab(crontab)?);
            table.push_str(&format!(
                "{} {} * * * {command} >/dev/null 2>&1 # {JOB_NAME}\n",
                spec.at.format("%-M"),
                spec.at.format("%-H")
            ));
            run(crontab, &["-"], Some(&table))?;
        }
    }
    status(scheduler)
}

/// Reports whether the job is installed and how it is defined.
///
/// # Errors
/// When `crontab -l` fails for another reason than "no crontab".
pub fn status(scheduler: &Scheduler) -> Result<ScheduleStatus, ScheduleError> {
    let definition = match scheduler {
        Scheduler::Systemd { unit_dir, .. } => {
            let (_, timer) = unit_paths(unit_dir);
            std::fs::read_to_string(&timer).ok().and_then(|t| {
                t.lines()
                    .find(|l| l.starts_with("OnCalendar="))
                    .map(|l| l.trim_start_matches("OnCalendar=").to_owned())
            })
        }
        Scheduler::Cron { crontab } => current_crontab(crontab)?
            .lines()
            .find(|l| l.contains(&format!("# {JOB_NAME}")))
            .map(str::to_owned),
    };
    Ok(ScheduleStatus {
        scheduler: scheduler.clone(),
        installed: definition.is_some(),
        definition,
    })
}

/// Removes the job; removing an absent job is not an error.
///
/// # Errors
/// When `systemctl`/`crontab` fail or unit files cannot be removed.
pub fn remove(scheduler: &Scheduler) -> Result<ScheduleStatus, ScheduleError> {
    match scheduler {
        Scheduler::Systemd {
            unit_dir,
            systemctl,
        } => {
            let (service, timer) = unit_paths(unit_dir);
            if timer.exists() {
                run(
                    systemctl,
                    &["disable", "--now", &format!("{JOB_NAME}.timer")],
                    None,
                )?;
            }
            for path in [timer, service] {
                match std::fs::remove_file(&path) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(source) => {
                        return Err(ScheduleError::Io {
                            path: path.display().to_string(),
                            source,
                        });
                    }
                }
            }
            run(systemctl, &["daemon-reload"], None)?;
        }
        Scheduler::Cron { crontab } => {
            let current = current_crontab(crontab)?;
            let kept = without_our_line(&current);
            if kept != current {
                run(crontab, &["-"], Some(&kept))?;
            }
        }
    }
    status(scheduler)
}
