//! Tile rules for what keeps an installation backed up unattended: a
//! scheduled backup job must exist for its folder, and its latest backup
//! attempt must not have failed (a job failing every night shows as
//! overdue only a day later; this says so at once, with the error). A
//! schedule that cannot be read (no `crontab` program, no permission) is
//! unknown, not missing: Settings says why. The evidence comes from the
//! target ([`crate::targets::Target::unattended`]): read now for a local
//! folder, from the engine's answer over SSH.

use crate::local::schedule::Unattended;

use super::Condition;

/// The problems `evidence` shows, pure.
pub(crate) fn schedule_problems(evidence: &Unattended) -> Vec<(Condition, String)> {
    let mut problems = Vec::new();
    if let Some(view) = &evidence.schedule
        && !view.backs_up_this_folder
    {
        let message = match &view.other_folder {
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
    if let Some(entry) = &evidence.latest_attempt
        && evidence.latest_attempt_failed()
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
    use crate::local::schedule::{Job, JobStatus, ScheduleStatus, ScheduleView, Scheduler};
    use crate::model::{ActivityEntry, LogLevel, LogName};

    fn view(ours: bool, other: Option<&str>) -> ScheduleView {
        let installed = ours || other.is_some();
        let dir = if ours { Some("/srv/here") } else { other };
        ScheduleView {
            status: ScheduleStatus {
                scheduler: Scheduler::Cron {
                    crontab: "crontab".into(),
                },
                installed,
                definition: None,
                jobs: vec![JobStatus {
                    job: Job::Backup,
                    installed,
                    definition: installed.then(|| "0 2 * * * …".to_owned()),
                    data_dir: dir.map(str::to_owned),
                }],
            },
            backs_up_this_folder: ours,
            other_folder: other.map(str::to_owned),
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
        let schedules = [
            (Some(view(true, None)), false),
            (Some(view(false, Some("/srv/other"))), true),
            (Some(view(false, None)), true),
            (None, false),
        ];
        let attempts = [
            (Some(line("Backup failed: disk full")), true),
            (
                Some(line("Backup created: /srv/here/data/backups/x.db.gpg")),
                false,
            ),
            (None, false),
        ];
        for (schedule, missing) in &schedules {
            for (latest_attempt, failing) in &attempts {
                let evidence = Unattended {
                    schedule: schedule.clone(),
                    latest_attempt: latest_attempt.clone(),
                    encryption: None,
                };
                let mut expected = Vec::new();
                if *missing {
                    expected.push(Condition::ScheduleMissing);
                }
                if *failing {
                    expected.push(Condition::LatestBackupFailed);
                }
                assert_eq!(
                    conditions(&schedule_problems(&evidence)),
                    expected,
                    "{evidence:?}"
                );
            }
        }
    }

    #[test]
    fn the_problems_say_where_the_schedule_runs_and_what_failed() {
        let evidence = Unattended {
            schedule: Some(view(false, Some("/srv/other"))),
            latest_attempt: Some(line("Backup failed: disk full")),
            encryption: None,
        };
        let problems = schedule_problems(&evidence);
        assert!(problems[0].1.contains("runs on /srv/other"), "{problems:?}");
        assert_eq!(
            problems[1].1,
            "the latest backup attempt at 2026-12-04 02:00 failed, none succeeded since: disk full"
        );
    }

    #[test]
    fn only_backup_attempts_count() {
        let failed = |message: &str| {
            Unattended {
                schedule: None,
                latest_attempt: Some(line(message)),
                encryption: None,
            }
            .latest_attempt_failed()
        };
        assert!(failed("Backup failed: x"));
        assert!(!failed("Backup created: y"));
        assert!(!failed("Pruned z"));
    }
}
