//! Secrets in the OS keychain (Secret Service on Linux, through `keyring`):
//! the backup passphrase per profile, API tokens and the optional password.
//! Never a config file, a log or a command line. When no keychain is
//! reachable, callers say so plainly and ask each time instead.

use std::sync::Arc;

use keyring_core::{CredentialStore, Entry, Error as KeyringError};
use zeroize::Zeroizing;

/// The keychain service name under which every secret is stored.
pub const SERVICE: &str = "backupdesk";

/// What a stored secret is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretKind {
    /// The backup passphrase of a profile.
    Passphrase,
    /// A server's API token.
    ApiToken,
    /// A server account's password (optional, for one re-login on 401).
    Password,
}

impl SecretKind {
    fn label(self) -> &'static str {
        match self {
            SecretKind::Passphrase => "passphrase",
            SecretKind::ApiToken => "api-token",
            SecretKind::Password => "password",
        }
    }
}

/// Why the keychain could not be used.
#[derive(Debug, thiserror::Error)]
pub enum KeychainError {
    /// No Secret Service answers (no D-Bus session, no keyring daemon).
    #[error("no keychain is reachable: {0}")]
    KeychainUnavailable(String),
    /// The keychain is there but locked or refused access.
    #[error("the keychain refused access ({0}); unlock it and try again")]
    KeychainLocked(String),
    /// Another keychain failure.
    #[error("keychain error: {0}")]
    Keychain(String),
}

impl crate::KindedError for KeychainError {
    fn kind(&self) -> crate::ErrorKind {
        match self {
            KeychainError::KeychainUnavailable(_) => crate::ErrorKind::KeychainUnavailable,
            KeychainError::KeychainLocked(_) => crate::ErrorKind::KeychainLocked,
            KeychainError::Keychain(_) => crate::ErrorKind::Keychain,
        }
    }
}

fn classify(e: KeyringError) -> KeychainError {
    match e {
        KeyringError::NoStorageAccess(p) => KeychainError::KeychainLocked(p.to_string()),
        KeyringError::PlatformFailure(p) => KeychainError::KeychainUnavailable(p.to_string()),
        KeyringError::NoDefaultStore => {
            KeychainError::KeychainUnavailable("no credential store".into())
        }
        other => KeychainError::Keychain(other.to_string()),
    }
}

/// A connection to the platform keychain.
pub struct Keychain {
    store: Arc<CredentialStore>,
}

impl std::fmt::Debug for Keychain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Keychain")
    }
}

impl Keychain {
    /// Connects to the Secret Service.
    ///
    /// # Errors
    /// [`KeychainError::KeychainUnavailable`] without a reachable service.
    pub fn open() -> Result<Self, KeychainError> {
        let store = zbus_secret_service_keyring_store::Store::new().map_err(|e| match e {
            KeyringError::PlatformFailure(p) | KeyringError::NoStorageAccess(p) => {
                KeychainError::KeychainUnavailable(p.to_string())
            }
            other => KeychainError::KeychainUnavailable(other.to_string()),
        })?;
        let store: Arc<CredentialStore> = store;
        Ok(Keychain { store })
    }

    fn entry(&self, scope: &str, kind: SecretKind) -> Result<Entry, KeychainError> {
        Entry::new_in_store(&self.store, SERVICE, &format!("{scope}:{}", kind.label()))
            .map_err(classify)
    }

    /// The secret stored for `scope` (a profile name), if any.
    ///
    /// # Errors
    /// When the keychain fails or is locked.
    pub fn get(
        &self,
        scope: &str,
        kind: SecretKind,
    ) -> Result<Option<Zeroizing<String>>, KeychainError> {
        match self.entry(scope, kind)?.get_password() {
            Ok(secret) => Ok(Some(Zeroizing::new(secret))),
            Err(KeyringError::NoEntry) => Ok(None),
            Err(e) => Err(classify(e)),
        }
    }

    /// Stores (or replaces) a secret.
    ///
    /// # Errors
    /// When the keychain fails or is locked.
    pub fn set(&self, scope: &str, kind: SecretKind, secret: &str) -> Result<(), KeychainError> {
        self.entry(scope, kind)?
            .set_password(secret)
            .map_err(classify)
    }

    /// Removes a secret; `Ok(false)` when there was none.
    ///
    /// # Errors
    /// When the keychain fails or is locked.
    pub fn forget(&self, scope: &str, kind: SecretKind) -> Result<bool, KeychainError> {
        match self.entry(scope, kind)?.delete_credential() {
            Ok(()) => Ok(true),
            Err(KeyringError::NoEntry) => Ok(false),
            Err(e) => Err(classify(e)),
        }
    }

    /// Forgets every secret of `scope` (passphrase, token, password).
    pub fn forget_all(&self, scope: &str) {
        for kind in [
            SecretKind::Passphrase,
            SecretKind::ApiToken,
            SecretKind::Password,
        ] {
            let _ = self.forget(scope, kind);
        }
    }
}
