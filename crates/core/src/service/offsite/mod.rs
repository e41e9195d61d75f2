//! Off-site locations of an installation and what is done with them: add
//! (keys into the keychain), list, remove, test, push, and the copies a
//! bucket holds (which needs nothing local: a machine that lost its data
//! folder lists them with the location's keys alone).

use serde::Serialize;

mod fetch;
mod overview;
mod prune;
mod push;
mod verify;

pub use fetch::{Fetched, StoredCopy, copies, fetch};
pub use overview::{CopyState, LocationOverview, overview};
pub use prune::{CopyFate, OffsitePrune, PruneCopy, prune};
pub use push::{Copied, LockSet, PushOptions, PushReport, push};
pub use verify::{CopyVerdict, DeepScope, OFFSITE_CYCLE, OffsiteVerify, verify};

use crate::context::{OperationContext, SecretStore};
use crate::keychain::SecretKind;
use crate::offsite::location::{OffsiteBook, OffsiteLocation, OffsiteStore};
use crate::offsite::s3::S3Location;
use crate::offsite::sftp::SftpLocation;
use crate::offsite::store::CopyStore;
use crate::offsite::{OffsiteError, OffsiteKeys};
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
    /// None needed: an SFTP location logs in with an SSH key (the agent's,
    /// the SSH config's or `--identity`).
    SshKey,
}

/// An SFTP location as the admin names it.
#[derive(Debug, Clone, Default)]
pub struct SftpSpec {
    /// `USER@HOST:/PATH`.
    pub target: String,
    pub port: Option<u16>,
    pub identity: Option<std::path::PathBuf>,
    /// The passphrase of that key, for the keychain (ssh is handed it
    /// when it asks; without it, a key with a passphrase needs the agent).
    pub key_passphrase: Option<zeroize::Zeroizing<String>>,
}

/// Where a new location is.
#[derive(Debug, Clone)]
pub enum StoreSpec {
    S3(S3Spec),
    Sftp(SftpSpec),
}

/// Adds location `name` for the selection's installation. An S3
/// location's keys go to the keychain (never to `offsite.toml`); without a
/// keychain, keys that came from the environment (`keys_from_env`) are
/// left there. An SFTP location is reached once, which pins its host key.
///
/// # Errors
/// A bad URL or name, a taken name, no keys, an unusable keychain (for
/// keys that were typed); an SFTP host that cannot be reached or logged in.
pub fn add(
    selection: &Selection,
    name: &str,
    spec: &StoreSpec,
    keys: Option<OffsiteKeys>,
    keys_from_env: bool,
    ctx: &OperationContext<'_>,
) -> Result<(OffsiteLocation, KeysKept)> {
    let location = OffsiteLocation {
        name: name.to_owned(),
        installation: selection.scope().label().to_owned(),
        store: store_of(spec)?,
    };
    let mut book = OffsiteBook::load(&config_dir())?;
    if book.get(name).is_ok() {
        return Err(OffsiteError::Exists(name.to_owned()).into());
    }
    if let StoreSpec::Sftp(sftp) = spec {
        reach_sftp(&location, sftp.key_passphrase.as_ref(), ctx.secrets())?;
        book.add(location.clone())?;
        return Ok((location, KeysKept::SshKey));
    }
    let keys = keys.ok_or_else(|| OffsiteError::NoKeys(name.to_owned()))?;
    let keychain = ctx.secrets();
    let kept = match keychain.reachable() {
        Ok(()) => {
            crate::offsite::s3::keep_keys(&location.name, &keys, keychain)?;
            KeysKept::Keychain
        }
        Err(_) if keys_from_env => KeysKept::Environment,
        Err(e) => return Err(e.into()),
    };
    book.add(location.clone())?;
    Ok((location, kept))
}

/// The store a spec names (its URL or `USER@HOST:/PATH` parsed by its
/// kind).
fn store_of(spec: &StoreSpec) -> Result<OffsiteStore> {
    Ok(match spec {
        StoreSpec::S3(spec) => OffsiteStore::S3(S3Location::parse(
            &spec.url,
            spec.endpoint.clone(),
            spec.region.clone(),
            spec.path_style,
        )?),
        StoreSpec::Sftp(spec) => OffsiteStore::Sftp(SftpLocation::parse(
            &spec.target,
            spec.port,
            spec.identity.clone(),
        )?),
    })
}

/// An SFTP location's first use: its key's passphrase (if any) kept in the
/// keychain, the host reached (which pins its host key) and the folder
/// listed; on failure the kept passphrase is forgotten again.
fn reach_sftp(
    location: &OffsiteLocation,
    key_passphrase: Option<&zeroize::Zeroizing<String>>,
    secrets: &dyn SecretStore,
) -> Result<()> {
    let OffsiteStore::Sftp(sftp) = &location.store else {
        return Err(OffsiteError::Failed(format!("{} is no SFTP location", location.name)).into());
    };
    let scope = location.keychain_scope();
    if let Some(secret) = key_passphrase {
        secrets.set(&scope, SecretKind::OffsiteKeyPassphrase, secret)?;
    }
    let reached = sftp
        .connect(&location.name, &config_dir(), true)
        .and_then(|folder| folder.list());
    if let Err(e) = reached {
        if key_passphrase.is_some() {
            let _ = secrets.forget(&scope, SecretKind::OffsiteKeyPassphrase);
        }
        return Err(e.into());
    }
    Ok(())
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

/// Location `only`, else every location of the selection's installation.
///
/// # Errors
/// No such location; a damaged `offsite.toml`.
fn chosen(selection: &Selection, only: Option<&str>) -> Result<Vec<OffsiteLocation>> {
    match only {
        Some(name) => Ok(vec![location(name)?]),
        None => locations(Some(selection)),
    }
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
pub fn remove(name: &str, ctx: &OperationContext<'_>) -> Result<OffsiteLocation> {
    let removed = OffsiteBook::load(&config_dir())?.remove(name)?;
    // Its ledger goes with it: a location added again under this name
    // starts from what its store holds.
    let _ = std::fs::remove_file(ledger_path(name));
    for kind in removed.store.kind().secret_kinds() {
        let _ = ctx.secrets().forget(&removed.keychain_scope(), *kind);
    }
    Ok(removed)
}

/// What a scheduled job (no `AWS_*` variables, no desktop session) would
/// lack for the selection's off-site push: one line per location, each
/// kind saying what it needs (an S3 location: its keys in the keychain or
/// the AWS credentials file).
///
/// # Errors
/// A damaged `offsite.toml`.
pub fn unattended_gaps(selection: &Selection, ctx: &OperationContext<'_>) -> Result<Vec<String>> {
    Ok(locations(Some(selection))?
        .iter()
        .filter_map(|l| l.store.kind().unattended_gap(&l.name, ctx.secrets()))
        .collect())
}

/// Where location `name`'s ledger of copies is kept.
/// A private scratch folder for what an off-site operation downloads or
/// decrypts: in the installation's staging folder
/// (`data/.backupdesk/staging/PID-offsite-…`), or, on a machine without
/// the installation (a server's copies checked on the laptop), in the
/// config folder's `staging/`; never under `$TMPDIR`. What a killed run
/// left there is removed first; this one's is removed when the guard
/// drops.
///
/// # Errors
/// The folder cannot be made private or written.
fn scratch(local: Option<&crate::local::layout::DataDir>) -> Result<tempfile::TempDir> {
    let unusable =
        |e: std::io::Error| OffsiteError::Local("the staging folder".into(), e.to_string());
    Ok(staging(local)?.scratch_dir("offsite").map_err(unusable)?)
}

/// The staging folder of [`scratch`], what killed runs left there removed.
///
/// # Errors
/// The folder cannot be made private or written.
fn staging(
    local: Option<&crate::local::layout::DataDir>,
) -> Result<crate::local::staging::Staging> {
    use crate::local::staging::Staging;
    let staging = match local.filter(|d| d.root().is_dir()) {
        Some(data) => Staging::open(data),
        None => Staging::at(config_dir().join("staging")),
    };
    let unusable =
        |e: std::io::Error| OffsiteError::Local("the staging folder".into(), e.to_string());
    let staging = staging.map_err(unusable)?;
    if let Err(e) = staging.remove_leftovers() {
        tracing::warn!("the staging folder's leftovers could not all be removed: {e}");
    }
    Ok(staging)
}

/// The older copies of the selection's backups that their stores keep,
/// locked, after a push replaced them with rewrapped ones (by location,
/// their lock still running): what the ways in a rewrap took away are
/// still needed for. A location book or ledger that cannot be read adds
/// nothing here (the off-site screens say why).
pub(crate) fn superseded_copies(
    selection: &Selection,
    ctx: &OperationContext<'_>,
) -> Vec<(String, crate::offsite::ledger::SupersededCopy)> {
    let Ok(all) = locations(Some(selection)) else {
        return Vec::new();
    };
    let now = ctx.now();
    all.iter()
        .flat_map(|location| {
            let ledger = crate::offsite::ledger::CopyLedger::load(&ledger_path(&location.name))
                .unwrap_or_default();
            ledger
                .superseded
                .into_iter()
                .filter(move |c| {
                    chrono::DateTime::parse_from_rfc3339(&c.retain_until).is_ok_and(|t| t > now)
                })
                .map(|c| (location.name.clone(), c))
        })
        .collect()
}

fn ledger_path(name: &str) -> std::path::PathBuf {
    crate::offsite::ledger::CopyLedger::path(&config_dir(), name)
}

/// The store of `location`, reached as its kind reaches it (a bucket with
/// its keys, an SFTP folder with its host key checked against the pinned
/// one).
///
/// # Errors
/// No keys; no runtime; a host that refuses.
pub fn store(location: &OffsiteLocation, ctx: &OperationContext<'_>) -> Result<Box<dyn CopyStore>> {
    Ok(location
        .store
        .kind()
        .open(&location.name, &config_dir(), ctx.secrets())?)
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
pub fn test(name: &str, ctx: &OperationContext<'_>) -> Result<LocationTest> {
    let location = location(name)?;
    let remote = store(&location, ctx)?;
    let mut report = LocationTest {
        location: name.to_owned(),
        listed: false,
        wrote: false,
        read_back: false,
        deleted: false,
        probe_left: None,
    };
    remote.list()?;
    report.listed = true;
    let probe_name = format!(
        ".backupdesk-probe-{}-{}",
        std::process::id(),
        chrono::Utc::now().timestamp_millis()
    );
    let probe: Vec<u8> = format!("Backup Desk probe {probe_name}\n").into_bytes();
    remote.put_bytes(&probe_name, &probe)?;
    report.wrote = true;
    let scratch = scratch(None)?;
    let back = scratch.path().join("probe");
    remote.download(
        &probe_name,
        &back,
        &crate::offsite::store::DownloadBound::for_size(probe.len() as u64),
        &crate::progress::NoProgress,
    )?;
    report.read_back = std::fs::read(&back).is_ok_and(|b| b == probe);
    if !report.read_back {
        return Err(OffsiteError::Failed(format!(
            "{name}: the probe read back differs from what was written"
        ))
        .into());
    }
    // A push-only key may not delete: then the probe stays, and says so.
    match remote.delete(&probe_name, None) {
        Ok(()) => report.deleted = true,
        Err(OffsiteError::Denied { .. }) => report.probe_left = Some(probe_name),
        Err(e) => return Err(e.into()),
    }
    Ok(report)
}
