//! `backupdesk pin NAME` / `backupdesk unpin NAME`

use std::process::ExitCode;

use backupdesk_core::OperationContext;
use backupdesk_core::service::backups;

use crate::args::GlobalArgs;
use crate::failure::fail;
use crate::output::print_ok;

#[derive(serde::Serialize)]
struct Pinned<'a> {
    filename: &'a str,
    pinned: bool,
}

pub fn run(
    global: &GlobalArgs,
    name: &str,
    pinned: bool,
    ctx: &OperationContext<'_>,
) -> anyhow::Result<ExitCode> {
    backups::set_pinned(&super::selection(global, ctx)?, name, pinned).map_err(fail)?;
    if global.json {
        print_ok(&Pinned {
            filename: name,
            pinned,
        });
    } else if pinned {
        println!("Pinned {name}: pruning will never delete it.");
    } else {
        println!("Unpinned {name}: the retention policy applies to it again.");
    }
    Ok(ExitCode::SUCCESS)
}
