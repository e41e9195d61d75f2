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

/// The backup passphrases kept in memory for this app session only (when
/// no keychain can keep them); shared with the blocking threads.
#[derive(Clone, Default)]
pub struct Session(pub Arc<backupdesk_core::service::SessionPassphrases>);

/// The fleet: one refresh at a time for every window and timer (a second
/// request joins the running one), and the cache of what was last known,
/// opened once. Shared with the blocking threads that read the fleet.
#[derive(Clone)]
pub struct Fleet(pub Arc<FleetShared>);

/// What [`Fleet`] shares.
pub struct FleetShared {
    pub refresher: backupdesk_core::service::fleet::FleetRefresher,
    pub cache: Option<backupdesk_core::service::fleet::FleetCache>,
}

impl Default for Fleet {
    fn default() -> Self {
        Fleet(Arc::new(FleetShared {
            refresher: Default::default(),
            cache: backupdesk_core::service::fleet::open_cache(),
        }))
    }
}
