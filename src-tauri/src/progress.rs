//! Core progress forwarded to a `tauri::ipc::Channel`, throttled to about
//! one event per percent, with the UI's cancel flag.

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use backupdesk_core::progress::{Phase, Progress};
use serde::Serialize;
use tauri::ipc::Channel;

/// One progress event.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct ProgressEvent {
    /// The phase running now.
    pub phase: Phase,
    /// Bytes done in this phase.
    #[ts(type = "number")]
    pub done: u64,
    /// Bytes in this phase, when known.
    #[ts(type = "number | null")]
    pub total: Option<u64>,
}

/// Sends progress to the UI.
pub struct ChannelProgress {
    channel: Channel<ProgressEvent>,
    cancel: Arc<AtomicBool>,
    state: Mutex<(Option<Phase>, u64, Option<u64>, u64)>,
}

impl ChannelProgress {
    /// Progress for one operation.
    pub fn new(channel: Channel<ProgressEvent>, cancel: Arc<AtomicBool>) -> Self {
        ChannelProgress {
            channel,
            cancel,
            state: Mutex::new((None, 0, None, 0)),
        }
    }

    fn send(&self, phase: Phase, done: u64, total: Option<u64>) {
        let _ = self.channel.send(ProgressEvent { phase, done, total });
    }
}

impl Progress for ChannelProgress {
    fn start(&self, phase: Phase, total: Option<u64>) {
        *self.state.lock().unwrap_or_else(|e| e.into_inner()) = (Some(phase), 0, total, 0);
        self.send(phase, 0, total);
    }

    fn advance(&self, bytes: u64) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.1 += bytes;
        let step = state.2.map_or(8 << 20, |t| (t / 100).max(1));
        if state.1 >= state.3 + step
            && let Some(phase) = state.0
        {
            state.3 = state.1;
            self.send(phase, state.1, state.2);
        }
    }

    fn finish(&self) {
        let state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(phase) = state.0 {
            self.send(phase, state.2.unwrap_or(state.1), state.2);
        }
    }

    fn cancelled(&self) -> bool {
        self.cancel.load(Ordering::SeqCst)
    }
}
