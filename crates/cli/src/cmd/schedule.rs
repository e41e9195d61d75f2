//! `backupdesk schedule install|status|remove`

use std::process::ExitCode;

use backupdesk_core::schedule::{self, Job, JobTime, ScheduleSpec, ScheduleStatus, Scheduler};
use backupdesk_core::service::offsite;

use crate::args::{GlobalArgs, ScheduleVerb};
use crate::failure::{fail, usage};
use crate::output::print_json;

pub fn run(global: &GlobalArgs, verb: ScheduleVerb) -> anyhow::Result<ExitCode> {
    let scheduler = Scheduler::detect();
    let status = match verb {
        ScheduleVerb::Install(args) => {
            let time = |flag: &str, text: &str| {
                chrono::NaiveTime::parse_from_str(text, "%H:%M").map_err(|_| {
                    usage(
                        backupdesk_core::ErrorKind::InvalidTime,
                        format!("{flag} {text}: expected HH:MM"),
                    )
                })
            };
            let at = time("--at", &args.at)?;
            let later = |hours| at + chrono::Duration::hours(hours);
            let verify_at = match (&args.verify_at, args.no_verify) {
                (_, true) => None,
                (Some(text), false) => Some(time("--verify-at", text)?),
                (None, false) => Some(later(1)),
            };
            let drill = match (&args.drill_at, args.no_drill) {
                (_, true) => None,
                (text, false) => Some(JobTime {
                    weekday: Some(args.drill_day.parse().map_err(|_| {
                        usage(
                            backupdesk_core::ErrorKind::InvalidTime,
                            format!("--drill-day {}: expected mon, tue, … sun", args.drill_day),
                        )
                    })?),
                    at: match text {
                        Some(text) => time("--drill-at", text)?,
                        None => later(2),
                    },
                }),
            };
            let Some(passphrase_file) = &global.passphrase_file else {
                return Err(usage(
                    backupdesk_core::ErrorKind::PassphraseFileRequired,
                    "schedule install needs --passphrase-file FILE (a root-only file); the passphrase is never put in the job itself",
                ));
            };
            let absolute =
                |p: &std::path::Path| std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
            let spec = ScheduleSpec {
                at,
                verify_at,
                drill,
                program: std::env::current_exe()?,
                data_dir: absolute(&global.data_dir),
                passphrase_file: absolute(passphrase_file),
            };
            let status = schedule::install(&scheduler, &spec).map_err(fail)?;
            // What the job itself will lack: it carries no AWS_* variables.
            if let Ok(selection) = super::selection(global) {
                for gap in offsite::unattended_gaps(&selection).unwrap_or_default() {
                    eprintln!("note: {}", backupdesk_core::printable::escaped(&gap));
                }
            }
            status
        }
        ScheduleVerb::Status => schedule::status(&scheduler).map_err(fail)?,
        ScheduleVerb::Remove => schedule::remove(&scheduler).map_err(fail)?,
    };
    print_status(global, &status);
    Ok(ExitCode::SUCCESS)
}

fn print_status(global: &GlobalArgs, status: &ScheduleStatus) {
    if global.json {
        print_json(status);
        return;
    }
    let via = match &status.scheduler {
        Scheduler::Systemd { unit_dir, .. } => format!("systemd timer in {}", unit_dir.display()),
        Scheduler::Cron { .. } => "crontab".to_owned(),
    };
    for job in &status.jobs {
        let what = match job.job {
            Job::Backup => "Daily backup",
            Job::Verify => "Daily verification (newest + rolling share, deep)",
            Job::Drill => "Weekly restore drill",
        };
        match &job.definition {
            Some(definition) => println!("{what} scheduled ({via}): {definition}"),
            None => println!("{what}: not scheduled ({via})."),
        }
    }
}
