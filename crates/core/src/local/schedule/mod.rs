//! Scheduled jobs, replacing `setup-backup-automation.sh` and the guide's
//! separate verification cron job: a daily backup, a daily rolling deep
//! verification (the newest backup plus a share of the older ones, so each
//! is deep-checked at least once every four weeks) and a weekly restore
//! drill. A systemd timer per job where systemd runs, else a crontab line
//! per job. The passphrase comes from a root-only file named in the job,
//! never from the job line.

use std::path::{Path, PathBuf};

use chrono::NaiveTime;
use serde::{Deserialize, Serialize};

mod choice;
mod job_lines;
pub mod proving;
mod unattended;

use job_lines::*;

pub use choice::{JobTimes, ScheduleChange, ScheduleChoice, ScheduleView, apply, view};
pub use unattended::{EncryptionGlance, Unattended, unattended};

/// The marker on the backup job's crontab line and its systemd unit's
/// base name.
pub(crate) const JOB_NAME: &str = "backupdesk-backup";

/// One of the scheduled jobs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum Job {
    /// `backup`, daily.
    Backup,
    /// `verify --rolling`, daily.
    Verify,
    /// `drill`, weekly.
    Drill,
}

impl Job {
    /// Every job, in the order they run.
    pub(crate) const ALL: [Job; 3] = [Job::Backup, Job::Verify, Job::Drill];

    /// The crontab marker and systemd unit base name.
    pub(crate) fn unit_name(self) -> &'static str {
        match self {
            Job::Backup => JOB_NAME,
            Job::Verify => "backupdesk-verify",
            Job::Drill => "backupdesk-drill",
        }
    }

    fn verb(self) -> &'static str {
        match self {
            Job::Backup => "backup",
            Job::Verify => "verify --rolling",
            Job::Drill => "drill",
        }
    }

    fn description(self) -> &'static str {
        match self {
            Job::Backup => "encrypted backup of the Server Monitor database",
            Job::Verify => {
                "deep verification of the newest and a rolling share of the older backups"
            }
            Job::Drill => "restore drill of the newest backup into a scratch folder",
        }
    }
}

/// When a job runs: daily, or weekly on one day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JobTime {
    /// `None`: every day.
    pub weekday: Option<chrono::Weekday>,
    pub at: NaiveTime,
}

impl JobTime {
    /// systemd's `OnCalendar=` value.
    fn calendar(self) -> String {
        let day = self
            .weekday
            .map(|d| format!("{} ", weekday_name(d)))
            .unwrap_or_default();
        format!("{day}*-*-* {}", self.at.format("%H:%M:00"))
    }

    /// The five crontab time fields.
    fn cron(self) -> String {
        let day = self
            .weekday
            .map(|d| d.num_days_from_sunday().to_string())
            .unwrap_or_else(|| "*".to_owned());
        format!(
            "{} {} * * {day}",
            self.at.format("%-M"),
            self.at.format("%-H")
        )
    }
}

fn weekday_name(day: chrono::Weekday) -> &'static str {
    use chrono::Weekday::*;
    match day {
        Mon => "Mon",
        Tue => "Tue",
        Wed => "Wed",
        Thu => "Thu",
        Fri => "Fri",
        Sat => "Sat",
        Sun => "Sun",
    }
}

/// Where the job goes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
    pub(crate) fn detect() -> Self {
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
    /// Local time of day of the daily backup.
    pub at: NaiveTime,
    /// The daily rolling verification (`None`: not scheduled).
    pub verify_at: Option<NaiveTime>,
    /// The weekly restore drill (`None`: not scheduled).
    pub drill: Option<JobTime>,
    /// The `backupdesk` binary to run.
    pub program: PathBuf,
    /// The installation to back up.
    pub data_dir: PathBuf,
    /// The root-only file holding the passphrase (`None`: the
    /// installation keeps none, and neither do its jobs).
    pub passphrase_file: Option<PathBuf>,
}

/// Why scheduling failed.
#[derive(Debug, thiserror::Error)]
pub enum ScheduleError {
    /// A local schedule was asked for with no program to run its jobs.
    #[error("a local schedule needs the backupdesk command line to run its jobs; none was given")]
    NoProgram,
    /// The passphrase file is missing.
    #[error("passphrase file {0} does not exist")]
    PassphraseFileMissing(String),
    /// No passphrase file, for an installation whose backups carry one.
    #[error(
        "the jobs need --passphrase-file FILE (a root-only file): this installation's backups carry a passphrase (only an encryption policy with --no-passphrase lets its jobs run with no secret); the passphrase is never put in the job itself"
    )]
    PassphraseFileNeeded,
    /// The installation's encryption policy cannot be used.
    #[error("{0}")]
    Policy(String),
    /// The passphrase file can be read by others, or is not ours.
    #[error(
        "passphrase file {path} must be owned by the user running the job and not readable by group or others (mode {mode:o}); run: chmod 600 {path}"
    )]
    PassphraseFileNotPrivate { path: String, mode: u32 },
    /// A path contains characters that cannot be put in a job line safely.
    #[error(
        "path {0} contains characters that cannot be used in a scheduled job (tabs, quotes, %, $, backquotes, backslashes or line breaks)"
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
    /// A time typed for a job is not one.
    #[error("{0}")]
    InvalidTime(String),
    /// The folder to schedule does not exist.
    #[error(
        "{0} does not exist: it is no Server Monitor installation (check --data-dir or --profile)"
    )]
    NotAnInstallation(String),
    /// The passphrase file gave no passphrase.
    #[error(transparent)]
    SecretFile(#[from] crate::secret_file::SecretFileError),
    /// The backups could not be listed to check the passphrase on.
    #[error(transparent)]
    Catalog(#[from] crate::local::catalog::CatalogError),
    /// The passphrase file's passphrase does not open the newest backup.
    #[error(
        "the passphrase in the passphrase file does not open {newest}, the newest backup of \
         {folder}: nothing was scheduled (jobs under it would start a second set the others \
         cannot open)"
    )]
    OpensNoBackup { folder: String, newest: String },
    /// This account's jobs run on another installation.
    #[error(
        "this account's scheduled jobs back up {other}, not {folder}: they were left as they are \
         (remove them from {other}'s profile, or install this folder's: one schedule per account)"
    )]
    OfAnotherFolder { folder: String, other: String },
}

impl crate::KindedError for ScheduleError {
    fn kind(&self) -> crate::ErrorKind {
        match self {
            ScheduleError::NoProgram => crate::ErrorKind::EngineMissing,
            ScheduleError::PassphraseFileMissing(_) => crate::ErrorKind::PassphraseFileMissing,
            ScheduleError::PassphraseFileNeeded => crate::ErrorKind::PassphraseFileRequired,
            ScheduleError::Policy(_) => crate::ErrorKind::EncryptionPolicyInvalid,
            ScheduleError::PassphraseFileNotPrivate { .. } => {
                crate::ErrorKind::PassphraseFileNotPrivate
            }
            ScheduleError::UnsafePath(_) => crate::ErrorKind::UnsafePath,
            ScheduleError::CommandFailed { .. } => crate::ErrorKind::CommandFailed,
            ScheduleError::Io { .. } => crate::ErrorKind::Io,
            ScheduleError::InvalidTime(_) => crate::ErrorKind::InvalidTime,
            ScheduleError::NotAnInstallation(_) => crate::ErrorKind::NotAnInstallation,
            ScheduleError::SecretFile(e) => e.kind,
            ScheduleError::Catalog(e) => e.kind(),
            ScheduleError::OpensNoBackup { .. } => crate::ErrorKind::WrongPassphrase,
            ScheduleError::OfAnotherFolder { .. } => crate::ErrorKind::ScheduleOfAnotherFolder,
        }
    }
}

/// The state of the scheduled jobs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ScheduleStatus {
    /// Where we looked.
    pub scheduler: Scheduler,
    /// Whether the backup job is installed.
    pub installed: bool,
    /// The backup job's definition (crontab line or timer calendar), when
    /// installed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub definition: Option<String>,
    /// Every job: backup, verify, drill.
    pub jobs: Vec<JobStatus>,
}

/// The state of one scheduled job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct JobStatus {
    pub job: Job,
    pub installed: bool,
    /// Its crontab line or timer calendar, when installed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub definition: Option<String>,
    /// The installation the job runs on (its `--data-dir`), when installed
    /// and readable: the jobs are one per account, so an installed job may
    /// well be another folder's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<String>,
}

impl ScheduleStatus {
    /// The job `job`, when it is installed for the installation at
    /// `data_dir` (compared as written and as the absolute path).
    pub(crate) fn job_for(&self, job: Job, data_dir: &Path) -> Option<&JobStatus> {
        let wanted = [
            data_dir.display().to_string(),
            std::path::absolute(data_dir)
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
        ];
        self.jobs.iter().find(|j| {
            j.job == job
                && j.installed
                && j.data_dir.as_ref().is_some_and(|d| {
                    let d = d.trim_end_matches('/');
                    wanted.iter().any(|w| w.trim_end_matches('/') == d)
                })
        })
    }
}

/// Installs (or replaces) the jobs `spec` asks for; a job it no longer
/// asks for is removed.
///
/// # Errors
/// [`ScheduleError`]: an unsafe or non-private passphrase file, a failing
/// `systemctl`/`crontab`, or unwritable unit files.
pub fn install(
    scheduler: &Scheduler,
    spec: &ScheduleSpec,
) -> Result<ScheduleStatus, ScheduleError> {
    if let Some(file) = &spec.passphrase_file {
        check_passphrase_file(file)?;
    }
    let jobs = wanted(spec);
    let commands: Vec<(Job, JobTime, String)> = jobs
        .iter()
        .map(|(job, time)| Ok((*job, *time, command_line(spec, *job)?)))
        .collect::<Result<_, ScheduleError>>()?;
    match scheduler {
        Scheduler::Systemd {
            unit_dir,
            systemctl,
        } => {
            for (job, time, command) in &commands {
                let (service, timer) = unit_paths(unit_dir, *job);
                let service_text = format!(
                    "[Unit]\nDescription=Backup Desk: {}\nAfter=network.target\n\n[Service]\nType=oneshot\nExecStart={command}\nNice=10\nIOSchedulingClass=best-effort\nIOSchedulingPriority=7\n",
                    job.description()
                );
                let timer_text = format!(
                    "[Unit]\nDescription=Backup Desk: {}\n\n[Timer]\nOnCalendar={}\nPersistent=true\nRandomizedDelaySec=60\n\n[Install]\nWantedBy=timers.target\n",
                    job.description(),
                    time.calendar()
                );
                for (path, text) in [(&service, service_text), (&timer, timer_text)] {
                    std::fs::write(path, text).map_err(|source| ScheduleError::Io {
                        path: path.display().to_string(),
                        source,
                    })?;
                }
            }
            for job in Job::ALL
                .iter()
                .filter(|j| !jobs.iter().any(|(w, _)| w == *j))
            {
                remove_units(unit_dir, systemctl, *job)?;
            }
            run(systemctl, &["daemon-reload"], None)?;
            for (job, _, _) in &commands {
                run(
                    systemctl,
                    &["enable", "--now", &format!("{}.timer", job.unit_name())],
                    None,
                )?;
            }
        }
        Scheduler::Cron { crontab } => {
            let mut table = without_our_lines(&current_crontab(crontab)?);
            for (job, time, command) in &commands {
                table.push_str(&format!(
                    "{} {command} >/dev/null 2>&1 # {}\n",
                    time.cron(),
                    job.unit_name()
                ));
            }
            run(crontab, &["-"], Some(&table))?;
        }
    }
    status(scheduler)
}

/// Reports whether the jobs are installed and how they are defined.
///
/// # Errors
/// When `crontab -l` fails for another reason than "no crontab".
pub fn status(scheduler: &Scheduler) -> Result<ScheduleStatus, ScheduleError> {
    let table = match scheduler {
        Scheduler::Cron { crontab } => Some(current_crontab(crontab)?),
        Scheduler::Systemd { .. } => None,
    };
    let jobs: Vec<JobStatus> = Job::ALL
        .iter()
        .map(|&job| {
            let (definition, command) = match (scheduler, &table) {
                (Scheduler::Systemd { unit_dir, .. }, _) => {
                    let (service, timer) = unit_paths(unit_dir, job);
                    let line = |path: &Path, key: &str| {
                        std::fs::read_to_string(path).ok().and_then(|t| {
                            t.lines()
                                .find_map(|l| l.strip_prefix(key))
                                .map(str::to_owned)
                        })
                    };
                    (
                        line(&timer, "OnCalendar="),
                        line(&service, "ExecStart=").unwrap_or_default(),
                    )
                }
                (Scheduler::Cron { .. }, table) => {
                    let found = table
                        .as_deref()
                        .unwrap_or_default()
                        .lines()
                        .find(|l| is_job_line(l, job))
                        .map(str::to_owned);
                    let command = found.clone().unwrap_or_default();
                    (found, command)
                }
            };
            JobStatus {
                job,
                installed: definition.is_some(),
                data_dir: definition.as_ref().and_then(|_| data_dir_in(&command)),
                definition,
            }
        })
        .collect();
    let backup = &jobs[0];
    Ok(ScheduleStatus {
        scheduler: scheduler.clone(),
        installed: backup.installed,
        definition: backup.definition.clone(),
        jobs,
    })
}

fn remove_units(unit_dir: &Path, systemctl: &Path, job: Job) -> Result<(), ScheduleError> {
    let (service, timer) = unit_paths(unit_dir, job);
    if timer.exists() {
        run(
            systemctl,
            &["disable", "--now", &format!("{}.timer", job.unit_name())],
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
    Ok(())
}

/// Removes every job; removing absent jobs is not an error.
///
/// # Errors
/// When `systemctl`/`crontab` fail or unit files cannot be removed.
pub fn remove(scheduler: &Scheduler) -> Result<ScheduleStatus, ScheduleError> {
    match scheduler {
        Scheduler::Systemd {
            unit_dir,
            systemctl,
        } => {
            for job in Job::ALL {
                remove_units(unit_dir, systemctl, job)?;
            }
            run(systemctl, &["daemon-reload"], None)?;
        }
        Scheduler::Cron { crontab } => {
            let current = current_crontab(crontab)?;
            let kept = without_our_lines(&current);
            if kept != current {
                run(crontab, &["-"], Some(&kept))?;
            }
        }
    }
    status(scheduler)
}

#[cfg(test)]
mod tests;
