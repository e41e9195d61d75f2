//! What this machine knows of an installation's off-site copies, from the
//! location book and the ledgers alone (no request to any store): for the
//! app's screens and the fleet tile, which must stay fast and work offline.

use serde::Serialize;

use super::{Result, ledger_path, locations};
use crate::offsite::ledger::{CopyLedger, CopyRecord, LockState};
use crate::offsite::location::OffsiteLocation;
use crate::service::selection::Selection;

/// One copy as the ledger knows it.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct CopyState {
    pub name: String,
    #[serde(flatten)]
    pub record: CopyRecord,
}

/// One location of the installation.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct LocationOverview {
    pub location: OffsiteLocation,
    /// `s3://bucket/prefix at endpoint`, `sftp://host/path`.
    pub description: String,
    /// Whether the store locks copies (as last read at a push).
    pub locks: bool,
    /// Backup copies (`.gpg`) and their state, newest first.
    pub copies: Vec<CopyState>,
    /// When the newest copy was pushed (RFC 3339).
    pub newest_pushed_at: Option<String>,
    /// The newest passed deep check of any copy (RFC 3339).
    pub last_deep_check: Option<String>,
    /// Bytes of every recorded copy (backups and `.meta`).
    pub bytes: u64,
}

/// The selection's locations with what their ledgers say.
///
/// # Errors
/// A damaged book or ledger.
pub fn overview(selection: &Selection) -> Result<Vec<LocationOverview>> {
    locations(Some(selection))?
        .into_iter()
        .map(|location| {
            let ledger = CopyLedger::load(&ledger_path(&location.name))?;
            let mut copies: Vec<CopyState> = ledger
                .copies
                .iter()
                .filter(|(name, _)| name.ends_with(".gpg"))
                .map(|(name, record)| CopyState {
                    name: name.clone(),
                    record: record.clone(),
                })
                .collect();
            copies.sort_by(|a, b| b.name.cmp(&a.name));
            Ok(LocationOverview {
                description: location.describe(),
                locks: matches!(ledger.lock, Some(LockState::On(_))),
                newest_pushed_at: copies
                    .iter()
                    .filter_map(|c| c.record.pushed_at.clone())
                    .max(),
                last_deep_check: copies
                    .iter()
                    .filter_map(|c| {
                        c.record
                            .deep
                            .as_ref()
                            .filter(|d| d.ok)
                            .map(|d| d.at.clone())
                    })
                    .max(),
                bytes: ledger.copies.values().map(|r| r.size).sum(),
                copies,
                location,
            })
        })
        .collect()
}
