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

/// A backup (or live) opened for looking inside.
pub type OpenedSource = Arc<Mutex<backupdesk_core::local::surgery::Opened>>;

/// The sources the app holds open for looking inside, by the id it gave
/// each: a backup's checked copy stays staged until the UI closes it (or
/// the app ends; a copy left by a kill is removed by the next open).
#[derive(Clone, Default)]
pub struct Inside(Arc<Mutex<InsideShared>>);

#[derive(Default)]
struct InsideShared {
    next: u64,
    open: HashMap<String, OpenedSource>,
}

impl Inside {
    /// Keeps `opened`; its new id.
    pub fn keep(&self, opened: backupdesk_core::local::surgery::Opened) -> String {
        let mut shared = self.lock();
        shared.next += 1;
        let id = format!("open-{}", shared.next);
        shared.open.insert(id.clone(), Arc::new(Mutex::new(opened)));
        id
    }

    /// The source `id`.
    ///
    /// # Errors
    /// `not_open`: closed, or never opened in this run of the app.
    pub fn get(&self, id: &str) -> Result<OpenedSource, crate::error::IpcError> {
        self.lock().open.get(id).cloned().ok_or_else(|| {
            crate::error::IpcError::new(
                backupdesk_core::ErrorKind::NotOpen,
                format!("{id} is not open (closed, or the app restarted)"),
            )
        })
    }

    /// Closes `id` (its staged copy removed once no command reads it);
    /// false when it was not open.
    pub fn close(&self, id: &str) -> bool {
        self.lock().open.remove(id).is_some()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, InsideShared> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}
