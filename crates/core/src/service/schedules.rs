//! An installation's scheduled jobs (the daily backup, the daily rolling
//! verification, the weekly restore drill): read, installed and removed
//! through this account's scheduler (systemd timers where systemd runs,
//! else its crontab). The one API the CLI's `schedule` verb and the app's
//! Settings call.
//!
//! One schedule per account: the jobs name the folder they run on, so the
//! view says whether they are this folder's, and removing another folder's
//! jobs from here is refused. A job reads its passphrase from a private
//! file (never the job's text); installing checks that file first: private,
//! readable, and opening the installation's newest backup, so a scheduled
//! job can never start a second set under a mistyped passphrase.

use std::io::BufReader;
use std::path::{Path, PathBuf};

use chrono::NaiveTime;
use serde::{Deserialize, Serialize};

use crate::crypto::{self, CryptoError, Passphrase};
use crate::local::catalog::BackupCatalog;
use crate::local::layout::DataDir;
use crate::schedule::{self, Job, JobTime, ScheduleSpec, ScheduleStatus, Scheduler};
use crate::service::error::ServiceError;

type Result<T> = std::result::Result<T, ServiceError>;

/// What a shell asks to schedule, as typed: times as `HH:MM`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ScheduleChoice {
    /// The daily backup.
    pub at: String,
    /// The daily verification (`None`: an hour after the backup).
    pub verify_at: Option<String>,
    /// Whether to schedule the verification at all.
    pub verify: bool,
    /// The weekly drill's day: `mon` … `sun`.
    pub drill_day: String,
    /// The weekly drill (`None`: two hours after the backup).
    pub drill_at: Option<String>,
    /// Whether to schedule the drill at all.
    pub drill: bool,
    /// The private file holding the passphrase the jobs use.
    pub passphrase_file: PathBuf,
}

/// [`ScheduleChoice`] parsed: when each job runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JobTimes {
    pub at: NaiveTime,
    pub verify_at: Option<NaiveTime>,
    pub drill: Option<JobTime>,
}

impl ScheduleChoice {
    /// When each job runs.
    ///
    /// # Errors
    /// [`ServiceError::InvalidTime`], naming the field and what it expects.
    pub fn times(&self) -> Result<JobTimes> {
        let time = |field: &str, text: &str| {
            NaiveTime::parse_from_str(text.trim(), "%H:%M")
                .map_err(|_| ServiceError::InvalidTime(format!("{field} {text}: expected HH:MM")))
        };
        let at = time("--at", &self.at)?;
        let later = |hours| at + chrono::Duration::hours(hours);
        let verify_at = match (&self.verify_at, self.verify) {
            (_, false) => None,
            (Some(text), true) => Some(time("--verify-at", text)?),
            (None, true) => Some(later(1)),
        };
        let drill = match (&self.drill_at, self.drill) {
            (_, false) => None,
            (text, true) => Some(JobTime {
                weekday: Some(self.drill_day.trim().parse().map_err(|_| {
                    ServiceError::InvalidTime(format!(
                        "--drill-day {}: expected mon, tue, … sun",
                        self.drill_day
                    ))
                })?),
                at: match text {
                    Some(text) => time("--drill-at", text)?,
                    None => later(2),
                },
            }),
        };
        Ok(JobTimes {
            at,
            verify_at,
            drill,
        })
    }
}

/// The schedule as one installation sees it.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ScheduleView {
    /// This account's jobs, whichever folder they run on.
    #[serde(flatten)]
    pub status: ScheduleStatus,
    /// Whether the daily backup job runs on this installation.
    pub backs_up_this_folder: bool,
    /// The folder the installed backup job runs on, when it is another.
    pub other_folder: Option<String>,
}

/// The schedule as the installation at `data_dir` sees it.
///
/// # Errors
/// The scheduler could not be read (no `crontab` program, …).
pub fn view(data_dir: &Path) -> Result<ScheduleView> {
    Ok(view_of(data_dir, schedule::status(&Scheduler::detect())?))
}

fn view_of(data_dir: &Path, status: ScheduleStatus) -> ScheduleView {
    let ours = status.job_for(Job::Backup, data_dir).is_some();
    let other_folder = (!ours)
        .then(|| {
            status
                .jobs
                .iter()
                .find(|j| j.job == Job::Backup && j.installed)
        })
        .flatten()
        .and_then(|j| j.data_dir.clone());
    ScheduleView {
        status,
        backs_up_this_folder: ours,
        other_folder,
    }
}

/// Installs (or replaces) this account's jobs for the installation at
/// `data_dir`, run by `program` (the `backupdesk` command line), once its
/// passphrase file is private and opens the newest backup.
///
/// # Errors
/// Not an installation; an invalid time; the passphrase file unreadable,
/// not private, or not opening the newest backup
/// ([`ServiceError::OpensNoBackup`]); the scheduler failing.
pub fn install(data_dir: &Path, choice: &ScheduleChoice, program: &Path) -> Result<ScheduleView> {
    let times = choice.times()?;
    let absolute = |p: &Path| std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
    let data_dir = absolute(data_dir);
    if !data_dir.is_dir() {
        return Err(ServiceError::NotAnInstallation(
            data_dir.display().to_string(),
        ));
    }
    let passphrase_file = absolute(&choice.passphrase_file);
    let passphrase = crate::secret_file::first_line_of(&passphrase_file, "the passphrase file")?;
    opens_the_newest_backup(&data_dir, &Passphrase::new(passphrase))?;
    let spec = ScheduleSpec {
        at: times.at,
        verify_at: times.verify_at,
        drill: times.drill,
        program: program.to_path_buf(),
        data_dir: data_dir.clone(),
        passphrase_file,
    };
    Ok(view_of(
        &data_dir,
        schedule::install(&Scheduler::detect(), &spec)?,
    ))
}

/// Removes this account's jobs, when they run on the installation at
/// `data_dir` (or none is installed).
///
/// # Errors
/// [`ServiceError::ScheduleOfAnotherFolder`] (nothing removed), the
/// scheduler failing.
pub fn remove(data_dir: &Path) -> Result<ScheduleView> {
    let current = view(data_dir)?;
    if let Some(other) = current.other_folder {
        return Err(ServiceError::ScheduleOfAnotherFolder {
            folder: data_dir.display().to_string(),
            other,
        });
    }
    Ok(view_of(data_dir, schedule::remove(&Scheduler::detect())?))
}

/// Refuses a passphrase that does not open the installation's newest
/// encrypted backup (none yet: any passphrase starts the set).
fn opens_the_newest_backup(data_dir: &Path, passphrase: &Passphrase) -> Result<()> {
    let data = DataDir::new(data_dir);
    let catalog = BackupCatalog::scan(&data)?;
    let Some(newest) = catalog
        .entries()
        .iter()
        .filter(|e| e.name.kind().is_encrypted())
        .map(|e| e.name.file_name().to_owned())
        .max()
    else {
        return Ok(());
    };
    let file =
        std::fs::File::open(data.backup_file(&newest)).map_err(|source| ServiceError::Io {
            what: format!("cannot read {newest}"),
            source,
        })?;
    match crypto::check_passphrase(BufReader::new(file), passphrase) {
        Err(CryptoError::WrongPassphrase) => Err(ServiceError::OpensNoBackup {
            profile: data_dir.display().to_string(),
            newest,
        }),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn choice() -> ScheduleChoice {
        ScheduleChoice {
            at: "02:30".into(),
            verify_at: None,
            verify: true,
            drill_day: "sun".into(),
            drill_at: None,
            drill: true,
            passphrase_file: "/root/p".into(),
        }
    }

    #[test]
    fn verification_and_drill_follow_the_backup_unless_told() {
        let t = choice().times().unwrap();
        let hm = |h, m| NaiveTime::from_hms_opt(h, m, 0).unwrap();
        assert_eq!((t.at, t.verify_at), (hm(2, 30), Some(hm(3, 30))));
        assert_eq!(
            t.drill,
            Some(JobTime {
                weekday: Some(chrono::Weekday::Sun),
                at: hm(4, 30)
            })
        );
        let none = ScheduleChoice {
            verify: false,
            drill: false,
            ..choice()
        };
        let t = none.times().unwrap();
        assert_eq!((t.verify_at, t.drill), (None, None));
    }

    #[test]
    fn a_bad_time_names_its_field() {
        for (edit, field) in [
            (
                ScheduleChoice {
                    at: "25:00".into(),
                    ..choice()
                },
                "--at 25:00",
            ),
            (
                ScheduleChoice {
                    verify_at: Some("x".into()),
                    ..choice()
                },
                "--verify-at x",
            ),
            (
                ScheduleChoice {
                    drill_day: "someday".into(),
                    ..choice()
                },
                "--drill-day someday",
            ),
        ] {
            let error = edit.times().unwrap_err();
            assert!(error.to_string().starts_with(field), "{error}");
            assert_eq!(
                crate::KindedError::kind(&error),
                crate::ErrorKind::InvalidTime
            );
        }
    }

    #[test]
    fn another_folders_jobs_are_named() {
        let status = ScheduleStatus {
            scheduler: Scheduler::Cron {
                crontab: "crontab".into(),
            },
            installed: true,
            definition: None,
            jobs: vec![crate::schedule::JobStatus {
                job: Job::Backup,
                installed: true,
                definition: Some("…".into()),
                data_dir: Some("/srv/other".into()),
            }],
        };
        let view = view_of(Path::new("/srv/here"), status.clone());
        assert_eq!(
            (view.backs_up_this_folder, view.other_folder.as_deref()),
            (false, Some("/srv/other"))
        );
        let view = view_of(Path::new("/srv/other"), status);
        assert_eq!((view.backs_up_this_folder, view.other_folder), (true, None));
    }
}
