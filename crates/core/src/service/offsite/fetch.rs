//! What a location holds, read from the store alone, and a copy fetched
//! back into an installation (a machine that lost its data folder).

use serde::Serialize;

use super::{Result, ledger_path, location, store};
use crate::offsite::OffsiteError;
use crate::offsite::ledger::{CopyLedger, CopyRecord};
use crate::progress::Progress;
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
pub fn copies(name: &str) -> Result<Vec<StoredCopy>> {
    let location = location(name)?;
    let ledger = CopyLedger::load(&ledger_path(name))?;
    Ok(store(&location)?
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
    let remote = store(&spot)?;
    let held = remote.list()?;
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
        remote.download(&file, &part, progress)?;
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
