//! The window comes back where the admin left it: Tauri's window-state
//! plugin restores size, position and maximized state (onto a monitor that
//! still exists) and saves them on a clean exit; this saves them too half a
//! second after the last move or resize, so a session that ends without a
//! clean exit (logout, kill, a crash) keeps them. Saves run on the UI
//! thread, as the plugin's own save at exit does.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tauri::{Manager, Runtime, Window, WindowEvent};
use tauri_plugin_window_state::{AppHandleExt, StateFlags};

/// Moves and resizes so far; a save runs only if none came after it.
static CHANGES: AtomicU64 = AtomicU64::new(0);

/// The plugin, with every state flag.
pub fn plugin<R: Runtime>() -> tauri::plugin::TauriPlugin<R> {
    tauri_plugin_window_state::Builder::new().build()
}

/// Saves the window's place once it stopped moving for 500 ms.
pub fn on_window_event<R: Runtime>(window: &Window<R>, event: &WindowEvent) {
    if !matches!(event, WindowEvent::Moved(_) | WindowEvent::Resized(_)) {
        return;
    }
    let change = CHANGES.fetch_add(1, Ordering::SeqCst) + 1;
    let app = window.app_handle().clone();
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(500));
        if CHANGES.load(Ordering::SeqCst) != change {
            return;
        }
        // On the UI thread, never here: the save holds the plugin's lock
        // while it reads the window, and a read from another thread waits
        // for the UI thread, which may itself be waiting for that lock to
        // record a new move (the app froze for good that way).
        let on_ui = app.clone();
        let queued = app.run_on_main_thread(move || {
            if let Err(e) = on_ui.save_window_state(StateFlags::all()) {
                tracing::warn!("cannot save the window's place: {e}");
            }
        });
        if let Err(e) = queued {
            tracing::warn!("cannot save the window's place: {e}");
        }
    });
}
