//! One file per verb; `run` dispatches.

mod backup;
mod confirm;
mod demo;
mod health;
mod list;
mod pin;
mod prune;
mod restore;
mod schedule;
mod verify;

use std::process::ExitCode;

use backupdesk_core::layout::DataDir;

use crate::args::{Cli, GlobalArgs, Verb};
use crate::failure::usage;

/// Runs the verb; `Ok` carries the exit code (verify --all may pass some
/// backups and fail others).
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let global = cli.global;
    if let Some(profile) = &global.profile {
        return Err(usage(
            "profiles_unavailable",
            format!("--profile {profile}: profiles are not available yet; use --data-dir"),
        ));
    }
    match cli.verb {
        Verb::Backup(args) => backup::run(&global, &args),
        Verb::List => list::run(&global),
        Verb::Verify(args) => verify::run(&global, &args),
        Verb::Restore(args) => restore::run(&global, &args),
        Verb::Prune(args) => prune::run(&global, &args),
        Verb::Pin(args) => pin::run(&global, &args.name, true),
        Verb::Unpin(args) => pin::run(&global, &args.name, false),
        Verb::Health => health::health(&global),
        Verb::Storage => health::storage(&global),
        Verb::Demo(verb) => demo::run(&global, verb),
        Verb::Schedule(verb) => schedule::run(&global, verb),
    }
}

/// The data directory selected by the global flags.
fn data_dir(global: &GlobalArgs) -> DataDir {
    DataDir::new(&global.data_dir)
}
