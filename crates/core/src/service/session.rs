//! Backup passphrases kept in memory for the running app only: the way on
//! when no keychain can keep them (none running, locked, access denied).
//! Never written anywhere (not a file, a log, the keychain); gone when the
//! app ends; zeroed when forgotten or dropped. The app shows a banner while
//! any is kept.
//!
//! A kept passphrase is found before the keychain's, by the same scope as
//! the keychain's entry (an installation's folder, a server profile's
//! name), so every operation works as with a stored one.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::format::crypto::{Passphrase, PassphraseRefused, check_new_passphrase};
use crate::keychain::{KeychainError, SecretKind};
use crate::service::secrets::PassphraseScope;

/// The passphrases this app session keeps, by keychain scope.
#[derive(Default)]
pub struct SessionPassphrases {
    kept: Mutex<HashMap<String, Passphrase>>,
}

impl std::fmt::Debug for SessionPassphrases {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SessionPassphrases({} kept)", self.lock().len())
    }
}

impl SessionPassphrases {
    /// Keeps `passphrase` for `scope` until the app ends (replacing one
    /// kept before), once the policy accepts it.
    ///
    /// # Errors
    /// An empty passphrase or the scripts' published default.
    pub fn keep(
        &self,
        scope: &PassphraseScope,
        passphrase: &Passphrase,
    ) -> Result<(), PassphraseRefused> {
        check_new_passphrase(passphrase)?;
        self.lock()
            .insert(scope.label().to_owned(), passphrase.clone());
        Ok(())
    }

    /// The passphrase kept for `scope`, if any.
    pub fn get(&self, scope: &PassphraseScope) -> Option<Passphrase> {
        self.lock().get(scope.label()).cloned()
    }

    /// Forgets the passphrase of `scope`; false when none was kept.
    pub fn forget(&self, scope: &PassphraseScope) -> bool {
        self.lock().remove(scope.label()).is_some()
    }

    /// How many passphrases are kept (the banner shows while any is).
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether none is kept.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Passphrase>> {
        self.kept.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The session's memory as a secret store: backup passphrases only, by
/// the keychain scope's label (so [`crate::service::secrets`]' rules find
/// them as they find the keychain's); any other secret is neither kept nor
/// found here (the keychain keeps those, or nothing does).
impl crate::context::SecretStore for SessionPassphrases {
    fn get(
        &self,
        scope: &str,
        kind: SecretKind,
    ) -> Result<Option<zeroize::Zeroizing<String>>, KeychainError> {
        Ok((kind == SecretKind::Passphrase)
            .then(|| {
                self.lock()
                    .get(scope)
                    .map(|p| zeroize::Zeroizing::new(p.expose().to_owned()))
            })
            .flatten())
    }

    fn set(&self, scope: &str, kind: SecretKind, secret: &str) -> Result<(), KeychainError> {
        if kind != SecretKind::Passphrase {
            return Err(KeychainError::Keychain(
                "this session keeps backup passphrases only".to_owned(),
            ));
        }
        self.lock()
            .insert(scope.to_owned(), Passphrase::new(secret.to_owned()));
        Ok(())
    }

    fn forget(&self, scope: &str, kind: SecretKind) -> Result<bool, KeychainError> {
        Ok(kind == SecretKind::Passphrase && self.lock().remove(scope).is_some())
    }
}

/// Where a new passphrase goes: the OS keychain, or this session's memory.
#[derive(Debug, Clone, Copy)]
pub enum PassphraseHome<'a> {
    /// The OS keychain (the default; survives restarts).
    Keychain,
    /// Memory, for this app session only.
    Session(&'a SessionPassphrases),
}

impl<'a> PassphraseHome<'a> {
    /// The home a shell named, with this session's memory for `Session`.
    pub fn of(kept_in: KeptIn, session: &'a SessionPassphrases) -> Self {
        match kept_in {
            KeptIn::Keychain => PassphraseHome::Keychain,
            KeptIn::Session => PassphraseHome::Session(session),
        }
    }

    /// Which home this is, by name.
    pub fn kept_in(&self) -> KeptIn {
        match self {
            PassphraseHome::Keychain => KeptIn::Keychain,
            PassphraseHome::Session(_) => KeptIn::Session,
        }
    }
}

/// Where a passphrase is (or is to be) kept, by name: what the UI asks for
/// and is told.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum KeptIn {
    /// The OS keychain.
    Keychain,
    /// Memory, until the app ends.
    Session,
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn a_kept_passphrase_is_found_by_its_folder_however_it_is_named() {
        let session = SessionPassphrases::default();
        let folder = PassphraseScope::for_data_dir(Path::new("/srv/monitor"));
        session
            .keep(&folder, &Passphrase::new("correct horse".into()))
            .unwrap();
        let by_profile = PassphraseScope::for_local_profile("prod", Path::new("/srv/./monitor/"));
        assert_eq!(session.get(&by_profile).unwrap().expose(), "correct horse");
        assert_eq!(session.len(), 1);
        assert!(session.forget(&folder));
        assert!(session.get(&folder).is_none());
        assert!(session.is_empty());
    }

    #[test]
    fn the_policy_of_the_keychain_applies() {
        let session = SessionPassphrases::default();
        let scope = PassphraseScope::for_remote_profile("edge");
        assert!(
            session
                .keep(&scope, &Passphrase::new(String::new()))
                .is_err()
        );
        assert!(session.keep(&scope, &Passphrase::legacy_default()).is_err());
        assert!(session.is_empty());
    }

    #[test]
    fn the_session_is_a_secret_store_of_passphrases_only() {
        use crate::context::SecretStore;
        use crate::service::secrets::stored_passphrase;
        let session = SessionPassphrases::default();
        let folder = PassphraseScope::for_local_profile("lab", Path::new("/srv/monitor"));
        session
            .keep(&folder, &Passphrase::new("correct horse".into()))
            .unwrap();
        // The keychain's rule finds it as it would find the keychain's.
        let found = stored_passphrase(&session, &folder).unwrap().unwrap();
        assert_eq!(found.expose(), "correct horse");
        assert!(
            SecretStore::get(&session, "lab", SecretKind::ApiToken)
                .unwrap()
                .is_none()
        );
        assert!(SecretStore::set(&session, "lab", SecretKind::ApiToken, "t0ken").is_err());
        assert!(SecretStore::forget(&session, folder.label(), SecretKind::Passphrase).unwrap());
        assert!(session.is_empty());
    }
}
