//! The admin's secret keys kept in the operation's secret store (the OS
//! keychain), one entry per encryption key, named by its key id: what a
//! backup's public-key packet names is looked up directly, no index to
//! keep in step. Only keys Backup Desk made live here; a GnuPG key stays
//! in gpg-agent.

use crate::context::SecretStore;
use crate::format::crypto::{self, KeyError, SecretKeys};
use crate::keychain::{KeychainError, SecretKind};

/// The key-id scope of an entry.
fn scope(key_id: &str) -> String {
    format!("openpgp-key:{key_id}")
}

/// The secret keys an operation's secret store keeps.
pub struct KeychainKeys<'a> {
    secrets: &'a dyn SecretStore,
}

impl<'a> KeychainKeys<'a> {
    /// The keys kept in `secrets`.
    pub fn new(secrets: &'a dyn SecretStore) -> Self {
        KeychainKeys { secrets }
    }

    /// Keeps `cert`'s secret parts under each of its encryption keys' ids;
    /// returns those ids.
    ///
    /// # Errors
    /// When the store refuses (nothing is half kept that a retry does not
    /// replace).
    pub fn keep(&self, cert: &sequoia_openpgp::Cert) -> Result<Vec<String>, KeychainError> {
        let armored = zeroize::Zeroizing::new(crypto::armored_secret(cert));
        let public = crypto::Recipient::from_bytes(armored.as_bytes())
            .map_err(|e| KeychainError::Keychain(e.to_string()))?;
        let ids = public.encryption_key_ids();
        for id in &ids {
            self.secrets
                .set(&scope(id), SecretKind::SecretKey, &armored)?;
        }
        Ok(ids)
    }
}

impl SecretKeys for KeychainKeys<'_> {
    fn secret_key(&self, key_id: &str) -> Result<Option<sequoia_openpgp::Cert>, String> {
        match self.secrets.get(&scope(key_id), SecretKind::SecretKey) {
            Ok(Some(text)) => crypto::secret_from_armored(&text)
                .map(Some)
                .map_err(|e: KeyError| e.to_string()),
            Ok(None) => Ok(None),
            Err(e) => Err(e.to_string()),
        }
    }
}
