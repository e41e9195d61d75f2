//! Proving jobs on this machine for a server that keeps no secret (issue
//! 30): the server backs up with public keys alone and can never read its
//! backups, so its daily rolling deep verification and its weekly restore
//! drill run where a key is. This machine's scheduler runs
//! `backupdesk --profile NAME verify --rolling` and `… drill`; each hands
//! the server's engine the session keys of the backups it reads, and the
//! server's ledger records this machine as the one that proved them.
//!
//! A systemd user timer where a user manager runs (its jobs reach the
//! session's keychain); else a line in this account's crontab (cron jobs
//! have no session: they reach keys held by gpg-agent only, which the
//! status says).

use std::path::{Path, PathBuf};

use chrono::NaiveTime;
use serde::{Deserialize, Serialize};

use super::job_lines::{current_crontab, run, safe};
use super::{JobTime, ScheduleError};

/// What proves a server's backups from here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum ProvingJob {
    /// `verify --rolling` (deep: the keys are here), daily.
    Verify,
    /// `drill` of the newest backup, weekly.
    Drill,
}

impl ProvingJob {
    const ALL: [ProvingJob; 2] = [ProvingJob::Verify, ProvingJob::Drill];

    fn verb(self) -> &'static str {
        match self {
            ProvingJob::Verify => "verify --rolling",
            ProvingJob::Drill => "drill",
        }
    }

    /// The unit's base name and the crontab line's marker.
    fn unit_name(self, profile: &str) -> String {
        let what = match self {
            ProvingJob::Verify => "verify",
            ProvingJob::Drill => "drill",
        };
        format!("backupdesk-prove-{profile}-{what}")
    }
}

/// Where this account's proving jobs go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserScheduler {
    /// A user `.service` + `.timer` in `unit_dir`, `systemctl --user`.
    Systemd {
        unit_dir: PathBuf,
        systemctl: PathBuf,
    },
    /// This account's crontab.
    Cron { crontab: PathBuf },
}

impl UserScheduler {
    /// A systemd user manager when one runs for this account (or
    /// `BACKUPDESK_USER_UNIT_DIR` names the unit folder: the tests), else
    /// cron (`BACKUPDESK_CRONTAB`, `BACKUPDESK_SYSTEMCTL` override the
    /// programs).
    pub fn detect() -> Self {
        let env_path = |name: &str| std::env::var_os(name).map(PathBuf::from);
        let manager =
            env_path("XDG_RUNTIME_DIR").is_some_and(|d| d.join("systemd/private").exists());
        let home_units = env_path("HOME").map(|h| h.join(".config/systemd/user"));
        match env_path("BACKUPDESK_USER_UNIT_DIR").or(home_units.filter(|_| manager)) {
            Some(unit_dir) => UserScheduler::Systemd {
                unit_dir,
                systemctl: env_path("BACKUPDESK_SYSTEMCTL").unwrap_or_else(|| "systemctl".into()),
            },
            None => UserScheduler::Cron {
                crontab: env_path("BACKUPDESK_CRONTAB").unwrap_or_else(|| "crontab".into()),
            },
        }
    }
}

/// What to schedule for one profile.
#[derive(Debug, Clone)]
pub struct ProvingSpec {
    /// The SSH profile whose server keeps no secret.
    pub profile: String,
    /// This machine's `backupdesk`.
    pub program: PathBuf,
    /// The daily verification's time.
    pub verify_at: NaiveTime,
    /// The weekly drill's day and time (`None`: no drill).
    pub drill: Option<JobTime>,
    /// Variables the jobs need to find the same profiles (the config
    /// folder, the SSH config), as set when they were installed.
    pub env: Vec<(String, PathBuf)>,
}

/// One proving job's state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ProvingJobStatus {
    pub job: ProvingJob,
    /// Its timer calendar or crontab line, when installed.
    pub definition: Option<String>,
}

/// A profile's proving jobs on this machine.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ProvingStatus {
    pub profile: String,
    /// `systemd` (a user timer) or `cron`.
    pub scheduler: String,
    pub jobs: Vec<ProvingJobStatus>,
    /// What the jobs cannot do where they run (cron: no keychain).
    pub note: Option<String>,
}

/// Installs (or replaces) the proving jobs of `spec.profile`; a drill no
/// longer asked for is removed.
///
/// # Errors
/// An unsafe path or profile name; the scheduler failing.
pub fn install(
    scheduler: &UserScheduler,
    spec: &ProvingSpec,
) -> Result<ProvingStatus, ScheduleError> {
    let mut jobs = vec![(
        ProvingJob::Verify,
        JobTime {
            weekday: None,
            at: spec.verify_at,
        },
    )];
    jobs.extend(spec.drill.map(|time| (ProvingJob::Drill, time)));
    let mut lines = Vec::new();
    for (job, time) in &jobs {
        lines.push((*job, *time, command_line(spec, *job)?));
    }
    remove(scheduler, &spec.profile)?;
    match scheduler {
        UserScheduler::Systemd {
            unit_dir,
            systemctl,
        } => {
            ensure_dir(unit_dir)?;
            for (job, time, command) in &lines {
                write_units(unit_dir, &spec.profile, *job, *time, spec, command)?;
            }
            run(systemctl, &["--user", "daemon-reload"], None)?;
            for (job, _, _) in &lines {
                let timer = format!("{}.timer", job.unit_name(&spec.profile));
                run(systemctl, &["--user", "enable", "--now", &timer], None)?;
            }
        }
        UserScheduler::Cron { crontab } => {
            let mut table = current_crontab(crontab)?;
            for (job, time, command) in &lines {
                let env: String = spec
                    .env
                    .iter()
                    .map(|(k, v)| Ok(format!("{k}={} ", safe(v)?)))
                    .collect::<Result<_, ScheduleError>>()?;
                table.push_str(&format!(
                    "{} {env}{command} >/dev/null 2>&1 # {}\n",
                    time.cron(),
                    job.unit_name(&spec.profile)
                ));
            }
            run(crontab, &["-"], Some(&table))?;
        }
    }
    status(scheduler, &spec.profile)
}

/// The proving jobs of `profile` on this machine.
///
/// # Errors
/// When `crontab -l` fails for another reason than "no crontab".
pub fn status(scheduler: &UserScheduler, profile: &str) -> Result<ProvingStatus, ScheduleError> {
    let table = match scheduler {
        UserScheduler::Cron { crontab } => current_crontab(crontab)?,
        UserScheduler::Systemd { .. } => String::new(),
    };
    let jobs = ProvingJob::ALL
        .iter()
        .map(|&job| {
            let name = job.unit_name(profile);
            let definition = match scheduler {
                UserScheduler::Systemd { unit_dir, .. } => {
                    std::fs::read_to_string(unit_dir.join(format!("{name}.timer")))
                        .ok()
                        .and_then(|t| {
                            t.lines()
                                .find_map(|l| l.strip_prefix("OnCalendar="))
                                .map(str::to_owned)
                        })
                }
                UserScheduler::Cron { .. } => table
                    .lines()
                    .find(|l| is_line_of(l, &name))
                    .map(str::to_owned),
            };
            ProvingJobStatus { job, definition }
        })
        .collect();
    Ok(ProvingStatus {
        profile: profile.to_owned(),
        scheduler: match scheduler {
            UserScheduler::Systemd { .. } => "systemd",
            UserScheduler::Cron { .. } => "cron",
        }
        .to_owned(),
        jobs,
        note: matches!(scheduler, UserScheduler::Cron { .. }).then(|| {
            "cron runs its jobs outside your session: they reach keys held by gpg-agent (your \
             GnuPG key or card), not those in the keychain"
                .to_owned()
        }),
    })
}

/// Removes the proving jobs of `profile`; absent jobs are no error.
///
/// # Errors
/// The scheduler failing; unit files that cannot be removed.
pub fn remove(scheduler: &UserScheduler, profile: &str) -> Result<ProvingStatus, ScheduleError> {
    match scheduler {
        UserScheduler::Systemd {
            unit_dir,
            systemctl,
        } => {
            for job in ProvingJob::ALL {
                let name = job.unit_name(profile);
                let timer = unit_dir.join(format!("{name}.timer"));
                if timer.exists() {
                    run(
                        systemctl,
                        &["--user", "disable", "--now", &format!("{name}.timer")],
                        None,
                    )?;
                }
                for path in [timer, unit_dir.join(format!("{name}.service"))] {
                    remove_file(&path)?;
                }
            }
        }
        UserScheduler::Cron { crontab } => {
            let current = current_crontab(crontab)?;
            let names: Vec<String> = ProvingJob::ALL
                .iter()
                .map(|j| j.unit_name(profile))
                .collect();
            let kept: String = current
                .lines()
                .filter(|l| !names.iter().any(|n| is_line_of(l, n)))
                .map(|l| format!("{l}\n"))
                .collect();
            if kept != current {
                run(crontab, &["-"], Some(&kept))?;
            }
        }
    }
    status(scheduler, profile)
}

/// `PROGRAM --profile NAME --yes VERB`; the profile name refused when it
/// holds what a unit name or a job line cannot.
fn command_line(spec: &ProvingSpec, job: ProvingJob) -> Result<String, ScheduleError> {
    let profile = &spec.profile;
    if profile.is_empty()
        || !profile
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        return Err(ScheduleError::UnsafePath(profile.clone()));
    }
    Ok(format!(
        "{} --profile {profile} --yes {}",
        safe(&spec.program)?,
        job.verb()
    ))
}

fn write_units(
    unit_dir: &Path,
    profile: &str,
    job: ProvingJob,
    time: JobTime,
    spec: &ProvingSpec,
    command: &str,
) -> Result<(), ScheduleError> {
    let name = job.unit_name(profile);
    let env: String = spec
        .env
        .iter()
        .map(|(k, v)| {
            Ok(format!(
                "Environment=\"{k}={}\"\n",
                safe(v)?.trim_matches('"')
            ))
        })
        .collect::<Result<_, ScheduleError>>()?;
    let what = match job {
        ProvingJob::Verify => "deep verification",
        ProvingJob::Drill => "restore drill",
    };
    let service = format!(
        "[Unit]\nDescription=Backup Desk: {what} of {profile}'s backups, with the key held here\n\n[Service]\nType=oneshot\n{env}ExecStart={command}\nNice=10\n"
    );
    let timer = format!(
        "[Unit]\nDescription=Backup Desk: {what} of {profile}'s backups\n\n[Timer]\nOnCalendar={}\nPersistent=true\nRandomizedDelaySec=60\n\n[Install]\nWantedBy=timers.target\n",
        time.calendar()
    );
    for (path, text) in [
        (unit_dir.join(format!("{name}.service")), service),
        (unit_dir.join(format!("{name}.timer")), timer),
    ] {
        std::fs::write(&path, text).map_err(|source| ScheduleError::Io {
            path: path.display().to_string(),
            source,
        })?;
    }
    Ok(())
}

fn is_line_of(line: &str, name: &str) -> bool {
    line.trim_end().ends_with(&format!("# {name}"))
}

fn ensure_dir(dir: &Path) -> Result<(), ScheduleError> {
    std::fs::create_dir_all(dir).map_err(|source| ScheduleError::Io {
        path: dir.display().to_string(),
        source,
    })
}

fn remove_file(path: &Path) -> Result<(), ScheduleError> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(ScheduleError::Io {
            path: path.display().to_string(),
            source,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(profile: &str) -> ProvingSpec {
        ProvingSpec {
            profile: profile.to_owned(),
            program: "/opt/bd/backupdesk".into(),
            verify_at: NaiveTime::from_hms_opt(3, 0, 0).unwrap(),
            drill: Some(JobTime {
                weekday: Some(chrono::Weekday::Sun),
                at: NaiveTime::from_hms_opt(4, 30, 0).unwrap(),
            }),
            env: vec![("BACKUPDESK_CONFIG_DIR".into(), "/home/ops/bd config".into())],
        }
    }

    #[test]
    fn each_profile_gets_its_own_units_and_a_name_that_breaks_a_line_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let scheduler = UserScheduler::Systemd {
            unit_dir: dir.path().join("units"),
            systemctl: "/bin/true".into(),
        };
        let done = install(&scheduler, &spec("edge")).unwrap();
        install(&scheduler, &spec("edge.2")).unwrap();
        assert_eq!(
            done.jobs
                .iter()
                .map(|j| j.definition.clone())
                .collect::<Vec<_>>(),
            [
                Some("*-*-* 03:00:00".to_owned()),
                Some("Sun *-*-* 04:30:00".to_owned())
            ]
        );
        let service = std::fs::read_to_string(
            dir.path()
                .join("units/backupdesk-prove-edge-verify.service"),
        )
        .unwrap();
        assert!(
            service.contains("ExecStart=/opt/bd/backupdesk --profile edge --yes verify --rolling")
                && service.contains("Environment=\"BACKUPDESK_CONFIG_DIR=/home/ops/bd config\""),
            "{service}"
        );
        // Removing one profile's jobs leaves the other's.
        let gone = remove(&scheduler, "edge").unwrap();
        assert!(gone.jobs.iter().all(|j| j.definition.is_none()));
        assert!(
            status(&scheduler, "edge.2")
                .unwrap()
                .jobs
                .iter()
                .all(|j| j.definition.is_some())
        );
        for bad in ["", "a b", "x;rm", "a\nb", "a/b"] {
            assert!(matches!(
                install(&scheduler, &spec(bad)),
                Err(ScheduleError::UnsafePath(_))
            ));
        }
    }
}
