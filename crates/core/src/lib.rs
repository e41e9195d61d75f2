//! Backup Desk core: everything Backup Desk knows about keeping a Server
//! Monitor database safe, with no user interface attached.
//!
//! The CLI (`crates/cli`) and the desktop app (`src-tauri`) are thin shells
//! over this crate: each builds one [`OperationContext`] per run or command
//! (the time, where progress goes and whether to stop, where secrets are
//! kept) and calls one function of [`service`] with it. Every module has
//! its own error enum whose variants carry a stable machine-readable
//! [`ErrorKind`] (through [`KindedError::kind`]).
//!
//! Each item has one path: the layer it belongs to (`format::crypto`,
//! `local::backup`, `targets::profile`, `service::fleet`); the old short
//! aliases (`backupdesk_core::backup`, `::target`, …) are gone.

// Foundation: used by every layer, using none. (Core only emits `tracing`
// events: the shells install the subscriber.)
pub mod clock;
pub mod context;
pub mod keychain;
pub mod model;
pub mod printable;
pub mod progress;
pub mod publish;
pub mod secret_file;
pub mod ssh_words;

// The layers, each using only those above it (a test keeps it so):
// format → local | remote | offsite → targets → service.
pub mod format;
pub mod local;
pub mod offsite;
pub mod remote;
pub mod service;
pub mod targets;

/// An error with a stable, machine-readable [`ErrorKind`], shared by the
/// CLI's `--json` output and the desktop app's IPC errors (`{kind,
/// message}`). The UI branches on the kind, never on the message text.
pub trait KindedError {
    /// The kind, such as [`ErrorKind::WrongPassphrase`].
    fn kind(&self) -> ErrorKind;
}

pub use context::OperationContext;
pub use model::ErrorKind;

/// The version of this crate, recorded in every `.meta` we write.
pub(crate) const TOOL_VERSION: &str = env!("CARGO_PKG_VERSION");
