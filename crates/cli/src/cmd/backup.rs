//! `backupdesk backup`

use std::process::ExitCode;

use backupdesk_core::backup::BackupOptions;
use backupdesk_core::clock::SystemClock;
use backupdesk_core::crypto::Passphrase;
use backupdesk_core::human::size_human;
use backupdesk_core::target::BackupDone;

use crate::args::{BackupArgs, GlobalArgs};
use crate::failure::fail;
use crate::output::{print_json, short_hash};
use crate::passphrase::{Purpose, resolve};
use crate::progress::Bars;

pub fn run(global: &GlobalArgs, args: &BackupArgs) -> anyhow::Result<ExitCode> {
    let handle = super::target(global)?;
    // A server encrypts with its own passphrase: ours is never sent.
    let passphrase = if handle.is_remote() {
        Passphrase::new(String::new())
    } else {
        resolve(global, Purpose::Encrypt)?
    };
    let options = BackupOptions {
        compression: args.compression,
        allow_default_passphrase: args.allow_default_passphrase,
        prune_after: !args.no_prune,
        retention: global.retention,
        ..BackupOptions::default()
    };
    if passphrase.is_legacy_default() && args.allow_default_passphrase {
        eprintln!(
            "warning: encrypting with Server Monitor's well-known default passphrase; anyone who knows it can read this backup"
        );
    }
    let done = handle
        .get()
        .backup(&passphrase, &options, &SystemClock, &Bars::new(global.json))
        .map_err(fail)?;
    match done {
        BackupDone::Local(report) => {
            let gpg_size = report.meta.gpg_size.unwrap_or(0);
            if global.json {
                print_json(&serde_json::json!({
                    "ok": true,
                    "filename": report.name.file_name(),
                    "path": report.path,
                    "meta_path": report.meta_path,
                    "size": gpg_size,
                    "size_human": size_human(gpg_size),
                    "checksum": report.meta.checksum_sha256,
                    "timestamp": report.meta.timestamp,
                    "duration_ms": report.duration.as_millis() as u64,
                    "leftovers_removed": report.leftovers_removed,
                    "snapshot": report.snapshot,
                    "pruned": report.pruned,
                    "warnings": report.warnings,
                    "meta": report.meta,
                }));
                return Ok(ExitCode::SUCCESS);
            }
            println!(
                "Backup created: {} ({} encrypted from a {} snapshot, sha256 {}, {:.1} s)",
                report.path.display(),
                size_human(gpg_size),
                size_human(report.meta.size_bytes),
                short_hash(&report.meta.checksum_sha256),
                report.duration.as_secs_f64()
            );
            if let Some(pruned) = report.pruned.as_ref().filter(|p| !p.deleted.is_empty()) {
                println!(
                    "Pruned {} old backup(s), {} freed: {}",
                    pruned.deleted.len(),
                    size_human(pruned.bytes_freed),
                    pruned.deleted.join(", ")
                );
            }
            for warning in &report.warnings {
                eprintln!("warning: {warning}");
            }
            if report.leftovers_removed > 0 {
                println!(
                    "Cleaned up {} leftover file(s) of an interrupted earlier run.",
                    report.leftovers_removed
                );
            }
        }
        BackupDone::Remote(remote) => {
            let warnings = &remote.warnings;
            if global.json {
                let item = &remote.item;
                print_json(&serde_json::json!({
                    "ok": true,
                    "filename": item.filename,
                    "path": item.path,
                    "size": item.size,
                    "size_human": item.size_human,
                    "checksum": item.checksum,
                    "timestamp": item.timestamp,
                    "warnings": warnings,
                    "server_reported": remote.server_reported,
                    "reused_name": remote.reused_name,
                }));
                return Ok(ExitCode::SUCCESS);
            }
            println!(
                "Backup created on {}: {} ({})",
                handle.get().describe(),
                remote.item.filename,
                remote.item.size_human
            );
            for warning in warnings {
                eprintln!("warning: {warning}");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
