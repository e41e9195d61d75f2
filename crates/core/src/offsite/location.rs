//! Off-site locations: where an installation's backups are copied, kept
//! in `offsite.toml` in the config folder (never a secret: keys live in
//! the keychain, under the location's scope).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::offsite::OffsiteError;
use crate::offsite::kind::StoreKind;
use crate::offsite::s3::S3Location;
use crate::offsite::sftp::SftpLocation;
use crate::publish::{ensure_private_dir, write_atomic};

/// Where the copies go: the registry of store kinds. Each kind's
/// location type lives in its own module and implements
/// [`StoreKind`]; this is the one place every kind is named.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum OffsiteStore {
    /// An S3-compatible bucket.
    S3(S3Location),
    /// A folder on an SSH host, reached over SFTP; its host key is pinned
    /// when the location is added.
    Sftp(SftpLocation),
}

impl OffsiteStore {
    /// What this kind of store does for the generic layer.
    pub fn kind(&self) -> &dyn StoreKind {
        match self {
            OffsiteStore::S3(location) => location,
            OffsiteStore::Sftp(location) => location,
        }
    }
}

/// A named off-site location of one installation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct OffsiteLocation {
    /// Its name (letters, digits, `-`, `_`, `.`).
    pub name: String,
    /// The installation whose backups it holds: its passphrase scope
    /// label (a profile's name, or `dir:/opt/server-monitor`).
    pub installation: String,
    #[serde(flatten)]
    pub store: OffsiteStore,
}

impl OffsiteLocation {
    /// The keychain scope of its keys.
    pub fn keychain_scope(&self) -> String {
        crate::offsite::kind::keychain_scope(&self.name)
    }

    /// How it is shown: `s3://bucket/prefix` (and the endpoint, when not
    /// AWS's), `sftp://host/path`.
    pub fn describe(&self) -> String {
        self.store.kind().describe()
    }
}

/// Every off-site location, by name, as saved in `offsite.toml`.
#[derive(Debug, Clone, Default)]
pub(crate) struct OffsiteBook {
    path: PathBuf,
    locations: BTreeMap<String, OffsiteLocation>,
}

#[derive(Serialize, Deserialize, Default)]
struct OffsiteFile {
    #[serde(default)]
    location: Vec<OffsiteLocation>,
}

impl OffsiteBook {
    /// The book in `config_dir` (empty when there is none yet).
    ///
    /// # Errors
    /// [`OffsiteError::Book`] for an unreadable or damaged file.
    pub fn load(config_dir: &Path) -> Result<Self, OffsiteError> {
        let path = config_dir.join("offsite.toml");
        let text = match crate::publish::read_config_text(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => {
                return Err(OffsiteError::Book(
                    path.display().to_string(),
                    e.to_string(),
                ));
            }
        };
        let file: OffsiteFile = toml::from_str(&text)
            .map_err(|e| OffsiteError::Book(path.display().to_string(), e.to_string()))?;
        // A hand-edited name is checked as `add` checks it: it names the
        // location's ledger file, so `../x` must never reach a path.
        if let Some(bad) = file.location.iter().find(|l| !valid_name(&l.name)) {
            return Err(OffsiteError::Book(
                path.display().to_string(),
                format!(
                    "the location name {} is not a valid name (letters, digits, '-', '_' and '.', \
                     not starting with '.'); correct it there",
                    crate::printable::escaped(&format!("{:?}", bad.name))
                ),
            ));
        }
        Ok(OffsiteBook {
            path,
            locations: file
                .location
                .into_iter()
                .map(|l| (l.name.clone(), l))
                .collect(),
        })
    }

    /// The locations of `installation` (every one when `None`), by name.
    pub fn of(&self, installation: Option<&str>) -> Vec<&OffsiteLocation> {
        self.locations
            .values()
            .filter(|l| installation.is_none_or(|i| l.installation == i))
            .collect()
    }

    /// Location `name`.
    ///
    /// # Errors
    /// [`OffsiteError::NotFound`].
    pub fn get(&self, name: &str) -> Result<&OffsiteLocation, OffsiteError> {
        self.locations
            .get(name)
            .ok_or_else(|| OffsiteError::NotFound(name.to_owned()))
    }

    /// Adds `location` and saves the book.
    ///
    /// # Errors
    /// A bad or taken name; a failed save.
    pub fn add(&mut self, location: OffsiteLocation) -> Result<(), OffsiteError> {
        let name = &location.name;
        if !valid_name(name) {
            return Err(OffsiteError::BadName(name.clone()));
        }
        if self.locations.contains_key(name) {
            return Err(OffsiteError::Exists(name.clone()));
        }
        self.locations.insert(name.clone(), location);
        self.save()
    }

    /// Removes location `name` and saves the book.
    ///
    /// # Errors
    /// [`OffsiteError::NotFound`]; a failed save.
    pub fn remove(&mut self, name: &str) -> Result<OffsiteLocation, OffsiteError> {
        let removed = self
            .locations
            .remove(name)
            .ok_or_else(|| OffsiteError::NotFound(name.to_owned()))?;
        self.save()?;
        Ok(removed)
    }

    fn save(&self) -> Result<(), OffsiteError> {
        let failed = |e: String| OffsiteError::Book(self.path.display().to_string(), e);
        if let Some(dir) = self.path.parent() {
            ensure_private_dir(dir).map_err(|e| failed(e.to_string()))?;
        }
        let file = OffsiteFile {
            location: self.locations.values().cloned().collect(),
        };
        let text = toml::to_string_pretty(&file).map_err(|e| failed(e.to_string()))?;
        write_atomic(&self.path, text.as_bytes()).map_err(|e| failed(e.to_string()))
    }
}

/// Whether `name` may name a location (and so its ledger file): 1 to 64
/// of letters, digits, `-`, `_`, `.`, not starting with `.`.
pub(crate) fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_book_keeps_locations_and_no_secret() {
        let dir = tempfile::tempdir().unwrap();
        let mut book = OffsiteBook::load(dir.path()).unwrap();
        let location = OffsiteLocation {
            name: "cold".into(),
            installation: "dir:/opt/server-monitor".into(),
            store: OffsiteStore::S3(S3Location {
                bucket: "backups".into(),
                prefix: "m1".into(),
                endpoint: Some("http://127.0.0.1:9000".into()),
                region: "us-east-1".into(),
                path_style: true,
            }),
        };
        book.add(location.clone()).unwrap();
        assert!(matches!(
            book.add(location.clone()),
            Err(OffsiteError::Exists(_))
        ));
        let again = OffsiteBook::load(dir.path()).unwrap();
        assert_eq!(again.get("cold").unwrap(), &location);
        assert_eq!(again.of(Some("dir:/opt/server-monitor")).len(), 1);
        assert!(again.of(Some("other")).is_empty());
        let text = std::fs::read_to_string(dir.path().join("offsite.toml")).unwrap();
        assert!(text.contains("bucket = \"backups\""), "{text}");
    }
}
