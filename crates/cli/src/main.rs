//! `backupdesk`: encrypted, verified backups of a Server Monitor database.
//!
//! A small `main`: parse, run one verb, print the error chain, pick the exit
//! code (0 success, 1 the operation failed, 2 usage error).

mod args;
mod cmd;
mod failure;
mod logging;
mod output;
mod passphrase;
mod progress;
mod verb_traits;

use std::process::ExitCode;

use clap::Parser;

use crate::args::Cli;
use crate::failure::Failure;

fn main() -> ExitCode {
    // Run by ssh as its askpass helper (an SFTP location's key passphrase).
    if let Some(code) = backupdesk_core::offsite::askpass::answer() {
        return ExitCode::from(code as u8);
    }
    let cli = Cli::parse();
    logging::init_stderr_logging();
    let json = cli.global.json;
    match cmd::run(cli) {
        Ok(code) => code,
        Err(error) => {
            let (kind, usage) = match error.downcast_ref::<Failure>() {
                Some(f) => (f.kind, f.usage),
                None => (backupdesk_core::ErrorKind::Error, false),
            };
            if json {
                output::print_json(&output::FailedJson {
                    ok: false,
                    error: backupdesk_core::model::KindedMessage {
                        kind,
                        message: format!("{error:#}"),
                    },
                });
            }
            // Messages may quote text from elsewhere (a name in a
            // hand-edited book, a server's words): escaped for the terminal.
            let escaped = |text: String| backupdesk_core::printable::escaped(&text);
            eprintln!("error: {}", escaped(error.to_string()));
            for cause in error.chain().skip(1) {
                eprintln!("  caused by: {}", escaped(cause.to_string()));
            }
            ExitCode::from(if usage { 2 } else { 1 })
        }
    }
}
