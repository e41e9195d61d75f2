//! One file per verb; `run` dispatches.

mod activity;
mod backup;
mod changes;
pub mod confirm;
mod delete;
mod demo;
mod diff;
mod drill;
mod encryption;
mod fleet;
mod health;
mod key;
mod list;
mod login;
mod notify;
mod offsite;
mod passphrase;
mod pin;
pub mod profile;
mod prune;
mod query;
mod restore;
mod restore_rows;
mod schedule;
mod ssh_relay;
mod tables;
mod verify;

use std::process::ExitCode;

use backupdesk_core::OperationContext;
use backupdesk_core::clock::SystemClock;
use backupdesk_core::context::{SharedSecrets, SystemKeychain};
use backupdesk_core::service::Selection;
use backupdesk_core::service::secrets::PassphraseScope;

use crate::args::{Cli, GlobalArgs, Verb};

/// Runs the verb; `Ok` carries the exit code (verify --all may pass some
/// backups and fail others).
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let mut global = cli.global;
    let given_session = read_stdin_secrets(&mut global)?;
    // The one context of this run: the system clock, this terminal's bars
    // (and Ctrl-C), the OS keychain (reached at its first use only), and
    // the session keys handed over, if any were.
    let bars = crate::progress::Bars::new(&global);
    let keychain: SharedSecrets = std::sync::Arc::new(SystemKeychain::default());
    let ctx = OperationContext::new(&SystemClock, &bars, &keychain);
    let ctx = match &given_session {
        Some(keys) => ctx.with_session_keys(keys),
        None => ctx,
    };
    let ctx = &ctx;
    if let Some(name) = global.profile.clone()
        && !matches!(
            cli.verb,
            Verb::Profile(_) | Verb::Login(_) | Verb::Fleet(_) | Verb::Key(_)
        )
    {
        // The profile book is read once: here, for the whole run.
        let chosen = profile::load(&name)?;
        let resolved = profile::resolved(&name, &chosen);
        global.chosen = Some(chosen);
        match resolved {
            profile::Resolved::Local(dir, retention) => {
                global.data_dir = dir;
                global.retention = retention;
            }
            profile::Resolved::Remote(remote) => global.remote = Some(remote),
            profile::Resolved::Ssh(host, data_dir, _) => {
                global.data_dir = data_dir;
                global.ssh = Some(host);
                return ssh_relay::relay(&global, cli.verb, ctx);
            }
        }
    }
    match cli.verb {
        Verb::Backup(args) => backup::run(&global, &args, ctx),
        Verb::List => list::run(&global, ctx),
        Verb::Verify(args) => verify::run(&global, &args, ctx),
        Verb::Drill(args) => drill::run(&global, &args, ctx),
        Verb::Fleet(args) => fleet::run(&global, &args, ctx),
        Verb::Restore(args) => restore::run(&global, &args, ctx),
        Verb::Tables(args) => tables::run(&global, &args, ctx),
        Verb::Query(args) => query::run(&global, &args, ctx),
        Verb::Diff(args) => diff::run(&global, &args, ctx),
        Verb::Changes(args) => changes::run(&global, &args, ctx),
        Verb::Prune(args) => prune::run(&global, &args, ctx),
        Verb::Delete(args) => delete::run(&global, &args.name, ctx),
        Verb::Pin(args) => pin::run(&global, &args.name, true, ctx),
        Verb::Unpin(args) => pin::run(&global, &args.name, false, ctx),
        Verb::Activity(args) => activity::run(&global, &args, ctx),
        Verb::Health => health::health(&global, ctx),
        Verb::Storage => health::storage(&global, ctx),
        Verb::Demo(verb) => demo::run(&global, verb, ctx),
        Verb::Profile(verb) => profile::run(&global, verb, ctx),
        Verb::Login(args) => login::run(&global, &args, ctx),
        Verb::Passphrase(verb) => {
            local_only(&global)?;
            passphrase::run(&global, verb, ctx)
        }
        Verb::Schedule(verb) => {
            local_only(&global)?;
            schedule::run(&global, verb, ctx)
        }
        // A server profile may name the locations its server pushes to, and
        // verify their copies here; what needs the files (push, prune,
        // fetch) is refused by core with the profile named.
        Verb::Offsite(verb) => offsite::run(&global, verb, ctx),
        Verb::Encryption(verb) => encryption::run(&global, verb, ctx),
        Verb::Key(verb) => key::run(&global, verb, ctx),
        Verb::Notify(verb) => {
            local_only(&global)?;
            notify::run(&global, verb, ctx)
        }
    }
}

/// The secrets a laptop framed on stdin (`--secrets-on-stdin`), kept in
/// `global`; the session keys among them (`--session-key-on-stdin`).
fn read_stdin_secrets(
    global: &mut GlobalArgs,
) -> anyhow::Result<Option<backupdesk_core::format::crypto::SessionKeys>> {
    if !global.secrets_on_stdin {
        return Ok(None);
    }
    global.stdin_secrets = crate::passphrase::framed_from_stdin()?;
    if !global.session_key_on_stdin {
        return Ok(None);
    }
    crate::passphrase::session_keys_from_stdin(&mut global.stdin_secrets).map(Some)
}

/// What the global flags select: the remote server or local profile of
/// `--profile` (a server opened with its token and, if kept, password from
/// the keychain; a token renewed by a re-login is stored again when it
/// drops), else the `--data-dir` folder. Warns here about plain http; core
/// warns (stderr log) when no keychain can be reached.
fn selection(global: &GlobalArgs, ctx: &OperationContext<'_>) -> anyhow::Result<Selection> {
    let Some(name) = &global.profile else {
        return Ok(Selection::data_dir(&global.data_dir));
    };
    if let Some(remote) = &global.remote
        && backupdesk_core::remote::insecure_url(&remote.base_url)
    {
        eprintln!(
            "warning: {} is plain http:// to another machine: the API token travels unencrypted",
            remote.base_url
        );
    }
    match &global.chosen {
        Some(profile) => Selection::of_profile(name, profile, ctx),
        None => Selection::profile(name, ctx),
    }
    .map_err(crate::failure::fail)
}

/// Refuses a server profile for a verb that works on the files of a local
/// installation (the keychain passphrase of a folder, its schedule).
fn local_only(global: &GlobalArgs) -> anyhow::Result<()> {
    match &global.remote {
        Some(remote) => Err(crate::failure::failed(
            backupdesk_core::ErrorKind::RemoteUnsupported,
            format!(
                "profile {} is the remote server {}: this verb works on local installations only",
                remote.name, remote.base_url
            ),
        )),
        None => Ok(()),
    }
}

/// The keychain scope of the selected installation's passphrase (core's
/// one rule, shared with the app): its data folder; a remote profile's name.
pub fn keychain_scope(global: &GlobalArgs) -> PassphraseScope {
    match (&global.profile, &global.chosen) {
        (Some(name), Some(profile)) => PassphraseScope::for_profile(name, profile),
        // A verb that reads no installation (profile, login, fleet).
        (Some(name), None) => PassphraseScope::for_remote_profile(name),
        (None, _) => PassphraseScope::for_data_dir(&global.data_dir),
    }
}
