//! The one error type commands return: `{kind, message}`. The UI branches
//! on `kind` (core's one [`ErrorKind`] set), never on text.

use backupdesk_core::OperationContext;
use backupdesk_core::clock::SystemClock;
use backupdesk_core::context::{SharedSecrets, SystemKeychain};
use backupdesk_core::progress::NoProgress;
use backupdesk_core::{ErrorKind, KindedError};
use serde::Serialize;

/// An error as the UI receives it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
pub struct IpcError {
    /// Stable, `snake_case` on the wire (`wrong_passphrase`, `backup_not_found`...).
    pub kind: ErrorKind,
    /// For humans: what happened.
    pub message: String,
}

impl IpcError {
    /// An error of the shell itself (bad arguments, refused confirmations).
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        IpcError {
            kind,
            message: message.into(),
        }
    }

    /// Any core error, with its kind.
    pub fn from_core<E: KindedError + std::fmt::Display>(e: E) -> Self {
        IpcError {
            kind: e.kind(),
            message: e.to_string(),
        }
    }
}

/// Every core error converts with its kind, so `?` works in a command
/// on whatever core returns: no list of error types to keep up to date.
/// (`IpcError` itself is neither `KindedError` nor `Display`, so this
/// never meets `From<T> for T`.)
impl<E: KindedError + std::fmt::Display> From<E> for IpcError {
    fn from(e: E) -> Self {
        IpcError::from_core(e)
    }
}

/// What every command returns.
pub type CommandResult<T> = Result<T, IpcError>;

/// Runs a command's body on the blocking pool: core does file and network
/// I/O with blocking calls (reqwest's blocking client must never run on
/// the async runtime's threads), and the UI thread must stay free.
pub async fn blocking<T, F>(body: F) -> CommandResult<T>
where
    T: Send + 'static,
    F: FnOnce() -> CommandResult<T> + Send + 'static,
{
    tauri::async_runtime::spawn_blocking(body)
        .await
        .unwrap_or_else(|e| {
            Err(IpcError::new(
                backupdesk_core::ErrorKind::Internal,
                format!("the operation failed: {e}"),
            ))
        })
}

/// Runs a long, cancellable operation `op` on the blocking pool: progress
/// goes to `channel`, the UI's cancel reaches it through the operations
/// registry, which forgets `op` however the body ends.
pub async fn operation<T, F>(
    operations: &crate::state::Operations,
    op: String,
    channel: tauri::ipc::Channel<crate::progress::ProgressEvent>,
    body: F,
) -> CommandResult<T>
where
    T: Send + 'static,
    F: FnOnce(&OperationContext<'_>) -> CommandResult<T> + Send + 'static,
{
    let progress = crate::progress::ChannelProgress::new(channel, operations.begin(&op));
    let result = blocking(move || {
        let keychain: SharedSecrets = std::sync::Arc::new(SystemKeychain::default());
        body(&OperationContext::new(&SystemClock, &progress, &keychain))
    })
    .await;
    operations.end(&op);
    result
}

/// Runs a short command's body on the blocking pool with a context of its
/// own: the system clock, no progress, the OS keychain (reached at its
/// first use only).
pub async fn in_context<T, F>(body: F) -> CommandResult<T>
where
    T: Send + 'static,
    F: FnOnce(&OperationContext<'_>) -> CommandResult<T> + Send + 'static,
{
    blocking(move || {
        let keychain: SharedSecrets = std::sync::Arc::new(SystemKeychain::default());
        body(&OperationContext::new(&SystemClock, &NoProgress, &keychain))
    })
    .await
}
