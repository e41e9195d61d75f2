//! What the generic off-site layer asks of a kind of store (an S3 bucket,
//! an SFTP folder), declared once: each kind's location type implements
//! [`StoreKind`] in its own module (`s3::S3Location`,
//! `sftp::SftpLocation`), and `location::OffsiteStore` is the registry
//! that names every kind, matched exhaustively in one place
//! (`OffsiteStore::kind`). Nothing outside a kind's module knows its keys,
//! its part size or how it is reached. (This module uses neither: the
//! kinds depend on it, the registry on them.)

use std::path::Path;

use crate::context::SecretStore;
use crate::keychain::SecretKind;
use crate::offsite::OffsiteError;
use crate::offsite::store::CopyStore;

/// One kind of off-site store.
pub trait StoreKind {
    /// How a location of this kind is shown (`s3://bucket/prefix`,
    /// `sftp://host/path`).
    fn describe(&self) -> String;

    /// The store of location `name`, reached now: keys from `secrets` (or
    /// where the kind keeps them), a host key checked against the one
    /// pinned in `config_dir`.
    ///
    /// # Errors
    /// No keys; a store that cannot be reached or refuses.
    fn open(
        &self,
        name: &str,
        config_dir: &Path,
        secrets: &dyn SecretStore,
    ) -> Result<Box<dyn CopyStore>, OffsiteError>;

    /// What a scheduled job (no desktop session, no `AWS_*` variables)
    /// would lack to reach location `name`, in words; `None` when nothing.
    fn unattended_gap(&self, name: &str, secrets: &dyn SecretStore) -> Option<String>;

    /// The secrets kept for a location of this kind, forgotten with it.
    fn secret_kinds(&self) -> &'static [SecretKind];
}

/// The keychain scope of location `name`'s secrets (its keys, its SSH
/// key's passphrase).
pub fn keychain_scope(name: &str) -> String {
    format!("offsite:{name}")
}
