//! The types the shells and the UI see (exported to TypeScript with the
//! `ts` feature): the shared vocabulary of every layer, depending on no
//! other module of core. Listings and health are here because both a
//! local installation and a server answer in them.

mod activity;
mod error_kind;
mod health;
mod listing;
mod verb;

pub use activity::{ActivityEntry, ActivityPage, ActivityQuery, LogLevel, LogName};
pub use error_kind::ErrorKind;
pub use health::{
    BackupStorage, DirectoryStorage, Health, HealthFailure, HealthReport, SizedItem, Storage,
    StorageFailure, StorageReport, TableRows,
};
pub use listing::{
    BackupKind, BackupState, DrillRecord, ListItem, VerificationStatus, VerifiedState, VerifyDepth,
};
pub use verb::{Effect, PassphraseUse, VerbKind, VerbTraits};

/// An error as the shells show it: `{kind, message}` (the CLI's `--json`,
/// the app's IPC errors, a failed item inside a report).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct KindedMessage {
    pub kind: ErrorKind,
    pub message: String,
}

impl KindedMessage {
    /// The kind and the message of `error`.
    pub fn of<E: crate::KindedError + std::fmt::Display + ?Sized>(error: &E) -> Self {
        KindedMessage {
            kind: error.kind(),
            message: error.to_string(),
        }
    }
}
