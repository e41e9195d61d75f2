//! Keys for a machine without a keychain (a server, a scheduled job): the
//! AWS shared credentials file every S3 tool reads, `~/.aws/credentials`
//! (or `$AWS_SHARED_CREDENTIALS_FILE`), the admin's own root-only file.
//! Backup Desk only reads it, never writes it. A location `NAME` takes the
//! profile `[backupdesk-NAME]`, else `[default]`.
//!
//! Invariant: a file others may read is refused (the keys would be known
//! to every local account), as a passphrase file is.

use std::path::{Path, PathBuf};

use crate::offsite::OffsiteKeys;

/// Why the credentials file gave no keys.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum CredentialsError {
    /// The file is readable or writable by others than its owner.
    #[error(
        "{path} is open to other accounts (mode {mode:04o}): its keys are not used; make it \
         private with `chmod 600 {path}`"
    )]
    NotPrivate { path: String, mode: u32 },
    /// The file exists but cannot be read.
    #[error("{path} cannot be read: {reason}")]
    Unreadable { path: String, reason: String },
}

/// The profile names tried for location `location`, in order.
pub(crate) fn profiles_for(location: &str) -> [String; 2] {
    [format!("backupdesk-{location}"), "default".to_owned()]
}

/// The keys of `location` in the credentials file `text` (INI: `[profile]`
/// sections of `aws_access_key_id = …` and `aws_secret_access_key = …`).
pub fn parse(text: &str, location: &str) -> Option<OffsiteKeys> {
    profiles_for(location)
        .iter()
        .find_map(|profile| section_keys(text, profile))
}

fn section_keys(text: &str, profile: &str) -> Option<OffsiteKeys> {
    let mut inside = false;
    let (mut key_id, mut secret) = (None, None);
    for line in text.lines().map(str::trim) {
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            inside = name.trim() == profile;
            continue;
        }
        if !inside || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some((key, value)) = line.split_once('=') {
            let value = value.trim().to_owned();
            match key.trim().to_ascii_lowercase().as_str() {
                "aws_access_key_id" => key_id = Some(value),
                "aws_secret_access_key" => secret = Some(value),
                _ => {}
            }
        }
    }
    match (key_id, secret) {
        (Some(key_id), Some(secret)) if !key_id.is_empty() && !secret.is_empty() => {
            Some(OffsiteKeys { key_id, secret })
        }
        _ => None,
    }
}

/// The credentials files looked at, in order: `$AWS_SHARED_CREDENTIALS_FILE`
/// alone when set; else `$HOME/.aws/credentials`, then the account's own
/// home's (from the password database: a systemd unit may run without
/// `$HOME`).
pub(crate) fn candidates() -> Vec<PathBuf> {
    if let Some(file) = std::env::var_os("AWS_SHARED_CREDENTIALS_FILE") {
        return vec![PathBuf::from(file)];
    }
    let mut homes: Vec<PathBuf> = std::env::var_os("HOME")
        .map(PathBuf::from)
        .into_iter()
        .collect();
    if let Some(home) = account_home()
        && !homes.contains(&home)
    {
        homes.push(home);
    }
    homes
        .into_iter()
        .map(|h| h.join(".aws").join("credentials"))
        .collect()
}

/// This account's home in the password database.
fn account_home() -> Option<PathBuf> {
    let uid = rustix::process::getuid().as_raw().to_string();
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|line| {
        let fields: Vec<&str> = line.split(':').collect();
        (fields.len() >= 7 && fields[2] == uid).then(|| PathBuf::from(fields[5]))
    })
}

/// The keys of `location` from the first credentials file that exists.
///
/// # Errors
/// The file is open to others, or cannot be read.
pub(crate) fn keys_for(location: &str) -> Result<Option<OffsiteKeys>, CredentialsError> {
    for path in candidates() {
        match read_private(&path)? {
            Some(text) => return Ok(parse(&text, location)),
            None => continue,
        }
    }
    Ok(None)
}

/// The text of `path` when it exists (`None` when it does not); refused
/// when others may read or write it.
fn read_private(path: &Path) -> Result<Option<String>, CredentialsError> {
    use std::os::unix::fs::MetadataExt;
    let shown = path.display().to_string();
    let meta = match std::fs::metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(CredentialsError::Unreadable {
                path: shown,
                reason: e.to_string(),
            });
        }
    };
    let mode = meta.mode() & 0o7777;
    if mode & 0o077 != 0 {
        return Err(CredentialsError::NotPrivate { path: shown, mode });
    }
    let text =
        crate::publish::read_config_text(path).map_err(|e| CredentialsError::Unreadable {
            path: shown,
            reason: e.to_string(),
        })?;
    Ok(Some(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "\
# the admin's file
[default]
aws_access_key_id = AKIADEFAULT
aws_secret_access_key = default/secret

[backupdesk-cold]
AWS_ACCESS_KEY_ID=AKIACOLD
aws_secret_access_key=cold+secret=with=equals
region = eu-west-1

[other]
aws_access_key_id = AKIAOTHER
";

    #[test]
    fn a_location_takes_its_own_profile_else_the_default() {
        let cold = parse(FILE, "cold").unwrap();
        assert_eq!(cold.key_id, "AKIACOLD");
        assert_eq!(cold.secret, "cold+secret=with=equals");
        let warm = parse(FILE, "warm").unwrap();
        assert_eq!(warm.key_id, "AKIADEFAULT");
        assert_eq!(warm.secret, "default/secret");
    }

    #[test]
    fn a_profile_without_both_keys_gives_none() {
        assert!(parse("[other]\naws_access_key_id = AKIAOTHER\n", "x").is_none());
        assert!(parse("", "x").is_none());
        assert!(
            parse(
                "[default]\naws_access_key_id =\naws_secret_access_key = s\n",
                "x"
            )
            .is_none()
        );
    }

    #[test]
    fn a_file_others_can_read_is_refused_and_a_missing_one_is_none() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("credentials");
        assert_eq!(read_private(&path), Ok(None));
        std::fs::write(&path, FILE).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(matches!(
            read_private(&path),
            Err(CredentialsError::NotPrivate { mode: 0o644, .. })
        ));
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(read_private(&path).unwrap().as_deref(), Some(FILE));
    }
}
