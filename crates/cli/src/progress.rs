//! Progress bars on stderr (only on a terminal and without `--json`), or,
//! with `--progress-lines` (what the laptop asks of an engine run over
//! SSH), one JSON line per event for the other side to draw.

use std::io::IsTerminal;

use backupdesk_core::progress::{Phase, Progress, ProgressLine};
use indicatif::{ProgressBar, ProgressStyle};

/// Draws one bar per phase.
pub struct Bars {
    bar: std::sync::Mutex<Option<ProgressBar>>,
    enabled: bool,
    lines: bool,
}

impl Bars {
    /// Bars that draw only when stderr is a terminal and `--json` is off;
    /// JSON lines instead with `--progress-lines`.
    pub fn new(global: &crate::args::GlobalArgs) -> Self {
        Bars {
            bar: std::sync::Mutex::new(None),
            enabled: !global.json && std::io::stderr().is_terminal(),
            lines: global.progress_lines,
        }
    }

    fn line(&self, event: ProgressLine) -> bool {
        if self.lines {
            eprintln!("{}", event.to_line());
        }
        self.lines
    }
}

fn label(phase: Phase) -> &'static str {
    match phase {
        Phase::Snapshot => "snapshot",
        Phase::Encrypt => "encrypt",
        Phase::Decrypt => "decrypt",
        Phase::IntegrityCheck => "integrity check",
        Phase::Upload => "upload",
        Phase::Download => "download",
    }
}

impl Progress for Bars {
    fn start(&self, phase: Phase, total: Option<u64>) {
        if self.line(ProgressLine::Start { phase, total }) || !self.enabled {
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
        if self.line(ProgressLine::Advance { bytes }) {
            return;
        }
        if let Some(bar) = self.bar.lock().unwrap_or_else(|e| e.into_inner()).as_ref() {
            bar.inc(bytes);
        }
    }

    fn finish(&self) {
        if self.line(ProgressLine::Finish) {
            return;
        }
        if let Some(bar) = self.bar.lock().unwrap_or_else(|e| e.into_inner()).take() {
            bar.finish_and_clear();
        }
    }
}
