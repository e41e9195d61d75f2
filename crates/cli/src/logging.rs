//! The CLI's diagnostics: core's `tracing` events go to stderr, filtered by the `BACKUPDESK_LOG` environment variable (an
//! `EnvFilter` directive such as `backupdesk_core=debug`; default `warn`).
//! Secrets never reach an event: functions that take one skip it in their
//! `#[instrument]`.

/// The environment variable holding the filter directive.
pub const LOG_ENV: &str = "BACKUPDESK_LOG";

/// Installs the stderr subscriber. A second call (or another subscriber
/// already installed, as in tests) leaves the first in place.
pub fn init_stderr_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env(LOG_ENV)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
