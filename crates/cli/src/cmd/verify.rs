//! `backupdesk verify NAME|--all [--deep]`

use std::process::ExitCode;

use backupdesk_core::OperationContext;
use backupdesk_core::local::verify::{VerifyDepth, VerifyReport};
use backupdesk_core::service::backups::{self, VerifyEvent};
use backupdesk_core::service::drills;

use crate::args::{GlobalArgs, VerifyArgs};
use crate::output::{print_json, print_named, short_hash};
use crate::passphrase::CliPassphrase;

pub fn run(
    global: &GlobalArgs,
    args: &VerifyArgs,
    ctx: &OperationContext<'_>,
) -> anyhow::Result<ExitCode> {
    let selection = super::selection(global, ctx)?;
    let passphrases = CliPassphrase::new(global, ctx);
    let depth = if args.deep {
        VerifyDepth::Deep
    } else {
        VerifyDepth::Quick
    };
    if let Some(name) = &args.name {
        let report = backups::verify(&selection, name, &passphrases, depth, ctx)
            .map_err(|e| passphrases.explain(e))?;
        if global.json {
            print_named(true, "report", &report);
        } else {
            print_human(&report);
        }
        return Ok(ExitCode::SUCCESS);
    }
    let mut each = |event: VerifyEvent<'_>| match event {
        _ if global.json => {}
        VerifyEvent::Done(result) => match (&result.report, &result.error) {
            (Some(report), _) => print_human(report),
            (None, Some(error)) => println!("FAILED {}: {}", result.filename, error.message),
            (None, None) => {}
        },
        VerifyEvent::Gone(name) => println!("GONE {name}: removed while verifying"),
    };
    let all = if args.rolling {
        drills::verify_rolling(&selection, &passphrases, ctx, &mut each)
    } else {
        backups::verify_all(&selection, &passphrases, depth, ctx, &mut each)
    }
    .map_err(|e| passphrases.explain(e))?;
    if global.json {
        print_json(&all);
    } else {
        println!("{} passed, {} failed", all.passed, all.failed);
    }
    Ok(if all.ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn print_human(report: &VerifyReport) {
    let depth = match report.depth {
        VerifyDepth::Quick => "quick",
        VerifyDepth::Deep => "deep",
    };
    let checksum = if report.checksum_known {
        "matches .meta"
    } else {
        "not recorded (no .meta)"
    };
    print!(
        "OK {}: {depth} verify passed ({} bytes, sha256 {} {checksum}",
        report.filename,
        report.size_bytes,
        short_hash(&report.checksum_sha256)
    );
    if let Some(db) = &report.database {
        let rows: u64 = db.tables.iter().map(|t| t.rows).sum();
        print!("; integrity ok, {} tables, {rows} rows", db.tables.len());
    }
    println!(")");
    for warning in &report.warnings {
        println!("  warning: {warning}");
    }
}
