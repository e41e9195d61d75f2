//! Grandfather-father-son retention: which backups to keep, by which rule,
//! and which to delete. Planning is pure (backups and a clock in, a plan
//! out); [`apply`] carries a plan out.
//!
//! Never deleted: the newest regular backup, pinned backups, the newest
//! backup that passed a deep verification, and anything dated in the future
//! of the clock. Pre-restore safety copies have their own count.

use std::collections::BTreeSet;

use chrono::{Datelike, NaiveDateTime};
use serde::{Deserialize, Serialize};

use crate::context::OperationContext;
use crate::local::catalog::{BackupCatalog, CatalogEntry};
use crate::local::layout::DataDir;
use crate::local::ledger::Ledger;

/// How many backups each rule keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(default)]
pub struct RetentionPolicy {
    /// The N newest regular backups.
    pub keep_last: u32,
    /// The newest backup of each of the N most recent days that have one.
    pub daily: u32,
    /// The newest backup of each of the N most recent ISO weeks that have one.
    pub weekly: u32,
    /// The newest backup of each of the N most recent months that have one.
    pub monthly: u32,
    /// The N newest pre-restore safety backups.
    pub pre_restore: u32,
}

impl Default for RetentionPolicy {
    fn default() -> Self {
        RetentionPolicy {
            keep_last: 3,
            daily: 7,
            weekly: 4,
            monthly: 12,
            pre_restore: 3,
        }
    }
}

/// Why a backup is kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "rule", content = "period", rename_all = "snake_case")]
pub enum KeepReason {
    /// The newest regular backup (always kept).
    Newest,
    /// Pinned by the admin.
    Pinned,
    /// The newest backup that passed a deep verification.
    NewestDeepVerified,
    /// The newest backup that passed a restore drill.
    NewestDrilled,
    /// Dated after "now": the clock or the name is off; never deleted.
    FutureDated,
    /// One of the `keep_last` newest.
    Last,
    /// Newest of this day (`2026-11-24`).
    Daily(String),
    /// Newest of this ISO week (`2026-W48`).
    Weekly(String),
    /// Newest of this month (`2026-10`).
    Monthly(String),
    /// One of the newest pre-restore backups.
    PreRestore,
}

impl std::fmt::Display for KeepReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeepReason::Newest => f.write_str("newest"),
            KeepReason::Pinned => f.write_str("pinned"),
            KeepReason::NewestDeepVerified => f.write_str("newest deep-verified"),
            KeepReason::NewestDrilled => f.write_str("newest drilled"),
            KeepReason::FutureDated => f.write_str("future-dated"),
            KeepReason::Last => f.write_str("last"),
            KeepReason::Daily(p) => write!(f, "daily {p}"),
            KeepReason::Weekly(p) => write!(f, "weekly {p}"),
            KeepReason::Monthly(p) => write!(f, "monthly {p}"),
            KeepReason::PreRestore => f.write_str("pre-restore"),
        }
    }
}

/// The decision for one backup.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct RetentionDecision {
    /// The backup's file name.
    pub filename: String,
    /// The time in its name.
    pub taken_at: NaiveDateTime,
    /// Bytes on disk (backup file plus `.meta`).
    pub bytes: u64,
    /// Every rule that keeps it; empty means delete.
    pub keep: Vec<KeepReason>,
}

impl RetentionDecision {
    /// Whether the plan deletes this backup.
    pub fn deleted(&self) -> bool {
        self.keep.is_empty()
    }
}

/// What a prune would do.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct RetentionPlan {
    /// The policy applied.
    pub policy: RetentionPolicy,
    /// "Now" according to the clock.
    pub now: NaiveDateTime,
    /// Every backup, newest first.
    pub decisions: Vec<RetentionDecision>,
    /// Bytes freed by the deletions.
    pub bytes_freed: u64,
    /// Number of backups deleted.
    pub delete_count: usize,
    /// Number of backups kept.
    pub keep_count: usize,
}

/// Plans retention over the backups of `data` as they are now.
///
/// # Errors
/// When the backup folder cannot be read.
pub fn plan_for(
    data: &DataDir,
    policy: &RetentionPolicy,
    ctx: &OperationContext<'_>,
) -> Result<RetentionPlan, crate::local::catalog::CatalogError> {
    let catalog = BackupCatalog::scan(data)?;
    // Pins live in the ledger: a damaged one must stop the prune, never
    // read as "nothing is pinned".
    let ledger = Ledger::read(data)?;
    Ok(plan(&catalog, &ledger, policy, ctx))
}

/// Plans and applies `policy` to `data` under the operation lock: what a
/// "prune now" does.
///
/// # Errors
/// Another operation holds the lock; the backup folder cannot be read.
pub fn prune(
    data: &DataDir,
    policy: &RetentionPolicy,
    ctx: &OperationContext<'_>,
) -> Result<PruneOutcome, PruneError> {
    let _lock = crate::local::lock::OperationLock::acquire(data)?;
    let plan = plan_for(data, policy, ctx)?;
    Ok(apply(data, &plan, ctx, "a prune"))
}

/// Why a prune did not run.
#[derive(Debug, thiserror::Error)]
pub enum PruneError {
    /// Another operation holds the installation's lock.
    #[error(transparent)]
    Lock(#[from] crate::local::lock::LockError),
    /// The backup folder or the ledger (the pins) cannot be read.
    #[error(transparent)]
    Catalog(#[from] crate::local::catalog::CatalogError),
}

impl crate::KindedError for PruneError {
    fn kind(&self) -> crate::ErrorKind {
        match self {
            PruneError::Lock(e) => e.kind(),
            PruneError::Catalog(e) => e.kind(),
        }
    }
}

/// Plans retention over a catalog (sizes include each `.meta`).
pub fn plan(
    catalog: &BackupCatalog,
    ledger: &Ledger,
    policy: &RetentionPolicy,
    ctx: &OperationContext<'_>,
) -> RetentionPlan {
    let entries: Vec<PlanEntry> = catalog
        .entries()
        .iter()
        .map(|e| PlanEntry {
            name: e.name.clone(),
            bytes: e.size + meta_size(e),
        })
        .collect();
    plan_entries(&entries, ledger, policy, ctx.now().naive_local())
}

/// One backup as the planner sees it: its name (kind and time) and the
/// bytes deleting it frees.
#[derive(Debug, Clone)]
pub(crate) struct PlanEntry {
    pub name: crate::format::name::BackupName,
    pub bytes: u64,
}

/// The planner itself, pure: `entries` newest first (as the catalog lists
/// them), the pins and deep verifications of `ledger`, the time `now`.
pub(crate) fn plan_entries(
    entries: &[PlanEntry],
    ledger: &Ledger,
    policy: &RetentionPolicy,
    now: NaiveDateTime,
) -> RetentionPlan {
    let mut decisions = first_decisions(entries, ledger, now);
    // The rules walk backups up to "now", newest first; future-dated ones
    // are kept above and must not push real backups out of their periods.
    let in_past = |i: &usize| decisions[*i].taken_at <= now;
    let regular: Vec<usize> = (0..entries.len())
        .filter(|&i| !entries[i].name.kind().is_pre_restore())
        .filter(in_past)
        .collect();
    let pre_restore: Vec<usize> = (0..entries.len())
        .filter(|&i| entries[i].name.kind().is_pre_restore())
        .filter(in_past)
        .collect();

    keep_proofs(&mut decisions, &regular, ledger);
    for &i in regular.iter().take(policy.keep_last as usize) {
        decisions[i].keep.push(KeepReason::Last);
    }
    keep_buckets(
        &mut decisions,
        &regular,
        policy.daily,
        |t| t.format("%Y-%m-%d").to_string(),
        KeepReason::Daily,
    );
    keep_buckets(
        &mut decisions,
        &regular,
        policy.weekly,
        |t| {
            let week = t.iso_week();
            format!("{}-W{:02}", week.year(), week.week())
        },
        KeepReason::Weekly,
    );
    keep_buckets(
        &mut decisions,
        &regular,
        policy.monthly,
        |t| t.format("%Y-%m").to_string(),
        KeepReason::Monthly,
    );
    for &i in pre_restore.iter().take(policy.pre_restore as usize) {
        decisions[i].keep.push(KeepReason::PreRestore);
    }

    let bytes_freed = decisions
        .iter()
        .filter(|d| d.deleted())
        .map(|d| d.bytes)
        .sum();
    let delete_count = decisions.iter().filter(|d| d.deleted()).count();
    RetentionPlan {
        policy: *policy,
        now,
        keep_count: decisions.len() - delete_count,
        decisions,
        bytes_freed,
        delete_count,
    }
}

/// A decision per entry, kept so far only when it is dated after `now`
/// or pinned.
fn first_decisions(
    entries: &[PlanEntry],
    ledger: &Ledger,
    now: NaiveDateTime,
) -> Vec<RetentionDecision> {
    entries
        .iter()
        .map(|e| {
            let filename = e.name.file_name().to_owned();
            let mut keep = Vec::new();
            if e.name.taken_at() > now {
                keep.push(KeepReason::FutureDated);
            }
            if ledger.pinned.contains(&filename) {
                keep.push(KeepReason::Pinned);
            }
            RetentionDecision {
                filename,
                taken_at: e.name.taken_at(),
                bytes: e.bytes,
                keep,
            }
        })
        .collect()
}

/// The rules no policy turns off: the newest regular backup, the newest
/// deep-verified one and the newest drilled one are kept (the proof that a
/// restore works is never pruned away).
fn keep_proofs(decisions: &mut [RetentionDecision], regular: &[usize], ledger: &Ledger) {
    if let Some(&newest) = regular.first() {
        decisions[newest].keep.push(KeepReason::Newest);
    }
    if let Some(&i) = regular
        .iter()
        .find(|&&i| ledger.deep_passed.contains_key(&decisions[i].filename))
    {
        decisions[i].keep.push(KeepReason::NewestDeepVerified);
    }
    if let Some(&i) = regular.iter().find(|&&i| {
        ledger
            .drills
            .get(&decisions[i].filename)
            .is_some_and(|d| d.ok)
    }) {
        decisions[i].keep.push(KeepReason::NewestDrilled);
    }
}

/// The earliest time at which `decision`'s rules may let its backup go if
/// backups keep coming (`None`: no dated rule holds it), which is how long
/// an off-site copy of it is locked.
///
/// A daily period holds it from the start: its day plus `daily` days. A
/// weekly or monthly period only once it is over (before that, a later
/// backup of the same week or month takes its place), then its start plus
/// `weekly` weeks or `monthly` months; a copy's lock grows as its periods
/// close. "Last", "newest", pins and pre-restore counts have no date.
pub(crate) fn release_at(
    decision: &RetentionDecision,
    policy: &RetentionPolicy,
    now: NaiveDateTime,
) -> Option<NaiveDateTime> {
    decision
        .keep
        .iter()
        .filter_map(|reason| match reason {
            KeepReason::Daily(day) => {
                let start = chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d").ok()?;
                Some(start.and_hms_opt(0, 0, 0)? + chrono::Duration::days(policy.daily.into()))
            }
            KeepReason::Weekly(week) => {
                let (year, number) = week.split_once("-W")?;
                let monday = chrono::NaiveDate::from_isoywd_opt(
                    year.parse().ok()?,
                    number.parse().ok()?,
                    chrono::Weekday::Mon,
                )?
                .and_hms_opt(0, 0, 0)?;
                let over = monday + chrono::Duration::weeks(1);
                (now >= over).then(|| monday + chrono::Duration::weeks(policy.weekly.into()))
            }
            KeepReason::Monthly(month) => {
                let first =
                    chrono::NaiveDate::parse_from_str(&format!("{month}-01"), "%Y-%m-%d").ok()?;
                let over = first
                    .checked_add_months(chrono::Months::new(1))?
                    .and_hms_opt(0, 0, 0)?;
                (now >= over).then(|| {
                    first
                        .checked_add_months(chrono::Months::new(policy.monthly))
                        .and_then(|d| d.and_hms_opt(0, 0, 0))
                })?
            }
            _ => None,
        })
        .max()
}

/// Walks `indices` newest first and keeps the newest backup of each of the
/// `count` most recent periods.
fn keep_buckets(
    decisions: &mut [RetentionDecision],
    indices: &[usize],
    count: u32,
    period: impl Fn(NaiveDateTime) -> String,
    reason: impl Fn(String) -> KeepReason,
) {
    let mut seen = BTreeSet::new();
    for &i in indices {
        if seen.len() >= count as usize {
            break;
        }
        let key = period(decisions[i].taken_at);
        if seen.insert(key.clone()) {
            decisions[i].keep.push(reason(key));
        }
    }
}

fn meta_size(entry: &CatalogEntry) -> u64 {
    entry
        .name
        .meta_name()
        .and_then(|m| std::fs::metadata(entry.path.with_file_name(m)).ok())
        .map(|m| m.len())
        .unwrap_or(0)
}

/// What [`apply`] did.
#[derive(Debug, Clone, Default, Serialize, serde::Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct PruneOutcome {
    /// Backups removed.
    pub deleted: Vec<String>,
    /// Bytes freed.
    pub bytes_freed: u64,
    /// Backups that could not be removed, with the reason.
    pub failed: Vec<(String, String)>,
}

/// Deletes what `plan` marks for deletion: the backup file first, then its
/// `.meta` (so a listed backup never loses its metadata), then its ledger
/// records. Call under the [`crate::local::lock::OperationLock`]. Keeps going past
/// a file that cannot be removed and reports it. Every deletion (and every
/// one that failed) is recorded in `logs/backup.log` with the policy that
/// let it go and `started_by` (who asked: "a prune", "the automatic
/// retention after a backup").
pub fn apply(
    data: &DataDir,
    plan: &RetentionPlan,
    ctx: &OperationContext<'_>,
    started_by: &str,
) -> PruneOutcome {
    let outcome = delete_planned(data, plan);
    record(data, plan, &outcome, ctx, started_by);
    outcome
}

/// The activity log's lines for what [`apply`] did.
fn record(
    data: &DataDir,
    plan: &RetentionPlan,
    outcome: &PruneOutcome,
    ctx: &OperationContext<'_>,
    started_by: &str,
) {
    use crate::local::activity_log::{ActivityLog, Level};
    let log = ActivityLog::backup(data);
    let p = &plan.policy;
    let rule = format!(
        "no rule keeps it (policy: last {}, daily {}, weekly {}, monthly {}, pre-restore {})",
        p.keep_last, p.daily, p.weekly, p.monthly, p.pre_restore
    );
    for name in &outcome.deleted {
        log.append(
            ctx,
            Level::Info,
            &format!("Pruned {name} ({started_by}): {rule}"),
        );
    }
    for (name, why) in &outcome.failed {
        log.append(
            ctx,
            Level::Warning,
            &format!("Could not prune {name} ({started_by}): {why}"),
        );
    }
}

fn delete_planned(data: &DataDir, plan: &RetentionPlan) -> PruneOutcome {
    let mut outcome = PruneOutcome::default();
    for decision in plan.decisions.iter().filter(|d| d.deleted()) {
        let Ok(name) = crate::format::name::BackupName::parse(&decision.filename) else {
            continue;
        };
        let path = data.backup_file(name.file_name());
        let removed = crate::local::ledger::delete_unless_pinned(data, name.file_name(), || {
            match std::fs::remove_file(&path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
                _ => Ok(()),
            }
        });
        match removed {
            Ok(true) => {}
            Ok(false) => {
                outcome.failed.push((
                    decision.filename.clone(),
                    "pinned while the prune ran: kept".to_owned(),
                ));
                continue;
            }
            Err(e) => {
                outcome
                    .failed
                    .push((decision.filename.clone(), e.to_string()));
                continue;
            }
        }
        if let Some(meta) = name.meta_name() {
            let _ = std::fs::remove_file(data.backup_file(&meta));
        }
        outcome.deleted.push(decision.filename.clone());
        outcome.bytes_freed += decision.bytes;
    }
    let _ = crate::publish::sync_dir(&data.backups());
    if let Err(e) = Ledger::forget(data, &outcome.deleted) {
        tracing::warn!(error = %e, "cannot update the ledger after pruning");
    }
    outcome
}

/// The policy saved for this data directory (`data/.backupdesk/retention.json`),
/// or the default.
pub(crate) fn saved_policy(data: &DataDir) -> RetentionPolicy {
    std::fs::read(data.state().join("retention.json"))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default()
}

/// Saves the policy used by automatic pruning after each backup.
///
/// # Errors
/// When the state folder cannot be written.
pub fn save_policy(data: &DataDir, policy: &RetentionPolicy) -> std::io::Result<()> {
    crate::publish::ensure_private_dir(&data.state())?;
    crate::publish::write_atomic(
        &data.state().join("retention.json"),
        &serde_json::to_vec_pretty(policy).expect("policy serializes"),
    )
}

#[cfg(test)]
mod tests;
