//! Tile rules for what keeps a local installation backed up unattended:
//! a scheduled backup job must exist for its folder on this machine, and
//! its latest backup attempt must not have failed (a job failing every
//! night shows as overdue only a day later; this says so at once, with
//! the error). A schedule that cannot be read (no `crontab` program, no
//! permission) is unknown, not missing: Settings says why.

use std::path::Path;

use crate::local::layout::DataDir;
use crate::local::{activity_history, schedule};
use crate::model::{ActivityEntry, ActivityQuery, LogName};
use crate::schedule::{Job, ScheduleStatus, Scheduler};

use super::Condition;

/// The problems of the installation at `data_dir`: its schedule as this
/// machine's scheduler says, its latest backup attempt as its log says.
pub fn schedule_problems(data_dir: &Path) -> Vec<(Condition, String)> {
    let status = schedule::status(&Scheduler::detect()).ok();
    judge(data_dir, status.as_ref(), latest_attempt(data_dir).as_ref())
}

/// The newest "Backup created" or "Backup failed" line of `logs/backup.log`.
fn latest_attempt(data_dir: &Path) -> Option<ActivityEntry> {
    let query = ActivityQuery {
        logs: vec![LogName::Backup],
        search: "backup ".into(),
        limit: 200,
        ..ActivityQuery::default()
    };
    activity_history::read(&DataDir::new(data_dir), &query)
        .entries
        .into_iter()
        .find(|e| attempt_failed(e).is_some())
}

/// Whether `entry` records a failed backup attempt (`Some(true)`), a
/// successful one (`Some(false)`), or no attempt.
fn attempt_failed(entry: &ActivityEntry) -> Option<bool> {
    if entry.message.starts_with("Backup failed") {
        Some(true)
    } else if entry.message.starts_with("Backup created") {
        Some(false)
    } else {
        None
    }
}

/// The rules, pure: `status` is `None` when the schedule could not be read.
fn judge(
    data_dir: &Path,
    status: Option<&ScheduleStatus>,
    latest: Option<&ActivityEntry>,
) -> Vec<(Condition, String)> {
    let mut problems = Vec::new();
    if let Some(status) = status
        && status.job_for(Job::Backup, data_dir).is_none()
    {
        let elsewhere = status
            .jobs
            .iter()
            .find(|j| j.job == Job::Backup && j.installed)
            .and_then(|j| j.data_dir.clone());
        let message = match elsewhere {
            Some(other) => format!(
                "no scheduled backup of this folder: this account's scheduled backup runs on {other} \
                 (one schedule per account; Settings → Schedule)"
            ),
            None => "no scheduled backup: nothing backs this folder up unattended \
                     (Settings → Schedule)"
                .to_owned(),
        };
        problems.push((Condition::ScheduleMissing, message));
    }
    if let Some(entry) = latest
        && attempt_failed(entry) == Some(true)
    {
        let at = entry
            .at
            .map(|t| t.format(" at %Y-%m-%d %H:%M").to_string())
            .unwrap_or_default();
        let what = entry.message.trim_start_matches("Backup failed: ");
        problems.push((
            Condition::LatestBackupFailed,
            format!("the latest backup attempt{at} failed, none succeeded since: {what}"),
        ));
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::LogLevel;
    use crate::schedule::JobStatus;

    fn cron(jobs: &[(Job, Option<&str>)]) -> ScheduleStatus {
        let jobs: Vec<JobStatus> = jobs
            .iter()
            .map(|(job, dir)| JobStatus {
                job: *job,
                installed: dir.is_some(),
                definition: dir.map(|d| format!("0 2 * * * backupdesk --data-dir {d} backup")),
                data_dir: dir.map(str::to_owned),
            })
            .collect();
        ScheduleStatus {
            scheduler: Scheduler::Cron {
                crontab: "crontab".into(),
            },
            installed: jobs[0].installed,
            definition: jobs[0].definition.clone(),
            jobs,
        }
    }

    fn line(message: &str) -> ActivityEntry {
        ActivityEntry {
            at: chrono::NaiveDate::from_ymd_opt(2026, 12, 4).and_then(|d| d.and_hms_opt(2, 0, 1)),
            log: LogName::Backup,
            level: Some(LogLevel::Error),
            message: message.into(),
        }
    }

    fn conditions(problems: &[(Condition, String)]) -> Vec<Condition> {
        problems.iter().map(|(c, _)| *c).collect()
    }

    #[test]
    fn every_combination_of_schedule_and_latest_attempt() {
        let here = Path::new("/srv/here");
        let ours = cron(&[(Job::Backup, Some("/srv/here")), (Job::Verify, None)]);
        let other = cron(&[(Job::Backup, Some("/srv/other"))]);
        let none = cron(&[(Job::Backup, None)]);
        let failed = line("Backup failed: disk full");
        let created = line("Backup created: /srv/here/data/backups/x.db.gpg");
        let schedules = [
            (Some(&ours), false),
            (Some(&other), true),
            (Some(&none), true),
            (None, false),
        ];
        let attempts = [
            (Some(&failed), true),
            (Some(&created), false),
            (None, false),
        ];
        for (status, missing) in schedules {
            for (attempt, failing) in attempts {
                let found = conditions(&judge(here, status, attempt));
                let mut expected = Vec::new();
                if missing {
                    expected.push(Condition::ScheduleMissing);
                }
                if failing {
                    expected.push(Condition::LatestBackupFailed);
                }
                assert_eq!(found, expected, "{status:?} {attempt:?}");
            }
        }
    }

    #[test]
    fn the_problems_say_where_the_schedule_runs_and_what_failed() {
        let here = Path::new("/srv/here");
        let other = cron(&[(Job::Backup, Some("/srv/other"))]);
        let failed = line("Backup failed: disk full");
        let problems = judge(here, Some(&other), Some(&failed));
        assert!(problems[0].1.contains("runs on /srv/other"), "{problems:?}");
        assert_eq!(
            problems[1].1,
            "the latest backup attempt at 2026-12-04 02:00 failed, none succeeded since: disk full"
        );
    }

    #[test]
    fn only_backup_attempts_count() {
        assert_eq!(attempt_failed(&line("Backup failed: x")), Some(true));
        assert_eq!(attempt_failed(&line("Backup created: y")), Some(false));
        assert_eq!(attempt_failed(&line("Pruned z")), None);
    }
}
