//! `backupdesk delete NAME`

use std::process::ExitCode;

use backupdesk_core::OperationContext;
use backupdesk_core::service::backups;

use crate::args::GlobalArgs;
use crate::cmd::confirm;
use crate::failure::fail;
use crate::output::print_ok;

#[derive(serde::Serialize)]
struct Deleted<'a> {
    deleted: &'a str,
}

pub fn run(
    global: &GlobalArgs,
    name: &str,
    ctx: &OperationContext<'_>,
) -> anyhow::Result<ExitCode> {
    // Escaping or unknown names are refused before anything else (and, for
    // a server, before any request with the name: it does not URL-decode).
    let selection = super::selection(global, ctx)?;
    backups::find(&selection, name).map_err(fail)?;
    confirm::typed(
        global.yes,
        &format!("{name} will be deleted for good."),
        "DELETE",
    )?;
    backups::delete(&selection, name, ctx).map_err(fail)?;
    if global.json {
        print_ok(&Deleted { deleted: name });
    } else {
        println!(
            "Deleted {name} (and its .meta) from {}.",
            selection.target().describe()
        );
    }
    Ok(ExitCode::SUCCESS)
}
