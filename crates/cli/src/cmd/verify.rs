//! `backupdesk verify NAME|--all [--deep]`

use std::process::ExitCode;

use backupdesk_core::KindedError;
use backupdesk_core::catalog::BackupCatalog;
use backupdesk_core::clock::SystemClock;
use backupdesk_core::verify::{VerifyDepth, VerifyReport, verify, verify_entry};

use crate::args::{GlobalArgs, VerifyArgs};
use crate::failure::fail;
use crate::output::{print_json, short_hash};
use crate::passphrase::{Purpose, resolve};
use crate::progress::Bars;

pub fn run(global: &GlobalArgs, args: &VerifyArgs) -> anyhow::Result<ExitCode> {
    let data = super::data_dir(global);
    let depth = if args.deep {
        VerifyDepth::Deep
    } else {
        VerifyDepth::Quick
    };
    let bars = Bars::new(global.json);
    if let Some(name) = &args.name {
        // Refuse bad names before asking for a passphrase.
        let catalog = BackupCatalog::scan(&data).map_err(fail)?;
        catalog.find(name).map_err(fail)?;
        let passphrase = resolve(global, Purpose::Decrypt)?;
        let report = verify(&data, name, &passphrase, depth, &SystemClock, &bars).map_err(fail)?;
        if global.json {
            print_json(&serde_json::json!({ "ok": true, "report": report }));
        } else {
            print_human(&report);
        }
        return Ok(ExitCode::SUCCESS);
    }

    let catalog = BackupCatalog::scan(&data).map_err(fail)?;
    let passphrase = resolve(global, Purpose::Decrypt)?;
    let mut results = Vec::new();
    let mut failed = 0usize;
    for entry in catalog.entries() {
        match verify_entry(&data, entry, &passphrase, depth, &SystemClock, &bars) {
            Ok(report) => {
                if !global.json {
                    print_human(&report);
                }
                results.push(serde_json::json!({ "filename": report.filename, "ok": true, "report": report }));
            }
            Err(_) if !entry.path.exists() => {
                // Pruned or deleted while this run went through the list:
                // gone is no failure (and nothing was recorded for it).
                if !global.json {
                    println!("GONE {}: removed while verifying", entry.name.file_name());
                }
                continue;
            }
            Err(e) => {
                failed += 1;
                if !global.json {
                    println!("FAILED {}: {e}", entry.name.file_name());
                }
                results.push(serde_json::json!({
                    "filename": entry.name.file_name(),
                    "ok": false,
                    "error": { "kind": e.kind(), "message": e.to_string() },
                }));
            }
        }
    }
    let passed = results.len() - failed;
    if global.json {
        print_json(
            &serde_json::json!({ "ok": failed == 0, "passed": passed, "failed": failed, "results": results }),
        );
    } else {
        println!("{passed} passed, {failed} failed");
    }
    Ok(if failed == 0 {
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
