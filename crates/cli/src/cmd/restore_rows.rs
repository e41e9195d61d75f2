//! `backupdesk restore NAME --table T [--where EXPR] [--replace]
//! [--with-parents] [--dry-run]`, and `backupdesk restore
//! prerestore_rows_…` (the undo of one): some rows of a backup restored in
//! one transaction while the service runs.

use std::process::ExitCode;

use backupdesk_core::OperationContext;
use backupdesk_core::local::surgery::{PartialOptions, PartialPlan};
use backupdesk_core::service::surgery::{self, RowsOutcome};

use crate::args::{GlobalArgs, RestoreArgs};
use crate::cmd::confirm;
use crate::output::{print_dry_run, print_named, say};
use crate::passphrase::CliPassphrase;

pub fn run(
    global: &GlobalArgs,
    args: &RestoreArgs,
    name: &str,
    ctx: &OperationContext<'_>,
) -> anyhow::Result<ExitCode> {
    let selection = super::selection(global, ctx)?;
    let passphrases = CliPassphrase::new(global, ctx);
    let explain = |e| passphrases.explain(e);
    let options = PartialOptions {
        tables: args.tables.clone(),
        where_sql: args.where_sql.clone(),
        replace: args.replace,
        with_parents: args.with_parents,
        ..Default::default()
    };
    let plan = match surgery::restore_rows(&selection, name, &options, true, &passphrases, ctx)
        .map_err(explain)?
    {
        RowsOutcome::Planned(plan) => plan,
        RowsOutcome::Done(_) => unreachable!("a dry run changes nothing"),
    };
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
    confirm::typed(
        global.yes,
        "This changes rows of the live database.",
        "RESTORE",
    )?;
    let RowsOutcome::Done(report) =
        surgery::restore_rows(&selection, name, &options, false, &passphrases, ctx)
            .map_err(explain)?
    else {
        unreachable!("a run is done or fails")
    };
    if global.json {
        print_named(true, "report", &report);
        return Ok(ExitCode::SUCCESS);
    }
    let rows: u64 = report
        .plan
        .tables
        .iter()
        .map(|t| t.insert + t.update + t.delete)
        .sum();
    say!(
        "Restored {rows} rows from {} in {} ms, in one transaction; every other table is as it was.",
        report.plan.backup,
        report.duration_ms
    );
    say!(
        "The rows as they were are kept in {0}: `backupdesk restore {0}` undoes this.",
        report.undo_backup
    );
    Ok(ExitCode::SUCCESS)
}

fn print_plan(plan: &PartialPlan) {
    let what = match plan.mode.as_str() {
        "undo" => "Undo of the partial restore saved in".to_owned(),
        mode => format!("Partial restore ({mode}) from"),
    };
    say!("{what} {}:", plan.backup);
    if let Some(filter) = &plan.where_sql {
        say!("  rows where {filter}");
    }
    for t in &plan.tables {
        let parent = if t.parent {
            " (rows the others point at)"
        } else {
            ""
        };
        let pointed = if t.referenced_by.is_empty() {
            String::new()
        } else {
            format!("; pointed at by {}", t.referenced_by.join(", "))
        };
        say!(
            "  {:<24} {} to insert, {} to update, {} to delete{parent}{pointed}",
            t.table,
            t.insert,
            t.update,
            t.delete
        );
    }
}
