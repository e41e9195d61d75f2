//! `backupdesk list`

use backupdesk_core::OperationContext;
use backupdesk_core::local::catalog::VerificationStatus;
use std::process::ExitCode;

use backupdesk_core::local::catalog::ListItem;
use backupdesk_core::local::rotation::RotationState;
use backupdesk_core::local::schedule::Unattended;
use backupdesk_core::service::backups;

use crate::args::GlobalArgs;
use crate::failure::fail;
use crate::output::print_json;

/// `GET /api/database/backups`'s shape.
#[derive(serde::Serialize)]
struct BackupList<'a> {
    backups: &'a [ListItem],
    count: usize,
    /// Backup Desk's own: an unfinished passphrase rotation.
    #[serde(skip_serializing_if = "Option::is_none")]
    rotation: Option<RotationState>,
    /// Backup Desk's own: the schedule and the latest backup attempt (the
    /// fleet tile's evidence), only when asked (`--tile-evidence`: a laptop
    /// of this version over SSH): the answer others read keeps the server's
    /// shape.
    #[serde(skip_serializing_if = "Option::is_none")]
    unattended: Option<Unattended>,
}

pub fn run(global: &GlobalArgs, ctx: &OperationContext<'_>) -> anyhow::Result<ExitCode> {
    let selection = super::selection(global, ctx)?;
    let target = selection.target();
    let items: Vec<ListItem> = backups::list(&selection).map_err(fail)?;
    let rotation = target.rotation();
    if global.json {
        // The server's own answer shape: {"backups": [...], "count"}.
        print_json(&BackupList {
            count: items.len(),
            backups: &items,
            rotation,
            unattended: global.tile_evidence.then(|| target.unattended()).flatten(),
        });
        return Ok(ExitCode::SUCCESS);
    }
    if let Some(rotation) = &rotation {
        println!("Note: {}.", rotation.words());
    }
    if items.is_empty() {
        println!("No backups in {}.", target.describe());
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{:<36} {:>11} {:<19} {:<14} {:<42} STATE",
        "NAME", "SIZE", "TAKEN", "DRILL", "VERIFIED"
    );
    for item in &items {
        let verified = match (item.verified.state, item.verified.depth, &item.verified.at) {
            (VerificationStatus::Never, _, _) => "never".to_owned(),
            (state, Some(depth), Some(at)) => {
                format!("{state} ({}, {at})", format!("{depth:?}").to_lowercase())
            }
            (state, _, _) => state.to_string(),
        };
        let drill = match &item.drill {
            None => "never".to_owned(),
            Some(d) if d.ok => match d.restore_ms {
                Some(ms) => format!("passed {:.1} s", ms as f64 / 1000.0),
                None => "passed".to_owned(),
            },
            Some(_) => "FAILED".to_owned(),
        };
        println!(
            "{:<36} {:>11} {:<19} {drill:<14} {verified:<42} {}",
            item.filename,
            item.size_human,
            item.taken_at.format("%Y-%m-%d %H:%M:%S"),
            item.state_words()
        );
    }
    println!("{} backup(s) in {}", items.len(), target.describe());
    if items.iter().any(|i| !i.encrypted) {
        println!("plaintext: unencrypted copies left by Server Monitor's scripts");
    }
    Ok(ExitCode::SUCCESS)
}
