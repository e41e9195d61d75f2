//! What a location holds, read from the store alone, and a copy fetched
//! back into an installation (a machine that lost its data folder).

use serde::Serialize;

use super::{Result, ledger_path, location, store};
use crate::context::OperationContext;
use crate::offsite::OffsiteError;
use crate::offsite::ledger::{CopyLedger, CopyRecord};
use crate::offsite::store::DownloadBound;
use crate::service::selection::Selection;

/// A copy in a location's store.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct StoredCopy {
    pub name: String,
    pub size: u64,
    /// What this machine's ledger knows of it (nothing on a machine that
    /// did not push it and never verified it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record: Option<CopyRecord>,
}

/// What location `name` holds (backups and `.meta` files), read from the
/// store alone (one listing), each with the ledger's record of its push,
/// lock and checks.
///
/// # Errors
/// No such location; no keys; the store's refusals; a damaged ledger.
pub fn copies(name: &str, ctx: &OperationContext<'_>) -> Result<Vec<StoredCopy>> {
    let location = location(name)?;
    let ledger = CopyLedger::load(&ledger_path(name))?;
    Ok(store(&location, ctx)?
        .list()?
        .into_iter()
        .filter(|(n, _)| !n.starts_with(".backupdesk-probe-"))
        .map(|(name, size)| StoredCopy {
            record: ledger.copies.get(&name).cloned(),
            name,
            size,
        })
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
/// lost them). Each file is downloaded into the private staging folder,
/// bounded by its listed size and a deadline; the backup is checked there
/// against what this machine's ledger says the store confirmed at push
/// (else its `.meta`'s SHA-256 of the encrypted file), and only then
/// linked into place, never over a file: a local backup is never
/// replaced by a fetch (one of the same size is taken as already here;
/// one that differs is an error, left as it is). The restore that follows
/// checks it against its `.meta` (size, SHA-256, `integrity_check`) as any
/// other.
///
/// # Errors
/// No such location or backup there; the store's refusals; a copy that is
/// not what was pushed ([`OffsiteError::NotAsPushed`]); a local backup of
/// that name that differs ([`OffsiteError::LocalDiffers`]); a download
/// longer or slower than its bound; the folder cannot be written.
pub fn fetch(
    selection: &Selection,
    location: &str,
    name: Option<&str>,
    ctx: &OperationContext<'_>,
) -> Result<Fetched> {
    let Some(data) = selection.data_dir_unchecked() else {
        return Err(selection.installation().err().unwrap_or_else(|| {
            OffsiteError::Failed("no local installation to fetch into".into()).into()
        }));
    };
    let spot = self::location(location)?;
    let remote = store(&spot, ctx)?;
    let held = remote.list()?;
    let name = which_backup(&held, name, location)?;
    let folder = data.backups();
    crate::publish::ensure_private_dir(&folder)
        .map_err(|e| OffsiteError::Local(folder.display().to_string(), e.to_string()))?;
    let (wanted, meta) = wanted_files(&held, &name, location)?;
    let ledger = CopyLedger::load(&ledger_path(location))?;
    let scratch = super::scratch(Some(data))?;
    let mut already_here = true;
    // Everything staged and the backup checked before anything is linked
    // into place.
    let mut staged = Vec::new();
    for (file, size) in wanted {
        let dest = data.backup_file(&file);
        if let Ok(here) = std::fs::symlink_metadata(&dest) {
            if here.len() == size || file.ends_with(".meta") {
                continue;
            }
            return Err(OffsiteError::LocalDiffers {
                name: file,
                location: location.to_owned(),
                here: here.len(),
                there: size,
            }
            .into());
        }
        already_here = false;
        let path = scratch.path().join(&file);
        remote.download(&file, &path, &DownloadBound::for_size(size), ctx)?;
        staged.push((path, dest));
    }
    if let Some((path, _)) = staged.iter().find(|(_, dest)| dest.ends_with(&name)) {
        let meta_path = meta.as_ref().map(|m| {
            let here = data.backup_file(m);
            if here.exists() {
                here
            } else {
                scratch.path().join(m)
            }
        });
        as_pushed(
            path,
            &name,
            location,
            ledger.copies.get(&name),
            meta_path.as_deref(),
        )?;
    }
    for (path, dest) in staged {
        crate::publish::publish_no_clobber(&path, &dest)
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

/// The backup to fetch: `name`, else the newest the store holds.
fn which_backup(held: &[(String, u64)], name: Option<&str>, location: &str) -> Result<String> {
    use crate::format::name::BackupName;
    Ok(match name {
        Some(name) => name.to_owned(),
        None => held
            .iter()
            .map(|(n, _)| n)
            .filter(|n| n.ends_with(".gpg") && BackupName::parse(n).is_ok())
            .max()
            .cloned()
            .ok_or_else(|| OffsiteError::Failed(format!("{location} holds no backup")))?,
    })
}

/// Files with their listed sizes.
type SizedFiles = Vec<(String, u64)>;

/// The files to fetch with their listed sizes, the `.meta` first when the
/// store holds one, and that `.meta`'s name.
///
/// # Errors
/// A name that is no backup's; a backup the store does not hold.
fn wanted_files(
    held: &[(String, u64)],
    name: &str,
    location: &str,
) -> Result<(SizedFiles, Option<String>)> {
    use crate::format::name::BackupName;
    let parsed = BackupName::parse(name).map_err(crate::local::catalog::CatalogError::from)?;
    let Some((_, size)) = held.iter().find(|(n, _)| n == name) else {
        return Err(crate::local::catalog::CatalogError::BackupNotFound(format!(
            "{name} (at {location})"
        ))
        .into());
    };
    let mut wanted = vec![(name.to_owned(), *size)];
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
    Ok((wanted, meta))
}

/// Checks the downloaded copy `staged` of backup `name`: its size and
/// SHA-256 against `record` (the store's confirmation at push, when it is
/// a whole-file checksum), else against the SHA-256 of the encrypted file
/// its `.meta` at `meta` records (the local one, else the one fetched).
///
/// # Errors
/// [`OffsiteError::NotAsPushed`]; the staged file cannot be read.
fn as_pushed(
    staged: &std::path::Path,
    name: &str,
    location: &str,
    record: Option<&CopyRecord>,
    meta: Option<&std::path::Path>,
) -> Result<()> {
    use base64::Engine as _;
    use sha2::Digest as _;
    let mut file = std::fs::File::open(staged)
        .map_err(|e| OffsiteError::Local(staged.display().to_string(), e.to_string()))?;
    let mut hasher = sha2::Sha256::new();
    let size = std::io::copy(&mut file, &mut hasher)
        .map_err(|e| OffsiteError::Local(staged.display().to_string(), e.to_string()))?;
    let digest = hasher.finalize();
    let b64 = base64::engine::general_purpose::STANDARD.encode(digest);
    let not_as = |against: &str, expected: String, found: String| -> Result<()> {
        Err(OffsiteError::NotAsPushed {
            name: name.to_owned(),
            location: location.to_owned(),
            against: against.to_owned(),
            expected,
            found,
        }
        .into())
    };
    if let Some(record) = record {
        if record.size != size {
            return not_as(
                "pushed",
                format!("{} bytes", record.size),
                format!("{size} bytes"),
            );
        }
        if let Some(confirmed) = record
            .store_checksum
            .as_deref()
            .filter(|c| !c.contains('-'))
        {
            if confirmed != b64 {
                return not_as("pushed", confirmed.to_owned(), b64);
            }
            return Ok(());
        }
    }
    let meta = meta.and_then(|m| crate::format::meta::BackupMeta::read(m).ok());
    if let Some(expected) = meta.and_then(|m| m.gpg_sha256) {
        let found = hex::encode(digest);
        if !expected.eq_ignore_ascii_case(&found) {
            return not_as("recorded in its .meta", expected, found);
        }
    }
    Ok(())
}
