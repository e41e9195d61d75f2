//! `backupdesk passphrase set|test|forget`

use std::process::ExitCode;

use backupdesk_core::catalog::BackupCatalog;
use backupdesk_core::crypto::check_passphrase;
use backupdesk_core::keychain::{Keychain, SecretKind};

use crate::args::{GlobalArgs, PassphraseVerb};
use crate::failure::{fail, failed};
use crate::output::print_json;
use crate::passphrase::{Purpose, from_file, prompt};

pub fn run(global: &GlobalArgs, verb: PassphraseVerb) -> anyhow::Result<ExitCode> {
    let scope = super::keychain_scope(global);
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
            let catalog = BackupCatalog::scan(&super::data_dir(global)).map_err(fail)?;
            let Some(newest) = catalog
                .entries()
                .iter()
                .find(|e| e.name.kind().is_encrypted())
            else {
                return Err(failed(
                    "no_backups",
                    "there is no encrypted backup to test the passphrase on",
                ));
            };
            let file = std::fs::File::open(&newest.path)?;
            check_passphrase(std::io::BufReader::new(file), &passphrase).map_err(fail)?;
            (
                true,
                format!("The stored passphrase opens {}.", newest.name.file_name()),
            )
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
    };
    if global.json {
        print_json(&serde_json::json!({ "ok": ok, "scope": scope, "message": message }));
    } else {
        println!("{message}");
    }
    Ok(ExitCode::SUCCESS)
}
