//! `backupdesk pin NAME` / `backupdesk unpin NAME`

use std::process::ExitCode;

use backupdesk_core::catalog::BackupCatalog;

use crate::args::GlobalArgs;
use crate::failure::fail;
use crate::output::print_json;

pub fn run(global: &GlobalArgs, name: &str, pinned: bool) -> anyhow::Result<ExitCode> {
    let data = super::data_dir(global);
    BackupCatalog::set_pinned(&data, name, pinned).map_err(fail)?;
    if global.json {
        print_json(&serde_json::json!({ "ok": true, "filename": name, "pinned": pinned }));
    } else if pinned {
        println!("Pinned {name}: pruning will never delete it.");
    } else {
        println!("Unpinned {name}: the retention policy applies to it again.");
    }
    Ok(ExitCode::SUCCESS)
}
