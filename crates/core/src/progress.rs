//! Progress reporting for long operations. The CLI draws bars or prints JSON
//! lines; the desktop app forwards events to a Tauri channel.

/// What a long operation is doing right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
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
    /// Sending a backup to an off-site store.
    Upload,
    /// Fetching a backup from an off-site store.
    Download,
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

/// One progress event as a line of JSON: what an engine run over SSH
/// writes on stderr (`--progress-lines`) and the laptop turns back into its
/// own bars or channel events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "progress", rename_all = "snake_case")]
pub enum ProgressLine {
    /// [`Progress::start`].
    Start { phase: Phase, total: Option<u64> },
    /// [`Progress::advance`].
    Advance { bytes: u64 },
    /// [`Progress::finish`].
    Finish,
}

impl ProgressLine {
    /// The event a stderr line carries, if it is one.
    pub fn parse(line: &str) -> Option<Self> {
        line.trim_start()
            .starts_with("{\"progress\"")
            .then(|| serde_json::from_str(line.trim()).ok())
            .flatten()
    }

    /// The line for this event (no line end).
    pub fn to_line(self) -> String {
        serde_json::to_string(&self).unwrap_or_default()
    }

    /// Hands the event to `progress`.
    pub fn apply(self, progress: &dyn Progress) {
        match self {
            ProgressLine::Start { phase, total } => progress.start(phase, total),
            ProgressLine::Advance { bytes } => progress.advance(bytes),
            ProgressLine::Finish => progress.finish(),
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_progress_line_round_trips_and_other_lines_are_not_progress() {
        for event in [
            ProgressLine::Start {
                phase: Phase::Encrypt,
                total: Some(42),
            },
            ProgressLine::Advance { bytes: 7 },
            ProgressLine::Finish,
        ] {
            assert_eq!(ProgressLine::parse(&event.to_line()), Some(event));
        }
        assert_eq!(
            ProgressLine::Start {
                phase: Phase::Decrypt,
                total: None
            }
            .to_line(),
            r#"{"progress":"start","phase":"decrypt","total":null}"#
        );
        assert_eq!(ProgressLine::parse("warning: plain http"), None);
        assert_eq!(ProgressLine::parse(r#"{"progress":"nonsense"}"#), None);
    }
}
