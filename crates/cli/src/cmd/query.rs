//! `backupdesk query NAME "SQL" | --live "SQL" [--csv | --json]`: one
//! read-only statement, bounded in rows and time.

use std::process::ExitCode;
use std::time::Duration;

use backupdesk_core::OperationContext;
use backupdesk_core::local::surgery::{QueryLimits, QueryResult};
use backupdesk_core::service::surgery;

use crate::args::{GlobalArgs, QueryArgs};
use crate::failure::usage;
use crate::output::{print_ok, say};
use crate::passphrase::CliPassphrase;

pub fn run(
    global: &GlobalArgs,
    args: &QueryArgs,
    ctx: &OperationContext<'_>,
) -> anyhow::Result<ExitCode> {
    let (name, sql) = match (args.live, args.words.as_slice()) {
        (true, [sql]) => (None, sql),
        (false, [name, sql]) => (Some(name), sql),
        _ => {
            return Err(usage(
                backupdesk_core::ErrorKind::Error,
                "write query NAME \"SQL\", or query --live \"SQL\"",
            ));
        }
    };
    let selection = super::selection(global, ctx)?;
    let passphrases = CliPassphrase::new(global, ctx);
    let limits = QueryLimits {
        max_rows: args.max_rows,
        time: Duration::from_secs(args.time_limit.max(1)),
    };
    let source = super::tables::source(name, args.live);
    let result = surgery::query(&selection, &source, sql, limits, &passphrases, ctx)
        .map_err(|e| passphrases.explain(e))?;
    if global.json {
        print_ok(&result);
    } else if args.csv {
        print_csv(&result);
    } else {
        print_table(&result);
    }
    Ok(ExitCode::SUCCESS)
}

/// A value as text: NULL, numbers and strings as they are.
fn text(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::Null => "NULL".to_owned(),
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn print_table(result: &QueryResult) {
    say!("{}", result.columns.join(" | "));
    for row in &result.rows {
        say!("{}", row.iter().map(text).collect::<Vec<_>>().join(" | "));
    }
    let more = if result.truncated {
        ", more not shown (--max-rows)"
    } else {
        ""
    };
    say!(
        "({} rows{more}; {} ms)",
        result.rows.len(),
        result.elapsed_ms
    );
}

/// RFC 4180: a field with a comma, quote or line break is quoted.
fn csv_field(field: &str) -> String {
    if field.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", field.replace('"', "\"\""))
    } else {
        field.to_owned()
    }
}

fn print_csv(result: &QueryResult) {
    let line = |fields: Vec<String>| {
        fields
            .iter()
            .map(|f| csv_field(f))
            .collect::<Vec<_>>()
            .join(",")
    };
    println!("{}", line(result.columns.clone()));
    for row in &result.rows {
        let fields = row
            .iter()
            .map(|v| if v.is_null() { String::new() } else { text(v) })
            .collect();
        println!("{}", line(fields));
    }
}
