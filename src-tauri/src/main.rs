//! The Backup Desk desktop app.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() {
    backupdesk_app::run();
}
