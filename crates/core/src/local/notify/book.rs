//! An installation's notifiers (issue 31): their names, kinds and what
//! they are told, in `data/.backupdesk/notifiers.json`; each one's URL
//! (tokens live in URLs) or SMTP URL is a secret: kept in the keychain
//! where there is one, else in `data/.backupdesk/notifier-secrets.json`
//! (0600, beside the installation's other private files: a server's
//! scheduled jobs have no keychain). Never in a log or an output: shown
//! redacted ([`redacted`]).

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::context::SecretStore;
use crate::keychain::SecretKind;
use crate::local::layout::DataDir;
use crate::publish::{ensure_private_dir, read_config_text, write_atomic};

/// How a notifier is reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum NotifierKind {
    /// An ntfy topic URL: a POST of the message, its title and priority
    /// in headers.
    Ntfy,
    /// A URL that gets a POST of the event as JSON ([`super::Event`]).
    Webhook,
    /// A healthchecks.io-style check URL (Uptime Kuma's push URLs work
    /// too): `URL/start` when a job starts, `URL` when the whole proof
    /// holds, `URL/fail` with why when a link of it broke.
    Ping,
}

/// What a notifier is told.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum NotifyOn {
    /// Only when something breaks.
    Failures,
    /// When something breaks and when it is back to normal (once each).
    #[default]
    Changes,
    /// Changes, and every job that went well.
    All,
}

/// Where a notifier's secret is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum KeptIn {
    Keychain,
    File,
}

/// One notifier, as listed (no secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Notifier {
    pub name: String,
    pub kind: NotifierKind,
    pub on: NotifyOn,
    /// Its URL redacted: scheme and host only.
    pub shown: String,
    pub kept_in: KeptIn,
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Book {
    version: u32,
    notifiers: Vec<Notifier>,
}

/// Why the notifiers could not be read or changed.
#[derive(Debug, thiserror::Error)]
pub enum NotifyBookError {
    #[error("{path} cannot be read as the notifiers ({why}); fix or remove it")]
    Damaged { path: String, why: String },
    #[error("{0}: {1}")]
    Io(String, #[source] std::io::Error),
    #[error("a notifier's name is 1 to 40 letters, digits, '-', '_' or '.' (not {0:?})")]
    BadName(String),
    #[error("there is a notifier called {0} already: remove it first")]
    Exists(String),
    #[error("no notifier called {0}")]
    Unknown(String),
    #[error("{0} is no http(s) URL")]
    BadUrl(String),
    #[error("the secret of notifier {name} cannot be kept: {why}")]
    Secret { name: String, why: String },
}

impl crate::KindedError for NotifyBookError {
    fn kind(&self) -> crate::ErrorKind {
        use crate::ErrorKind;
        match self {
            NotifyBookError::Damaged { .. } => ErrorKind::MalformedConfig,
            NotifyBookError::Io(..) | NotifyBookError::Secret { .. } => ErrorKind::Io,
            NotifyBookError::BadName(_) => ErrorKind::InvalidName,
            NotifyBookError::BadUrl(_) => ErrorKind::InvalidUrl,
            NotifyBookError::Exists(_) => ErrorKind::NotifierExists,
            NotifyBookError::Unknown(_) => ErrorKind::NotifierNotFound,
        }
    }
}

fn book_path(data: &DataDir) -> PathBuf {
    data.state().join("notifiers.json")
}

fn secrets_path(data: &DataDir) -> PathBuf {
    data.state().join("notifier-secrets.json")
}

/// The keychain entry of a notifier's secret.
fn scope(data: &DataDir, name: &str) -> String {
    format!("notifier:{}:{name}", data.root().display())
}

/// `url` with only its scheme and host: `https://ntfy.example.org/…`.
pub fn redacted(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(u) => format!(
            "{}://{}{}/…",
            u.scheme(),
            u.host_str().unwrap_or("?"),
            u.port().map(|p| format!(":{p}")).unwrap_or_default()
        ),
        Err(_) => "(a URL)".to_owned(),
    }
}

/// The notifiers of the installation at `data` (none when it has no file).
///
/// # Errors
/// A file that cannot be read as the notifiers.
pub fn list(data: &DataDir) -> Result<Vec<Notifier>, NotifyBookError> {
    Ok(read_book(data)?.notifiers)
}

fn read_book(data: &DataDir) -> Result<Book, NotifyBookError> {
    let path = book_path(data);
    let text = match read_config_text(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Book::default()),
        Err(e) => return Err(NotifyBookError::Io(path.display().to_string(), e)),
    };
    serde_json::from_str(&text).map_err(|e| NotifyBookError::Damaged {
        path: path.display().to_string(),
        why: e.to_string(),
    })
}

fn write_book(data: &DataDir, book: &Book) -> Result<(), NotifyBookError> {
    let path = book_path(data);
    let io = |e| NotifyBookError::Io(path.display().to_string(), e);
    ensure_private_dir(&data.state()).map_err(io)?;
    let text = serde_json::to_string_pretty(book).expect("the book serializes");
    write_atomic(&path, text.as_bytes()).map_err(io)
}

/// Adds notifier `name` reaching `url`; its URL kept in `secrets` when
/// that store is reachable, else in the private file.
///
/// # Errors
/// A bad name or URL, a name taken, a store or file that cannot keep it.
pub fn add(
    data: &DataDir,
    name: &str,
    kind: NotifierKind,
    on: NotifyOn,
    url: &str,
    secrets: &dyn SecretStore,
) -> Result<Notifier, NotifyBookError> {
    let valid = !name.is_empty()
        && name.len() <= 40
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if !valid {
        return Err(NotifyBookError::BadName(name.to_owned()));
    }
    let parsed = reqwest::Url::parse(url.trim()).ok();
    if !parsed.is_some_and(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some()) {
        return Err(NotifyBookError::BadUrl(redacted(url)));
    }
    let mut book = read_book(data)?;
    if book.notifiers.iter().any(|n| n.name == name) {
        return Err(NotifyBookError::Exists(name.to_owned()));
    }
    let kept_in = keep_secret(data, name, url.trim(), secrets)?;
    let notifier = Notifier {
        name: name.to_owned(),
        kind,
        on,
        shown: redacted(url),
        kept_in,
    };
    book.version = 1;
    book.notifiers.push(notifier.clone());
    write_book(data, &book)?;
    Ok(notifier)
}

/// Removes notifier `name` and its secret.
///
/// # Errors
/// No such notifier; the files cannot be written.
pub fn remove(
    data: &DataDir,
    name: &str,
    secrets: &dyn SecretStore,
) -> Result<(), NotifyBookError> {
    let mut book = read_book(data)?;
    let before = book.notifiers.len();
    book.notifiers.retain(|n| n.name != name);
    if book.notifiers.len() == before {
        return Err(NotifyBookError::Unknown(name.to_owned()));
    }
    write_book(data, &book)?;
    let _ = secrets.forget(&scope(data, name), SecretKind::NotifierUrl);
    let mut file = read_secret_file(data)?;
    if file.remove(name).is_some() {
        write_secret_file(data, &file)?;
    }
    Ok(())
}

/// The URL of `notifier`, from where it is kept.
///
/// # Errors
/// The store or the file cannot give it.
pub fn secret_of(
    data: &DataDir,
    notifier: &Notifier,
    secrets: &dyn SecretStore,
) -> Result<zeroize::Zeroizing<String>, NotifyBookError> {
    let missing = |why: String| NotifyBookError::Secret {
        name: notifier.name.clone(),
        why,
    };
    match notifier.kept_in {
        KeptIn::Keychain => secrets
            .get(&scope(data, &notifier.name), SecretKind::NotifierUrl)
            .map_err(|e| missing(e.to_string()))?
            .ok_or_else(|| missing("it is not in the keychain".to_owned())),
        KeptIn::File => read_secret_file(data)?
            .remove(&notifier.name)
            .map(zeroize::Zeroizing::new)
            .ok_or_else(|| missing("it is not in the private file".to_owned())),
    }
}

fn keep_secret(
    data: &DataDir,
    name: &str,
    url: &str,
    secrets: &dyn SecretStore,
) -> Result<KeptIn, NotifyBookError> {
    if secrets.reachable().is_ok()
        && secrets
            .set(&scope(data, name), SecretKind::NotifierUrl, url)
            .is_ok()
    {
        return Ok(KeptIn::Keychain);
    }
    let mut file = read_secret_file(data)?;
    file.insert(name.to_owned(), url.to_owned());
    write_secret_file(data, &file)?;
    Ok(KeptIn::File)
}

fn read_secret_file(data: &DataDir) -> Result<BTreeMap<String, String>, NotifyBookError> {
    let path = secrets_path(data);
    match read_config_text(&path) {
        Ok(text) => serde_json::from_str(&text).map_err(|e| NotifyBookError::Damaged {
            path: path.display().to_string(),
            why: e.to_string(),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(BTreeMap::new()),
        Err(e) => Err(NotifyBookError::Io(path.display().to_string(), e)),
    }
}

fn write_secret_file(
    data: &DataDir,
    file: &BTreeMap<String, String>,
) -> Result<(), NotifyBookError> {
    let path = secrets_path(data);
    let io = |e| NotifyBookError::Io(path.display().to_string(), e);
    ensure_private_dir(&data.state()).map_err(io)?;
    let text = zeroize::Zeroizing::new(serde_json::to_string(file).expect("serializes"));
    // (write_atomic writes 0600.)
    write_atomic(&path, text.as_bytes()).map_err(io)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keychain::KeychainError;
    use zeroize::Zeroizing;

    /// A machine with no keychain (a server's scheduled job).
    struct NoKeychain;
    impl SecretStore for NoKeychain {
        fn get(&self, _: &str, _: SecretKind) -> Result<Option<Zeroizing<String>>, KeychainError> {
            Err(KeychainError::Keychain("none".into()))
        }
        fn set(&self, _: &str, _: SecretKind, _: &str) -> Result<(), KeychainError> {
            Err(KeychainError::Keychain("none".into()))
        }
        fn forget(&self, _: &str, _: SecretKind) -> Result<bool, KeychainError> {
            Ok(false)
        }
        fn reachable(&self) -> Result<(), KeychainError> {
            Err(KeychainError::Keychain("none".into()))
        }
    }
    const NO_SECRETS: NoKeychain = NoKeychain;

    #[test]
    fn a_url_is_kept_apart_and_shown_redacted() {
        let dir = tempfile::tempdir().unwrap();
        let data = DataDir::new(dir.path());
        let url = "https://ntfy.example.org/backups-7f3a9c?auth=tok";
        let added = add(
            &data,
            "ops",
            NotifierKind::Ntfy,
            NotifyOn::Changes,
            url,
            &NO_SECRETS,
        )
        .unwrap();
        assert_eq!(added.shown, "https://ntfy.example.org/…");
        assert_eq!(added.kept_in, KeptIn::File);
        let book = std::fs::read_to_string(book_path(&data)).unwrap();
        assert!(!book.contains("7f3a9c") && !book.contains("tok"), "{book}");
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(secrets_path(&data))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(*secret_of(&data, &added, &NO_SECRETS).unwrap(), url);
        assert!(matches!(
            add(
                &data,
                "ops",
                NotifierKind::Ping,
                NotifyOn::All,
                url,
                &NO_SECRETS
            ),
            Err(NotifyBookError::Exists(_))
        ));
        for bad in ["", "a b", "../x"] {
            assert!(
                add(
                    &data,
                    bad,
                    NotifierKind::Ping,
                    NotifyOn::All,
                    url,
                    &NO_SECRETS
                )
                .is_err()
            );
        }
        assert!(
            add(
                &data,
                "x",
                NotifierKind::Ping,
                NotifyOn::All,
                "ftp://h/x",
                &NO_SECRETS
            )
            .is_err()
        );
        remove(&data, "ops", &NO_SECRETS).unwrap();
        assert!(list(&data).unwrap().is_empty());
        assert!(
            !std::fs::read_to_string(secrets_path(&data))
                .unwrap()
                .contains("7f3a9c")
        );
    }
}
