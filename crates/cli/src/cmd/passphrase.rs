//! `backupdesk passphrase set|test|forget`

use std::process::ExitCode;

use backupdesk_core::OperationContext;
use backupdesk_core::service::secrets::{self, PassphraseScope};

use backupdesk_core::service::backups;
use backupdesk_core::service::profiles;
use backupdesk_core::service::{PassphraseHome, StoredPassphrase};

use crate::args::{GlobalArgs, PassphraseVerb, RotateArgs};
use crate::failure::fail;
use crate::output::{print_json, say};
use crate::passphrase::{from_file, prompt, resolve};
use backupdesk_core::model::PassphraseUse;

/// `passphrase set|test|forget --json`.
#[derive(serde::Serialize)]
struct KeychainJson<'a> {
    ok: bool,
    scope: &'a str,
    message: &'a str,
}

/// `passphrase rotate --json`.
#[derive(serde::Serialize)]
struct RotatedJson<'a> {
    ok: bool,
    report: &'a backupdesk_core::local::rotation::RotationReport,
    keychain: &'a str,
}

pub fn run(
    global: &GlobalArgs,
    verb: PassphraseVerb,
    ctx: &OperationContext<'_>,
) -> anyhow::Result<ExitCode> {
    if matches!(verb, PassphraseVerb::Test | PassphraseVerb::Rotate(_)) {
        // A mistyped --data-dir must not pass for an installation.
        super::selection(global, ctx)?
            .installation()
            .map_err(fail)?;
    }
    let scope = super::keychain_scope(global);
    if let PassphraseVerb::Rotate(args) = &verb {
        return rotate(global, &scope, args, ctx);
    }
    let keychain = ctx.secrets();
    let (ok, message) = match verb {
        PassphraseVerb::Set => {
            let passphrase = match &global.passphrase_file {
                Some(file) => from_file(file)?,
                None => prompt(PassphraseUse::NewBackup)?,
            };
            secrets::store_passphrase(keychain, &scope, &passphrase).map_err(fail)?;
            (
                true,
                format!("Passphrase stored in the keychain for {}.", scope.label()),
            )
        }
        // The passphrase given (a file; the one a laptop sends this engine
        // over SSH, which is the laptop's stored one: a server keeps none),
        // else the one stored here.
        PassphraseVerb::Test => {
            let selection = super::selection(global, ctx)?;
            let given =
                global.passphrase_file.is_some() || global.stdin_secrets.passphrase().is_some();
            let newest = if given {
                let source = crate::passphrase::CliPassphrase::new(global, ctx);
                backups::test_passphrase(&selection, &source).map_err(|e| source.explain(e))?
            } else {
                backups::test_passphrase(&selection, &StoredPassphrase::new(&selection, ctx))
                    .map_err(fail)?
            };
            let whose = if given { "given" } else { "stored" };
            (true, format!("The {whose} passphrase opens {newest}."))
        }
        PassphraseVerb::Forget => {
            let removed = secrets::forget_passphrase(keychain, &scope).map_err(fail)?;
            if removed {
                (
                    true,
                    format!(
                        "Passphrase for {} removed from the keychain.",
                        scope.label()
                    ),
                )
            } else {
                (
                    true,
                    format!("No passphrase was stored for {}.", scope.label()),
                )
            }
        }
        PassphraseVerb::Rotate(_) => unreachable!("handled above"),
    };
    if global.json {
        print_json(&KeychainJson {
            ok,
            scope: scope.label(),
            message: &message,
        });
    } else {
        println!("{message}");
    }
    Ok(ExitCode::SUCCESS)
}

fn rotate(
    global: &GlobalArgs,
    scope: &PassphraseScope,
    args: &RotateArgs,
    ctx: &OperationContext<'_>,
) -> anyhow::Result<ExitCode> {
    let selection = super::selection(global, ctx)?;
    let data = selection.installation().map_err(fail)?;
    let old = resolve(global, PassphraseUse::Reading, ctx.secrets())?;
    let new = match (
        global.stdin_secrets.new_passphrase(),
        &args.new_passphrase_file,
    ) {
        (Some(given), _) => given.clone(),
        (None, Some(file)) => from_file(file)?,
        (None, None) => {
            eprintln!("The new passphrase:");
            prompt(PassphraseUse::NewBackup)?
        }
    };
    let (report, stored) =
        profiles::rotate_and_store(data, scope, &old, &new, PassphraseHome::Keychain, ctx)
            .map_err(fail)?;
    let keychain_note = match stored {
        Ok(true) => format!(
            "the keychain now holds the new passphrase for {}",
            scope.label()
        ),
        Ok(false) => "the keychain keeps the old passphrase, which still opens every backup (the \
                      rotation did not complete; a keychain keeps the new one beside it as \
                      `rotation-passphrase`)"
            .to_owned(),
        Err(e) => format!("the keychain was not updated: {e}"),
    };
    if global.json {
        print_json(&RotatedJson {
            ok: report.complete(),
            report: &report,
            keychain: &keychain_note,
        });
    } else {
        let summary = report.summary();
        say!("Passphrase rotation: {summary}.");
        for failed in &report.failed {
            say!(
                "  could not be given the new passphrase: {}: {}",
                failed.filename,
                failed.message
            );
        }
        for skipped in &report.skipped {
            say!(
                "  left alone (opened by neither passphrase): {}: {}",
                skipped.filename,
                skipped.message
            );
        }
        say!("Note: {keychain_note}.");
    }
    Ok(if report.clean() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
