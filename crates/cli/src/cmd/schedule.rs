//! `backupdesk schedule install|status|remove`

use std::process::ExitCode;

use backupdesk_core::schedule::{self, ScheduleSpec, ScheduleStatus, Scheduler};

use crate::args::{GlobalArgs, ScheduleVerb};
use crate::failure::{fail, usage};
use crate::output::print_json;

pub fn run(global: &GlobalArgs, verb: ScheduleVerb) -> anyhow::Result<ExitCode> {
    let scheduler = Scheduler::detect();
    let status = match verb {
        ScheduleVerb::Install(args) => {
            let at = chrono::NaiveTime::parse_from_str(&args.at, "%H:%M").map_err(|_| {
                usage(
                    backupdesk_core::ErrorKind::InvalidTime,
                    format!("--at {}: expected HH:MM", args.at),
                )
            })?;
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
                program: std::env::current_exe()?,
                data_dir: absolute(&global.data_dir),
                passphrase_file: absolute(passphrase_file),
            };
            schedule::install(&scheduler, &spec).map_err(fail)?
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
    match &status.definition {
        Some(definition) => println!("Daily backup scheduled ({via}): {definition}"),
        None => println!("No daily backup scheduled ({via})."),
    }
}
