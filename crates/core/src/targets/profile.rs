//! Profiles: named local installations and remote servers, kept in a TOML
//! file in the platform's config folder (`~/.config/backupdesk/profiles.toml`
//! on Linux; `BACKUPDESK_CONFIG_DIR` overrides the folder). No secret ever
//! goes in this file: passphrases, tokens and passwords live in the keychain.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::local::retention::RetentionPolicy;
use crate::publish::{ensure_private_dir, write_atomic};

/// Where a profile's backups are.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ProfileTarget {
    /// A Server Monitor data directory on this machine.
    Local {
        /// The installation root (`/opt/server-monitor`).
        data_dir: PathBuf,
    },
    /// A Server Monitor server reached over its HTTP API.
    Remote {
        /// Base URL such as `https://monitor.example.org:9083`.
        base_url: String,
        /// The admin account's user name.
        username: String,
        /// A CA certificate (PEM) for a self-signed server.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        ca_cert: Option<PathBuf>,
    },
    /// A Server Monitor on another machine, reached over SSH: Backup
    /// Desk's own engine runs there (see `targets::ssh`).
    Ssh {
        /// `user@host`, or a `Host` alias of `~/.ssh/config`.
        destination: String,
        /// A port other than the SSH config's.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        port: Option<u16>,
        /// A private key other than the agent's and the config's.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        identity: Option<PathBuf>,
        /// The installation root on the server.
        data_dir: PathBuf,
        /// Where `backupdesk` is on the server (default
        /// `.local/bin/backupdesk` in the SSH user's home).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        engine: Option<String>,
        /// The same server's HTTP API, when the admin named it too: health
        /// and storage are read through it; what decrypts or changes goes
        /// through SSH.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        api: Option<ApiEndpoint>,
    },
}

/// A Server Monitor's HTTP API, beside SSH in an SSH profile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ApiEndpoint {
    /// Base URL such as `https://monitor.example.org:9083`.
    pub base_url: String,
    /// The admin account's user name.
    pub username: String,
    /// A CA certificate (PEM) for a self-signed server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_cert: Option<PathBuf>,
}

impl ProfileTarget {
    /// The SSH host of an SSH profile.
    pub fn ssh_host(&self) -> Option<crate::targets::ssh::SshHost> {
        match self {
            ProfileTarget::Ssh {
                destination,
                port,
                identity,
                engine,
                ..
            } => Some(crate::targets::ssh::SshHost {
                destination: destination.clone(),
                port: *port,
                identity: identity.clone(),
                engine: engine.clone(),
                time_limit: None,
            }),
            _ => None,
        }
    }

    /// Where it is, for humans: a folder, a redacted URL, `ssh://…`.
    pub fn location(&self) -> String {
        match self {
            ProfileTarget::Local { data_dir } => data_dir.display().to_string(),
            ProfileTarget::Remote { base_url, .. } => crate::remote::redact(base_url),
            ProfileTarget::Ssh {
                destination,
                port,
                data_dir,
                ..
            } => match port {
                Some(port) => format!("ssh://{destination}:{port}{}", data_dir.display()),
                None => format!("ssh://{destination}{}", data_dir.display()),
            },
        }
    }
}

/// One profile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Profile {
    /// Where the backups are.
    #[serde(flatten)]
    pub target: ProfileTarget,
    /// Retention for this profile (default policy when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retention: Option<RetentionPolicy>,
    /// A backup older than this many hours is overdue.
    #[serde(default = "default_overdue_hours")]
    pub overdue_after_hours: u32,
    /// Without a passed restore drill for this many days, the fleet tile
    /// warns (a weekly drill plus a day of slack by default).
    #[serde(default = "default_drill_overdue_days")]
    pub drill_overdue_after_days: u32,
    /// For a server: how long a restore may take, then how long its
    /// database may take to settle, in seconds (default 180).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restore_timeout_secs: Option<u64>,
}

impl Profile {
    /// A profile for `target` with the default retention and the default
    /// overdue threshold (26 hours: a daily backup plus slack).
    pub fn new(target: ProfileTarget) -> Self {
        Profile {
            target,
            retention: None,
            overdue_after_hours: default_overdue_hours(),
            drill_overdue_after_days: default_drill_overdue_days(),
            restore_timeout_secs: None,
        }
    }
}

pub(crate) fn default_overdue_hours() -> u32 {
    26
}

pub(crate) fn default_drill_overdue_days() -> u32 {
    8
}

/// A local profile's folder must be a Server Monitor installation: a
/// folder holding `data/servers.db` (a file) or `data/backups/` (a
/// folder). A folder that is gone, a file, or any other folder is refused
/// with why (the profile would only ever show "unreadable").
///
/// # Errors
/// [`ProfileError::NotAnInstallation`].
pub(crate) fn check_installation(root: &std::path::Path) -> Result<(), ProfileError> {
    let refuse = |why| {
        Err(ProfileError::NotAnInstallation {
            path: crate::printable::escaped(&root.display().to_string()),
            why,
        })
    };
    match std::fs::metadata(root) {
        Err(_) => return refuse("no such folder"),
        Ok(m) if !m.is_dir() => return refuse("not a folder"),
        Ok(_) => {}
    }
    let data = crate::local::layout::DataDir::new(root);
    if data.database().is_file() || data.backups().is_dir() {
        return Ok(());
    }
    refuse("not a Server Monitor installation (no data/servers.db and no data/backups/ in it)")
}

/// Why the profile book could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    /// No profile of that name.
    #[error("no profile named '{0}' (see `backupdesk profile list`)")]
    ProfileNotFound(String),
    /// A profile of that name exists already.
    #[error("a profile named '{0}' exists already; remove it first")]
    ProfileExists(String),
    /// Names are letters, digits, `-`, `_` and `.`.
    #[error(
        "'{0}' is not a valid profile name: use letters, digits, '-', '_' and '.' (at most 64)"
    )]
    InvalidProfileName(String),
    /// A base URL that is not a usable server address.
    #[error("'{0}' is not a usable server URL: {1}")]
    InvalidUrl(String, String),
    /// A local profile's folder that is no Server Monitor installation.
    #[error("{path}: {why}; choose the folder that holds data/servers.db or data/backups/")]
    NotAnInstallation { path: String, why: &'static str },
    /// The config file is not valid TOML of the expected shape.
    #[error("{path}: {reason}")]
    MalformedConfig { path: String, reason: String },
    /// Reading or writing failed.
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

impl crate::KindedError for ProfileError {
    fn kind(&self) -> crate::ErrorKind {
        match self {
            ProfileError::ProfileNotFound(_) => crate::ErrorKind::ProfileNotFound,
            ProfileError::ProfileExists(_) => crate::ErrorKind::ProfileExists,
            ProfileError::InvalidProfileName(_) => crate::ErrorKind::InvalidProfileName,
            ProfileError::InvalidUrl(..) => crate::ErrorKind::InvalidUrl,
            ProfileError::NotAnInstallation { .. } => crate::ErrorKind::NotAnInstallation,
            ProfileError::MalformedConfig { .. } => crate::ErrorKind::MalformedConfig,
            ProfileError::Io { .. } => crate::ErrorKind::Io,
        }
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct ConfigFile {
    #[serde(default)]
    profiles: BTreeMap<String, Profile>,
}

/// All profiles and the file they live in.
#[derive(Debug)]
pub struct ProfileBook {
    path: PathBuf,
    profiles: BTreeMap<String, Profile>,
}

/// The config folder: `BACKUPDESK_CONFIG_DIR`, else the platform's.
pub fn config_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("BACKUPDESK_CONFIG_DIR") {
        return PathBuf::from(dir);
    }
    directories::ProjectDirs::from("org", "Backup Desk", "backupdesk")
        .map(|d| d.config_dir().to_path_buf())
        .unwrap_or_else(|| PathBuf::from(".backupdesk"))
}

/// Where Backup Desk keeps what it may lose without harm (the fleet cache):
/// `$BACKUPDESK_DATA_DIR`, else the config folder when
/// `$BACKUPDESK_CONFIG_DIR` is set (a test or a portable set-up keeps all
/// in one place), else the platform's data folder.
pub fn data_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("BACKUPDESK_DATA_DIR") {
        return PathBuf::from(dir);
    }
    if std::env::var_os("BACKUPDESK_CONFIG_DIR").is_some() {
        return config_dir();
    }
    directories::ProjectDirs::from("org", "Backup Desk", "backupdesk")
        .map(|d| d.data_dir().to_path_buf())
        .unwrap_or_else(|| PathBuf::from(".backupdesk"))
}

impl ProfileBook {
    /// Loads `profiles.toml` from `dir`; a missing file is an empty book.
    ///
    /// # Errors
    /// [`ProfileError::MalformedConfig`] or [`ProfileError::Io`].
    pub fn load(dir: &Path) -> Result<Self, ProfileError> {
        let path = dir.join("profiles.toml");
        let shown = path.display().to_string();
        let profiles = match crate::publish::read_config_text(&path) {
            Ok(text) => {
                toml::from_str::<ConfigFile>(&text)
                    .map_err(|e| ProfileError::MalformedConfig {
                        path: shown,
                        reason: e.to_string(),
                    })?
                    .profiles
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => BTreeMap::new(),
            Err(source) => {
                return Err(ProfileError::Io {
                    path: shown,
                    source,
                });
            }
        };
        Ok(ProfileBook { path, profiles })
    }

    /// Every profile by name.
    pub fn profiles(&self) -> &BTreeMap<String, Profile> {
        &self.profiles
    }

    /// The profile called `name`.
    ///
    /// # Errors
    /// [`ProfileError::ProfileNotFound`].
    pub fn get(&self, name: &str) -> Result<&Profile, ProfileError> {
        self.profiles
            .get(name)
            .ok_or_else(|| ProfileError::ProfileNotFound(name.to_owned()))
    }

    /// Adds a profile and saves the book.
    ///
    /// # Errors
    /// An invalid or taken name, an invalid URL, or a failed save.
    pub fn add(&mut self, name: &str, profile: Profile) -> Result<(), ProfileError> {
        let valid = !name.is_empty()
            && name.len() <= 64
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
            && !name.starts_with('.');
        if !valid {
            return Err(ProfileError::InvalidProfileName(name.to_owned()));
        }
        if self.profiles.contains_key(name) {
            return Err(ProfileError::ProfileExists(name.to_owned()));
        }
        if let ProfileTarget::Local { data_dir } = &profile.target {
            check_installation(data_dir)?;
        }
        let mut profile = profile;
        let base_url = match &mut profile.target {
            ProfileTarget::Remote { base_url, .. } => Some(base_url),
            ProfileTarget::Ssh { api: Some(api), .. } => Some(&mut api.base_url),
            _ => None,
        };
        if let Some(base_url) = base_url {
            *base_url = crate::remote::check_base_url(base_url).map_err(|reason| {
                ProfileError::InvalidUrl(crate::remote::redact(base_url), reason.to_string())
            })?;
        }
        self.profiles.insert(name.to_owned(), profile);
        self.save()
    }

    /// Removes a profile and saves the book.
    ///
    /// # Errors
    /// [`ProfileError::ProfileNotFound`] or a failed save.
    pub fn remove(&mut self, name: &str) -> Result<Profile, ProfileError> {
        let removed = self
            .profiles
            .remove(name)
            .ok_or_else(|| ProfileError::ProfileNotFound(name.to_owned()))?;
        self.save()?;
        Ok(removed)
    }

    fn save(&self) -> Result<(), ProfileError> {
        let io = |source| ProfileError::Io {
            path: self.path.display().to_string(),
            source,
        };
        if let Some(dir) = self.path.parent() {
            ensure_private_dir(dir).map_err(io)?;
        }
        let text = toml::to_string_pretty(&ConfigFile {
            profiles: self.profiles.clone(),
        })
        .expect("profiles serialize");
        write_atomic(&self.path, text.as_bytes()).map_err(io)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_folder_holding_an_installation_can_be_a_local_profile() {
        let dir = tempfile::tempdir().unwrap();
        let why = |path: &std::path::Path| match check_installation(path) {
            Err(ProfileError::NotAnInstallation { why, .. }) => why,
            other => panic!("{other:?}"),
        };
        assert_eq!(why(&dir.path().join("gone")), "no such folder");
        std::fs::write(dir.path().join("file"), b"x").unwrap();
        assert_eq!(why(&dir.path().join("file")), "not a folder");
        assert!(why(dir.path()).starts_with("not a Server Monitor installation"));
        std::fs::create_dir_all(dir.path().join("data/backups")).unwrap();
        assert!(
            check_installation(dir.path()).is_ok(),
            "data/backups/ is enough"
        );
        let other = tempfile::tempdir().unwrap();
        std::fs::create_dir(other.path().join("data")).unwrap();
        std::fs::write(other.path().join("data/servers.db"), b"").unwrap();
        assert!(
            check_installation(other.path()).is_ok(),
            "data/servers.db is enough"
        );
    }

    fn server(url: &str) -> Profile {
        Profile::new(ProfileTarget::Remote {
            base_url: url.into(),
            username: "admin".into(),
            ca_cert: None,
        })
    }

    #[test]
    fn a_saved_book_is_read_back_whole_and_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let mut book = ProfileBook::load(dir.path()).unwrap();
        assert!(book.profiles().is_empty(), "no file: an empty book");
        book.add("edge", server("https://monitor.example.org:9083/"))
            .unwrap();
        let again = ProfileBook::load(dir.path()).unwrap();
        let ProfileTarget::Remote { base_url, .. } = &again.get("edge").unwrap().target else {
            panic!("a server profile");
        };
        assert_eq!(
            base_url, "https://monitor.example.org:9083",
            "kept without its slash"
        );
        let mode = std::fs::metadata(dir.path().join("profiles.toml"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0);
    }

    #[test]
    fn names_and_urls_are_checked_before_anything_is_saved() {
        use crate::KindedError;
        let dir = tempfile::tempdir().unwrap();
        let mut book = ProfileBook::load(dir.path()).unwrap();
        for bad in ["", ".hidden", "a/b", "a b", &"x".repeat(65)] {
            let err = book.add(bad, server("https://m.example.org")).unwrap_err();
            assert_eq!(err.kind(), "invalid_profile_name", "{bad:?}");
        }
        let err = book
            .add("leaky", server("https://admin:s3cret@m.example.org"))
            .unwrap_err();
        assert_eq!(err.kind(), "invalid_url");
        assert!(!err.to_string().contains("s3cret"), "redacted: {err}");
        book.add("edge", server("https://m.example.org")).unwrap();
        let err = book
            .add("edge", server("https://n.example.org"))
            .unwrap_err();
        assert_eq!(err.kind(), "profile_exists");
        assert_eq!(book.get("nope").unwrap_err().kind(), "profile_not_found");
        assert_eq!(ProfileBook::load(dir.path()).unwrap().profiles().len(), 1);
    }

    #[test]
    fn a_damaged_book_is_named_not_taken_for_an_empty_one() {
        use crate::KindedError;
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("profiles.toml"), "[profiles.edge\nbroken").unwrap();
        let err = ProfileBook::load(dir.path()).unwrap_err();
        assert_eq!(err.kind(), "malformed_config", "{err}");
        assert!(err.to_string().contains("profiles.toml"));
    }

    #[test]
    fn a_removed_profile_is_gone_from_the_saved_book() {
        use crate::KindedError;
        let dir = tempfile::tempdir().unwrap();
        let mut book = ProfileBook::load(dir.path()).unwrap();
        book.add("edge", server("https://m.example.org")).unwrap();
        book.remove("edge").unwrap();
        assert!(ProfileBook::load(dir.path()).unwrap().profiles().is_empty());
        assert_eq!(book.remove("edge").unwrap_err().kind(), "profile_not_found");
    }
}
