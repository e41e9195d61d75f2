//! `backupdesk diff OLD [NEW | --live] [--table T …] [--rows]`: per table,
//! rows inserted, deleted and updated from OLD to NEW, by primary key.

use std::process::ExitCode;

use backupdesk_core::OperationContext;
use backupdesk_core::local::surgery::{DiffOptions, DiffReport, RowChange, TableDiff};
use backupdesk_core::service::surgery::{self, Source};

use crate::args::{DiffArgs, GlobalArgs};
use crate::output::say;
use crate::passphrase::CliPassphrase;

pub fn run(
    global: &GlobalArgs,
    args: &DiffArgs,
    ctx: &OperationContext<'_>,
) -> anyhow::Result<ExitCode> {
    let selection = super::selection(global, ctx)?;
    let passphrases = CliPassphrase::new(global, ctx);
    let old = Source::Backup(args.old.clone());
    let new = super::tables::source(args.new.as_ref(), args.live);
    let options = DiffOptions {
        tables: args.tables.clone(),
        rows: args.rows,
        limit: args.limit,
        offset: args.offset,
    };
    let report = surgery::diff(&selection, &old, &new, &options, &passphrases, ctx)
        .map_err(|e| passphrases.explain(e))?;
    crate::output::present(global.json, &report, print_report);
    Ok(ExitCode::SUCCESS)
}

fn print_report(report: &DiffReport) {
    say!(
        "{} → {}: {} of {} tables changed",
        report.old,
        report.new,
        report.changed_tables,
        report.tables.len()
    );
    for table in report.tables.iter().filter(|t| t.changed()) {
        say!("  {:<28} {}", table.table, summary(table));
        for change in &table.changes {
            say!("    {}", row_words(change));
        }
        if table.more {
            say!("    … more (--offset to page on)");
        }
    }
}

pub fn summary(table: &TableDiff) -> String {
    let mut words = Vec::new();
    match (table.rows_old, table.rows_new) {
        (None, Some(_)) => words.push("only in the newer".to_owned()),
        (Some(_), None) => words.push("only in the older".to_owned()),
        _ => {}
    }
    for (n, what) in [
        (table.inserted, "inserted"),
        (table.deleted, "deleted"),
        (table.updated, "updated"),
    ] {
        if n > 0 {
            words.push(format!("{n} {what}"));
        }
    }
    if !table.columns_added.is_empty() {
        words.push(format!("columns added: {}", table.columns_added.join(", ")));
    }
    if !table.columns_dropped.is_empty() {
        words.push(format!(
            "columns dropped: {}",
            table.columns_dropped.join(", ")
        ));
    }
    words.extend(table.note.clone());
    words.join(", ")
}

fn value(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Null => "NULL".to_owned(),
        other => other.to_string(),
    }
}

pub fn row_words(change: &RowChange) -> String {
    let key = change.key.iter().map(value).collect::<Vec<_>>().join(", ");
    let columns: Vec<String> = change
        .columns
        .iter()
        .map(|c| match change.change.as_str() {
            "updated" => format!("{}: {} → {}", c.column, value(&c.old), value(&c.new)),
            "inserted" => format!("{}={}", c.column, value(&c.new)),
            _ => format!("{}={}", c.column, value(&c.old)),
        })
        .collect();
    format!("{} [{key}] {}", change.change, columns.join("; "))
}
