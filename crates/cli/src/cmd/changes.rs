//! `backupdesk changes [--since DATE]`: the configuration's history from
//! the kept backups, each compared with the one before it.

use std::process::ExitCode;

use backupdesk_core::OperationContext;
use backupdesk_core::local::surgery::ChangesReport;
use backupdesk_core::service::surgery;
use chrono::NaiveDateTime;

use crate::args::{ChangesArgs, GlobalArgs};
use crate::failure::usage;
use crate::output::say;
use crate::passphrase::CliPassphrase;

/// "2026-12-01", "2026-12-01 14:05" or "2026-12-01 14:05:07".
fn parse_since(text: &str) -> Option<NaiveDateTime> {
    ["%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M"]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(text, f).ok())
        .or_else(|| {
            chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
                .ok()
                .and_then(|d| d.and_hms_opt(0, 0, 0))
        })
}

pub fn run(
    global: &GlobalArgs,
    args: &ChangesArgs,
    ctx: &OperationContext<'_>,
) -> anyhow::Result<ExitCode> {
    let since = match args.since.as_deref() {
        Some(text) => Some(parse_since(text).ok_or_else(|| {
            usage(
                backupdesk_core::ErrorKind::InvalidTime,
                format!("--since {text:?} is no date: write 2026-12-01 or 2026-12-01 14:05"),
            )
        })?),
        None => None,
    };
    let selection = super::selection(global, ctx)?;
    let passphrases = CliPassphrase::new(global, ctx);
    let report = surgery::changes(&selection, since, &passphrases, ctx)
        .map_err(|e| passphrases.explain(e))?;
    crate::output::present(global.json, &report, print_report);
    Ok(ExitCode::SUCCESS)
}

fn print_report(report: &ChangesReport) {
    say!(
        "{} backups compared: the configuration changed {} times.",
        report.backups,
        report.changes.len()
    );
    for change in &report.changes {
        say!("{} → {}:", change.older, change.newer);
        for table in &change.tables {
            say!("  {:<24} {}", table.table, super::diff::summary(table));
            for row in &table.changes {
                say!("    {}", super::diff::row_words(row));
            }
        }
    }
    for skipped in &report.skipped {
        say!("  skipped {}: {}", skipped.backup, skipped.error.message);
    }
}
