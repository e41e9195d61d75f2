//! Off-site copies: backups copied, byte for byte, to storage that
//! survives the server (S3-compatible buckets), each copy counted only once
//! the store confirmed its SHA-256. [`location`] names the places,
//! [`s3`] talks to a bucket.

pub mod askpass;
pub mod credentials;
pub mod kind;
pub mod ledger;
pub mod location;
pub mod s3;
pub mod sftp;
pub mod store;
pub mod throttle;
mod upload;

use crate::ErrorKind;

/// The keys of an off-site location (from the keychain, or the
/// environment when adding one).
#[derive(Clone)]
pub struct OffsiteKeys {
    pub key_id: String,
    pub secret: String,
}

impl std::fmt::Debug for OffsiteKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "OffsiteKeys({}, <secret>)", self.key_id)
    }
}

/// Why an off-site operation failed; nothing local is changed by any.
#[derive(Debug, thiserror::Error)]
pub enum OffsiteError {
    #[error("{0} is no S3 location: {1} (write s3://BUCKET/PREFIX)")]
    BadUrl(String, String),
    #[error("{0} is no SFTP location: {1} (write USER@HOST:/PATH)")]
    BadSftp(String, String),
    #[error("{0}")]
    BadRate(String),
    #[error("{0:?} is no location name: use letters, digits, '-', '_' and '.'")]
    BadName(String),
    #[error("an off-site location called {0} exists already")]
    Exists(String),
    #[error("no off-site location called {0} (see backupdesk offsite list)")]
    NotFound(String),
    #[error("the off-site book {0} cannot be used: {1}")]
    Book(String, String),
    #[error(
        "no key for the off-site location {0}: none in this machine's keychain, in \
         AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or in the AWS credentials file (profile \
         [backupdesk-{0}] or [default] of ~/.aws/credentials, mode 600: what a scheduled job \
         on a server without a keychain reads)"
    )]
    NoKeys(String),
    /// The AWS credentials file cannot be used.
    #[error("{0}")]
    CredentialsFile(#[from] credentials::CredentialsError),
    #[error(
        "the store refused the key ({code}) to {what} in {bucket}: check the access key, its secret and the bucket's policy"
    )]
    Denied {
        bucket: String,
        what: String,
        code: String,
    },
    #[error("the off-site store cannot be reached: {0}")]
    Unreachable(String),
    #[error("{0}")]
    Failed(String),
    #[error(
        "the store did not confirm the SHA-256 of {name} (computed here {expected}, the store has {stored}): the copy does not count"
    )]
    ChecksumNotConfirmed {
        name: String,
        expected: String,
        stored: String,
    },
    #[error("{0}: {1}")]
    Local(String, String),
    #[error(
        "the host key of {host} is not the one pinned when the location was added{fingerprint}: \
         this may be an attack, or the host was reinstalled; nothing was sent. Find out which, then \
         remove the location and add it again"
    )]
    HostKeyChanged { host: String, fingerprint: String },
    #[error("the host key of {host} is not known: add the location again to pin it")]
    HostKeyUnknown { host: String },
    #[error("{host} refused the login ({detail}): check the user, the key and its authorized_keys")]
    LoginRefused { host: String, detail: String },
    #[error("the folder {folder} on {host} is full: {detail}")]
    Full {
        host: String,
        folder: String,
        detail: String,
    },
    #[error("{host} does not let this login write into {folder}: {detail}")]
    ReadOnly {
        host: String,
        folder: String,
        detail: String,
    },
    #[error(transparent)]
    Keychain(#[from] crate::keychain::KeychainError),
    #[error(
        "the store sent more than the {listed} bytes it lists for {name}: the download was \
         stopped and nothing of it kept"
    )]
    Overlong { name: String, listed: u64 },
    #[error(
        "{name} did not arrive within {secs} s (the time allowed for its size): the download was \
         stopped and nothing of it kept"
    )]
    TooSlow { name: String, secs: u64 },
    #[error("the store's listing {0}: it was given up, nothing was taken from it")]
    EndlessListing(String),
    #[error(
        "a backup named {name} is already here and differs from the copy at {location} ({here} \
         bytes here, {there} there): it was left as it is; move it aside to fetch the copy"
    )]
    LocalDiffers {
        name: String,
        location: String,
        here: u64,
        there: u64,
    },
    #[error(
        "the copy of {name} at {location} is not what was {against} (SHA-256 {found}, expected \
         {expected}): nothing here was replaced"
    )]
    NotAsPushed {
        name: String,
        location: String,
        against: String,
        expected: String,
        found: String,
    },
}

impl crate::KindedError for OffsiteError {
    fn kind(&self) -> ErrorKind {
        match self {
            OffsiteError::BadUrl(..) | OffsiteError::BadSftp(..) => ErrorKind::InvalidUrl,
            OffsiteError::HostKeyChanged { .. } => ErrorKind::HostKeyChanged,
            OffsiteError::HostKeyUnknown { .. } => ErrorKind::HostKeyUnknown,
            OffsiteError::LoginRefused { .. } => ErrorKind::OffsiteDenied,
            OffsiteError::Full { .. } => ErrorKind::OffsiteFull,
            OffsiteError::ReadOnly { .. } => ErrorKind::OffsiteReadOnly,
            OffsiteError::BadName(_) => ErrorKind::InvalidName,
            OffsiteError::BadRate(_) => ErrorKind::InvalidRate,
            OffsiteError::Exists(_) => ErrorKind::OffsiteExists,
            OffsiteError::NotFound(_) => ErrorKind::OffsiteNotFound,
            OffsiteError::Book(..) => ErrorKind::MalformedConfig,
            OffsiteError::NoKeys(_) | OffsiteError::CredentialsFile(_) => {
                ErrorKind::OffsiteCredentialsMissing
            }
            OffsiteError::Denied { .. } => ErrorKind::OffsiteDenied,
            OffsiteError::Unreachable(_) => ErrorKind::Unreachable,
            OffsiteError::Failed(_) => ErrorKind::OffsiteFailed,
            OffsiteError::ChecksumNotConfirmed { .. } => ErrorKind::ChecksumMismatch,
            OffsiteError::Local(..) => ErrorKind::Io,
            OffsiteError::Keychain(e) => e.kind(),
            OffsiteError::Overlong { .. } | OffsiteError::EndlessListing(_) => {
                ErrorKind::BadResponse
            }
            OffsiteError::TooSlow { .. } => ErrorKind::Timeout,
            OffsiteError::LocalDiffers { .. } => ErrorKind::BackupExists,
            OffsiteError::NotAsPushed { .. } => ErrorKind::ChecksumMismatch,
        }
    }
}
