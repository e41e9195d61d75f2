//! `backupdesk drill [NAME]`: a restore drill, never touching the live database.

use std::process::ExitCode;

use backupdesk_core::OperationContext;
use backupdesk_core::service::drills;

use crate::args::{DrillArgs, GlobalArgs};
use crate::output::print_named;
use crate::passphrase::CliPassphrase;

pub fn run(
    global: &GlobalArgs,
    args: &DrillArgs,
    ctx: &OperationContext<'_>,
) -> anyhow::Result<ExitCode> {
    let selection = super::selection(global, ctx)?;
    let passphrases = CliPassphrase::new(global, ctx);
    let report = drills::drill(&selection, args.name.as_deref(), &passphrases, ctx)
        .map_err(|e| passphrases.explain(e))?;
    if global.json {
        print_named(true, "report", &report);
        return Ok(ExitCode::SUCCESS);
    }
    let rows: u64 = report.tables.iter().map(|t| t.rows).sum();
    let counts = if report.counts_checked {
        "row counts equal to .meta"
    } else {
        "no .meta row counts to compare"
    };
    println!(
        "DRILL PASSED {}: restored into a scratch folder in {:.1} s ({} tables, {rows} rows, {counts}; integrity ok). The live database was not touched; the scratch copy is gone.",
        report.filename,
        report.restore_ms as f64 / 1000.0,
        report.tables.len()
    );
    if report.foreign_key_errors > 0 {
        println!(
            "  warning: {} foreign-key violations (as in the live database when it was backed up)",
            report.foreign_key_errors
        );
    }
    Ok(ExitCode::SUCCESS)
}
