//! `backupdesk delete NAME`

use std::process::ExitCode;

use backupdesk_core::catalog::CatalogError;
use backupdesk_core::name::BackupName;

use crate::args::GlobalArgs;
use crate::cmd::confirm;
use crate::failure::fail;
use crate::output::print_json;

pub fn run(global: &GlobalArgs, name: &str) -> anyhow::Result<ExitCode> {
    // Escaping or unknown names are refused before anything else (and, for
    // a server, before any request with the name: it does not URL-decode).
    BackupName::parse(name)
        .map_err(CatalogError::from)
        .map_err(fail)?;
    let handle = super::target(global)?;
    let target = handle.get();
    if !target
        .list()
        .map_err(fail)?
        .iter()
        .any(|i| i.filename == name)
    {
        return Err(fail(CatalogError::BackupNotFound(name.to_owned())));
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
