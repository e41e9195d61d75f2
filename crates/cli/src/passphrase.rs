//! Where the backup passphrase comes from, in order: `--passphrase-file`,
//! `$DB_BACKUP_PASSPHRASE`, the OS keychain (per profile or data
//! directory), then an interactive no-echo prompt. Never the command line.
//! Without a reachable keychain, say so once and ask; never fall back to a
//! plaintext file, and never report it as a wrong passphrase.

use std::cell::RefCell;
use std::io::IsTerminal;
use std::path::Path;

use backupdesk_core::crypto::Passphrase;
use backupdesk_core::keychain::Keychain;
use backupdesk_core::service::secrets;
use backupdesk_core::service::{
    PassphraseSource, PassphraseUnavailable, PassphraseUse, ServiceError,
};

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
    if let Some(given) = global.stdin_secrets.passphrase() {
        return Ok(given.clone());
    }
    if let Some(file) = &global.passphrase_file {
        return from_file(file);
    }
    if let Ok(text) = std::env::var("DB_BACKUP_PASSPHRASE")
        && !text.is_empty()
    {
        return Ok(Passphrase::new(text));
    }
    let scope = crate::cmd::keychain_scope(global);
    match Keychain::open().and_then(|k| secrets::stored_passphrase(&k, &scope)) {
        Ok(Some(passphrase)) => return Ok(passphrase),
        Ok(None) => {}
        Err(e) => eprintln!("note: {e}; asking for the passphrase instead"),
    }
    prompt(purpose)
}

/// The longest first line a passphrase file may have.
const PASSPHRASE_FILE_LIMIT: u64 = 4096;

/// The first line of `file` (a regular file, a pipe or process
/// substitution alike), reading at most 4 KiB: a file with no line end in
/// that much (say `/dev/zero`) is refused, never read without bound.
pub fn from_file(file: &Path) -> anyhow::Result<Passphrase> {
    first_line_of(file, "the passphrase file").map(Passphrase::new)
}

/// The first line of `file`, a secret (`what` names the file in errors):
/// read within bounds ([`read_secret_file`]), UTF-8 text without NUL, not
/// empty.
pub(crate) fn first_line_of(file: &Path, what: &str) -> anyhow::Result<String> {
    let bytes = read_secret_file(file, what)?;
    let line_end = bytes.iter().position(|b| *b == b'\n');
    if line_end.is_none() && bytes.len() as u64 > PASSPHRASE_FILE_LIMIT {
        return Err(failed(
            backupdesk_core::ErrorKind::PassphraseFileTooLong,
            format!(
                "{what} {} has no line end in its first {PASSPHRASE_FILE_LIMIT} bytes: it holds no secret line",
                file.display()
            ),
        ));
    }
    let first = &bytes[..line_end.unwrap_or(bytes.len())];
    let first = first.strip_suffix(b"\r").unwrap_or(first);
    let Ok(first) = String::from_utf8(first.to_vec()) else {
        return Err(failed(
            backupdesk_core::ErrorKind::PassphraseFileNotText,
            format!("{what} {} is not UTF-8 text", file.display()),
        ));
    };
    if first.contains('\0') {
        return Err(failed(
            backupdesk_core::ErrorKind::PassphraseFileNotText,
            format!("{what} {} holds NUL bytes", file.display()),
        ));
    }
    if first.is_empty() {
        return Err(failed(
            backupdesk_core::ErrorKind::EmptyPassphrase,
            format!("{what} {} is empty", file.display()),
        ));
    }
    Ok(first)
}

/// The secrets framed on stdin (`--secrets-on-stdin`: what a laptop
/// sends this engine over SSH), read whole within [`PIPE_WAIT`]: each a
/// frame of any bytes, a line break inside a passphrase kept inside it.
pub fn framed_from_stdin() -> anyhow::Result<crate::args::StdinSecrets> {
    use backupdesk_core::format::secret_frame;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(secret_frame::decode(&mut std::io::stdin().lock()));
    });
    let frames = match rx.recv_timeout(PIPE_WAIT) {
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
                    PIPE_WAIT.as_secs()
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

/// How long a passphrase pipe (a FIFO, process substitution) may take to
/// give its line.
const PIPE_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// At most [`PASSPHRASE_FILE_LIMIT`] + 1 bytes of `file`, a file holding
/// a secret (`what` names it in the error), read on a thread of its own: a
/// FIFO nobody writes to is given up on after [`PIPE_WAIT`] instead of
/// hanging the operation (and its lock) for ever.
pub(crate) fn read_secret_file(file: &Path, what: &str) -> anyhow::Result<Vec<u8>> {
    use std::io::Read;
    let unreadable = |why: String| {
        failed(
            backupdesk_core::ErrorKind::PassphraseFileUnreadable,
            format!("cannot read {what} {}: {why}", file.display()),
        )
    };
    // This process's stdin gives one line per read: its buffer is shared,
    // so a second passphrase read the same way gets the next line (the
    // SSH relay sends a rotation's old and new passphrase so).
    let stdin = file == Path::new("/dev/stdin");
    match std::fs::metadata(file) {
        _ if stdin => {}
        Ok(m) if m.is_dir() => return Err(unreadable("it is a folder".to_owned())),
        Ok(_) => {}
        Err(e) => return Err(unreadable(e.to_string())),
    }
    let (tx, rx) = std::sync::mpsc::channel();
    let path = file.to_owned();
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let read = if stdin {
            use std::io::BufRead;
            std::io::stdin()
                .lock()
                .take(PASSPHRASE_FILE_LIMIT + 1)
                .read_until(b'\n', &mut bytes)
                .map(|_| bytes)
        } else {
            std::fs::File::open(&path)
                .and_then(|f| f.take(PASSPHRASE_FILE_LIMIT + 1).read_to_end(&mut bytes))
                .map(|_| bytes)
        };
        let _ = tx.send(read);
    });
    match rx.recv_timeout(PIPE_WAIT) {
        Ok(Ok(bytes)) => Ok(bytes),
        Ok(Err(e)) => Err(unreadable(e.to_string())),
        Err(_) => Err(unreadable(format!(
            "nothing was written to it within {} s",
            PIPE_WAIT.as_secs()
        ))),
    }
}

/// Asks on the terminal (twice for a new backup's passphrase).
pub fn prompt(purpose: Purpose) -> anyhow::Result<Passphrase> {
    if !std::io::stdin().is_terminal() {
        return Err(usage(
            backupdesk_core::ErrorKind::PassphraseRequired,
            "no passphrase: use --passphrase-file FILE, set DB_BACKUP_PASSPHRASE, or store one with `backupdesk passphrase set` (no terminal to ask on)",
        ));
    }
    let first = rpassword::prompt_password("Backup passphrase: ")?;
    if purpose == Purpose::Encrypt {
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
    given: RefCell<Option<Passphrase>>,
    refused: RefCell<Option<anyhow::Error>>,
}

impl<'a> CliPassphrase<'a> {
    /// The source for the installation the global flags select.
    pub fn new(global: &'a GlobalArgs) -> Self {
        CliPassphrase {
            global,
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
        let purpose = match usage {
            PassphraseUse::NewBackup => Purpose::Encrypt,
            PassphraseUse::Reading => Purpose::Decrypt,
        };
        match resolve(self.global, purpose) {
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
