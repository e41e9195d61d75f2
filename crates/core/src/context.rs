//! What every operation runs with, built once by a shell and handed down as
//! one value: the time ([`Clock`]), where its progress goes and whether it
//! was asked to stop ([`Progress`]), and where secrets are kept
//! ([`SecretStore`]). Nothing below the shells reads the system clock,
//! draws progress or opens the keychain on its own, so a test can pin the
//! time, watch the progress and keep secrets in memory.
//!
//! The context is itself a [`Clock`] and a [`Progress`] (it passes both
//! through), so a step that only needs one of them takes the context as
//! that.

use std::collections::BTreeMap;
use std::sync::{Arc, LazyLock, Mutex, OnceLock};

use chrono::{DateTime, FixedOffset};
use zeroize::Zeroizing;

use crate::clock::Clock;
use crate::format::crypto::{OpenedSession, SessionKeys};
use crate::keychain::{Keychain, KeychainError, SecretKind};
use crate::progress::{NoProgress, Phase, Progress};

/// Where secrets are kept, by scope (a profile's name, an installation's
/// folder) and kind: the OS keychain ([`SystemKeychain`]), or memory
/// ([`MemorySecrets`], for tests and for a session without a keychain).
pub trait SecretStore: Send + Sync {
    /// The secret of `kind` kept for `scope`, if any.
    ///
    /// # Errors
    /// When the store cannot be reached or is locked.
    fn get(
        &self,
        scope: &str,
        kind: SecretKind,
    ) -> Result<Option<Zeroizing<String>>, KeychainError>;

    /// Keeps (or replaces) a secret.
    ///
    /// # Errors
    /// When the store cannot be reached, is locked or refuses.
    fn set(&self, scope: &str, kind: SecretKind, secret: &str) -> Result<(), KeychainError>;

    /// Forgets a secret; `Ok(false)` when none was kept.
    ///
    /// # Errors
    /// When the store cannot be reached or is locked.
    fn forget(&self, scope: &str, kind: SecretKind) -> Result<bool, KeychainError>;

    /// Whether the store can be used now (the keychain reached), for an
    /// operation that must not begin when it could not keep its secret.
    ///
    /// # Errors
    /// Why it cannot.
    fn reachable(&self) -> Result<(), KeychainError> {
        Ok(())
    }

    /// Forgets every secret of `scope` that names a profile (passphrase,
    /// API token, password); what cannot be forgotten stays.
    fn forget_all(&self, scope: &str) {
        for kind in [
            SecretKind::Passphrase,
            SecretKind::ApiToken,
            SecretKind::Password,
        ] {
            let _ = self.forget(scope, kind);
        }
    }
}

impl SecretStore for Keychain {
    fn get(
        &self,
        scope: &str,
        kind: SecretKind,
    ) -> Result<Option<Zeroizing<String>>, KeychainError> {
        Keychain::get(self, scope, kind)
    }

    fn set(&self, scope: &str, kind: SecretKind, secret: &str) -> Result<(), KeychainError> {
        Keychain::set(self, scope, kind, secret)
    }

    fn forget(&self, scope: &str, kind: SecretKind) -> Result<bool, KeychainError> {
        Keychain::forget(self, scope, kind)
    }
}

/// The OS keychain, connected at its first use and then kept: a command
/// that never touches a secret never reaches for the Secret Service, and
/// one that does connects once. A failed connection is reported to that
/// use and tried again at the next.
#[derive(Default)]
pub struct SystemKeychain {
    opened: OnceLock<Keychain>,
}

impl std::fmt::Debug for SystemKeychain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = if self.opened.get().is_some() {
            "connected"
        } else {
            "not yet connected"
        };
        write!(f, "SystemKeychain({state})")
    }
}

impl SystemKeychain {
    /// The keychain, connected now if it was not yet.
    ///
    /// # Errors
    /// As [`Keychain::open`].
    pub fn keychain(&self) -> Result<&Keychain, KeychainError> {
        if let Some(open) = self.opened.get() {
            return Ok(open);
        }
        let open = Keychain::open()?;
        Ok(self.opened.get_or_init(|| open))
    }
}

impl SecretStore for SystemKeychain {
    fn get(
        &self,
        scope: &str,
        kind: SecretKind,
    ) -> Result<Option<Zeroizing<String>>, KeychainError> {
        self.keychain()?.get(scope, kind)
    }

    fn set(&self, scope: &str, kind: SecretKind, secret: &str) -> Result<(), KeychainError> {
        self.keychain()?.set(scope, kind, secret)
    }

    fn forget(&self, scope: &str, kind: SecretKind) -> Result<bool, KeychainError> {
        self.keychain()?.forget(scope, kind)
    }

    fn reachable(&self) -> Result<(), KeychainError> {
        self.keychain().map(drop)
    }
}

/// Secrets kept in memory only, zeroed when forgotten or dropped: the store
/// of tests, and of a context that must not reach any keychain.
#[derive(Default)]
pub struct MemorySecrets {
    kept: Mutex<BTreeMap<(String, &'static str), Zeroizing<String>>>,
}

impl std::fmt::Debug for MemorySecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "MemorySecrets({} kept)", self.lock().len())
    }
}

impl MemorySecrets {
    /// An empty store (usable in a `static`).
    pub const fn new() -> Self {
        MemorySecrets {
            kept: Mutex::new(BTreeMap::new()),
        }
    }

    /// How many secrets are kept.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether none is kept.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(
        &self,
    ) -> std::sync::MutexGuard<'_, BTreeMap<(String, &'static str), Zeroizing<String>>> {
        self.kept.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl SecretStore for MemorySecrets {
    fn get(
        &self,
        scope: &str,
        kind: SecretKind,
    ) -> Result<Option<Zeroizing<String>>, KeychainError> {
        Ok(self.lock().get(&(scope.to_owned(), kind.label())).cloned())
    }

    fn set(&self, scope: &str, kind: SecretKind, secret: &str) -> Result<(), KeychainError> {
        self.lock().insert(
            (scope.to_owned(), kind.label()),
            Zeroizing::new(secret.to_owned()),
        );
        Ok(())
    }

    fn forget(&self, scope: &str, kind: SecretKind) -> Result<bool, KeychainError> {
        Ok(self
            .lock()
            .remove(&(scope.to_owned(), kind.label()))
            .is_some())
    }
}

/// The store of a context with no secrets to give (a bare context): empty
/// and shared, and since nothing a test keeps may leak into another, it
/// refuses to keep anything.
struct NoSecrets;

/// The one shared [`NoSecrets`].
static NO_SECRETS: LazyLock<SharedSecrets> = LazyLock::new(|| Arc::new(NoSecrets));

/// A secret store shared by everything one context opens: a server's
/// client keeps a clone to store the token a re-login renews, when it
/// renews it.
pub type SharedSecrets = Arc<dyn SecretStore>;

impl SecretStore for NoSecrets {
    fn get(&self, _: &str, _: SecretKind) -> Result<Option<Zeroizing<String>>, KeychainError> {
        Ok(None)
    }

    fn set(&self, _: &str, _: SecretKind, _: &str) -> Result<(), KeychainError> {
        self.reachable()
    }

    fn reachable(&self) -> Result<(), KeychainError> {
        Err(KeychainError::Keychain(
            "this operation has no place to keep secrets".to_owned(),
        ))
    }

    fn forget(&self, _: &str, _: SecretKind) -> Result<bool, KeychainError> {
        Ok(false)
    }
}

/// One operation's context: its clock, its progress (and cancellation),
/// its secret store, and the session keys handed over for the backups it
/// reads (an engine run by a laptop that holds the keys). Cheap to copy; a
/// shell builds one per run (the CLI) or per command (the app) and hands
/// it to the service layer.
#[derive(Clone, Copy)]
pub struct OperationContext<'a> {
    clock: &'a dyn Clock,
    progress: &'a dyn Progress,
    secrets: &'a SharedSecrets,
    session_keys: Option<&'a SessionKeys>,
}

impl std::fmt::Debug for OperationContext<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "OperationContext(now {})", self.clock.now())
    }
}

impl<'a> OperationContext<'a> {
    /// The context of an operation that reads time from `clock`, reports to
    /// `progress` and keeps secrets in `secrets`.
    pub fn new(
        clock: &'a dyn Clock,
        progress: &'a dyn Progress,
        secrets: &'a SharedSecrets,
    ) -> Self {
        OperationContext {
            clock,
            progress,
            secrets,
            session_keys: None,
        }
    }

    /// A context with `clock` only: no progress shown, never cancelled, no
    /// secrets (tests, and steps that need nothing else).
    pub fn bare(clock: &'a dyn Clock) -> Self {
        OperationContext::new(clock, &NoProgress, &NO_SECRETS)
    }

    /// This context with its progress going to `progress` instead.
    pub fn with_progress<'b>(&self, progress: &'b dyn Progress) -> OperationContext<'b>
    where
        'a: 'b,
    {
        OperationContext { progress, ..*self }
    }

    /// This context showing no progress (a step whose bytes are not worth
    /// a bar: a small read, a check in the background). Cancellation is
    /// no longer seen either.
    pub fn quiet(&self) -> OperationContext<'a> {
        OperationContext {
            progress: &NoProgress,
            ..*self
        }
    }

    /// This context with `keys` handed over: a decryption of a backup
    /// named among them tries its key first (it opens only that backup).
    pub fn with_session_keys(&self, keys: &'a SessionKeys) -> OperationContext<'a> {
        OperationContext {
            session_keys: Some(keys),
            ..*self
        }
    }

    /// The session keys handed over for this operation, if any.
    pub fn session_keys(&self) -> Option<&'a SessionKeys> {
        self.session_keys
    }

    /// The session key handed over for backup `name`, if any.
    pub fn session_key_for(&self, name: &str) -> Option<&'a OpenedSession> {
        self.session_keys.and_then(|keys| keys.get(name))
    }

    /// The current instant.
    pub fn now(&self) -> DateTime<FixedOffset> {
        self.clock.now()
    }

    /// The clock.
    pub fn clock(&self) -> &'a dyn Clock {
        self.clock
    }

    /// Where progress goes.
    pub fn progress(&self) -> &'a dyn Progress {
        self.progress
    }

    /// Where secrets are kept.
    pub fn secrets(&self) -> &'a dyn SecretStore {
        self.secrets.as_ref()
    }

    /// Where secrets are kept, for something that outlives this call (a
    /// server's client storing a renewed token).
    pub fn shared_secrets(&self) -> SharedSecrets {
        Arc::clone(self.secrets)
    }
}

impl Clock for OperationContext<'_> {
    fn now(&self) -> DateTime<FixedOffset> {
        self.clock.now()
    }
}

impl Progress for OperationContext<'_> {
    fn start(&self, phase: Phase, total: Option<u64>) {
        self.progress.start(phase, total);
    }

    fn advance(&self, bytes: u64) {
        self.progress.advance(bytes);
    }

    fn finish(&self) {
        self.progress.finish();
    }

    fn cancelled(&self) -> bool {
        self.progress.cancelled()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::FixedClock;
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

    #[derive(Default)]
    struct Watched {
        bytes: AtomicU64,
        stop: AtomicBool,
    }

    impl Progress for Watched {
        fn start(&self, _: Phase, _: Option<u64>) {}
        fn advance(&self, bytes: u64) {
            self.bytes.fetch_add(bytes, Ordering::Relaxed);
        }
        fn finish(&self) {}
        fn cancelled(&self) -> bool {
            self.stop.load(Ordering::Relaxed)
        }
    }

    #[test]
    fn the_context_passes_time_progress_and_cancellation_through() {
        let clock = FixedClock::utc(2026, 12, 4, 18, 0, 0);
        let watched = Watched::default();
        let secrets: SharedSecrets = Arc::new(MemorySecrets::new());
        let ctx = OperationContext::new(&clock, &watched, &secrets);
        assert_eq!(ctx.now(), clock.0);
        ctx.advance(7);
        (&ctx as &dyn Progress).advance(5);
        assert_eq!(watched.bytes.load(Ordering::Relaxed), 12);
        assert!(!ctx.cancelled());
        watched.stop.store(true, Ordering::Relaxed);
        assert!(ctx.cancelled());
        // A quiet context neither reports nor sees the stop; its clock is the same.
        let quiet = ctx.quiet();
        quiet.advance(100);
        assert_eq!(watched.bytes.load(Ordering::Relaxed), 12);
        assert!(!quiet.cancelled());
        assert_eq!(quiet.now(), clock.0);
    }

    #[test]
    fn memory_secrets_are_kept_by_scope_and_kind_and_forgotten() {
        let store = MemorySecrets::new();
        store.set("prod", SecretKind::ApiToken, "t0ken").unwrap();
        store.set("prod", SecretKind::Password, "pw").unwrap();
        store.set("edge", SecretKind::ApiToken, "other").unwrap();
        assert_eq!(
            store.get("prod", SecretKind::ApiToken).unwrap().as_deref(),
            Some(&"t0ken".to_owned())
        );
        assert_eq!(store.get("prod", SecretKind::Passphrase).unwrap(), None);
        assert!(store.forget("prod", SecretKind::ApiToken).unwrap());
        assert!(!store.forget("prod", SecretKind::ApiToken).unwrap());
        assert_eq!(store.get("prod", SecretKind::ApiToken).unwrap(), None);
        assert_eq!(store.len(), 2);
    }

    #[test]
    fn a_bare_context_gives_no_secret_and_keeps_none() {
        let clock = FixedClock::utc(2026, 1, 1, 0, 0, 0);
        let ctx = OperationContext::bare(&clock);
        assert_eq!(
            ctx.secrets().get("x", SecretKind::Passphrase).unwrap(),
            None
        );
        assert!(ctx.secrets().set("x", SecretKind::Passphrase, "s").is_err());
        assert!(!ctx.secrets().forget("x", SecretKind::Passphrase).unwrap());
    }

    #[test]
    fn another_progress_keeps_the_clock_and_the_secrets() {
        let clock = FixedClock::utc(2026, 12, 4, 18, 0, 0);
        let secrets: SharedSecrets = Arc::new(MemorySecrets::new());
        secrets.set("p", SecretKind::ApiToken, "t").unwrap();
        let first = Watched::default();
        let ctx = OperationContext::new(&clock, &first, &secrets);
        let second = Watched::default();
        let moved = ctx.with_progress(&second);
        moved.advance(9);
        assert_eq!(first.bytes.load(Ordering::Relaxed), 0);
        assert_eq!(second.bytes.load(Ordering::Relaxed), 9);
        assert_eq!(moved.now(), clock.0);
        assert!(
            moved
                .secrets()
                .get("p", SecretKind::ApiToken)
                .unwrap()
                .is_some()
        );
        // What outlives the call shares the same store.
        let shared = moved.shared_secrets();
        shared.forget("p", SecretKind::ApiToken).unwrap();
        assert!(
            ctx.secrets()
                .get("p", SecretKind::ApiToken)
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn the_keychain_is_not_reached_before_a_secret_is_asked_for() {
        let keychain = SystemKeychain::default();
        assert_eq!(format!("{keychain:?}"), "SystemKeychain(not yet connected)");
        // A store that forgets everything of a profile in one call.
        let memory = MemorySecrets::new();
        for kind in [
            SecretKind::Passphrase,
            SecretKind::ApiToken,
            SecretKind::Password,
        ] {
            memory.set("edge", kind, "x").unwrap();
        }
        memory.set("other", SecretKind::ApiToken, "y").unwrap();
        memory.forget_all("edge");
        assert_eq!(memory.len(), 1);
        assert!(memory.reachable().is_ok());
    }
}
