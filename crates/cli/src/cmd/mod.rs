//! One file per verb; `run` dispatches.

mod backup;
pub mod confirm;
mod delete;
mod demo;
mod health;
mod list;
mod login;
mod passphrase;
mod pin;
pub mod profile;
mod prune;
mod restore;
mod schedule;
mod verify;

use std::process::ExitCode;

use backupdesk_core::layout::DataDir;
use backupdesk_core::service::secrets::PassphraseScope;
use backupdesk_core::target::OpenedTarget;

use crate::args::{Cli, GlobalArgs, Verb};

/// Runs the verb; `Ok` carries the exit code (verify --all may pass some
/// backups and fail others).
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let mut global = cli.global;
    if let Some(name) = global.profile.clone()
        && !matches!(cli.verb, Verb::Profile(_) | Verb::Login(_))
    {
        match profile::resolve(&name)? {
            profile::Resolved::Local(dir, retention) => {
                global.data_dir = dir;
                global.retention = retention;
            }
            profile::Resolved::Remote(remote) => global.remote = Some(remote),
        }
    }
    let works_remotely = matches!(
        cli.verb,
        Verb::List
            | Verb::Backup(_)
            | Verb::Restore(_)
            | Verb::Delete(_)
            | Verb::Health
            | Verb::Storage
            | Verb::Profile(_)
            | Verb::Login(_)
            | Verb::Demo(_)
    );
    if let (false, Some(remote)) = (works_remotely, &global.remote) {
        return Err(crate::failure::failed(
            backupdesk_core::ErrorKind::RemoteUnsupported,
            format!(
                "profile {} is the remote server {}: this verb works on local installations only",
                remote.name, remote.base_url
            ),
        ));
    }
    let needs_installation = matches!(
        cli.verb,
        Verb::Backup(_)
            | Verb::List
            | Verb::Verify(_)
            | Verb::Restore(_)
            | Verb::Prune(_)
            | Verb::Delete(_)
            | Verb::Pin(_)
            | Verb::Unpin(_)
            | Verb::Passphrase(
                crate::args::PassphraseVerb::Test | crate::args::PassphraseVerb::Rotate(_)
            )
    );
    if needs_installation && global.remote.is_none() && !global.data_dir.is_dir() {
        // A mistyped --data-dir must not pass for an installation without
        // backups (nor get a logs/ folder made in it).
        return Err(crate::failure::failed(
            backupdesk_core::ErrorKind::NotAnInstallation,
            format!(
                "{} does not exist: it is no Server Monitor installation (check --data-dir or --profile)",
                global.data_dir.display()
            ),
        ));
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
        Verb::Login(args) => login::run(&global, &args),
        Verb::Passphrase(verb) => passphrase::run(&global, verb),
        Verb::Schedule(verb) => schedule::run(&global, verb),
    }
}

/// The target selected by the global flags: the data directory, or the
/// remote server of `--profile` with its token (and, if kept, password)
/// from the keychain; a token renewed by a re-login is stored again when it
/// drops (core's [`OpenedTarget`]). Warns here about plain http;
/// core warns (stderr log) when no keychain can be reached.
fn target(global: &GlobalArgs) -> anyhow::Result<OpenedTarget> {
    let Some(remote) = &global.remote else {
        return Ok(OpenedTarget::Local(
            backupdesk_core::target::LocalTarget::new(data_dir(global)),
        ));
    };
    if backupdesk_core::remote::insecure_url(&remote.base_url) {
        eprintln!(
            "warning: {} is plain http:// to another machine: the API token travels unencrypted",
            remote.base_url
        );
    }
    OpenedTarget::open(&remote.name, &remote.profile()).map_err(crate::failure::fail)
}

/// The data directory selected by the global flags.
fn data_dir(global: &GlobalArgs) -> DataDir {
    DataDir::new(&global.data_dir)
}

/// The keychain scope of the selected installation's passphrase (core's
/// one rule, shared with the app): its data folder; a remote profile's name.
pub fn keychain_scope(global: &GlobalArgs) -> PassphraseScope {
    match (&global.profile, &global.remote) {
        (Some(name), Some(_)) => PassphraseScope::for_remote_profile(name),
        (Some(name), None) => PassphraseScope::for_local_profile(name, &global.data_dir),
        (None, _) => PassphraseScope::for_data_dir(&global.data_dir),
    }
}
