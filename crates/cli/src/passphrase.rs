//! Where the backup passphrase comes from: `--passphrase-file`, then
//! `$DB_BACKUP_PASSPHRASE`, then an interactive no-echo prompt. Never from
//! the command line itself.

use std::io::IsTerminal;
use std::path::Path;

use anyhow::Context;
use backupdesk_core::crypto::Passphrase;

use crate::failure::{failed, usage};

/// Whether the passphrase will protect a new backup (then the prompt asks twice).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    Encrypt,
    Decrypt,
}

/// Resolves the passphrase.
pub fn resolve(file: Option<&Path>, purpose: Purpose) -> anyhow::Result<Passphrase> {
    if let Some(file) = file {
        let text = std::fs::read_to_string(file)
            .with_context(|| format!("cannot read the passphrase file {}", file.display()))?;
        let first = text.lines().next().unwrap_or("").to_owned();
        if first.is_empty() {
            return Err(failed(
                "empty_passphrase",
                format!("the passphrase file {} is empty", file.display()),
            ));
        }
        return Ok(Passphrase::new(first));
    }
    if let Ok(text) = std::env::var("DB_BACKUP_PASSPHRASE")
        && !text.is_empty()
    {
        return Ok(Passphrase::new(text));
    }
    if !std::io::stdin().is_terminal() {
        return Err(usage(
            "passphrase_required",
            "no passphrase: use --passphrase-file FILE or set DB_BACKUP_PASSPHRASE (no terminal to ask on)",
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
