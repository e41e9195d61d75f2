//! Where the backup passphrase comes from, in order: `--passphrase-file`,
//! `$DB_BACKUP_PASSPHRASE`, the OS keychain (per profile or data
//! directory), then an interactive no-echo prompt. Never the command line.
//! Without a reachable keychain, say so once and ask; never fall back to a
//! plaintext file, and never report it as a wrong passphrase.

use std::cell::RefCell;
use std::io::IsTerminal;
use std::path::Path;

use backupdesk_core::context::SecretStore;
use backupdesk_core::format::crypto::Passphrase;
use backupdesk_core::model::PassphraseUse;
use backupdesk_core::service::secrets;
use backupdesk_core::service::{PassphraseSource, PassphraseUnavailable, ServiceError};

use crate::args::GlobalArgs;
use crate::failure::{failed, usage};

/// Resolves the passphrase for the selected installation.
pub fn resolve(
    global: &GlobalArgs,
    purpose: PassphraseUse,
    secrets: &dyn SecretStore,
) -> anyhow::Result<Passphrase> {
    match without_asking(global, secrets)? {
        Some(passphrase) => Ok(passphrase),
        None => prompt(purpose),
    }
}

/// The passphrase from every source but the prompt: stdin's frames,
/// `--passphrase-file`, `$DB_BACKUP_PASSPHRASE`, the keychain. `None` when
/// none has one (a keychain that cannot be reached is said on stderr).
///
/// # Errors
/// A passphrase file that gives no passphrase.
pub fn without_asking(
    global: &GlobalArgs,
    secrets: &dyn SecretStore,
) -> anyhow::Result<Option<Passphrase>> {
    if let Some(given) = global.stdin_secrets.passphrase() {
        return Ok(Some(given.clone()));
    }
    if let Some(file) = &global.passphrase_file {
        return from_file(file).map(Some);
    }
    if let Ok(text) = std::env::var("DB_BACKUP_PASSPHRASE")
        && !text.is_empty()
    {
        return Ok(Some(Passphrase::new(text)));
    }
    let scope = crate::cmd::keychain_scope(global);
    match secrets::stored_passphrase(secrets, &scope) {
        Ok(found) => Ok(found),
        Err(e) => {
            eprintln!("note: {e}; asking for the passphrase instead");
            Ok(None)
        }
    }
}

/// The first line of `file` (a regular file, a pipe or process
/// substitution alike), read within bounds by core's
/// [`backupdesk_core::secret_file`].
pub fn from_file(file: &Path) -> anyhow::Result<Passphrase> {
    first_line_of(file, "the passphrase file").map(Passphrase::new)
}

/// The first line of `file`, a secret (`what` names the file in errors).
pub(crate) fn first_line_of(file: &Path, what: &str) -> anyhow::Result<String> {
    backupdesk_core::secret_file::first_line_of(file, what).map_err(|e| failed(e.kind, e.message))
}

/// The secrets framed on stdin (`--secrets-on-stdin`: what a laptop
/// sends this engine over SSH), read whole within core's `secret_file::PIPE_WAIT`: each a
/// frame of any bytes, a line break inside a passphrase kept inside it.
pub fn framed_from_stdin() -> anyhow::Result<crate::args::StdinSecrets> {
    use backupdesk_core::format::secret_frame;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(secret_frame::decode(&mut std::io::stdin().lock()));
    });
    let frames = match rx.recv_timeout(backupdesk_core::secret_file::pipe_wait()) {
        Ok(Ok(frames)) => frames,
        Ok(Err(e)) => {
            return Err(failed(
                backupdesk_core::ErrorKind::PassphraseFileUnreadable,
                e.to_string(),
            ));
        }
        Err(_) => {
            return Err(failed(
                backupdesk_core::ErrorKind::PassphraseFileUnreadable,
                format!(
                    "the secrets on stdin did not end within {} s",
                    backupdesk_core::secret_file::pipe_wait().as_secs()
                ),
            ));
        }
    };
    let mut secrets = Vec::new();
    for frame in frames {
        let Ok(text) = String::from_utf8(frame.to_vec()) else {
            return Err(failed(
                backupdesk_core::ErrorKind::PassphraseFileNotText,
                "a secret on stdin is not UTF-8 text",
            ));
        };
        secrets.push(Passphrase::new(text));
    }
    Ok(crate::args::StdinSecrets(secrets))
}

/// Takes the session keys off the front of the framed secrets
/// (`--session-key-on-stdin`: a line `NAME ALGO:HEX` per backup read).
/// What follows, if anything, is the passphrase; with none, an empty one
/// stands in (it opens nothing: the session keys are the way in, and no
/// passphrase is asked for).
pub fn session_keys_from_stdin(
    secrets: &mut crate::args::StdinSecrets,
) -> anyhow::Result<backupdesk_core::format::crypto::SessionKeys> {
    if secrets.0.is_empty() {
        return Err(failed(
            backupdesk_core::ErrorKind::PassphraseFileUnreadable,
            "no session key on stdin",
        ));
    }
    let framed = secrets.0.remove(0);
    let keys =
        backupdesk_core::format::crypto::SessionKeys::parse(framed.expose()).map_err(|e| {
            failed(
                backupdesk_core::ErrorKind::PassphraseFileUnreadable,
                e.to_string(),
            )
        })?;
    if secrets.0.is_empty() {
        secrets.0.push(Passphrase::new(String::new()));
    }
    Ok(keys)
}

/// Asks on the terminal (twice for a new backup's passphrase).
pub fn prompt(purpose: PassphraseUse) -> anyhow::Result<Passphrase> {
    if !std::io::stdin().is_terminal() {
        return Err(usage(
            backupdesk_core::ErrorKind::PassphraseRequired,
            "no passphrase: use --passphrase-file FILE, set DB_BACKUP_PASSPHRASE, or store one with `backupdesk passphrase set` (no terminal to ask on)",
        ));
    }
    let first = rpassword::prompt_password("Backup passphrase: ")?;
    if purpose == PassphraseUse::NewBackup {
        let again = rpassword::prompt_password("Repeat the passphrase: ")?;
        if again != first {
            return Err(failed(
                backupdesk_core::ErrorKind::PassphraseMismatch,
                "the two passphrases differ; nothing was done",
            ));
        }
    }
    Ok(Passphrase::new(first))
}

/// The CLI's [`PassphraseSource`]: the order above, asked at most once per
/// command (a restore's plan and the restore share it). What kept it from
/// giving one is kept whole, so the verb reports exactly that error (and
/// exit code) through [`CliPassphrase::explain`].
pub struct CliPassphrase<'a> {
    global: &'a GlobalArgs,
    secrets: &'a dyn SecretStore,
    given: RefCell<Option<Passphrase>>,
    refused: RefCell<Option<anyhow::Error>>,
}

impl<'a> CliPassphrase<'a> {
    /// The source for the installation the global flags select.
    pub fn new(global: &'a GlobalArgs, ctx: &backupdesk_core::OperationContext<'a>) -> Self {
        CliPassphrase {
            global,
            secrets: ctx.secrets(),
            given: RefCell::new(None),
            refused: RefCell::new(None),
        }
    }

    /// A service error as the CLI reports it: the source's own error when
    /// it was the passphrase that was missing.
    pub fn explain(&self, error: ServiceError) -> anyhow::Error {
        match (&error, self.refused.borrow_mut().take()) {
            (ServiceError::Passphrase(_), Some(original)) => original,
            _ => crate::failure::fail(error),
        }
    }
}

impl PassphraseSource for CliPassphrase<'_> {
    fn passphrase(&self, usage: PassphraseUse) -> Result<Passphrase, ServiceError> {
        if let Some(given) = self.given.borrow().as_ref() {
            return Ok(given.clone());
        }
        match resolve(self.global, usage, self.secrets) {
            Ok(passphrase) => {
                *self.given.borrow_mut() = Some(passphrase.clone());
                Ok(passphrase)
            }
            Err(error) => {
                let kind = error
                    .downcast_ref::<crate::failure::Failure>()
                    .map(|f| f.kind)
                    .unwrap_or(backupdesk_core::ErrorKind::PassphraseRequired);
                let message = format!("{error:#}");
                *self.refused.borrow_mut() = Some(error);
                Err(PassphraseUnavailable { kind, message }.into())
            }
        }
    }
}
