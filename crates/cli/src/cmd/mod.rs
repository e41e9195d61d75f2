//! One file per verb; `run` dispatches.

mod backup;
mod confirm;
mod delete;
mod demo;
mod health;
mod list;
mod passphrase;
mod pin;
mod profile;
mod prune;
mod restore;
mod schedule;
mod verify;

use std::process::ExitCode;

use backupdesk_core::layout::DataDir;

use crate::args::{Cli, GlobalArgs, Verb};

/// Runs the verb; `Ok` carries the exit code (verify --all may pass some
/// backups and fail others).
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let mut global = cli.global;
    if let Some(name) = global.profile.clone()
        && !matches!(cli.verb, Verb::Profile(_))
    {
        global.data_dir = profile::local_data_dir(&name)?;
    }
    match cli.verb {
        Verb::Backup(args) => backup::run(&global, &args),
        Verb::List => list::run(&global),
        Verb::Verify(args) => verify::run(&global, &args),
        Verb::Restore(args) => restore::run(&global, &args),
        Verb::Prune(args) => prune::run(&global, &args),
        Verb::Delete(args) => delete::run(&global, &args.name),
        Verb::Pin(args) => pin::run(&global, &args.name, true),
        Verb::Unpin(args) => pin::run(&global, &args.name, false),
        Verb::Health => health::health(&global),
        Verb::Storage => health::storage(&global),
        Verb::Demo(verb) => demo::run(&global, verb),
        Verb::Profile(verb) => profile::run(&global, verb),
        Verb::Passphrase(verb) => passphrase::run(&global, verb),
        Verb::Schedule(verb) => schedule::run(&global, verb),
    }
}

/// The target selected by the global flags (local; remote profiles are
/// refused earlier until the remote client lands).
fn target(global: &GlobalArgs) -> backupdesk_core::target::LocalTarget {
    backupdesk_core::target::LocalTarget::new(data_dir(global))
}

/// The data directory selected by the global flags.
fn data_dir(global: &GlobalArgs) -> DataDir {
    DataDir::new(&global.data_dir)
}

/// The keychain scope of the selected installation: the profile's name, or
/// `dir:` and the absolute data directory.
pub fn keychain_scope(global: &GlobalArgs) -> String {
    match &global.profile {
        Some(name) => name.clone(),
        None => format!(
            "dir:{}",
            std::path::absolute(&global.data_dir)
                .unwrap_or_else(|_| global.data_dir.clone())
                .display()
        ),
    }
}
