//! `backupdesk list`

use backupdesk_core::catalog::VerificationStatus;
use std::process::ExitCode;

use backupdesk_core::catalog::ListItem;
use backupdesk_core::name::BackupName;

use crate::args::GlobalArgs;
use crate::failure::fail;
use crate::output::print_json;

pub fn run(global: &GlobalArgs) -> anyhow::Result<ExitCode> {
    let handle = super::target(global)?;
    let target = handle.get();
    let items: Vec<ListItem> = target.list().map_err(fail)?;
    if global.json {
        print_json(&serde_json::json!({ "backups": items, "count": items.len() }));
        return Ok(ExitCode::SUCCESS);
    }
    if items.is_empty() {
        println!("No backups in {}.", target.describe());
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{:<36} {:<13} {:>11} {:<19} VERIFIED",
        "NAME", "KIND", "SIZE", "TAKEN"
    );
    for item in &items {
        let verified = match (item.verified.state, item.verified.depth, &item.verified.at) {
            (VerificationStatus::Never, _, _) => "never".to_owned(),
            (state, Some(depth), Some(at)) => format!("{state} ({depth:?}, {at})").to_lowercase(),
            (state, _, _) => state.to_string(),
        };
        let kind = match item.kind {
            backupdesk_core::name::BackupKind::Encrypted if !item.has_meta => "encrypted*",
            backupdesk_core::name::BackupKind::Encrypted => "encrypted",
            backupdesk_core::name::BackupKind::LegacyPlain => "PLAINTEXT",
            backupdesk_core::name::BackupKind::PreRestoreEncrypted => "pre-restore",
            backupdesk_core::name::BackupKind::PreRestorePlain => "pre-restore!",
        };
        println!(
            "{:<36} {:<13} {:>11} {:<19} {}",
            item.filename,
            kind,
            item.size_human,
            BackupName::parse(&item.filename)
                .map(|n| n.taken_at().format("%Y-%m-%d %H:%M:%S").to_string())
                .unwrap_or_default(),
            verified
        );
    }
    println!("{} backup(s) in {}", items.len(), target.describe());
    if items
        .iter()
        .any(|i| i.kind == backupdesk_core::name::BackupKind::Encrypted && !i.has_meta)
    {
        println!("* no .meta: checksum unknown");
    }
    if items.iter().any(|i| !i.encrypted) {
        println!("PLAINTEXT / pre-restore!: unencrypted copies left by Server Monitor's scripts");
    }
    Ok(ExitCode::SUCCESS)
}
