//! Secrets in the OS keychain (Secret Service on Linux, through `keyring`):
//! the backup passphrase per profile, API tokens and the optional password.
//! Never a config file, a log or a command line. When no keychain is
//! reachable, callers say so plainly and ask each time instead.

use std::sync::Arc;

use keyring_core::{CredentialStore, Entry, Error as KeyringError};
use zeroize::Zeroizing;

/// The keychain service name under which every secret is stored.
pub(crate) const SERVICE: &str = "backupdesk";

/// What a stored secret is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretKind {
    /// The backup passphrase of a profile.
    Passphrase,
    /// A server's API token.
    ApiToken,
    /// A server account's password (optional, for one re-login on 401).
    Password,
    /// An off-site location's access key id (S3).
    OffsiteKeyId,
    /// An off-site location's secret access key (S3).
    OffsiteSecret,
    /// The passphrase of an SFTP location's SSH key.
    OffsiteKeyPassphrase,
    /// A rotation's new backup passphrase while the rotation is under way
    /// on a server (promoted to [`SecretKind::Passphrase`] once it
    /// completed, even when this machine was cut off from its answer).
    RotationPassphrase,
    /// An OpenPGP secret key made by `backupdesk key create`, kept under
    /// the key id of its encryption key (what a backup's public-key packet
    /// names).
    SecretKey,
    /// A notifier's URL (its token) or SMTP URL.
    NotifierUrl,
}

impl SecretKind {
    pub(crate) fn label(self) -> &'static str {
        match self {
            SecretKind::Passphrase => "passphrase",
            SecretKind::ApiToken => "api-token",
            SecretKind::Password => "password",
            SecretKind::OffsiteKeyId => "offsite-key-id",
            SecretKind::OffsiteSecret => "offsite-secret",
            SecretKind::OffsiteKeyPassphrase => "offsite-key-passphrase",
            SecretKind::RotationPassphrase => "rotation-passphrase",
            SecretKind::SecretKey => "openpgp-secret-key",
            SecretKind::NotifierUrl => "notifier-url",
        }
    }
}

/// Why the keychain could not be used, in the admin's terms: each case has
/// its own advice, and the library's own text only goes to the debug log.
#[derive(Debug, thiserror::Error)]
pub enum KeychainError {
    /// No D-Bus session bus to reach a keychain on.
    #[error(
        "no keychain: no D-Bus session bus is running here (DBUS_SESSION_BUS_ADDRESS is unset or \
         points nowhere), so no Secret Service can answer; start Backup Desk from a desktop \
         session that runs one (gnome-keyring, KeePassXC)"
    )]
    NoSessionBus,
    /// A session bus, but nothing on it provides the Secret Service.
    #[error(
        "no keychain: this desktop session has no Secret Service (nothing provides \
         org.freedesktop.secrets); install and start one, such as gnome-keyring \
         (apt install gnome-keyring) or KeePassXC with its Secret Service integration on"
    )]
    NoSecretService,
    /// The Secret Service answered but its keyring is locked (or missing)
    /// and no unlock prompt could be shown.
    #[error(
        "{0}; unlock it (for example in Seahorse, \"Passwords and Keys\", or by logging in again) and try again"
    )]
    KeychainLocked(LockedKeyring),
    /// The unlock or access prompt was dismissed.
    #[error(
        "the keychain denied access: its prompt was dismissed or refused; try again and accept \
         it"
    )]
    KeychainDenied,
    /// Another keychain failure.
    #[error("the keychain failed: {0}")]
    Keychain(String),
}

/// What is locked when the keychain is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LockedKeyring {
    /// The collection holding the secrets is locked.
    #[error("the keychain is locked and no unlock prompt could be shown")]
    Collection,
    /// There is no default keyring ("login") to keep secrets in, and the
    /// service could not ask to create or unlock one.
    #[error(
        "the keychain has no unlocked default keyring to keep secrets in, and could not ask you \
         to create or unlock one"
    )]
    NoDefaultKeyring,
}

impl crate::KindedError for KeychainError {
    fn kind(&self) -> crate::ErrorKind {
        match self {
            KeychainError::NoSessionBus | KeychainError::NoSecretService => {
                crate::ErrorKind::KeychainUnavailable
            }
            KeychainError::KeychainLocked(_) => crate::ErrorKind::KeychainLocked,
            KeychainError::KeychainDenied => crate::ErrorKind::KeychainDenied,
            KeychainError::Keychain(_) => crate::ErrorKind::Keychain,
        }
    }
}

impl KeychainError {
    /// Whether keeping secrets elsewhere for now is the way on (no
    /// keychain, a locked one, a refused one), rather than a failure to
    /// report.
    pub fn unusable(&self) -> bool {
        !matches!(self, KeychainError::Keychain(_))
    }
}

/// Tells apart why the keyring library failed, from the Secret Service's
/// and D-Bus's own errors inside it.
fn classify(e: KeyringError) -> KeychainError {
    tracing::debug!("keychain: {e}");
    match e {
        KeyringError::NoStorageAccess(inner) | KeyringError::PlatformFailure(inner) => {
            match inner.downcast_ref::<secret_service::Error>() {
                Some(service) => classify_service(service),
                None => KeychainError::Keychain(inner.to_string()),
            }
        }
        KeyringError::NoDefaultStore => KeychainError::NoSecretService,
        other => KeychainError::Keychain(other.to_string()),
    }
}

fn classify_service(e: &secret_service::Error) -> KeychainError {
    use secret_service::Error as S;
    match e {
        S::Locked => KeychainError::KeychainLocked(LockedKeyring::Collection),
        S::NoResult => KeychainError::KeychainLocked(LockedKeyring::NoDefaultKeyring),
        S::Prompt => KeychainError::KeychainDenied,
        S::Unavailable => KeychainError::NoSecretService,
        S::Zbus(bus) => classify_bus(bus),
        S::ZbusFdo(zbus::fdo::Error::ServiceUnknown(_)) => KeychainError::NoSecretService,
        S::ZbusFdo(zbus::fdo::Error::AccessDenied(_)) => KeychainError::KeychainDenied,
        other => KeychainError::Keychain(other.to_string()),
    }
}

fn classify_bus(e: &zbus::Error) -> KeychainError {
    match e {
        zbus::Error::Connection(..) | zbus::Error::Address(_) | zbus::Error::Handshake(_) => {
            KeychainError::NoSessionBus
        }
        zbus::Error::InputOutput(_) => KeychainError::NoSessionBus,
        zbus::Error::MethodError(name, ..) if name.as_str().ends_with(".ServiceUnknown") => {
            KeychainError::NoSecretService
        }
        zbus::Error::MethodError(name, ..) if name.as_str().ends_with(".AccessDenied") => {
            KeychainError::KeychainDenied
        }
        zbus::Error::FDO(fdo) => match fdo.as_ref() {
            zbus::fdo::Error::ServiceUnknown(_) | zbus::fdo::Error::NameHasNoOwner(_) => {
                KeychainError::NoSecretService
            }
            zbus::fdo::Error::AccessDenied(_) => KeychainError::KeychainDenied,
            other => KeychainError::Keychain(other.to_string()),
        },
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
    /// [`KeychainError::NoSessionBus`] or [`KeychainError::NoSecretService`]
    /// without a reachable service.
    pub fn open() -> Result<Self, KeychainError> {
        let store = zbus_secret_service_keyring_store::Store::new().map_err(classify)?;
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::KindedError;

    fn through_store(e: secret_service::Error) -> KeychainError {
        classify(KeyringError::NoStorageAccess(Box::new(e)))
    }

    #[test]
    fn each_reason_has_its_own_kind_and_none_shows_the_library_text() {
        let no_bus = through_store(secret_service::Error::Zbus(zbus::Error::Connection(
            std::sync::Arc::new(std::io::Error::from(std::io::ErrorKind::NotFound)),
            "unix:path=/nonexistent".parse().unwrap(),
        )));
        assert!(matches!(no_bus, KeychainError::NoSessionBus));
        let no_service = through_store(secret_service::Error::Unavailable);
        assert!(matches!(no_service, KeychainError::NoSecretService));
        let locked = through_store(secret_service::Error::Locked);
        let no_keyring = through_store(secret_service::Error::NoResult);
        let denied = through_store(secret_service::Error::Prompt);
        assert_eq!(no_bus.kind(), crate::ErrorKind::KeychainUnavailable);
        assert_eq!(no_service.kind(), crate::ErrorKind::KeychainUnavailable);
        assert_eq!(locked.kind(), crate::ErrorKind::KeychainLocked);
        assert_eq!(no_keyring.kind(), crate::ErrorKind::KeychainLocked);
        assert_eq!(denied.kind(), crate::ErrorKind::KeychainDenied);
        for e in [&no_bus, &no_service, &locked, &no_keyring, &denied] {
            let text = e.to_string();
            assert!(
                !text.contains("SS error") && !text.contains("SS Error") && !text.contains("zbus"),
                "{text}"
            );
            // Shell-neutral: the app adds its session-only offer itself.
            assert!(!text.contains("session only"), "{text}");
            assert!(e.unusable());
        }
        assert!(no_bus.to_string().contains("D-Bus session bus"));
        assert!(no_service.to_string().contains("gnome-keyring"));
        assert!(locked.to_string().contains("locked"));
        assert!(denied.to_string().contains("dismissed"));
    }
}

#[cfg(test)]
mod label_tests {
    use super::SecretKind;

    /// Each kind has its own entry: one never reads another's secret.
    #[test]
    fn every_kind_of_secret_has_its_own_entry_name() {
        let kinds = [
            SecretKind::Passphrase,
            SecretKind::ApiToken,
            SecretKind::Password,
            SecretKind::OffsiteKeyId,
            SecretKind::OffsiteSecret,
            SecretKind::OffsiteKeyPassphrase,
            SecretKind::RotationPassphrase,
            SecretKind::SecretKey,
            SecretKind::NotifierUrl,
        ];
        let labels: std::collections::BTreeSet<&str> = kinds.iter().map(|k| k.label()).collect();
        assert_eq!(labels.len(), kinds.len());
        assert_eq!(SecretKind::Passphrase.label(), "passphrase");
    }
}
