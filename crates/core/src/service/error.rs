//! The one error of the service layer: every lower error passes through
//! with its own kind; the service's own refusals have theirs.

use crate::keychain::KeychainError;
use crate::local::catalog::CatalogError;
use crate::local::retention::PruneError;
use crate::local::rotation::RotationError;
use crate::local::verify::VerifyError;
use crate::service::secrets::{PassphraseRefused, StoreError};
use crate::targets::TargetError;
use crate::targets::profile::ProfileError;
use crate::{ErrorKind, KindedError};

/// Why a service operation did not run (or did not finish).
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error(transparent)]
    Profile(#[from] ProfileError),
    #[error(transparent)]
    Keychain(#[from] KeychainError),
    #[error(transparent)]
    Target(#[from] TargetError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Refused(#[from] PassphraseRefused),
    #[error(transparent)]
    Rotation(#[from] RotationError),
    #[error(transparent)]
    Prune(#[from] PruneError),
    #[error(transparent)]
    Catalog(#[from] CatalogError),
    #[error(transparent)]
    Verify(#[from] VerifyError),
    #[error(transparent)]
    Demo(#[from] crate::local::demo::DemoError),
    #[error(transparent)]
    Offsite(#[from] crate::offsite::OffsiteError),
    #[error(transparent)]
    Drill(#[from] crate::local::drill::DrillError),
    #[error(transparent)]
    Surgery(#[from] crate::local::surgery::SurgeryError),
    #[error(transparent)]
    Policy(#[from] crate::local::encryption_policy::PolicyError),
    #[error(transparent)]
    Key(#[from] crate::format::crypto::KeyError),
    #[error(transparent)]
    Notify(#[from] crate::local::notify::NotifyBookError),
    /// A server's API cannot read what is inside a backup.
    #[error(
        "{name} is the server {base_url} reached through its API, which offers no way to read what is inside a backup: add an SSH profile for it to look inside, compare or restore rows"
    )]
    RemoteNoContent { name: String, base_url: String },
    /// The shell could not give the passphrase the operation needs.
    #[error(transparent)]
    Passphrase(#[from] PassphraseUnavailable),
    /// The operation works on local installations only.
    #[error("{name} is the remote server {base_url}: this works on local installations only")]
    RemoteUnsupported { name: String, base_url: String },
    /// The data folder does not exist: a mistyped `--data-dir` must not
    /// pass for an installation without backups.
    #[error(
        "{0} does not exist: it is no Server Monitor installation (check --data-dir or --profile)"
    )]
    NotAnInstallation(String),
    /// No passphrase is stored for the profile.
    #[error(
        "no backup passphrase is stored for {0}: store one (`backupdesk passphrase set`, or the app's Settings)"
    )]
    NoPassphraseStored(String),
    /// The typed confirmation is not the profile's name.
    #[error("type the profile name ({0}) to confirm")]
    ConfirmationMismatch(String),
    /// A passphrase to store opens none of the installation's backups (a
    /// typo, or a new set meant on purpose): not stored without saying so.
    #[error(
        "this passphrase does not open {newest}, the newest backup of {profile}: it was not \
         stored (a typo?). Backups made with it would form a second set the stored passphrase \
         cannot open; store it anyway only to start a new set on purpose"
    )]
    OpensNoBackup { profile: String, newest: String },
    /// A backup's passphrase opens none of the set (a typo, another
    /// machine's): no backup was made under it.
    #[error(
        "the passphrase does not open {newest}, the newest backup of {folder}: no backup was made \
         (a typo?). Backups made with it would form a second set the set's passphrase cannot \
         open; give --new-set only to start one on purpose"
    )]
    SecondSet { folder: String, newest: String },
    /// The profile is not reached over SSH.
    #[error("profile {0} is not reached over SSH: there is no server to put the engine on")]
    NotAnSshProfile(String),
    /// A file could not be written.
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
}

impl KindedError for ServiceError {
    fn kind(&self) -> ErrorKind {
        match self {
            ServiceError::Profile(e) => e.kind(),
            ServiceError::Keychain(e) => e.kind(),
            ServiceError::Target(e) => e.kind(),
            ServiceError::Store(e) => e.kind(),
            ServiceError::Refused(e) => e.kind(),
            ServiceError::Rotation(e) => e.kind(),
            ServiceError::Prune(e) => e.kind(),
            ServiceError::Catalog(e) => e.kind(),
            ServiceError::Verify(e) => e.kind(),
            ServiceError::Demo(e) => e.kind(),
            ServiceError::Drill(e) => e.kind(),
            ServiceError::Surgery(e) => e.kind(),
            ServiceError::Policy(e) => e.kind(),
            ServiceError::Key(e) => e.kind(),
            ServiceError::Notify(e) => e.kind(),
            ServiceError::RemoteNoContent { .. } => ErrorKind::RemoteNoContent,
            ServiceError::Offsite(e) => e.kind(),
            ServiceError::Passphrase(e) => e.kind,
            ServiceError::RemoteUnsupported { .. } => ErrorKind::RemoteUnsupported,
            ServiceError::NotAnInstallation(_) => ErrorKind::NotAnInstallation,
            ServiceError::NoPassphraseStored(_) => ErrorKind::NoPassphraseStored,
            ServiceError::ConfirmationMismatch(_) => ErrorKind::ConfirmationMismatch,
            ServiceError::OpensNoBackup { .. } | ServiceError::SecondSet { .. } => {
                ErrorKind::WrongPassphrase
            }
            ServiceError::NotAnSshProfile(_) => ErrorKind::RemoteUnsupported,
            ServiceError::Io { .. } => ErrorKind::Io,
        }
    }
}

/// A passphrase a shell could not give (no file, no keychain entry, no
/// terminal to ask on), with the kind the shell chose.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct PassphraseUnavailable {
    pub kind: ErrorKind,
    pub message: String,
}
