//! The Backup Desk desktop app.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() {
    // Run by ssh as its askpass helper (an SFTP location's key passphrase).
    if let Some(code) = backupdesk_core::offsite::askpass::answer() {
        std::process::exit(code);
    }
    backupdesk_app::run();
}
