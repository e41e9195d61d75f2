//! `backupdesk tables NAME | --live`: each table with its rows, size, key
//! and the tables it points at; a backup is decrypted and checked first.

use std::process::ExitCode;

use backupdesk_core::OperationContext;
use backupdesk_core::format::human::size_human;
use backupdesk_core::service::surgery::{self, Source};

use crate::args::{GlobalArgs, TablesArgs};
use crate::output::{print_ok, say};
use crate::passphrase::CliPassphrase;

/// The backup named, or live.
pub fn source(name: Option<&String>, live: bool) -> Source {
    match name {
        Some(name) if !live => Source::Backup(name.clone()),
        _ => Source::Live,
    }
}

pub fn run(
    global: &GlobalArgs,
    args: &TablesArgs,
    ctx: &OperationContext<'_>,
) -> anyhow::Result<ExitCode> {
    let selection = super::selection(global, ctx)?;
    let passphrases = CliPassphrase::new(global, ctx);
    let source = source(args.name.as_ref(), args.live);
    let report = surgery::tables(&selection, &source, &passphrases, ctx)
        .map_err(|e| passphrases.explain(e))?;
    if global.json {
        print_ok(&report);
        return Ok(ExitCode::SUCCESS);
    }
    match source {
        Source::Live => say!("Tables of the live database (read-only):"),
        Source::Backup(_) => say!(
            "Tables of {} (decrypted and checked: size, SHA-256, integrity):",
            report.source
        ),
    }
    say!(
        "  {:<28} {:>10} {:>10}  {:<16} POINTS AT",
        "TABLE",
        "ROWS",
        "SIZE",
        "KEY"
    );
    for table in &report.tables {
        let parents: Vec<&str> = table
            .foreign_keys
            .iter()
            .map(|k| k.parent.as_str())
            .collect();
        say!(
            "  {:<28} {:>10} {:>10}  {:<16} {}",
            table.name,
            table.rows,
            size_human(table.bytes),
            table.primary_key.join(", "),
            parents.join(", ")
        );
    }
    Ok(ExitCode::SUCCESS)
}
