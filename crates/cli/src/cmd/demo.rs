//! `backupdesk demo init DIR`

use std::process::ExitCode;

use backupdesk_core::clock::{Clock, SystemClock};
use backupdesk_core::demo::{DemoOptions, JournalMode, create_demo};
use backupdesk_core::human::size_human;
use backupdesk_core::layout::DataDir;

use crate::args::{DemoVerb, GlobalArgs};
use crate::failure::fail;
use crate::output::print_json;

pub fn run(global: &GlobalArgs, verb: DemoVerb) -> anyhow::Result<ExitCode> {
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
    let report =
        create_demo(&DataDir::new(&args.dir), &options, SystemClock.now()).map_err(fail)?;
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
