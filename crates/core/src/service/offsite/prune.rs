//! `offsite prune`: the installation's retention policy applied to the
//! copies a location holds (its own list: a copy is kept by the same rules
//! as a local backup, pins and deep verifications included). One listing;
//! then, per copy to delete, one HEAD (its lock and version) and one
//! delete of that version for good. A copy whose lock runs on is never
//! asked to be deleted: it is reported "retained until …".

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{Result, chosen, ledger_path, store};
use crate::context::OperationContext;
use crate::format::name::BackupName;
use crate::local::ledger::Ledger;
use crate::local::retention::{KeepReason, PlanEntry, RetentionPolicy, plan_entries};
use crate::model::KindedMessage;
use crate::offsite::ledger::CopyLedger;
use crate::offsite::store::CopyStore;
use crate::service::selection::Selection;

/// What a prune does (or did) with one copy.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum CopyFate {
    /// A rule keeps it.
    Keep,
    /// No rule keeps it: deleted (or, in a dry run, to be deleted).
    Delete,
    /// No rule keeps it, but its lock does until then (RFC 3339, UTC).
    RetainedUntil { until: String },
    /// The delete was refused.
    Failed { error: KindedMessage },
}

/// One copy in a prune.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct PruneCopy {
    pub name: String,
    /// Bytes of the copy and its `.meta`.
    pub bytes: u64,
    pub keep: Vec<KeepReason>,
    #[serde(flatten)]
    pub fate: CopyFate,
}

/// A prune of one location.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct OffsitePrune {
    pub location: String,
    pub policy: RetentionPolicy,
    pub dry_run: bool,
    /// Newest first.
    pub copies: Vec<PruneCopy>,
    pub deleted: usize,
    pub retained: usize,
    pub failed: usize,
    pub bytes_freed: u64,
}

/// Prunes the copies at the selection's locations (or at `only`) by the
/// installation's policy; `dry_run` deletes nothing.
///
/// # Errors
/// Not a local installation; no such location; the store's refusal to
/// list. A refused delete is a copy's fate, not an error.
pub fn prune(
    selection: &Selection,
    only: Option<&str>,
    dry_run: bool,
    ctx: &OperationContext<'_>,
) -> Result<Vec<OffsitePrune>> {
    let data = selection.installation()?;
    let policy = crate::service::retention::policy(selection)?;
    let pins = Ledger::read(data).map_err(crate::local::catalog::CatalogError::from)?;
    let targets = chosen(selection, only)?;
    let now = ctx.now();
    let mut out = Vec::new();
    for location in targets {
        let remote = store(&location, ctx)?;
        let ledger_file = ledger_path(&location.name);
        let mut ledger = CopyLedger::load(&ledger_file)?;
        let held = remote.list()?;
        let size_of = |name: &str| held.iter().find(|(n, _)| n == name).map(|(_, s)| *s);
        let plan = plan_entries(&entries_of(&held), &pins, &policy, now.naive_local());
        let mut copies = Vec::new();
        for decision in &plan.decisions {
            let name = decision.filename.clone();
            let fate = if decision.deleted() {
                let files: Vec<String> = std::iter::once(name.clone())
                    .chain(
                        BackupName::parse(&name)
                            .ok()
                            .and_then(|n| n.meta_name())
                            .filter(|m| size_of(m).is_some()),
                    )
                    .collect();
                let fate = let_go(
                    remote.as_ref(),
                    &ledger,
                    &files,
                    now.with_timezone(&Utc),
                    dry_run,
                )?;
                if fate == CopyFate::Delete && !dry_run {
                    for file in &files {
                        ledger.copies.remove(file);
                    }
                    ledger.save(&ledger_file)?;
                }
                fate
            } else {
                CopyFate::Keep
            };
            copies.push(PruneCopy {
                name,
                bytes: decision.bytes,
                keep: decision.keep.clone(),
                fate,
            });
        }
        out.push(OffsitePrune::of(&location.name, policy, dry_run, copies));
    }
    Ok(out)
}

/// The backup copies a store holds as retention plans them (each with its
/// `.meta`'s bytes), newest first as the catalog lists backups.
fn entries_of(held: &[(String, u64)]) -> Vec<PlanEntry> {
    let size_of = |name: &str| held.iter().find(|(n, _)| n == name).map(|(_, s)| *s);
    let mut entries: Vec<PlanEntry> = held
        .iter()
        .filter(|(n, _)| n.ends_with(".gpg"))
        .filter_map(|(n, size)| {
            let name = BackupName::parse(n).ok()?;
            let meta = name.meta_name().and_then(|m| size_of(&m)).unwrap_or(0);
            Some(PlanEntry {
                name,
                bytes: size + meta,
            })
        })
        .collect();
    entries.sort_by(|a, b| {
        b.name
            .taken_at()
            .cmp(&a.name.taken_at())
            .then_with(|| b.name.file_name().cmp(a.name.file_name()))
    });
    entries
}

impl OffsitePrune {
    /// One location's outcome, counted from its copies' fates.
    fn of(
        location: &str,
        policy: crate::local::retention::RetentionPolicy,
        dry_run: bool,
        copies: Vec<PruneCopy>,
    ) -> Self {
        let count = |f: fn(&CopyFate) -> bool| copies.iter().filter(|c| f(&c.fate)).count();
        OffsitePrune {
            location: location.to_owned(),
            policy,
            dry_run,
            deleted: count(|f| *f == CopyFate::Delete),
            retained: count(|f| matches!(f, CopyFate::RetainedUntil { .. })),
            failed: count(|f| matches!(f, CopyFate::Failed { .. })),
            bytes_freed: copies
                .iter()
                .filter(|c| c.fate == CopyFate::Delete)
                .map(|c| c.bytes)
                .sum(),
            copies,
        }
    }
}

/// Deletes `files` (a backup, then its `.meta`) unless a lock holds any:
/// the ledger's date first (no request), else the store's (one HEAD each).
fn let_go(
    remote: &dyn CopyStore,
    ledger: &CopyLedger,
    files: &[String],
    now: DateTime<Utc>,
    dry_run: bool,
) -> Result<CopyFate> {
    let recorded = files
        .iter()
        .filter_map(|f| ledger.copies.get(f)?.retain_until.as_deref())
        .filter_map(|t| DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&Utc))
        .max();
    if let Some(until) = recorded.filter(|t| *t > now) {
        return Ok(retained(until));
    }
    let mut versions = Vec::new();
    for file in files {
        let Some(object) = remote.head(file)? else {
            continue;
        };
        if let Some(until) = object.retain_until.filter(|t| *t > now) {
            return Ok(retained(until));
        }
        versions.push((file, object.version_id));
    }
    if dry_run {
        return Ok(CopyFate::Delete);
    }
    for (file, version) in versions {
        if let Err(e) = remote.delete(file, version.as_deref()) {
            return Ok(CopyFate::Failed {
                error: KindedMessage::of(&e),
            });
        }
    }
    Ok(CopyFate::Delete)
}

fn retained(until: DateTime<Utc>) -> CopyFate {
    CopyFate::RetainedUntil {
        until: until.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    }
}
