//! What this machine knows of an installation's off-site copies, from the
//! location book and the ledgers alone (no request to any store): for the
//! app's screens and the fleet tile, which must stay fast and work offline.

use serde::Serialize;

use super::{Result, ledger_path, locations};
use crate::offsite::ledger::{CopyCheck, CopyLedger, CopyRecord, LockState};
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
    /// How the latest push here ended (`None`: none recorded yet).
    pub last_push: Option<CopyCheck>,
    /// Copies whose latest quick or deep check failed, with why.
    pub failed_checks: Vec<String>,
}

impl LocationOverview {
    /// What is wrong at this location, in words (empty: nothing known):
    /// the latest push failed, a copy's latest check failed.
    pub fn problems(&self) -> Vec<String> {
        let name = &self.location.name;
        let mut out = Vec::new();
        if let Some(push) = self.last_push.as_ref().filter(|p| !p.ok) {
            out.push(format!(
                "off-site {name}: the latest push ({}) failed: {}",
                push.at,
                push.problem.as_deref().unwrap_or("no reason recorded")
            ));
        }
        for failed in &self.failed_checks {
            out.push(format!("off-site {name}: {failed}"));
        }
        out
    }
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
                last_push: ledger.last_push.clone(),
                failed_checks: failed_checks(&copies),
                copies,
                location,
            })
        })
        .collect()
}

/// "NAME failed its deep check (at): why" for each copy whose latest check
/// (the later of quick and deep) failed.
fn failed_checks(copies: &[CopyState]) -> Vec<String> {
    copies
        .iter()
        .filter_map(|c| {
            let latest = [("quick", &c.record.quick), ("deep", &c.record.deep)]
                .into_iter()
                .filter_map(|(depth, check)| check.as_ref().map(|k| (depth, k)))
                .max_by(|a, b| a.1.at.cmp(&b.1.at))?;
            (!latest.1.ok).then(|| {
                format!(
                    "{} failed its {} check ({}): {}",
                    c.name,
                    latest.0,
                    latest.1.at,
                    latest.1.problem.as_deref().unwrap_or("no reason recorded")
                )
            })
        })
        .collect()
}
