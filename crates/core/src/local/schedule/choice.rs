//! An installation's view of this account's schedule, and the checked
//! install and remove behind the CLI's `schedule` verb and the app's
//! Settings (over SSH, the engine on the server runs these).
//!
//! One schedule per account: the jobs name the folder they run on, so the
//! view says whether they are this folder's, and removing another folder's
//! jobs from here is refused. A job reads its passphrase from a private
//! file (never the job's text); installing checks that file first:
//! readable, and opening the installation's newest backup, so a scheduled
//! job can never start a second set under a mistyped passphrase (that it
//! is private, [`super::install`] checks).

use std::io::BufReader;
use std::path::{Path, PathBuf};

use chrono::NaiveTime;
use serde::{Deserialize, Serialize};

use super::{Job, JobTime, ScheduleError, ScheduleSpec, ScheduleStatus, Scheduler};
use crate::format::crypto::{self, CryptoError, Passphrase};
use crate::local::catalog::BackupCatalog;
use crate::local::layout::DataDir;

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
    /// The private file holding the passphrase the jobs use (on the
    /// machine where the jobs run); `None` for an installation whose
    /// encryption policy keeps no passphrase (its jobs hold no secret).
    #[serde(default)]
    pub passphrase_file: Option<PathBuf>,
}

/// What to do with the schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScheduleChange {
    /// Nothing: read it.
    Read,
    /// Install (or replace) the jobs, run by `program`: the `backupdesk`
    /// command line a local schedule needs; `None` over SSH, where the
    /// engine schedules its own executable.
    Install {
        choice: ScheduleChoice,
        program: Option<PathBuf>,
    },
    /// Remove the jobs (this folder's only).
    Remove,
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
    /// [`ScheduleError::InvalidTime`], naming the field and what it expects.
    pub fn times(&self) -> Result<JobTimes, ScheduleError> {
        let time = |field: &str, text: &str| {
            NaiveTime::parse_from_str(text.trim(), "%H:%M")
                .map_err(|_| ScheduleError::InvalidTime(format!("{field} {text}: expected HH:MM")))
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
                    ScheduleError::InvalidTime(format!(
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

    /// The engine's `schedule install` words for this choice (over SSH).
    pub(crate) fn install_words(&self) -> Vec<String> {
        let mut words: Vec<String> = ["schedule", "install", "--at", self.at.as_str()]
            .map(str::to_owned)
            .to_vec();
        match (&self.verify_at, self.verify) {
            (_, false) => words.push("--no-verify".into()),
            (Some(at), true) => words.extend(["--verify-at".into(), at.clone()]),
            (None, true) => {}
        }
        match (&self.drill_at, self.drill) {
            (_, false) => words.push("--no-drill".into()),
            (at, true) => {
                words.extend(["--drill-day".into(), self.drill_day.clone()]);
                if let Some(at) = at {
                    words.extend(["--drill-at".into(), at.clone()]);
                }
            }
        }
        if let Some(file) = &self.passphrase_file {
            words.extend(["--passphrase-file".into(), file.display().to_string()]);
        }
        words
    }
}

/// The schedule as one installation sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
pub fn view(data_dir: &Path) -> Result<ScheduleView, ScheduleError> {
    Ok(view_of(data_dir, super::status(&Scheduler::detect())?))
}

pub(crate) fn view_of(data_dir: &Path, status: ScheduleStatus) -> ScheduleView {
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

/// Reads, installs or removes the schedule of the installation at
/// `data_dir`, as `change` says.
///
/// # Errors
/// As [`install_checked`] and [`remove_own`]; the scheduler unreadable.
pub fn apply(data_dir: &Path, change: &ScheduleChange) -> Result<ScheduleView, ScheduleError> {
    match change {
        ScheduleChange::Read => view(data_dir),
        ScheduleChange::Install { choice, program } => {
            let program = program.as_deref().ok_or(ScheduleError::NoProgram)?;
            install_checked(data_dir, choice, program)
        }
        ScheduleChange::Remove => remove_own(data_dir),
    }
}

/// Installs (or replaces) this account's jobs for the installation at
/// `data_dir`, run by `program`, once its passphrase file opens the
/// newest backup.
///
/// # Errors
/// Not an installation; an invalid time; the passphrase file unreadable,
/// not private, or not opening the newest backup
/// ([`ScheduleError::OpensNoBackup`]); the scheduler failing.
pub(crate) fn install_checked(
    data_dir: &Path,
    choice: &ScheduleChoice,
    program: &Path,
) -> Result<ScheduleView, ScheduleError> {
    let times = choice.times()?;
    let absolute = |p: &Path| std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
    let data_dir = absolute(data_dir);
    if !data_dir.is_dir() {
        return Err(ScheduleError::NotAnInstallation(
            data_dir.display().to_string(),
        ));
    }
    let keys_only = keeps_no_passphrase(&data_dir)?;
    let passphrase_file = match (&choice.passphrase_file, keys_only) {
        (Some(file), _) => {
            let file = absolute(file);
            let passphrase = crate::secret_file::first_line_of(&file, "the passphrase file")?;
            opens_the_newest_backup(&data_dir, &Passphrase::new(passphrase))?;
            Some(file)
        }
        (None, true) => None,
        (None, false) => return Err(ScheduleError::PassphraseFileNeeded),
    };
    let spec = ScheduleSpec {
        at: times.at,
        verify_at: times.verify_at,
        // A drill decrypts: where no secret is kept it runs from where a
        // key is (the laptop), never as a job that could only fail.
        drill: times
            .drill
            .filter(|_| passphrase_file.is_some() || !keys_only),
        program: program.to_path_buf(),
        data_dir: data_dir.clone(),
        passphrase_file,
    };
    Ok(view_of(
        &data_dir,
        super::install(&Scheduler::detect(), &spec)?,
    ))
}

/// Removes this account's jobs, when they run on the installation at
/// `data_dir` (or none is installed).
///
/// # Errors
/// [`ScheduleError::OfAnotherFolder`] (nothing removed), the scheduler
/// failing.
pub(crate) fn remove_own(data_dir: &Path) -> Result<ScheduleView, ScheduleError> {
    let current = view(data_dir)?;
    if let Some(other) = current.other_folder {
        return Err(ScheduleError::OfAnotherFolder {
            folder: data_dir.display().to_string(),
            other,
        });
    }
    Ok(view_of(data_dir, super::remove(&Scheduler::detect())?))
}

/// Whether the installation's encryption policy keeps no passphrase (its
/// backups are sealed to keys alone: its jobs need no secret).
///
/// # Errors
/// A policy file that cannot be used.
fn keeps_no_passphrase(data_dir: &Path) -> Result<bool, ScheduleError> {
    let policy = crate::local::encryption_policy::EncryptionPolicy::read(&DataDir::new(data_dir))
        .map_err(|e| ScheduleError::Policy(e.to_string()))?;
    Ok(policy.is_some_and(|p| !p.passphrase))
}

/// Refuses a passphrase that does not open the installation's newest
/// encrypted backup (none yet: any passphrase starts the set).
fn opens_the_newest_backup(data_dir: &Path, passphrase: &Passphrase) -> Result<(), ScheduleError> {
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
    let path = data.backup_file(&newest);
    let file = std::fs::File::open(&path).map_err(|source| ScheduleError::Io {
        path: path.display().to_string(),
        source,
    })?;
    match crypto::check_passphrase(BufReader::new(file), passphrase) {
        Err(CryptoError::WrongPassphrase) => Err(ScheduleError::OpensNoBackup {
            folder: data_dir.display().to_string(),
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
            passphrase_file: Some("/root/p".into()),
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
    fn the_engine_is_asked_for_exactly_the_choice() {
        assert_eq!(
            choice().install_words().join(" "),
            "schedule install --at 02:30 --drill-day sun --passphrase-file /root/p"
        );
        let told = ScheduleChoice {
            verify_at: Some("05:00".into()),
            drill: false,
            ..choice()
        };
        assert_eq!(
            told.install_words().join(" "),
            "schedule install --at 02:30 --verify-at 05:00 --no-drill --passphrase-file /root/p"
        );
    }

    #[test]
    fn another_folders_jobs_are_named() {
        let status = ScheduleStatus {
            scheduler: Scheduler::Cron {
                crontab: "crontab".into(),
            },
            installed: true,
            definition: None,
            jobs: vec![super::super::JobStatus {
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
        assert_eq!(
            (view.backs_up_this_folder, view.other_folder.as_deref()),
            (true, None)
        );
        let json = serde_json::to_value(&view).unwrap();
        let back: ScheduleView = serde_json::from_value(json).unwrap();
        assert!(back.backs_up_this_folder && back.status.installed);
    }
}
