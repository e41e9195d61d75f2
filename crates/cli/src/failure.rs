//! Carries a core error's stable kind through `anyhow` to `main`, which
//! prints it in `--json` output and picks the exit code.

use backupdesk_core::{ErrorKind, KindedError};

/// An error with its machine-readable kind.
#[derive(Debug)]
pub struct Failure {
    pub kind: ErrorKind,
    pub usage: bool,
    message: String,
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Failure {}

/// Wraps a core error, keeping its kind and its message (with causes).
pub fn fail<E: KindedError + std::error::Error>(e: E) -> anyhow::Error {
    let mut message = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        source = cause.source();
    }
    anyhow::Error::new(Failure {
        kind: e.kind(),
        usage: false,
        message,
    })
}

/// A usage error (exit code 2) with a kind.
pub fn usage(kind: ErrorKind, message: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(Failure {
        kind,
        usage: true,
        message: message.into(),
    })
}

/// An operation failure (exit code 1) with a kind.
pub fn failed(kind: ErrorKind, message: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(Failure {
        kind,
        usage: false,
        message: message.into(),
    })
}
