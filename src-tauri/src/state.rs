//! What the app keeps between commands: the registry of running operations
//! (for cancellation). Everything else a command needs it gets from core's
//! service layer (`backupdesk_core::service`), which the CLI shares.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// Running operations by the id the UI gave them.
#[derive(Default)]
pub struct Operations {
    running: Mutex<HashMap<String, Arc<AtomicBool>>>,
}

impl Operations {
    /// Registers `id`; the flag turns true when the UI cancels it.
    pub fn begin(&self, id: &str) -> Arc<AtomicBool> {
        let flag = Arc::new(AtomicBool::new(false));
        self.lock().insert(id.to_owned(), flag.clone());
        flag
    }

    /// Forgets `id` (the operation ended).
    pub fn end(&self, id: &str) {
        self.lock().remove(id);
    }

    /// Asks `id` to stop; false when no such operation runs.
    pub fn cancel(&self, id: &str) -> bool {
        match self.lock().get(id) {
            Some(flag) => {
                flag.store(true, Ordering::SeqCst);
                true
            }
            None => false,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<AtomicBool>>> {
        self.running.lock().unwrap_or_else(|e| e.into_inner())
    }
}
