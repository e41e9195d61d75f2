//! A verb on an SSH profile: the server's own `backupdesk` runs it (core's
//! `target::ssh`), with the same flags, JSON and exit code as here; this
//! side checks the engine's version, confirms destructive verbs on the
//! admin's terminal, and sends the passphrase from this machine's sources
//! (file, `$DB_BACKUP_PASSPHRASE`, keychain, prompt) over the channel's
//! stdin; or, for one backup a key held here opens, only that backup's
//! session key (the server then needs no secret at all). `profile install`
//! copies this build to the server.

use std::io::Write;
use std::process::ExitCode;

use backupdesk_core::format::crypto::Passphrase;
use backupdesk_core::keychain::KeychainError;
use backupdesk_core::model::{Effect, PassphraseUse};
use backupdesk_core::progress::Progress;
use backupdesk_core::targets::profile::config_dir;
use backupdesk_core::targets::ssh::{
    BackupsRead, EngineRun, PendingOps, RotationNotRecorded, SshError, SshHost,
};
use backupdesk_core::{ErrorKind, OperationContext};

use crate::args::{EncryptionVerb, GlobalArgs, PassphraseVerb, Verb};
use crate::cmd::confirm;
use crate::cmd::profile::{Resolved, resolve};
use crate::failure::{fail, failed};
use crate::output::print_ok;
use crate::verb_traits;

/// Runs `verb` on the SSH server of `global` and relays its answer.
pub fn relay(
    global: &GlobalArgs,
    verb: Verb,
    ctx: &OperationContext<'_>,
) -> anyhow::Result<ExitCode> {
    let host = global.ssh.as_ref().expect("an SSH profile was selected");
    let name = global.profile.clone().unwrap_or_default();
    let verb = match verb {
        // The passphrase kept on this machine for the profile.
        Verb::Passphrase(here @ (PassphraseVerb::Set | PassphraseVerb::Forget)) => {
            return super::passphrase::run(global, here, ctx);
        }
        // The policy is read and set from here: the certificates and the
        // admin's GnuPG keyring are on this machine (core puts the public
        // certificates on the server and has its engine set the policy).
        Verb::Encryption(here @ (EncryptionVerb::Show | EncryptionVerb::Set(_))) => {
            return super::encryption::run(global, here, ctx);
        }
        // The jobs that prove the server's backups from this machine.
        Verb::Schedule(crate::args::ScheduleVerb::Prove(args)) => {
            return super::schedule::prove(global, &args, ctx);
        }
        other => other,
    };
    host.handshake().map_err(fail)?;
    let pending = PendingOps::of_profile(&config_dir(), &name, ctx.shared_secrets());
    report_pending(host, &pending)?;
    let traits = verb_traits::of(&verb);
    let mut args = forwarded_args(global);
    if traits.effect == Effect::Destroys && !global.yes {
        confirm::typed(
            false,
            &format!(
                "This changes the installation {} on {}.",
                global.data_dir.display(),
                host.destination
            ),
            &name,
        )?;
        args.push("--yes".to_owned());
    }
    let (passphrase, also) = secrets_for(global, host, &verb, &mut args, ctx)?;
    // A rotation's new passphrase, from this machine too: the second
    // secret framed on the channel's stdin there.
    let new_passphrase = match &verb {
        Verb::Passphrase(PassphraseVerb::Rotate(rotate)) => Some(new_passphrase(rotate)?),
        _ => None,
    };
    // The server's progress comes back as lines, drawn here as bars (or
    // passed on as lines when this side was asked for them).
    if !global.progress_lines {
        args.push("--progress-lines".to_owned());
    }
    // What only reads runs attached; what changes things runs detached on
    // the server (a dropped connection never stops it half-way) and is
    // recorded here until its answer arrived.
    let run = if !traits.effect.runs_detached() {
        host.run_engine(&args, passphrase.as_ref(), ctx)
    } else {
        let secrets: Vec<_> = passphrase
            .iter()
            .chain(also.iter())
            .chain(new_passphrase.iter())
            .collect();
        let detached = Detached {
            host,
            pending: &pending,
            name: &name,
        };
        detached.run(&args, &secrets, new_passphrase.as_ref(), ctx)?
    }
    .map_err(fail)?;
    std::io::stdout().write_all(&run.stdout)?;
    std::io::stdout().flush()?;
    Ok(ExitCode::from(u8::try_from(run.code).unwrap_or(1)))
}

/// The first secret the engine gets on stdin for `verb`, and a second
/// one. For backups read with a key held here only their session keys
/// cross (the server keeps no secret; neither the key nor, for a read,
/// a passphrase goes); a restore's safety backup may need the passphrase,
/// which follows the keys when this machine has one without asking.
/// Otherwise the passphrase, from this machine's sources.
fn secrets_for(
    global: &GlobalArgs,
    host: &SshHost,
    verb: &Verb,
    args: &mut Vec<String>,
    ctx: &OperationContext<'_>,
) -> anyhow::Result<(Option<Passphrase>, Option<Passphrase>)> {
    let session = backups_read(verb).and_then(|which| {
        let keys = host.session_keys_here(&global.data_dir, which, ctx)?;
        args.push("--session-key-on-stdin".to_owned());
        Some(Passphrase::new(keys.to_text().to_string()))
    });
    if let Some(session) = session {
        let also = match verb {
            Verb::Restore(_) => crate::passphrase::without_asking(global, ctx.secrets())?,
            _ => None,
        };
        return Ok((Some(session), also));
    }
    let passphrase = match verb_traits::of(verb).passphrase {
        Some(purpose) => Some(crate::passphrase::resolve(global, purpose, ctx.secrets())?),
        None => None,
    };
    Ok((passphrase, None))
}

/// The backups `verb` decrypts: verify (one, all, the rolling share),
/// drill (one, or the newest), restore, a rewrap (named, or all), and the
/// verbs that look inside.
fn backups_read(verb: &Verb) -> Option<BackupsRead<'_>> {
    match verb {
        Verb::Verify(args) => Some(match (&args.name, args.all) {
            (Some(name), _) => BackupsRead::One(name),
            (None, true) => BackupsRead::All,
            (None, false) => BackupsRead::Rolling,
        }),
        Verb::Drill(args) => Some(match &args.name {
            Some(name) => BackupsRead::One(name),
            None => BackupsRead::NewestRegular,
        }),
        Verb::Restore(args) => args.name.as_deref().map(BackupsRead::One),
        Verb::Encryption(EncryptionVerb::Rewrap(args)) => Some(BackupsRead::Named(&args.backups)),
        // Looking inside: the backup, or both sides of a diff; `changes`
        // reads a run of backups.
        Verb::Tables(args) if !args.live => args.name.as_deref().map(BackupsRead::One),
        Verb::Query(args) if !args.live => args.words.first().map(|n| BackupsRead::One(n)),
        Verb::Diff(args) => Some(match (&args.new, args.live) {
            (Some(new), false) => BackupsRead::Pair(&args.old, new),
            _ => BackupsRead::One(&args.old),
        }),
        Verb::Changes(_) => Some(BackupsRead::All),
        _ => None,
    }
}

/// A rotation's new passphrase: its file, or typed twice.
fn new_passphrase(rotate: &crate::args::RotateArgs) -> anyhow::Result<Passphrase> {
    match &rotate.new_passphrase_file {
        Some(file) => crate::passphrase::from_file(file),
        None => {
            eprintln!("The new passphrase:");
            crate::passphrase::prompt(PassphraseUse::NewBackup)
        }
    }
}

/// A verb that changes things, run detached on the server and recorded in
/// this machine's pending operations until its outcome was read.
struct Detached<'a> {
    host: &'a SshHost,
    pending: &'a PendingOps,
    name: &'a str,
}

impl Detached<'_> {
    /// Records the operation (a rotation's new passphrase waiting in the
    /// keychain), runs it, and forgets it once its outcome is known here
    /// (an answer, or a death read); cut off, it stays for the next call.
    fn run(
        &self,
        args: &[String],
        secrets: &[&Passphrase],
        new_passphrase: Option<&Passphrase>,
        progress: &dyn Progress,
    ) -> anyhow::Result<Result<EngineRun, SshError>> {
        let op = backupdesk_core::targets::ssh::new_op_id();
        let typed: Vec<String> = std::env::args().skip(1).collect();
        let command = typed.join(" ");
        match new_passphrase {
            // The new passphrase waits in the keychain until the outcome
            // is read (now, or by the next call after a cut-off).
            Some(new) => match self.pending.begin_rotation(&op, &command, new) {
                Ok(()) => {}
                // No keychain at all here: the admin keeps the new one.
                Err(RotationNotRecorded::Keychain(
                    e @ (KeychainError::NoSessionBus | KeychainError::NoSecretService),
                )) => {
                    eprintln!(
                        "note: {e}; this machine keeps no passphrase for {name}: keep the new one \
                         yourself, or store it with `backupdesk passphrase set --profile {name}`",
                        name = self.name
                    );
                    self.pending.begin(&op, &command)?;
                }
                Err(e) => return Err(fail(e)),
            },
            None => self.pending.begin(&op, &command)?,
        }
        let run = self.host.run_engine_detached(args, secrets, &op, progress);
        let code = match &run {
            Ok(run) => Some(Some(run.code)),
            Err(SshError::DiedWithoutAnswer { .. }) => Some(None),
            Err(_) => None,
        };
        if let Some(code) = code {
            if let Some(note) = self.pending.finish_rotation(&op, code) {
                eprintln!("note: {note}");
            }
            self.pending.end(&op);
        }
        Ok(run)
    }
}

/// Says how every operation started from here and cut off from its answer
/// (a dropped connection, a killed terminal) ended, on stderr, once; one
/// still running is said to be running (and asked again next time).
fn report_pending(host: &SshHost, pending: &PendingOps) -> anyhow::Result<()> {
    for cut_off in host.settle(pending).map_err(fail)? {
        eprintln!("note: {}", cut_off.describe(&host.destination));
    }
    Ok(())
}

/// `profile install NAME`: this executable to the profile's server, after
/// the admin typed the profile name (or `--yes`).
pub fn install(global: &GlobalArgs, name: &str) -> anyhow::Result<ExitCode> {
    let Resolved::Ssh(host, _, _) = resolve(name)? else {
        return Err(failed(
            ErrorKind::RemoteUnsupported,
            format!("profile {name} is not an SSH profile: there is nothing to install"),
        ));
    };
    let exe = std::env::current_exe()?;
    confirm::typed(
        global.yes,
        &format!(
            "Copy {} (backupdesk {}) to {} as {}?",
            exe.display(),
            backupdesk_core::targets::ssh::VERSION_LINE,
            host.destination,
            host.engine()
        ),
        name,
    )?;
    // Typed above: the service's confirmation is the name itself.
    let installed =
        backupdesk_core::service::profiles::install_engine(name, name, &exe).map_err(fail)?;
    if global.json {
        print_ok(&Installed {
            profile: name,
            engine: &installed.engine,
            version: &installed.version,
        });
    } else {
        println!(
            "Installed backupdesk {} on {} at {}.",
            installed.version, installed.destination, installed.engine
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// `profile install --json`.
#[derive(serde::Serialize)]
struct Installed<'a> {
    profile: &'a str,
    engine: &'a str,
    version: &'a str,
}

/// This command line for the server: the verb and its flags as given,
/// without what selects or feeds things here (`--profile`, `--data-dir`,
/// `--passphrase-file`), with the profile's installation root.
fn forwarded_args(global: &GlobalArgs) -> Vec<String> {
    const LOCAL_ONLY: [&str; 4] = [
        "--profile",
        "--data-dir",
        "--passphrase-file",
        "--new-passphrase-file",
    ];
    let mut out = vec![
        "--data-dir".to_owned(),
        global.data_dir.display().to_string(),
    ];
    let mut given = std::env::args_os()
        .skip(1)
        .map(|a| a.to_string_lossy().into_owned());
    while let Some(arg) = given.next() {
        if LOCAL_ONLY.contains(&arg.as_str()) {
            given.next();
        } else if !LOCAL_ONLY
            .iter()
            .any(|flag| arg.starts_with(&format!("{flag}=")))
        {
            out.push(arg);
        }
    }
    out
}
