//! The backup passphrase: which keychain entry holds it and which
//! passphrases may be stored for new backups. One rule for the CLI and the
//! app, so a passphrase stored by either is found by the other.

use std::path::{Path, PathBuf};

use crate::context::SecretStore;
use crate::format::crypto::Passphrase;
use crate::keychain::{KeychainError, SecretKind};
use crate::targets::profile::{Profile, ProfileTarget};

/// Which keychain entry holds an installation's backup passphrase.
///
/// A local installation's passphrase belongs to its data folder
/// (`dir:/abs/path`), whatever names it: a bare `--data-dir`, a CLI profile
/// or an app profile. A remote server encrypts with its own passphrase, so
/// its scope is the profile's name. Passphrases stored before this rule
/// under a local profile's name are still found (and moved to the folder's
/// entry the next time one is stored).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PassphraseScope {
    primary: String,
    legacy: Option<String>,
}

impl PassphraseScope {
    /// The scope of the installation at `data_dir` (made absolute, `.` and
    /// trailing slashes dropped, links left as they are).
    pub fn for_data_dir(data_dir: &Path) -> Self {
        PassphraseScope {
            primary: format!("dir:{}", normalized(data_dir).display()),
            legacy: None,
        }
    }

    /// The scope of the local installation at `data_dir` named by profile
    /// `profile` (its earlier entry is still read).
    pub fn for_local_profile(profile: &str, data_dir: &Path) -> Self {
        PassphraseScope {
            legacy: Some(profile.to_owned()),
            ..Self::for_data_dir(data_dir)
        }
    }

    /// The scope of remote profile `name`.
    pub fn for_remote_profile(name: &str) -> Self {
        PassphraseScope {
            primary: name.to_owned(),
            legacy: None,
        }
    }

    /// The scope of profile `name`.
    pub fn for_profile(name: &str, profile: &Profile) -> Self {
        match &profile.target {
            ProfileTarget::Local { data_dir } => Self::for_local_profile(name, data_dir),
            ProfileTarget::Remote { .. } | ProfileTarget::Ssh { .. } => {
                Self::for_remote_profile(name)
            }
        }
    }

    /// The keychain scope new passphrases are stored under (shown to admins).
    pub fn label(&self) -> &str {
        &self.primary
    }
}

fn normalized(dir: &Path) -> PathBuf {
    std::path::absolute(dir)
        .unwrap_or_else(|_| dir.to_owned())
        .components()
        .collect()
}

pub use crate::format::crypto::{PassphraseRefused, check_new_passphrase};

/// Why a passphrase could not be stored.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The policy refused it.
    #[error(transparent)]
    Refused(#[from] PassphraseRefused),
    /// The keychain failed.
    #[error(transparent)]
    Keychain(#[from] KeychainError),
}

impl crate::KindedError for StoreError {
    fn kind(&self) -> crate::ErrorKind {
        match self {
            StoreError::Refused(e) => e.kind(),
            StoreError::Keychain(e) => e.kind(),
        }
    }
}

/// The passphrase stored for `scope`, if any.
///
/// # Errors
/// When the keychain fails or is locked.
pub fn stored_passphrase(
    keychain: &dyn SecretStore,
    scope: &PassphraseScope,
) -> Result<Option<Passphrase>, KeychainError> {
    for key in std::iter::once(&scope.primary).chain(scope.legacy.iter()) {
        if let Some(secret) = keychain.get(key, SecretKind::Passphrase)? {
            return Ok(Some(Passphrase::new(secret.to_string())));
        }
    }
    Ok(None)
}

/// Stores `passphrase` for `scope` once the policy accepts it (a copy under
/// the legacy profile-name entry is removed).
///
/// # Errors
/// [`StoreError`].
pub fn store_passphrase(
    keychain: &dyn SecretStore,
    scope: &PassphraseScope,
    passphrase: &Passphrase,
) -> Result<(), StoreError> {
    check_new_passphrase(passphrase)?;
    keychain.set(&scope.primary, SecretKind::Passphrase, passphrase.expose())?;
    if let Some(legacy) = &scope.legacy {
        let _ = keychain.forget(legacy, SecretKind::Passphrase);
    }
    Ok(())
}

/// Forgets the passphrase of `scope`; `Ok(false)` when none was stored.
///
/// # Errors
/// When the keychain fails or is locked.
pub fn forget_passphrase(
    keychain: &dyn SecretStore,
    scope: &PassphraseScope,
) -> Result<bool, KeychainError> {
    let mut removed = false;
    for key in std::iter::once(&scope.primary).chain(scope.legacy.iter()) {
        removed |= keychain.forget(key, SecretKind::Passphrase)?;
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_folder_is_one_scope_however_it_is_written() {
        let a = PassphraseScope::for_data_dir(Path::new("/opt/server-monitor"));
        let b = PassphraseScope::for_data_dir(Path::new("/opt/./server-monitor/"));
        assert_eq!(a.label(), "dir:/opt/server-monitor");
        assert_eq!(a.label(), b.label());
        let profile = Profile::new(ProfileTarget::Local {
            data_dir: "/opt/server-monitor".into(),
        });
        let by_profile = PassphraseScope::for_profile("prod", &profile);
        assert_eq!(by_profile.label(), a.label());
        assert_eq!(by_profile.legacy.as_deref(), Some("prod"));
    }

    #[test]
    fn a_remote_profile_is_its_own_scope() {
        let profile = Profile::new(ProfileTarget::Remote {
            base_url: "https://monitor.example.org".into(),
            username: "admin".into(),
            ca_cert: None,
        });
        assert_eq!(
            PassphraseScope::for_profile("edge", &profile).label(),
            "edge"
        );
    }

    #[test]
    fn the_policy_refuses_empty_and_default_passphrases_under_one_rule() {
        use crate::KindedError;
        assert_eq!(
            check_new_passphrase(&Passphrase::new(String::new()))
                .unwrap_err()
                .kind(),
            "empty_passphrase"
        );
        assert_eq!(
            check_new_passphrase(&Passphrase::legacy_default())
                .unwrap_err()
                .kind(),
            "default_passphrase_refused"
        );
        assert!(check_new_passphrase(&Passphrase::new("correct horse".into())).is_ok());
    }
}
