//! Native pickers: GTK's file chooser through Tauri's dialog plugin, opened
//! from here, so the webview holds no dialog permission of its own (the
//! capability stays "Backup Desk's commands and notifications").
//!
//! Test seam: with `BACKUPDESK_TEST_PICK` set, a picker answers its value
//! (empty: cancelled) instead of opening, since WebDriver cannot reach a
//! native dialog; everything after the pick runs as for a real one.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use tauri::{AppHandle, Manager, Runtime};
use tauri_plugin_dialog::FilePath;

use crate::error::{CommandResult, IpcError, blocking};

/// The file a picker is for (its title and filters).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum FileFor {
    /// A server's CA certificate (PEM).
    CaCertificate,
    /// An SSH private key (starting in `~/.ssh`).
    SshIdentity,
}

/// The folder the admin picks (`None`: cancelled), starting in `start`
/// when it exists.
#[tauri::command]
pub async fn pick_folder<R: Runtime>(
    app: AppHandle<R>,
    title: String,
    start: Option<String>,
) -> CommandResult<Option<String>> {
    if let Some(answer) = seam() {
        return Ok(answer);
    }
    blocking(move || {
        let mut dialog = dialogs(&app)?.set_title(title);
        if let Some(start) = start.map(PathBuf::from).filter(|s| s.is_dir()) {
            dialog = dialog.set_directory(start);
        }
        picked(dialog.blocking_pick_folder())
    })
    .await
}

/// The file the admin picks for `purpose` (`None`: cancelled).
#[tauri::command]
pub async fn pick_file<R: Runtime>(
    app: AppHandle<R>,
    purpose: FileFor,
) -> CommandResult<Option<String>> {
    if let Some(answer) = seam() {
        return Ok(answer);
    }
    blocking(move || {
        let dialog = match purpose {
            FileFor::CaCertificate => dialogs(&app)?
                .set_title("The server's CA certificate")
                .add_filter("PEM certificate", &["pem", "crt", "cer"]),
            FileFor::SshIdentity => {
                let dialog = dialogs(&app)?.set_title("Your SSH private key");
                match app.path().home_dir().map(|home| home.join(".ssh")) {
                    Ok(ssh) if ssh.is_dir() => dialog.set_directory(ssh),
                    _ => dialog,
                }
            }
        };
        picked(dialog.blocking_pick_file())
    })
    .await
}

fn seam() -> Option<Option<String>> {
    std::env::var("BACKUPDESK_TEST_PICK")
        .ok()
        .map(|answer| Some(answer).filter(|a| !a.is_empty()))
}

fn dialogs<R: Runtime>(
    app: &AppHandle<R>,
) -> CommandResult<tauri_plugin_dialog::FileDialogBuilder<R>> {
    match app.try_state::<tauri_plugin_dialog::Dialog<R>>() {
        Some(dialog) => Ok(dialog.file()),
        None => Err(IpcError::new(
            backupdesk_core::ErrorKind::Internal,
            "no dialogs in this window (the dialog plugin is not loaded)",
        )),
    }
}

fn picked(path: Option<FilePath>) -> CommandResult<Option<String>> {
    match path.map(FilePath::into_path) {
        None => Ok(None),
        Some(Ok(path)) => Ok(Some(path.display().to_string())),
        Some(Err(e)) => Err(IpcError::new(
            backupdesk_core::ErrorKind::Internal,
            format!("the picker answered something that is not a path: {e}"),
        )),
    }
}
