//! The verdict of a remote restore, from evidence only (pure logic).
//!
//! Server Monitor's own restore cannot be trusted to say what it did
//! (contract §6.2, §6.8, §6.9): it answers 500 for every valid backup, drops
//! the connection when it restarts, answers health from the *old* database
//! for seconds after the restart, and turns an undecryptable file into a
//! 0-byte database. So a remote restore is judged here, after the fact, by
//! comparing what the server's database settled on ([`SettleTracker`]) with
//! what it held before and, when Backup Desk recorded it, with what the
//! backup holds ([`ContentFingerprint`]). The rules, in order:
//!
//! 1. **Data at risk** when the settled database is unhealthy, has no
//!    tables, or lost its data (almost every table that held rows before is
//!    empty), unless the backup's own record says it is exactly that.
//! 2. A server that answered with an error is **never** "restored": the
//!    database as before is **not restored**, anything else **unverified**.
//! 3. With a record of the backup: the settled database matches it (and is
//!    closer to it than to the database before) → **restored**; as before →
//!    **not restored**; anything else → **unverified**.
//! 4. Without a record: changed from before, with tables and rows →
//!    **restored** (said to rest on the change alone); unchanged →
//!    **unverified** (the backup may hold the same content, nothing shows it).
//!
//! "Matches" allows for what the service wrote meanwhile (it records
//! monitoring samples every few seconds): the same tables, row counts within
//! [`row_allowance`], the logical size within [`size_allowance`].

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::format::meta::TableRows;
use crate::model::{Health, HealthReport};

/// What a database holds, in the numbers `GET /api/database/health` gives:
/// its logical size (`page_count × page_size`, which is exactly the size of
/// a copied-in backup) and the row count of every table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ContentFingerprint {
    /// `page_count × page_size` in bytes.
    pub logical_size: u64,
    /// Every table with its rows, sorted by name.
    pub tables: Vec<TableRows>,
}

impl ContentFingerprint {
    /// The fingerprint of a health answer whose checks ran.
    pub fn of(health: &Health) -> Self {
        let mut tables = health.table_details.clone();
        tables.sort_by(|a, b| a.name.cmp(&b.name));
        ContentFingerprint {
            logical_size: health.page_count.saturating_mul(health.page_size),
            tables,
        }
    }

    /// Rows of `table`, if it exists.
    pub fn rows(&self, table: &str) -> Option<u64> {
        self.tables.iter().find(|t| t.name == table).map(|t| t.rows)
    }

    /// All rows of all tables.
    pub(crate) fn total_rows(&self) -> u64 {
        self.tables.iter().map(|t| t.rows).sum()
    }

    fn same_tables(&self, other: &ContentFingerprint) -> bool {
        self.tables.len() == other.tables.len()
            && self
                .tables
                .iter()
                .zip(&other.tables)
                .all(|(a, b)| a.name == b.name)
    }

    /// How many rows differ from `other`, table by table (a table missing
    /// on one side counts with all its rows).
    pub(crate) fn row_distance(&self, other: &ContentFingerprint) -> u64 {
        let mut distance = 0;
        for t in &self.tables {
            distance += t.rows.abs_diff(other.rows(&t.name).unwrap_or(0));
        }
        for t in &other.tables {
            if self.rows(&t.name).is_none() {
                distance += t.rows;
            }
        }
        distance
    }

    /// Whether `self` is `reference` plus at most what a running service
    /// writes while a restore settles: the same tables, rows and size within
    /// their allowances.
    pub fn matches(&self, reference: &ContentFingerprint) -> bool {
        self.same_tables(reference)
            && self.row_distance(reference) <= row_allowance(reference)
            && self.logical_size.abs_diff(reference.logical_size) <= size_allowance(reference)
    }
}

/// Rows the service may add or remove while a restore settles: 100, or 1 %
/// of all rows when that is more.
pub(crate) fn row_allowance(reference: &ContentFingerprint) -> u64 {
    (reference.total_rows() / 100).max(100)
}

/// Bytes the database may grow or shrink by meanwhile: 256 KiB, or 2 %.
pub(crate) fn size_allowance(reference: &ContentFingerprint) -> u64 {
    (reference.logical_size / 50).max(256 * 1024)
}

/// What the restore request itself got back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ServerAnswer {
    /// An HTTP answer.
    Answered {
        status: u16,
        /// The server's `error` or `message` text.
        message: String,
    },
    /// The connection dropped (the server's restore kills the API: §6.3).
    Dropped,
    /// No answer within the restore timeout.
    TimedOut,
}

impl ServerAnswer {
    /// An HTTP error status (never evidence of success).
    pub(crate) fn is_error(&self) -> bool {
        matches!(self, ServerAnswer::Answered { status, .. } if *status >= 400)
    }

    /// In words, for reports.
    pub fn describe(&self) -> String {
        match self {
            ServerAnswer::Answered { status, message } => format!("{status}: {message}"),
            ServerAnswer::Dropped => "no answer: the connection dropped".to_owned(),
            ServerAnswer::TimedOut => "no answer within the restore timeout".to_owned(),
        }
    }
}

/// Which evidence decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum Evidence {
    /// The backup's recorded size and row counts.
    BackupRecord,
    /// The database as before the restore (no record of the backup).
    BeforeOnly,
    /// The database's own state (unhealthy, empty, data gone).
    DatabaseState,
    /// None: the database never settled or could not be read.
    Nothing,
}

/// The settled truth of a remote restore.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RemoteRestoreOutcome {
    /// The server now holds the backup.
    Restored { evidence: Evidence, detail: String },
    /// The server refused or failed; its database is as before.
    NotRestored { evidence: Evidence, detail: String },
    /// The database is empty, unhealthy or lost its data: go back now.
    DataAtRisk { evidence: Evidence, detail: String },
    /// It could not be decided in time: check before relying on it.
    Unverified { evidence: Evidence, detail: String },
}

impl RemoteRestoreOutcome {
    /// The stable kind of a restore that did not restore (`None` when it did).
    pub fn error_kind(&self) -> Option<crate::ErrorKind> {
        match self {
            RemoteRestoreOutcome::Restored { .. } => None,
            RemoteRestoreOutcome::NotRestored { .. } => {
                Some(crate::ErrorKind::RemoteRestoreNotDone)
            }
            RemoteRestoreOutcome::DataAtRisk { .. } => Some(crate::ErrorKind::RemoteRestoreFailed),
            RemoteRestoreOutcome::Unverified { .. } => Some(crate::ErrorKind::RestoreUnverified),
        }
    }

    /// What decided, in words.
    pub fn detail(&self) -> &str {
        match self {
            RemoteRestoreOutcome::Restored { detail, .. }
            | RemoteRestoreOutcome::NotRestored { detail, .. }
            | RemoteRestoreOutcome::DataAtRisk { detail, .. }
            | RemoteRestoreOutcome::Unverified { detail, .. } => detail,
        }
    }

    /// Which evidence decided.
    pub fn evidence(&self) -> Evidence {
        match self {
            RemoteRestoreOutcome::Restored { evidence, .. }
            | RemoteRestoreOutcome::NotRestored { evidence, .. }
            | RemoteRestoreOutcome::DataAtRisk { evidence, .. }
            | RemoteRestoreOutcome::Unverified { evidence, .. } => *evidence,
        }
    }
}

/// Everything the verdict weighs.
#[derive(Debug, Clone)]
pub struct RestoreEvidence<'a> {
    /// Health right before the restore was sent.
    pub before: &'a HealthReport,
    /// What the restore request got back.
    pub answer: &'a ServerAnswer,
    /// The backup's recorded content, when Backup Desk knows it.
    pub backup: Option<&'a ContentFingerprint>,
}

/// Judges the settled database `after` (see the module rules).
pub fn judge(evidence: &RestoreEvidence<'_>, after: &HealthReport) -> RemoteRestoreOutcome {
    use RemoteRestoreOutcome::*;
    let after = match after {
        HealthReport::Failed(f) => {
            return DataAtRisk {
                evidence: Evidence::DatabaseState,
                detail: format!("the server cannot read its database: {}", f.error),
            };
        }
        HealthReport::Checked(h) => h,
    };
    if let Some(at_risk) = broken(after) {
        return at_risk;
    }
    let now = ContentFingerprint::of(after);
    let record_matches = evidence.backup.is_some_and(|b| now.matches(b));
    let before = match evidence.before {
        HealthReport::Checked(h) => Some(ContentFingerprint::of(h)),
        HealthReport::Failed(_) => None,
    };
    if !record_matches && let Some(gone) = before.as_ref().and_then(|b| data_gone(b, &now)) {
        return DataAtRisk {
            evidence: Evidence::DatabaseState,
            detail: gone,
        };
    }
    let as_before = before.as_ref().is_some_and(|b| now.matches(b));
    let closer_to_before = match (evidence.backup, &before) {
        (Some(record), Some(b)) => now.row_distance(b) < now.row_distance(record),
        _ => false,
    };
    if evidence.answer.is_error() {
        let said = evidence.answer.describe();
        return if as_before {
            NotRestored {
                evidence: Evidence::BeforeOnly,
                detail: format!("the server answered {said}, and its database is as it was before"),
            }
        } else {
            Unverified {
                evidence: Evidence::BeforeOnly,
                detail: format!(
                    "the server answered {said}, yet its database changed: it holds neither what it held before nor, for certain, the backup"
                ),
            }
        };
    }
    by_record(
        evidence.backup.is_some(),
        record_matches && !closer_to_before,
        as_before,
        &now,
    )
}

/// Data at risk when the settled database fails its integrity check or
/// holds no table at all (`None`: it is sound enough to compare).
fn broken(after: &crate::model::Health) -> Option<RemoteRestoreOutcome> {
    if !after.healthy {
        return Some(RemoteRestoreOutcome::DataAtRisk {
            evidence: Evidence::DatabaseState,
            detail: format!(
                "the database fails its integrity check ({} foreign key errors)",
                after.foreign_key_errors
            ),
        });
    }
    if after.tables == 0 {
        let what = if after.size == 0 {
            "a 0-byte file".to_owned()
        } else {
            format!("{} with no tables", after.size_human)
        };
        return Some(RemoteRestoreOutcome::DataAtRisk {
            evidence: Evidence::DatabaseState,
            detail: format!("the server's database is now {what}"),
        });
    }
    None
}

/// The verdict of a restore the server said succeeded: by the backup's
/// record when there is one (`matches`: the database is the record's and
/// not closer to what it held before), else by whether it changed.
fn by_record(
    has_record: bool,
    matches: bool,
    as_before: bool,
    now: &ContentFingerprint,
) -> RemoteRestoreOutcome {
    use RemoteRestoreOutcome::*;
    match has_record {
        true if matches => Restored {
            evidence: Evidence::BackupRecord,
            detail: format!(
                "the database matches the backup's record: {} tables, {} rows, {} bytes",
                now.tables.len(),
                now.total_rows(),
                now.logical_size
            ),
        },
        true if as_before => NotRestored {
            evidence: Evidence::BackupRecord,
            detail: "the database is as it was before, not as the backup's record".to_owned(),
        },
        true => Unverified {
            evidence: Evidence::BackupRecord,
            detail: "the database changed, but matches neither the backup's record nor what it held before".to_owned(),
        },
        false if as_before => Unverified {
            evidence: Evidence::BeforeOnly,
            detail: "the database is as it was before; with no record of what the backup holds, Backup Desk cannot tell whether it holds the same or the server did not restore it".to_owned(),
        },
        false => Restored {
            evidence: Evidence::BeforeOnly,
            detail: format!(
                "the database changed and has {} tables with {} rows; there is no record of the backup's content to compare it with",
                now.tables.len(),
                now.total_rows()
            ),
        },
    }
}

/// `Some(reason)` when almost every table that held rows before is empty
/// (§6.9: the restarted server recreates its schema in the emptied file).
fn data_gone(before: &ContentFingerprint, now: &ContentFingerprint) -> Option<String> {
    let held: Vec<&TableRows> = before.tables.iter().filter(|t| t.rows > 0).collect();
    if held.is_empty() {
        return None;
    }
    let emptied = held
        .iter()
        .filter(|t| now.rows(&t.name).unwrap_or(0) == 0)
        .count();
    (emptied * 10 >= held.len() * 9).then(|| {
        format!(
            "data gone: {emptied} of the {} tables that held rows before are empty now ({} rows left of {})",
            held.len(),
            now.total_rows(),
            before.total_rows()
        )
    })
}

/// When consecutive health answers agree for long enough, the database has
/// settled. An answer that differs from the first of the current run starts
/// a new run; no answer at all (the server restarting) ends the run.
#[derive(Debug, Clone)]
pub(crate) struct SettleTracker {
    window: Duration,
    min_reads: usize,
    run: Option<(Duration, HealthReport)>,
    reads: usize,
}

impl SettleTracker {
    /// Settled after `min_reads` agreeing answers spanning at least `window`.
    pub fn new(window: Duration, min_reads: usize) -> Self {
        SettleTracker {
            window,
            min_reads: min_reads.max(2),
            run: None,
            reads: 0,
        }
    }

    /// The window for a database of `logical_size` bytes: 5 s (well past the
    /// ~2 s during which the restarted server still answers from the old
    /// file, §6.8) plus a second for every 100 MB the script copies.
    pub(crate) fn window_for(logical_size: u64) -> Duration {
        Duration::from_secs(5) + Duration::from_millis(logical_size / 100_000)
    }

    /// Takes the answer read at `at` (time since the restore was sent);
    /// returns the settled answer once there is one.
    pub(crate) fn observe(&mut self, at: Duration, answer: HealthReport) -> Option<&HealthReport> {
        let agrees = self
            .run
            .as_ref()
            .is_some_and(|(_, first)| agree(first, &answer));
        if !agrees {
            self.run = Some((at, answer));
            self.reads = 1;
            return None;
        }
        self.reads += 1;
        let (since, first) = self.run.as_ref()?;
        (self.reads >= self.min_reads && at.saturating_sub(*since) >= self.window).then_some(first)
    }

    /// The server did not answer: whatever it answered before is no run.
    pub(crate) fn interrupt(&mut self) {
        self.run = None;
        self.reads = 0;
    }
}

/// Whether two health answers describe the same database state.
fn agree(a: &HealthReport, b: &HealthReport) -> bool {
    match (a, b) {
        (HealthReport::Failed(_), HealthReport::Failed(_)) => true,
        (HealthReport::Checked(a), HealthReport::Checked(b)) => {
            a.healthy == b.healthy
                && a.tables == b.tables
                && (a.size == 0) == (b.size == 0)
                && ContentFingerprint::of(b).matches(&ContentFingerprint::of(a))
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests;
