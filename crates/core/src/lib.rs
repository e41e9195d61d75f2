//! Backup Desk core: everything Backup Desk knows about keeping a Server
//! Monitor database safe, with no user interface attached.
//!
//! The CLI (`crates/cli`) and the desktop app (`src-tauri`) are thin shells
//! over this crate. Time comes in through [`clock::Clock`], progress goes out
//! through [`progress::Progress`], and every module has its own error enum
//! whose variants carry a stable machine-readable [`ErrorKind`] (through
//! [`KindedError::kind`]).

// Foundation: used by every layer, using none. (Core only emits `tracing`
// events: the shells install the subscriber.)
pub mod clock;
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

// The paths the shells use, curated: each module where it always was.
pub use format::{crypto, hashing, human, meta, name, parallel_deflate};
pub use local::{
    activity_log, backup, catalog, demo, drill, health, layout, ledger, lock, page_cache, restore,
    retention, rotation, schedule, snapshot, staging, verify,
};
pub use service::fleet;
/// The `Target` trait and both targets, at the path the shells use.
pub use targets as target;
pub use targets::profile;

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
