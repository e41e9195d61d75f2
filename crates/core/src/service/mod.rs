//! The service layer: what both shells (the CLI and the desktop app) call,
//! so a rule is written once and both behave the same. A shell builds a
//! [`selection::Selection`] (a data folder or a profile), hands it to one
//! function here with a [`selection::PassphraseSource`] of its own and the
//! run's [`crate::OperationContext`] (clock, progress and cancellation,
//! secret store), and presents the typed result or the kinded
//! [`ServiceError`].

pub mod activity;
pub mod backups;
pub mod drills;
pub mod encryption;
pub mod error;
pub mod fleet;
pub mod inspect;
pub mod notify;
mod notify_metrics;
pub mod offsite;
pub mod profile_book;
pub mod profiles;
pub mod recovery;
pub mod restore;
pub mod retention;
pub mod schedules;
pub mod secrets;
pub mod selection;
pub mod session;
pub mod surgery;

#[cfg(test)]
mod tests;

pub use error::{PassphraseUnavailable, ServiceError};
pub use selection::{PassphraseSource, Selection, StoredPassphrase};
pub use session::{KeptIn, PassphraseHome, SessionPassphrases};
