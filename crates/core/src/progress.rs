//! Progress reporting for long operations. The CLI draws bars or prints JSON
//! lines; the desktop app forwards events to a Tauri channel.

/// What a long operation is doing right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Taking a consistent copy of the live database.
    Snapshot,
    /// Hashing, compressing and encrypting the snapshot.
    Encrypt,
    /// Decrypting and hashing a backup.
    Decrypt,
    /// Running SQLite's integrity and foreign-key checks.
    IntegrityCheck,
}

/// Receives progress from core operations. Implementations must be cheap:
/// `advance` is called once per buffer (about every MiB).
pub trait Progress: Send + Sync {
    /// A phase begins; `total` is its size in bytes when known.
    fn start(&self, phase: Phase, total: Option<u64>);
    /// `bytes` more bytes of the current phase are done.
    fn advance(&self, bytes: u64);
    /// The current phase is over.
    fn finish(&self);
    /// Whether the caller asked to stop. Operations check it between
    /// buffers and stop with a `cancelled` error, leaving nothing behind; a
    /// restore stops asking once its swap has begun.
    fn cancelled(&self) -> bool {
        false
    }
}

/// Progress that goes nowhere.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoProgress;

impl Progress for NoProgress {
    fn start(&self, _: Phase, _: Option<u64>) {}
    fn advance(&self, _: u64) {}
    fn finish(&self) {}
}
