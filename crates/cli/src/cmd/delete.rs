//! `backupdesk delete NAME`

use std::process::ExitCode;

use backupdesk_core::target::Target;

use crate::args::GlobalArgs;
use crate::cmd::confirm;
use crate::failure::fail;
use crate::output::print_json;

pub fn run(global: &GlobalArgs, name: &str) -> anyhow::Result<ExitCode> {
    let target = super::target(global);
    // Refuse unknown or escaping names before asking anything.
    if !target
        .list()
        .map_err(fail)?
        .iter()
        .any(|i| i.filename == name)
    {
        let catalog = backupdesk_core::catalog::BackupCatalog::scan(target.data()).map_err(fail)?;
        catalog.find(name).map_err(fail)?;
    }
    confirm::typed(
        global.yes,
        &format!("{name} will be deleted for good."),
        "DELETE",
    )?;
    target.delete(name).map_err(fail)?;
    if global.json {
        print_json(&serde_json::json!({ "ok": true, "deleted": name }));
    } else {
        println!("Deleted {name} (and its .meta) from {}.", target.describe());
    }
    Ok(ExitCode::SUCCESS)
}
