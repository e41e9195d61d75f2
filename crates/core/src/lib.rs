//! Backup Desk core: everything Backup Desk knows about keeping a Server
//! Monitor database safe, with no user interface attached.
//!
//! The CLI (`crates/cli`) and the desktop app (`src-tauri`) are thin shells
//! over this crate. Time comes in through [`clock::Clock`], progress goes out
//! through [`progress::Progress`], and every module has its own error enum
//! whose variants carry a stable machine-readable [`ErrorKind`] (through
//! [`KindedError::kind`]).

pub mod activity_log;
pub mod backup;
pub mod catalog;
pub mod clock;
pub mod crypto;
pub mod demo;
pub mod fleet;
pub mod hashing;
pub mod health;
pub mod human;
pub mod keychain;
pub mod layout;
pub mod ledger;
pub mod lock;
pub mod logging;
pub mod meta;
pub mod model;
pub mod name;
pub mod page_cache;
pub mod parallel_deflate;
pub mod profile;
pub mod progress;
pub mod publish;
pub mod remote;
pub mod restore;
pub mod retention;
pub mod rotation;
pub mod schedule;
pub mod service;
pub mod snapshot;
pub mod staging;
pub mod target;
pub mod verify;

/// An error with a stable, machine-readable [`ErrorKind`], shared by the
/// CLI's `--json` output and the desktop app's IPC errors (`{kind,
/// message}`). The UI branches on the kind, never on the message text.
pub trait KindedError {
    /// The kind, such as [`ErrorKind::WrongPassphrase`].
    fn kind(&self) -> ErrorKind;
}

pub use model::ErrorKind;

/// The version of this crate, recorded in every `.meta` we write.
pub const TOOL_VERSION: &str = env!("CARGO_PKG_VERSION");
