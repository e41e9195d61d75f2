//! Why a call to Server Monitor's API failed, each with its kind.

use crate::KindedError;
use crate::format::name::NameError;

/// Why a remote operation failed.
#[derive(Debug, thiserror::Error)]
pub enum RemoteError {
    /// The profile is a local installation: there is no server to log in to.
    #[error("profile {0} is local: there is nothing to log in to")]
    NotRemote(String),
    /// The server could not be reached.
    #[error("cannot reach {url}: {reason}")]
    Unreachable { url: String, reason: String },
    /// The server did not answer in time.
    #[error("{url} did not answer within {seconds} s")]
    Timeout { url: String, seconds: u64 },
    /// The login was refused.
    #[error("login refused: {0}")]
    LoginFailed(String),
    /// No valid token (and no stored password to log in again once).
    #[error(
        "the server wants a new login (token missing or expired): run `backupdesk login PROFILE`"
    )]
    AuthenticationRequired,
    /// The account is valid but not an admin.
    #[error("this account is not an admin; the database API needs an admin account")]
    NotAdmin,
    /// The server's login rate limit blocked this client.
    #[error("the server blocked this address after too many logins; try again in {retry_after_seconds} s (about {} min)", retry_after_seconds.div_ceil(60))]
    RateLimited { retry_after_seconds: u64 },
    /// A backup name that is not a plain backup file name.
    #[error(transparent)]
    Name(#[from] NameError),
    /// No backup of that name on the server.
    #[error("no backup named '{0}' on the server")]
    BackupNotFound(String),
    /// The server reported a failure.
    #[error("the server answered {status}: {message}")]
    Server { status: u16, message: String },
    /// The server's answer does not have the contract's shape.
    #[error("unexpected answer from the server: {0}")]
    BadResponse(String),
    /// The server answered with a redirect, which is never followed.
    #[error(
        "the server answered {status} with a redirect to {location}: Backup Desk follows no redirect (it could carry the password or token elsewhere); if that is the server's real address, put it in the profile"
    )]
    Redirected { status: u16, location: String },
    /// The profile's URL is not a usable base URL.
    #[error("'{url}' is not a usable server URL: {reason}")]
    InvalidUrl { url: String, reason: String },
    /// The CA certificate file cannot be used.
    #[error("CA certificate {path}: {reason}")]
    BadCaCertificate { path: String, reason: String },
    /// The fresh safety backup before a restore could not be confirmed.
    #[error(
        "the safety backup before the restore could not be confirmed ({0}); nothing was restored"
    )]
    SafetyBackupFailed(String),
}

impl KindedError for RemoteError {
    fn kind(&self) -> crate::ErrorKind {
        match self {
            RemoteError::NotRemote(_) => crate::ErrorKind::NotRemote,
            RemoteError::Unreachable { .. } => crate::ErrorKind::Unreachable,
            RemoteError::Timeout { .. } => crate::ErrorKind::Timeout,
            RemoteError::LoginFailed(_) => crate::ErrorKind::LoginFailed,
            RemoteError::AuthenticationRequired => crate::ErrorKind::AuthenticationRequired,
            RemoteError::NotAdmin => crate::ErrorKind::NotAdmin,
            RemoteError::RateLimited { .. } => crate::ErrorKind::RateLimited,
            RemoteError::Name(e) => e.kind(),
            RemoteError::BackupNotFound(_) => crate::ErrorKind::BackupNotFound,
            RemoteError::Server { .. } => crate::ErrorKind::ServerError,
            RemoteError::BadResponse(_) => crate::ErrorKind::BadResponse,
            RemoteError::BadCaCertificate { .. } => crate::ErrorKind::BadCaCertificate,
            RemoteError::Redirected { .. } => crate::ErrorKind::Redirected,
            RemoteError::InvalidUrl { .. } => crate::ErrorKind::InvalidUrl,
            RemoteError::SafetyBackupFailed(_) => crate::ErrorKind::SafetyBackupFailed,
        }
    }
}
