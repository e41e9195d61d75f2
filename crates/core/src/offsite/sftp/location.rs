//! An SFTP location: its address as `offsite.toml` keeps it
//! (`USER@HOST:/PATH`, a port, a key), how it is named
//! (`sftp://host/path`) and reached (its host key pinned in Backup Desk's
//! own `known_hosts` at the first use, checked strictly after).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::context::SecretStore;
use crate::keychain::SecretKind;
use crate::offsite::OffsiteError;
use crate::offsite::kind::{StoreKind, keychain_scope};
use crate::offsite::store::CopyStore;

/// A folder on an SSH host, reached over SFTP (system OpenSSH).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SftpLocation {
    /// `user@host` (or a `Host` alias of the SSH config).
    pub destination: String,
    /// The folder (absolute, or relative to the login's home).
    pub path: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// A private key other than the agent's and the config's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<PathBuf>,
}

impl SftpLocation {
    /// The location `USER@HOST:/PATH` names.
    ///
    /// # Errors
    /// [`OffsiteError::BadSftp`].
    pub fn parse(
        target: &str,
        port: Option<u16>,
        identity: Option<PathBuf>,
    ) -> Result<Self, OffsiteError> {
        let (destination, path) = parse_sftp_spec(target)?;
        Ok(SftpLocation {
            destination,
            path,
            port,
            identity,
        })
    }

    /// The folder of location `name`, connected: its host key checked against
    /// the one pinned in `config_dir` (pinned now when `pin_new_key` and
    /// none is yet).
    ///
    /// # Errors
    /// A host that cannot be reached or logged in to; a changed host key.
    pub fn connect(
        &self,
        name: &str,
        config_dir: &Path,
        pin_new_key: bool,
    ) -> Result<super::SftpFolder, OffsiteError> {
        super::SftpFolder::connect(
            self,
            &known_hosts(config_dir),
            pin_new_key,
            Some(&keychain_scope(name)),
        )
    }
}

/// Where SFTP host keys are pinned: Backup Desk's own `known_hosts`.
fn known_hosts(config_dir: &Path) -> PathBuf {
    config_dir.join("offsite").join("known_hosts")
}

/// `USER@HOST:/PATH` (or `HOST:PATH`, a path relative to the login's
/// home) split into destination and folder.
///
/// # Errors
/// [`OffsiteError::BadSftp`] for anything else.
pub fn parse_sftp_spec(spec: &str) -> Result<(String, String), OffsiteError> {
    let bad = |why: &str| OffsiteError::BadSftp(spec.to_owned(), why.to_owned());
    let (destination, path) = spec
        .split_once(':')
        .ok_or_else(|| bad("there is no ':' between the host and the folder"))?;
    if destination.is_empty()
        || destination.starts_with('-')
        || destination.contains(char::is_whitespace)
    {
        return Err(bad("the host is empty, starts with '-' or holds a space"));
    }
    let path = path.trim_end_matches('/');
    if path.is_empty() {
        return Err(bad("name a folder after the ':'"));
    }
    if path.split('/').any(|p| p == "..") {
        return Err(bad("the folder may not hold '..' segments"));
    }
    Ok((destination.to_owned(), path.to_owned()))
}

fn slash(path: &str) -> String {
    if path.starts_with('/') {
        path.to_owned()
    } else {
        format!("/~/{path}")
    }
}

impl StoreKind for SftpLocation {
    fn describe(&self) -> String {
        match self.port {
            Some(port) => format!("sftp://{}:{port}{}", self.destination, slash(&self.path)),
            None => format!("sftp://{}{}", self.destination, slash(&self.path)),
        }
    }

    fn open(
        &self,
        name: &str,
        config_dir: &Path,
        _secrets: &dyn SecretStore,
    ) -> Result<Box<dyn CopyStore>, OffsiteError> {
        // (A key's passphrase reaches ssh through the askpass helper, which
        // reads the keychain itself: another process.)
        Ok(Box::new(self.connect(name, config_dir, false)?))
    }

    fn unattended_gap(&self, _: &str, _: &dyn SecretStore) -> Option<String> {
        // An SSH key works unattended (the agent's, the config's, or one
        // named with its passphrase in the keychain).
        None
    }

    fn secret_kinds(&self) -> &'static [SecretKind] {
        &[SecretKind::OffsiteKeyPassphrase]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_sftp_target_is_split_checked_and_named() {
        let l =
            SftpLocation::parse("backup@vault.example.org:/srv/copies/", Some(2222), None).unwrap();
        assert_eq!(l.destination, "backup@vault.example.org");
        assert_eq!(l.path, "/srv/copies");
        assert_eq!(
            l.describe(),
            "sftp://backup@vault.example.org:2222/srv/copies"
        );
        let home = SftpLocation::parse("vault:copies", None, None).unwrap();
        assert_eq!(home.describe(), "sftp://vault/~/copies");
        for bad in [
            "no-colon",
            ":/x",
            "-oProxyCommand=x:/y",
            "a b:/x",
            "h:",
            "h:/a/../b",
        ] {
            assert!(SftpLocation::parse(bad, None, None).is_err(), "{bad}");
        }
    }
}
