//! `backupdesk passphrase set|test|forget`

use std::process::ExitCode;

use backupdesk_core::keychain::{Keychain, SecretKind};

use backupdesk_core::clock::SystemClock;
use backupdesk_core::rotation;

use crate::args::{GlobalArgs, PassphraseVerb, RotateArgs};
use crate::failure::{fail, failed};
use crate::output::print_json;
use crate::passphrase::{Purpose, from_file, prompt, resolve};
use crate::progress::Bars;

pub fn run(global: &GlobalArgs, verb: PassphraseVerb) -> anyhow::Result<ExitCode> {
    let scope = super::keychain_scope(global);
    if let PassphraseVerb::Rotate(args) = &verb {
        return rotate(global, &scope, args);
    }
    let keychain = Keychain::open().map_err(fail)?;
    let (ok, message) = match verb {
        PassphraseVerb::Set => {
            let passphrase = match &global.passphrase_file {
                Some(file) => from_file(file)?,
                None => prompt(Purpose::Encrypt)?,
            };
            if passphrase.is_legacy_default() {
                return Err(failed(
                    "default_passphrase_refused",
                    "refusing to store Server Monitor's well-known default passphrase; choose your own",
                ));
            }
            keychain
                .set(&scope, SecretKind::Passphrase, passphrase.expose())
                .map_err(fail)?;
            (
                true,
                format!("Passphrase stored in the keychain for {scope}."),
            )
        }
        PassphraseVerb::Test => {
            let Some(secret) = keychain.get(&scope, SecretKind::Passphrase).map_err(fail)? else {
                return Err(failed(
                    "no_passphrase_stored",
                    format!("no passphrase is stored for {scope}"),
                ));
            };
            let passphrase = backupdesk_core::crypto::Passphrase::new(secret.to_string());
            let newest =
                backupdesk_core::verify::test_passphrase(&super::data_dir(global), &passphrase)
                    .map_err(fail)?;
            (true, format!("The stored passphrase opens {newest}."))
        }
        PassphraseVerb::Forget => {
            let removed = keychain
                .forget(&scope, SecretKind::Passphrase)
                .map_err(fail)?;
            if removed {
                (
                    true,
                    format!("Passphrase for {scope} removed from the keychain."),
                )
            } else {
                (true, format!("No passphrase was stored for {scope}."))
            }
        }
        PassphraseVerb::Rotate(_) => unreachable!("handled above"),
    };
    if global.json {
        print_json(&serde_json::json!({ "ok": ok, "scope": scope, "message": message }));
    } else {
        println!("{message}");
    }
    Ok(ExitCode::SUCCESS)
}

fn rotate(global: &GlobalArgs, scope: &str, args: &RotateArgs) -> anyhow::Result<ExitCode> {
    let data = super::data_dir(global);
    let old = resolve(global, Purpose::Decrypt)?;
    let new = match &args.new_passphrase_file {
        Some(file) => from_file(file)?,
        None => {
            eprintln!("The new passphrase:");
            prompt(Purpose::Encrypt)?
        }
    };
    let report =
        rotation::rotate(&data, &old, &new, &SystemClock, &Bars::new(global.json)).map_err(fail)?;
    let keychain_note = if report.complete() {
        match Keychain::open().and_then(|k| k.set(scope, SecretKind::Passphrase, new.expose())) {
            Ok(()) => format!("the keychain now holds the new passphrase for {scope}"),
            Err(e) => format!("the keychain was not updated: {e}"),
        }
    } else {
        "the keychain was not updated, since some backups still need the old passphrase".to_owned()
    };
    if global.json {
        print_json(&serde_json::json!({
            "ok": report.complete(), "report": report, "keychain": keychain_note,
        }));
    } else {
        println!(
            "Re-encrypted {} backup(s); {} were already under the new passphrase; {} left alone.",
            report.rotated.len(),
            report.already_rotated.len(),
            report.skipped.len()
        );
        for skipped in &report.skipped {
            println!("  left alone: {}: {}", skipped.filename, skipped.message);
        }
        println!("Note: {keychain_note}.");
    }
    Ok(if report.complete() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
