//! Off-site locations of an installation and what is done with them: add
//! (keys into the keychain), list, remove, test, push, and the copies a
//! bucket holds (which needs nothing local: a machine that lost its data
//! folder lists them with the location's keys alone).

use serde::Serialize;

use crate::keychain::{Keychain, SecretKind};
use crate::local::catalog::BackupCatalog;
use crate::offsite::location::{OffsiteBook, OffsiteLocation, OffsiteStore, parse_s3_url};
use crate::offsite::s3::S3Bucket;
use crate::offsite::{OffsiteError, OffsiteKeys};
use crate::progress::Progress;
use crate::service::error::ServiceError;
use crate::service::selection::Selection;
use crate::targets::profile::config_dir;

type Result<T> = std::result::Result<T, ServiceError>;

/// An S3 location as the admin names it.
#[derive(Debug, Clone, Default)]
pub struct S3Spec {
    /// `s3://BUCKET/PREFIX`.
    pub url: String,
    pub endpoint: Option<String>,
    /// Default `us-east-1`.
    pub region: Option<String>,
    pub path_style: bool,
}

/// Where a new location's keys went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum KeysKept {
    /// In the keychain.
    Keychain,
    /// Nowhere: no keychain here (a server, cron), and they came from the
    /// environment, where every run reads them again.
    Environment,
}

/// Adds location `name` for the selection's installation, its keys kept
/// in the keychain (never in `offsite.toml`); without a keychain, keys
/// that came from the environment (`keys_from_env`) are left there.
///
/// # Errors
/// A bad URL or name, a taken name, no keys, an unusable keychain (for
/// keys that were typed).
pub fn add(
    selection: &Selection,
    name: &str,
    spec: &S3Spec,
    keys: Option<OffsiteKeys>,
    keys_from_env: bool,
) -> Result<(OffsiteLocation, KeysKept)> {
    let (bucket, prefix) = parse_s3_url(&spec.url)?;
    let location = OffsiteLocation {
        name: name.to_owned(),
        installation: selection.scope().label().to_owned(),
        store: OffsiteStore::S3 {
            bucket,
            prefix,
            endpoint: spec.endpoint.clone(),
            region: spec
                .region
                .clone()
                .unwrap_or_else(|| "us-east-1".to_owned()),
            path_style: spec.path_style,
        },
    };
    let mut book = OffsiteBook::load(&config_dir())?;
    if book.get(name).is_ok() {
        return Err(OffsiteError::Exists(name.to_owned()).into());
    }
    let keys = keys.ok_or_else(|| OffsiteError::NoKeys(name.to_owned()))?;
    let kept = match Keychain::open() {
        Ok(keychain) => {
            keychain.set(
                &location.keychain_scope(),
                SecretKind::OffsiteKeyId,
                &keys.key_id,
            )?;
            keychain.set(
                &location.keychain_scope(),
                SecretKind::OffsiteSecret,
                &keys.secret,
            )?;
            KeysKept::Keychain
        }
        Err(_) if keys_from_env => KeysKept::Environment,
        Err(e) => return Err(e.into()),
    };
    book.add(location.clone())?;
    Ok((location, kept))
}

/// The locations of the selection's installation (every one when `None`).
///
/// # Errors
/// A damaged `offsite.toml`.
pub fn locations(selection: Option<&Selection>) -> Result<Vec<OffsiteLocation>> {
    let book = OffsiteBook::load(&config_dir())?;
    Ok(book
        .of(selection.map(|s| s.scope().label()))
        .into_iter()
        .cloned()
        .collect())
}

/// Location `name`.
///
/// # Errors
/// No such location; a damaged `offsite.toml`.
pub fn location(name: &str) -> Result<OffsiteLocation> {
    Ok(OffsiteBook::load(&config_dir())?.get(name)?.clone())
}

/// Removes location `name` and forgets its keys (the copies stay).
///
/// # Errors
/// No such location; a failed save.
pub fn remove(name: &str) -> Result<OffsiteLocation> {
    let removed = OffsiteBook::load(&config_dir())?.remove(name)?;
    if let Ok(keychain) = Keychain::open() {
        let _ = keychain.forget(&removed.keychain_scope(), SecretKind::OffsiteKeyId);
        let _ = keychain.forget(&removed.keychain_scope(), SecretKind::OffsiteSecret);
    }
    Ok(removed)
}

/// The keys of `location`: from the keychain, else (a server without one,
/// cron) from `$AWS_ACCESS_KEY_ID` and `$AWS_SECRET_ACCESS_KEY`.
///
/// # Errors
/// [`OffsiteError::NoKeys`] when neither has them.
pub fn keys(location: &OffsiteLocation) -> Result<OffsiteKeys> {
    let scope = location.keychain_scope();
    let stored = Keychain::open().ok().and_then(|k| {
        let key_id = k.get(&scope, SecretKind::OffsiteKeyId).ok().flatten()?;
        let secret = k.get(&scope, SecretKind::OffsiteSecret).ok().flatten()?;
        Some(OffsiteKeys {
            key_id: key_id.to_string(),
            secret: secret.to_string(),
        })
    });
    stored
        .or_else(|| {
            Some(OffsiteKeys {
                key_id: std::env::var("AWS_ACCESS_KEY_ID").ok()?,
                secret: std::env::var("AWS_SECRET_ACCESS_KEY").ok()?,
            })
        })
        .ok_or_else(|| OffsiteError::NoKeys(location.name.clone()).into())
}

/// A client for `location`'s bucket.
///
/// # Errors
/// No keys; no runtime.
pub fn bucket(location: &OffsiteLocation) -> Result<S3Bucket> {
    let keys = keys(location)?;
    let OffsiteStore::S3 {
        bucket,
        prefix,
        endpoint,
        region,
        path_style,
    } = &location.store;
    Ok(S3Bucket::new(
        bucket,
        prefix,
        endpoint.as_deref(),
        region,
        *path_style,
        &keys,
    )?)
}

/// What `offsite test` found: each step in order; the first that failed
/// ends it with its error.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct LocationTest {
    pub location: String,
    pub listed: bool,
    pub wrote: bool,
    pub read_back: bool,
    pub deleted: bool,
    /// The probe the key was not allowed to delete (a push-only key).
    pub probe_left: Option<String>,
}

/// Reaches location `name`, lists it, writes a probe, reads it back and
/// compares, deletes it where the key may (a push-only key may not: the
/// probe is then left and named).
///
/// # Errors
/// The first step's failure.
pub fn test(name: &str) -> Result<LocationTest> {
    let location = location(name)?;
    let bucket = bucket(&location)?;
    let mut report = LocationTest {
        location: name.to_owned(),
        listed: false,
        wrote: false,
        read_back: false,
        deleted: false,
        probe_left: None,
    };
    bucket.list()?;
    report.listed = true;
    let probe_name = format!(
        ".backupdesk-probe-{}-{}",
        std::process::id(),
        chrono::Utc::now().timestamp_millis()
    );
    let probe: Vec<u8> = format!("Backup Desk probe {probe_name}\n").into_bytes();
    bucket.put_bytes(&probe_name, &probe)?;
    report.wrote = true;
    let scratch = tempfile::tempdir()
        .map_err(|e| OffsiteError::Local("a scratch folder".into(), e.to_string()))?;
    let back = scratch.path().join("probe");
    bucket.download(&probe_name, &back, &crate::progress::NoProgress)?;
    report.read_back = std::fs::read(&back).is_ok_and(|b| b == probe);
    if !report.read_back {
        return Err(OffsiteError::Failed(format!(
            "{name}: the probe read back differs from what was written"
        ))
        .into());
    }
    // A push-only key may not delete: then the probe stays, and says so.
    match bucket.delete(&probe_name) {
        Ok(()) => report.deleted = true,
        Err(OffsiteError::Denied { .. }) => report.probe_left = Some(probe_name),
        Err(e) => return Err(e.into()),
    }
    Ok(report)
}

/// One file a push copied.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Copied {
    pub name: String,
    pub size: u64,
    /// The SHA-256 the store confirmed (composite for a multipart copy).
    pub checksum_sha256: String,
    pub parts_sent: u32,
    /// Parts a cut-off earlier push had sent already.
    pub parts_kept: u32,
}

/// What a push did at one location.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct PushReport {
    pub location: String,
    pub copied: Vec<Copied>,
    /// Files the store held already (same name and size).
    pub present: Vec<String>,
}

/// Copies every backup (`.gpg`) and its `.meta` of the selection's
/// installation not yet at the location(s), byte for byte: one listing
/// per location, then one multipart upload per missing file, each part's
/// and the whole file's SHA-256 confirmed by the store. A push cut off
/// earlier resumes where the store's parts end.
///
/// # Errors
/// Not a local installation; no such location; the store's refusals.
pub fn push(
    selection: &Selection,
    only: Option<&str>,
    progress: &dyn Progress,
) -> Result<Vec<PushReport>> {
    let data = selection.installation()?;
    let targets: Vec<OffsiteLocation> = match only {
        Some(name) => vec![location(name)?],
        None => locations(Some(selection))?,
    };
    let catalog = BackupCatalog::scan(data)?;
    let mut files = Vec::new();
    for entry in catalog.entries() {
        if entry.name.file_name().ends_with(".gpg") {
            if let Some(meta) = entry.name.meta_name() {
                let path = data.backup_file(&meta);
                if path.is_file() {
                    files.push((meta, path));
                }
            }
            files.push((entry.name.file_name().to_owned(), entry.path.clone()));
        }
    }
    let mut reports = Vec::new();
    for location in targets {
        let bucket = bucket(&location)?;
        let there = bucket.list()?;
        let mut report = PushReport {
            location: location.name.clone(),
            copied: Vec::new(),
            present: Vec::new(),
        };
        for (name, path) in &files {
            let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
            if there.iter().any(|(n, s)| n == name && *s == size) {
                report.present.push(name.clone());
                continue;
            }
            let uploaded = bucket.upload_file(name, path, progress)?;
            report.copied.push(Copied {
                name: name.clone(),
                size: uploaded.size,
                checksum_sha256: uploaded.checksum_sha256,
                parts_sent: uploaded.parts_sent,
                parts_kept: uploaded.parts_kept,
            });
        }
        reports.push(report);
    }
    Ok(reports)
}

/// A copy in a location's store.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct StoredCopy {
    pub name: String,
    pub size: u64,
}

/// What location `name` holds (backups and `.meta` files), read from the
/// store alone.
///
/// # Errors
/// No such location; no keys; the store's refusals.
pub fn copies(name: &str) -> Result<Vec<StoredCopy>> {
    let location = location(name)?;
    Ok(bucket(&location)?
        .list()?
        .into_iter()
        .filter(|(n, _)| !n.starts_with(".backupdesk-probe-"))
        .map(|(name, size)| StoredCopy { name, size })
        .collect())
}

/// What [`fetch`] brought back.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Fetched {
    pub location: String,
    /// The backup (and its `.meta`, when the store has one) now in the
    /// installation's backups folder.
    pub backup: String,
    pub meta: Option<String>,
    /// Already here with the same size: not downloaded again.
    pub already_here: bool,
}

/// Brings backup `name` (default: the newest the location holds) and its
/// `.meta` from location `location` into the selection's backups folder,
/// making the installation's folders when they are absent (a machine that
/// lost them): each file downloaded beside its place and renamed, so a
/// half-fetched backup is never listed. The restore that follows checks it
/// against its `.meta` (size, SHA-256, `integrity_check`) as any other.
///
/// # Errors
/// No such location or backup there; the store's refusals; the folder
/// cannot be written.
pub fn fetch(
    selection: &Selection,
    location: &str,
    name: Option<&str>,
    progress: &dyn Progress,
) -> Result<Fetched> {
    use crate::format::name::BackupName;
    let Some(data) = selection.data_dir_unchecked() else {
        return Err(selection.installation().err().unwrap_or_else(|| {
            OffsiteError::Failed("no local installation to fetch into".into()).into()
        }));
    };
    let spot = self::location(location)?;
    let bucket = bucket(&spot)?;
    let held = bucket.list()?;
    let name = match name {
        Some(name) => name.to_owned(),
        None => held
            .iter()
            .map(|(n, _)| n)
            .filter(|n| n.ends_with(".gpg") && BackupName::parse(n).is_ok())
            .max()
            .cloned()
            .ok_or_else(|| OffsiteError::Failed(format!("{location} holds no backup")))?,
    };
    let parsed = BackupName::parse(&name).map_err(crate::local::catalog::CatalogError::from)?;
    let Some((_, size)) = held.iter().find(|(n, _)| *n == name) else {
        return Err(crate::local::catalog::CatalogError::BackupNotFound(format!(
            "{name} (at {location})"
        ))
        .into());
    };
    let folder = data.backups();
    crate::publish::ensure_private_dir(&folder)
        .map_err(|e| OffsiteError::Local(folder.display().to_string(), e.to_string()))?;
    let mut wanted = vec![(name.clone(), *size)];
    let meta = parsed
        .meta_name()
        .filter(|m| held.iter().any(|(n, _)| n == m));
    if let Some(meta) = &meta {
        let meta_size = held
            .iter()
            .find(|(n, _)| n == meta)
            .map(|(_, s)| *s)
            .unwrap_or(0);
        wanted.insert(0, (meta.clone(), meta_size));
    }
    let mut already_here = true;
    for (file, size) in wanted {
        let dest = data.backup_file(&file);
        if std::fs::metadata(&dest).is_ok_and(|m| m.len() == size) {
            continue;
        }
        already_here = false;
        let part = folder.join(format!(".{file}.fetching"));
        bucket.download(&file, &part, progress)?;
        std::fs::rename(&part, &dest)
            .map_err(|e| OffsiteError::Local(dest.display().to_string(), e.to_string()))?;
    }
    let _ = crate::publish::sync_dir(&folder);
    Ok(Fetched {
        location: location.to_owned(),
        backup: name,
        meta,
        already_here,
    })
}
