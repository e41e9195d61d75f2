//! `backupdesk schedule install|status|remove`

use std::process::ExitCode;

use backupdesk_core::OperationContext;
use backupdesk_core::local::schedule::proving::ProvingJob;
use backupdesk_core::local::schedule::{
    Job, ScheduleChange, ScheduleChoice, ScheduleView, Scheduler,
};
use backupdesk_core::service::schedules::ProvingChange;
use backupdesk_core::service::{offsite, schedules};

use crate::args::{GlobalArgs, ScheduleVerb};
use crate::failure::{fail, usage};
use crate::output::print_json;

pub fn run(
    global: &GlobalArgs,
    verb: ScheduleVerb,
    ctx: &OperationContext<'_>,
) -> anyhow::Result<ExitCode> {
    if let ScheduleVerb::Prove(args) = verb {
        return prove(global, &args, ctx);
    }
    let installing = matches!(verb, ScheduleVerb::Install(_));
    let change = match verb {
        ScheduleVerb::Install(args) => {
            // (Without one, core says whether the installation's jobs can
            // run with no secret: a policy that keeps no passphrase.)
            let choice = ScheduleChoice {
                at: args.at,
                verify_at: args.verify_at,
                verify: !args.no_verify,
                drill_day: args.drill.drill_day,
                drill_at: args.drill.drill_at,
                drill: !args.drill.no_drill,
                passphrase_file: global.passphrase_file.clone(),
            };
            if let Err(e) = choice.times() {
                return Err(usage(
                    backupdesk_core::ErrorKind::InvalidTime,
                    e.to_string(),
                ));
            }
            let program = std::env::current_exe()?;
            ScheduleChange::Install {
                choice,
                program: Some(program),
            }
        }
        ScheduleVerb::Status => ScheduleChange::Read,
        ScheduleVerb::Remove => ScheduleChange::Remove,
        ScheduleVerb::Prove(_) => unreachable!("handled above"),
    };
    let selection = super::selection(global, ctx)?;
    let view = schedules::apply(&selection, &change).map_err(fail)?;
    if installing {
        // What the job itself will lack: it carries no AWS_* variables.
        for gap in offsite::unattended_gaps(&selection, ctx).unwrap_or_default() {
            eprintln!("note: {}", backupdesk_core::printable::escaped(&gap));
        }
    }
    print_view(global, &view);
    Ok(ExitCode::SUCCESS)
}

fn print_view(global: &GlobalArgs, view: &ScheduleView) {
    if global.json {
        print_json(view);
        return;
    }
    let status = &view.status;
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
    if let Some(other) = &view.other_folder {
        println!(
            "Note: these jobs back up {}, not this folder (one schedule per account).",
            backupdesk_core::printable::escaped(other)
        );
    }
}

/// `schedule prove`: this machine's jobs that prove an SSH profile's
/// backups with the key held here.
pub fn prove(
    global: &GlobalArgs,
    args: &crate::args::ScheduleProveArgs,
    ctx: &OperationContext<'_>,
) -> anyhow::Result<ExitCode> {
    let change = if args.status {
        ProvingChange::Read
    } else if args.remove {
        ProvingChange::Remove
    } else {
        let choice = ScheduleChoice {
            at: args.at.clone(),
            verify_at: None,
            verify: true,
            drill_day: args.drill.drill_day.clone(),
            drill_at: args.drill.drill_at.clone(),
            drill: !args.drill.no_drill,
            passphrase_file: None,
        };
        if let Err(e) = choice.times() {
            return Err(usage(
                backupdesk_core::ErrorKind::InvalidTime,
                e.to_string(),
            ));
        }
        ProvingChange::Install {
            choice,
            program: std::env::current_exe()?,
        }
    };
    let selection = super::selection(global, ctx)?;
    let status = schedules::proving(&selection, &change).map_err(fail)?;
    if global.json {
        print_json(&status);
        return Ok(ExitCode::SUCCESS);
    }
    for job in &status.jobs {
        let what = match job.job {
            ProvingJob::Verify => "Daily deep verification from here",
            ProvingJob::Drill => "Weekly restore drill from here",
        };
        match &job.definition {
            Some(definition) => println!(
                "{what} of {} ({}): {definition}",
                status.profile, status.scheduler
            ),
            None => println!(
                "{what} of {}: not scheduled ({}).",
                status.profile, status.scheduler
            ),
        }
    }
    if let Some(note) = &status.note {
        println!("note: {note}");
    }
    Ok(ExitCode::SUCCESS)
}
