//! `backupdesk backup`

use std::process::ExitCode;

use backupdesk_core::OperationContext;
use backupdesk_core::local::backup::BackupOptions;
use backupdesk_core::service::backups::{self, BackupDetail, BackupSummary};

use crate::args::{BackupArgs, GlobalArgs};
use crate::output::{print_ok, short_hash};
use crate::passphrase::CliPassphrase;

pub fn run(
    global: &GlobalArgs,
    args: &BackupArgs,
    ctx: &OperationContext<'_>,
) -> anyhow::Result<ExitCode> {
    let selection = super::selection(global, ctx)?;
    let passphrases = CliPassphrase::new(global, ctx);
    let options = BackupOptions {
        compression: args.compression,
        allow_default_passphrase: args.allow_default_passphrase,
        prune_after: !args.no_prune,
        new_set: args.new_set,
        ..BackupOptions::default()
    };
    let made = backups::backup(&selection, &passphrases, &options, ctx)
        .map_err(|e| passphrases.explain(e))?;
    if global.json {
        print_ok(&made);
    } else {
        present(&made, &selection.target().describe());
    }
    // The backup is made, but a copy that did not go off-site needs the
    // admin (cron mails a failed job; a scheduled run has no one watching).
    if made.offsite.iter().any(|p| !p.ok) {
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}

fn present(made: &BackupSummary, place: &str) {
    use backupdesk_core::format::human::size_human;
    match &made.detail {
        BackupDetail::Local {
            meta,
            pruned,
            leftovers_removed,
            ..
        } => {
            println!(
                "Backup created: {} ({} encrypted from a {} snapshot, sha256 {}, {:.1} s)",
                made.path,
                made.size_human,
                size_human(meta.size_bytes),
                short_hash(&meta.checksum_sha256),
                made.duration_ms.unwrap_or(0) as f64 / 1000.0
            );
            if let Some(pruned) = pruned.as_ref().filter(|p| !p.deleted.is_empty()) {
                println!(
                    "Pruned {} old backup(s), {} freed: {}",
                    pruned.deleted.len(),
                    size_human(pruned.bytes_freed),
                    pruned.deleted.join(", ")
                );
            }
            for warning in &made.warnings {
                eprintln!("warning: {warning}");
            }
            for push in made.offsite.iter().filter(|p| p.ok) {
                println!(
                    "Copied off-site to {}: {} file(s), their SHA-256 confirmed by the store.",
                    push.location, push.copied
                );
            }
            if *leftovers_removed > 0 {
                println!(
                    "Cleaned up {leftovers_removed} leftover file(s) of an interrupted earlier run."
                );
            }
        }
        BackupDetail::Remote { .. } => {
            println!(
                "Backup created on {place}: {} ({})",
                made.filename, made.size_human
            );
            for warning in &made.warnings {
                eprintln!("warning: {warning}");
            }
        }
    }
}
