//! Where the backup passphrase comes from, in order: `--passphrase-file`,
//! `$DB_BACKUP_PASSPHRASE`, the OS keychain (per profile or data
//! directory), then an interactive no-echo prompt. Never the command line.
//! Without a reachable keychain, say so once and ask; never fall back to a
//! plaintext file, and never report it as a wrong passphrase.

use std::io::IsTerminal;
use std::path::Path;

use anyhow::Context;
use backupdesk_core::crypto::Passphrase;
use backupdesk_core::keychain::{Keychain, SecretKind};

use crate::args::GlobalArgs;
use crate::failure::{failed, usage};

/// Whether the passphrase will protect a new backup (then the prompt asks twice).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    Encrypt,
    Decrypt,
}

/// Resolves the passphrase for the selected installation.
pub fn resolve(global: &GlobalArgs, purpose: Purpose) -> anyhow::Result<Passphrase> {
    if let Some(file) = &global.passphrase_file {
        return from_file(file);
    }
    if let Ok(text) = std::env::var("DB_BACKUP_PASSPHRASE")
        && !text.is_empty()
    {
        return Ok(Passphrase::new(text));
    }
    match Keychain::open()
        .and_then(|k| k.get(&crate::cmd::keychain_scope(global), SecretKind::Passphrase))
    {
        Ok(Some(secret)) => return Ok(Passphrase::new(secret.to_string())),
        Ok(None) => {}
        Err(e) => eprintln!("note: {e}; asking for the passphrase instead"),
    }
    prompt(purpose)
}

/// The first line of `file`.
pub fn from_file(file: &Path) -> anyhow::Result<Passphrase> {
    let text = std::fs::read_to_string(file)
        .with_context(|| format!("cannot read the passphrase file {}", file.display()))?;
    let first = text.lines().next().unwrap_or("").to_owned();
    if first.is_empty() {
        return Err(failed(
            "empty_passphrase",
            format!("the passphrase file {} is empty", file.display()),
        ));
    }
    Ok(Passphrase::new(first))
}

/// Asks on the terminal (twice for a new backup's passphrase).
pub fn prompt(purpose: Purpose) -> anyhow::Result<Passphrase> {
    if !std::io::stdin().is_terminal() {
        return Err(usage(
            "passphrase_required",
            "no passphrase: use --passphrase-file FILE, set DB_BACKUP_PASSPHRASE, or store one with `backupdesk passphrase set` (no terminal to ask on)",
        ));
    }
    let first = rpassword::prompt_password("Backup passphrase: ")?;
    if purpose == Purpose::Encrypt {
        let again = rpassword::prompt_password("Repeat the passphrase: ")?;
        if again != first {
            return Err(failed(
                "passphrase_mismatch",
                "the two passphrases differ; nothing was done",
            ));
        }
    }
    Ok(Passphrase::new(first))
}
