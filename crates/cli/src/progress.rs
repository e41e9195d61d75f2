//! Progress bars on stderr (only on a terminal and without `--json`).

use std::io::IsTerminal;

use backupdesk_core::progress::{Phase, Progress};
use indicatif::{ProgressBar, ProgressStyle};

/// Draws one bar per phase.
pub struct Bars {
    bar: std::sync::Mutex<Option<ProgressBar>>,
    enabled: bool,
}

impl Bars {
    /// Bars that draw only when stderr is a terminal and `json` is off.
    pub fn new(json: bool) -> Self {
        Bars {
            bar: std::sync::Mutex::new(None),
            enabled: !json && std::io::stderr().is_terminal(),
        }
    }
}

fn label(phase: Phase) -> &'static str {
    match phase {
        Phase::Snapshot => "snapshot",
        Phase::Encrypt => "encrypt",
        Phase::Decrypt => "decrypt",
        Phase::IntegrityCheck => "integrity check",
    }
}

impl Progress for Bars {
    fn start(&self, phase: Phase, total: Option<u64>) {
        if !self.enabled {
            return;
        }
        let bar = match total {
            Some(total) => ProgressBar::new(total).with_style(
                ProgressStyle::with_template(
                    "{msg:>16} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
                )
                .expect("valid template")
                .progress_chars("=> "),
            ),
            None => ProgressBar::new_spinner(),
        };
        bar.set_message(label(phase));
        *self.bar.lock().unwrap_or_else(|e| e.into_inner()) = Some(bar);
    }

    fn advance(&self, bytes: u64) {
        if let Some(bar) = self.bar.lock().unwrap_or_else(|e| e.into_inner()).as_ref() {
            bar.inc(bytes);
        }
    }

    fn finish(&self) {
        if let Some(bar) = self.bar.lock().unwrap_or_else(|e| e.into_inner()).take() {
            bar.finish_and_clear();
        }
    }
}
