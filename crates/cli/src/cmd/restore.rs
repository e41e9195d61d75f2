//! `backupdesk restore [NAME] [--dry-run] [--stop-cmd CMD] [--start-cmd CMD]`

use std::io::IsTerminal;
use std::process::ExitCode;

use backupdesk_core::OperationContext;
use backupdesk_core::format::human::size_human;
use backupdesk_core::local::catalog::ListItem;
use backupdesk_core::local::health::HealthReport;
use backupdesk_core::local::restore::{RestoreOptions, SwapMethod};
use backupdesk_core::model::KindedMessage;
use backupdesk_core::remote::follow::RemoteRestoreReport;
use backupdesk_core::remote::outcome::{Evidence, RemoteRestoreOutcome};
use backupdesk_core::service::{backups, restore};
use backupdesk_core::targets::{RestoreDone, RestorePlanned};

use crate::args::{GlobalArgs, RestoreArgs};
use crate::cmd::confirm;
use crate::failure::{failed, usage};
use crate::output::{print_dry_run, print_json, print_named};
use crate::passphrase::CliPassphrase;

pub fn run(
    global: &GlobalArgs,
    args: &RestoreArgs,
    ctx: &OperationContext<'_>,
) -> anyhow::Result<ExitCode> {
    let selection = super::selection(global, ctx)?;
    let passphrases = CliPassphrase::new(global, ctx);
    let explain = |e| passphrases.explain(e);
    let fetched = match &args.from_offsite {
        Some(location) => Some(fetch(
            global,
            &selection,
            location,
            args.name.as_deref(),
            ctx,
        )?),
        None => None,
    };
    let name = match fetched.as_ref().or(args.name.as_ref()) {
        Some(name) => name.clone(),
        None => pick(&backups::list(&selection).map_err(explain)?)?,
    };
    if !args.tables.is_empty() || backupdesk_core::service::surgery::is_rows_backup(&name) {
        return super::restore_rows::run(global, args, &name, ctx);
    }
    let options = RestoreOptions {
        stop_cmd: args.stop_cmd.clone(),
        start_cmd: args.start_cmd.clone(),
        ..RestoreOptions::default()
    };
    let plan = restore::plan(&selection, &name, &passphrases, &options, ctx).map_err(explain)?;
    if args.dry_run {
        if global.json {
            print_dry_run(&plan);
        } else {
            print_plan(&plan);
            println!("Dry run: nothing was changed.");
        }
        return Ok(ExitCode::SUCCESS);
    }
    if !global.json {
        print_plan(&plan);
    }
    confirm::typed(global.yes, "This replaces the live database.", "RESTORE")?;
    let done = restore::restore(&selection, &name, &passphrases, &options, ctx).map_err(explain)?;
    match &done {
        RestoreDone::Remote(report) => Ok(present_remote(global, report)),
        RestoreDone::Local(_) if global.json => {
            print_named(true, "report", &done);
            Ok(ExitCode::SUCCESS)
        }
        RestoreDone::Local(report) => Ok(present_local(global, report)),
    }
}

/// `--from-offsite LOCATION`: the backup fetched (or found) here first.
fn fetch(
    global: &GlobalArgs,
    selection: &backupdesk_core::service::Selection,
    location: &str,
    name: Option<&str>,
    ctx: &OperationContext<'_>,
) -> anyhow::Result<String> {
    let fetched = backupdesk_core::service::offsite::fetch(selection, location, name, ctx)
        .map_err(crate::failure::fail)?;
    if !global.json {
        println!(
            "{} {} from the off-site location {location}.",
            if fetched.already_here {
                "Found"
            } else {
                "Fetched"
            },
            fetched.backup
        );
    }
    Ok(fetched.backup)
}

/// A local restore in words: how the copy went in, where the previous
/// database is kept, the warnings.
fn present_local(
    global: &GlobalArgs,
    report: &backupdesk_core::local::restore::RestoreReport,
) -> ExitCode {
    let how = match (&report.pre_restore_backup, report.swap) {
        // (No live file to keep for a rollback: written through
        // SQLite, which is not "in use".)
        (None, _) => "as a new database: there was none",
        (Some(_), SwapMethod::Rename) => "by an atomic rename: no process had it open",
        (Some(_), SwapMethod::BackupApi) => "with SQLite's backup API: the database was in use",
    };
    let data = backupdesk_core::local::layout::DataDir::new(&global.data_dir);
    println!(
        "Restored {} into {} ({how}).",
        report.backup,
        data.database().display()
    );
    // (Without a live database, a warning says there is no safety backup.)
    if let Some(pre) = &report.pre_restore_backup {
        println!(
            "The previous database is kept, encrypted, in {}.",
            data.backup_file(pre).display()
        );
    }
    for warning in &report.warnings {
        println!("  warning: {warning}");
    }
    ExitCode::SUCCESS
}

/// `--json` of a remote restore: `ok` only when restored, the error kind
/// of the verdict otherwise.
#[derive(serde::Serialize)]
struct RemoteRestoreJson<'a> {
    ok: bool,
    report: &'a RemoteRestoreReport,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<KindedMessage>,
}

/// A remote restore's settled outcome: the verdict with its evidence, the
/// rows per table before and after, the way back. Exit 1 unless restored.
fn present_remote(global: &GlobalArgs, report: &RemoteRestoreReport) -> ExitCode {
    let code = if report.restored() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    };
    if global.json {
        print_json(&RemoteRestoreJson {
            ok: report.restored(),
            report,
            error: report.outcome.error_kind().map(|kind| KindedMessage {
                kind,
                message: report.message(),
            }),
        });
        return code;
    }
    let headline = match &report.outcome {
        RemoteRestoreOutcome::Restored { .. } => "RESTORED",
        RemoteRestoreOutcome::NotRestored { .. } => "NOT RESTORED",
        RemoteRestoreOutcome::DataAtRisk { .. } => "FAILED, DATA AT RISK",
        RemoteRestoreOutcome::Unverified { .. } => "UNVERIFIED",
    };
    let evidence = match report.outcome.evidence() {
        Evidence::BackupRecord => "the backup's recorded size and row counts",
        Evidence::BeforeOnly => "the database as it was before the restore",
        Evidence::DatabaseState => "the state of the server's database",
        Evidence::Nothing => "none: the database could not be read to the end",
    };
    let text = format!("{headline}: {}", report.message());
    if report.restored() {
        println!("{text}");
    } else {
        eprintln!("{text}");
    }
    println!("  the server's answer: {}", report.server_answer.describe());
    println!(
        "  decided by: {evidence}, after following the server for {:.1} s",
        report.followed_ms as f64 / 1000.0
    );
    println!(
        "  {:<28} {:>12} {:>12} {:>12}",
        "table", "before", "after", "backup"
    );
    let show = |v: Option<u64>| v.map(|v| v.to_string()).unwrap_or_else(|| "-".to_owned());
    for t in &report.tables {
        println!(
            "  {:<28} {:>12} {:>12} {:>12}",
            t.name,
            show(t.before),
            show(t.after),
            show(t.backup)
        );
    }
    for file in &report.removed_from_server {
        println!(
            "  removed the plaintext copy {file} that the server's restore left in its backups folder"
        );
    }
    for file in &report.server_safety_copies {
        println!("  the server's script made the plaintext safety copy {file}");
    }
    for warning in &report.warnings {
        eprintln!("warning: {warning}");
    }
    code
}

fn age(seconds: i64) -> String {
    match seconds {
        s if s < 0 => "in the future".to_owned(),
        s if s < 60 => "just now".to_owned(),
        s if s < 3600 => format!("{} minutes ago", s / 60),
        s if s < 86_400 => format!("{} hours ago", s / 3600),
        s => format!("{} days ago", s / 86_400),
    }
}

fn print_plan(planned: &RestorePlanned) {
    let plan = match planned {
        RestorePlanned::Local(plan) => plan,
        // (The CLI relays SSH profiles' verbs to the engine there, which
        // prints its own plan; the app shows this one.)
        RestorePlanned::Ssh(ssh) => {
            println!("On {}:", ssh.location);
            return print_plan(&RestorePlanned::Local(Box::new(ssh.plan.clone())));
        }
        RestorePlanned::Remote(plan) => {
            println!("Restore plan for {} on {}", plan.backup, plan.server);
            for (i, step) in plan.steps.iter().enumerate() {
                println!("  {}. {step}", i + 1);
            }
            if let HealthReport::Checked(h) = &plan.current {
                println!(
                    "The server's database now: {}, {} tables, integrity {}.",
                    h.size_human, h.tables, h.integrity_check
                );
            }
            println!("  evidence: {}", plan.evidence);
            for warning in &plan.warnings {
                println!("  warning: {warning}");
            }
            return;
        }
    };
    println!(
        "Restore plan for {} (taken {}, {})",
        plan.backup,
        plan.taken_at.format("%Y-%m-%d %H:%M:%S"),
        age(plan.age_seconds)
    );
    for (i, step) in plan.steps.iter().enumerate() {
        println!("  {}. {step}", i + 1);
    }
    let counts = if plan.counts_from == backupdesk_core::local::restore::CountsSource::Meta {
        "from .meta"
    } else {
        "counted in the staged copy"
    };
    println!(
        "Database: backup {} against live {}; row counts of the backup {counts}:",
        plan.backup_db_size
            .map(size_human)
            .unwrap_or_else(|| "?".to_owned()),
        size_human(plan.live_size)
    );
    println!(
        "  {:<28} {:>12} {:>12} {:>12}",
        "table", "backup", "live", "change"
    );
    for t in &plan.tables {
        let show = |v: Option<u64>| v.map(|v| v.to_string()).unwrap_or_else(|| "-".to_owned());
        let change = match (t.backup_rows, t.live_rows) {
            (Some(b), Some(l)) if b == l => "same".to_owned(),
            (Some(b), Some(l)) => format!("{:+}", b as i64 - l as i64),
            (Some(_), None) => "added".to_owned(),
            (None, Some(_)) => "removed".to_owned(),
            (None, None) => String::new(),
        };
        println!(
            "  {:<28} {:>12} {:>12} {:>12}",
            t.name,
            show(t.backup_rows),
            show(t.live_rows),
            change
        );
    }
    for warning in &plan.warnings {
        println!("  warning: {warning}");
    }
}

/// `restore` without a name: a numbered list to pick from, like the
/// scripts' `restore-database.sh interactive`.
fn pick(items: &[ListItem]) -> anyhow::Result<String> {
    if !std::io::stdin().is_terminal() {
        return Err(usage(
            backupdesk_core::ErrorKind::BackupNameRequired,
            "restore needs a backup name (no terminal to pick one on)",
        ));
    }
    if items.is_empty() {
        return Err(failed(
            backupdesk_core::ErrorKind::NoBackups,
            "there are no backups to restore",
        ));
    }
    for (i, item) in items.iter().enumerate() {
        println!(
            "{:>3}) {:<36} {:>11}  verified: {}",
            i + 1,
            item.filename,
            item.size_human,
            item.verified.state
        );
    }
    let answer = confirm::ask("Restore which backup (number)? ")?;
    let index: usize = answer
        .parse()
        .ok()
        .filter(|n| (1..=items.len()).contains(n))
        .ok_or_else(|| {
            failed(
                backupdesk_core::ErrorKind::NotConfirmed,
                format!("'{answer}' is not a number from the list; nothing was changed"),
            )
        })?;
    Ok(items[index - 1].filename.clone())
}
