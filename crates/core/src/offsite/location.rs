//! Off-site locations: where an installation's backups are copied, kept
//! in `offsite.toml` in the config folder (never a secret: keys live in
//! the keychain, under the location's scope).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::offsite::OffsiteError;
use crate::publish::{ensure_private_dir, write_atomic};

/// Where the copies go.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum OffsiteStore {
    /// An S3-compatible bucket (AWS, MinIO, Ceph, Garage, B2, Wasabi…).
    S3 {
        bucket: String,
        /// Key prefix inside the bucket (no leading or trailing `/`; may
        /// be empty).
        prefix: String,
        /// Another endpoint than AWS's (`https://minio.example.org:9000`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        endpoint: Option<String>,
        region: String,
        /// Path-style addressing (`endpoint/bucket/key`), which most
        /// self-hosted stores want.
        #[serde(default)]
        path_style: bool,
    },
    /// A folder on an SSH host, reached over SFTP (system OpenSSH); its
    /// host key is pinned when the location is added.
    Sftp {
        /// `user@host` (or a `Host` alias of the SSH config).
        destination: String,
        /// The folder (absolute, or relative to the login's home).
        path: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        port: Option<u16>,
        /// A private key other than the agent's and the config's.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        identity: Option<PathBuf>,
    },
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
        format!("offsite:{}", self.name)
    }

    /// `s3://bucket/prefix` (and the endpoint, when not AWS's).
    pub fn describe(&self) -> String {
        match &self.store {
            OffsiteStore::S3 {
                bucket,
                prefix,
                endpoint,
                ..
            } => {
                let url = format!("s3://{bucket}/{prefix}");
                match endpoint {
                    Some(e) => format!("{url} at {e}"),
                    None => url,
                }
            }
            OffsiteStore::Sftp {
                destination,
                path,
                port,
                ..
            } => match port {
                Some(port) => format!("sftp://{destination}:{port}{}", slash(path)),
                None => format!("sftp://{destination}{}", slash(path)),
            },
        }
    }
}

fn slash(path: &str) -> String {
    if path.starts_with('/') {
        path.to_owned()
    } else {
        format!("/~/{path}")
    }
}

/// `USER@HOST:/PATH` (or `HOST:PATH`, a path relative to the login's
/// home) split into destination and folder.
///
/// # Errors
/// [`OffsiteError::BadUrl`] for anything else.
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

/// `s3://BUCKET/PREFIX` split into bucket and prefix.
///
/// # Errors
/// [`OffsiteError::BadUrl`] for anything else.
pub fn parse_s3_url(url: &str) -> Result<(String, String), OffsiteError> {
    let bad = |why: &str| OffsiteError::BadUrl(url.to_owned(), why.to_owned());
    let rest = url
        .strip_prefix("s3://")
        .ok_or_else(|| bad("it does not start with s3://"))?;
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    let valid_bucket = (3..=63).contains(&bucket.len())
        && bucket
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
        && !bucket.starts_with(['-', '.'])
        && !bucket.ends_with(['-', '.']);
    if !valid_bucket {
        return Err(bad(
            "a bucket name is 3 to 63 lowercase letters, digits, '-' and '.'",
        ));
    }
    let prefix = prefix.trim_matches('/');
    if prefix.split('/').any(|p| p == ".." || p == ".") {
        return Err(bad("the prefix may not hold '.' or '..' segments"));
    }
    Ok((bucket.to_owned(), prefix.to_owned()))
}

/// Every off-site location, by name, as saved in `offsite.toml`.
#[derive(Debug, Clone, Default)]
pub struct OffsiteBook {
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
pub fn valid_name(name: &str) -> bool {
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
    fn s3_urls_are_split_and_checked() {
        assert_eq!(
            parse_s3_url("s3://backups/monitor-1/").unwrap(),
            ("backups".into(), "monitor-1".into())
        );
        assert_eq!(
            parse_s3_url("s3://my.bucket-2").unwrap(),
            ("my.bucket-2".into(), String::new())
        );
        for bad in [
            "backups/x",
            "s3://B/x",
            "s3://ab/x",
            "s3://ok-bucket/../x",
            "s3://-x-y/z",
        ] {
            assert!(parse_s3_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_book_keeps_locations_and_no_secret() {
        let dir = tempfile::tempdir().unwrap();
        let mut book = OffsiteBook::load(dir.path()).unwrap();
        let location = OffsiteLocation {
            name: "cold".into(),
            installation: "dir:/opt/server-monitor".into(),
            store: OffsiteStore::S3 {
                bucket: "backups".into(),
                prefix: "m1".into(),
                endpoint: Some("http://127.0.0.1:9000".into()),
                region: "us-east-1".into(),
                path_style: true,
            },
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
