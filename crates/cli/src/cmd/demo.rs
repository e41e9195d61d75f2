//! `backupdesk demo init DIR`

use std::process::ExitCode;

use backupdesk_core::OperationContext;
use backupdesk_core::format::human::size_human;
use backupdesk_core::local::demo::{DemoOptions, JournalMode};
use backupdesk_core::service::profile_book;

use crate::args::{DemoVerb, GlobalArgs};
use crate::failure::fail;
use crate::output::print_json;

pub fn run(
    global: &GlobalArgs,
    verb: DemoVerb,
    ctx: &OperationContext<'_>,
) -> anyhow::Result<ExitCode> {
    let DemoVerb::Init(args) = verb;
    let options = DemoOptions {
        size_bytes: args.size,
        journal_mode: if args.journal == "delete" {
            JournalMode::Delete
        } else {
            JournalMode::Wal
        },
        seed: args.seed,
        ..DemoOptions::default()
    };
    let report = profile_book::demo_folder(&args.dir, &options, ctx).map_err(fail)?;
    if global.json {
        print_json(&report);
    } else {
        println!(
            "Demo data directory created: {} ({}, {} tables, {} monitoring samples)",
            report.database,
            size_human(report.size_bytes),
            report.tables,
            report.history_rows
        );
    }
    Ok(ExitCode::SUCCESS)
}
