//! Rewrap: backups given their installation's encryption policy (its
//! recipients, its passphrase or none) by their key packets alone. Each
//! backup's session key is recovered by a way in held here (a passphrase,
//! a keychain key) and proven on the body's first block; a new head of one
//! public-key packet per recipient key and, where the policy keeps one, a
//! passphrase packet is written before the same body, copied byte for byte
//! ([`key_packets::write_rewrapped`]). No plaintext is ever written, and
//! the body (its integrity check, its plaintext SHA-256) cannot change.
//!
//! Stages: **plan** (per backup: its ways in already the policy's; to
//! rewrap, its session key recovered; or left alone, named: no way in
//! held here), **rewrap** (each rewritten as a part beside it, proven,
//! renamed over it, its `.meta`'s file hash updated), as a passphrase
//! rotation does ([`super::rewrite`]): a kill anywhere leaves every backup
//! opening under its old ways in or the new, and the next run repairs the
//! one `.meta` a kill between rename and update left behind and goes on.
//! The state is recorded in the rotation's record (stage `rewrapping`).

use serde::Serialize;

use super::retired::{Retired, RetiredWays};
use super::{
    BackupRotationError, RotationError, RotationStage, RotationState, Skipped, count,
    finish_record, in_progress, io_at, name_of, recorded_stage, repair_interrupted, rewrite,
    skipped, state_path,
};
use crate::context::OperationContext;
use crate::format::crypto::{CryptoError, OpenedSession, Openers, Sealing};
use crate::format::key_packets::{self, KeyPackets};
use crate::local::catalog::{BackupCatalog, CatalogEntry};
use crate::local::layout::DataDir;
use crate::local::lock::OperationLock;
use crate::local::staging::Staging;

/// Which backups to rewrap.
#[derive(Debug, Clone, Default)]
pub struct RewrapRequest {
    /// Backups by file name (none: see `all`).
    pub backups: Vec<String>,
    /// Every encrypted backup of the installation.
    pub all: bool,
    /// Plan only: say what would be rewrapped, change nothing.
    pub dry_run: bool,
}

/// What a rewrap did (or, in a dry run, would do).
#[derive(Debug, Clone, Default, Serialize, serde::Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct RewrapReport {
    /// Nothing was changed: the plan only.
    pub dry_run: bool,
    /// Given the policy's ways in by this run (would be, in a dry run).
    pub rewrapped: Vec<String>,
    /// Had exactly the policy's ways in already: untouched.
    pub already: Vec<String>,
    /// Opened by no way in held here, or not a backup of ours: left as
    /// they were, named.
    pub skipped: Vec<Skipped>,
    /// Could not be rewritten (the part could not be written or proven):
    /// left as they were, named.
    pub failed: Vec<Skipped>,
    /// The key ids the new heads name (the policy's recipients' keys).
    pub key_ids: Vec<String>,
    /// Whether the new heads carry the passphrase's packet.
    pub passphrase: bool,
    /// The record's state when this run ended (`None`: finished).
    pub in_progress: Option<RotationState>,
}

impl RewrapReport {
    /// Every selected backup has the policy's ways in.
    pub fn clean(&self) -> bool {
        self.skipped.is_empty() && self.failed.is_empty()
    }

    /// One line for the admin and the log.
    pub fn summary(&self) -> String {
        let done = if self.dry_run {
            "would be rewrapped"
        } else {
            "rewrapped"
        };
        let mut line = format!(
            "{} {done}, {} already had the policy's ways in",
            self.rewrapped.len(),
            self.already.len()
        );
        for (list, why) in [
            (&self.skipped, "left alone"),
            (&self.failed, "not rewritten"),
        ] {
            if !list.is_empty() {
                let names: Vec<String> = list
                    .iter()
                    .map(|s| format!("{} ({})", s.filename, s.message))
                    .collect();
                line.push_str(&format!("; {} {why}: {}", list.len(), names.join("; ")));
            }
        }
        line
    }
}

/// What the plan does with one backup.
enum Step {
    Matches,
    /// Its session key, and the ways in it loses.
    Rewrap(OpenedSession, Retired),
    LeaveAlone(Skipped),
}

/// Rewraps the selected backups of `data` to `sealing` (the policy's
/// recipients and passphrase), opening each with `openers`, or with the
/// session key `ctx` carries for it (handed over by a laptop that holds a
/// key: a server that keeps no secret is rewrapped so).
///
/// # Errors
/// [`RotationError`] when the rewrap cannot start (another operation, an
/// unfinished passphrase rotation, a backup named that does not exist,
/// no room for one rewritten backup): nothing changed then. Per-backup
/// problems are in the report.
pub fn rewrap(
    data: &DataDir,
    sealing: &Sealing,
    openers: &Openers<'_>,
    request: &RewrapRequest,
    ctx: &OperationContext<'_>,
) -> Result<RewrapReport, RotationError> {
    let _lock = OperationLock::acquire(data)?;
    if let Some(other) = in_progress(data).filter(|s| s.stage != RotationStage::Rewrapping) {
        return Err(RotationError::OtherUnfinished(other.words()));
    }
    let catalog = BackupCatalog::scan(data)?;
    let selected = select(&catalog, request)?;
    let mut report = RewrapReport {
        dry_run: request.dry_run,
        key_ids: target_key_ids(sealing),
        passphrase: sealing.passphrase.is_some(),
        ..RewrapReport::default()
    };
    if !request.dry_run {
        let staging = Staging::open(data).map_err(io_at(data.staging()))?;
        crate::local::backup::remove_leftovers(data, &staging);
        repair_interrupted(data, &catalog, &|path| {
            KeyPackets::read(path).is_ok_and(|h| h.session(path, openers).is_ok())
        });
    }
    let mut to_rewrap = Vec::new();
    let mut lost = Vec::new();
    for entry in selected {
        let openers = Openers {
            session: ctx.session_key_for(entry.name.file_name()),
            ..*openers
        };
        match plan_one(entry, sealing, &report.key_ids, &openers) {
            Step::Matches => report.already.push(name_of(entry)),
            Step::Rewrap(session, retired) => {
                lost.push((name_of(entry), retired));
                to_rewrap.push((entry, session));
            }
            Step::LeaveAlone(left) => report.skipped.push(left),
        }
    }
    if request.dry_run {
        report.rewrapped = to_rewrap.iter().map(|(e, _)| name_of(e)).collect();
        return Ok(report);
    }
    super::check_room(data, to_rewrap.iter().map(|(e, _)| *e))?;
    // What each backup loses is kept before any is rewritten.
    RetiredWays::note(data, &lost).map_err(io_at(data.state()))?;
    rewrap_stage(data, &to_rewrap, sealing, ctx, &mut report).map_err(io_at(state_path(data)))?;
    if report.failed.is_empty() {
        finish_record(data);
    }
    report.in_progress = in_progress(data);
    log(data, ctx, &report);
    Ok(report)
}

/// The backups the request names (each must exist), or every encrypted
/// one with `all`.
fn select<'a>(
    catalog: &'a BackupCatalog,
    request: &RewrapRequest,
) -> Result<Vec<&'a CatalogEntry>, RotationError> {
    if request.all {
        return Ok(catalog
            .entries()
            .iter()
            .filter(|e| e.name.kind().is_encrypted())
            .collect());
    }
    request
        .backups
        .iter()
        .map(|name| catalog.find(name).map_err(RotationError::from))
        .collect()
}

/// The key ids a head made for `sealing` names, sorted.
fn target_key_ids(sealing: &Sealing) -> Vec<String> {
    let mut ids: Vec<String> = sealing
        .recipients
        .iter()
        .flat_map(|r| r.encryption_key_ids())
        .collect();
    ids.sort();
    ids
}

/// The key ids a head's public-key packets name, sorted.
fn named_key_ids(head: &KeyPackets) -> Result<Vec<String>, CryptoError> {
    let mut ids = head.recipient_key_ids()?;
    ids.sort();
    Ok(ids)
}

/// The plan for one backup: its ways in compared with the policy's, and
/// its session key recovered when they differ.
fn plan_one(
    entry: &CatalogEntry,
    sealing: &Sealing,
    target: &[String],
    openers: &Openers<'_>,
) -> Step {
    let step = || -> Result<Step, CryptoError> {
        let head = KeyPackets::read(&entry.path)?;
        if matches_policy(&head, entry, sealing, target)? {
            return Ok(Step::Matches);
        }
        let retired = Retired {
            key_ids: named_key_ids(&head)?
                .into_iter()
                .filter(|id| !target.contains(id))
                .collect(),
            passphrase: head.ways_in() > 0 && sealing.passphrase.is_none(),
        };
        Ok(Step::Rewrap(head.session(&entry.path, openers)?, retired))
    };
    if !entry.name.kind().is_encrypted() {
        return Step::LeaveAlone(skipped(
            entry,
            &BackupRotationError::NotProven("not an encrypted backup"),
        ));
    }
    step().unwrap_or_else(|e| Step::LeaveAlone(skipped(entry, &BackupRotationError::Crypto(e))))
}

/// Whether the head already has exactly the policy's ways in: a public-key
/// packet for each recipient key and no other, and the passphrase's one
/// packet where the policy keeps it (none where it does not). `target`:
/// the policy's key ids, sorted.
fn matches_policy(
    head: &KeyPackets,
    entry: &CatalogEntry,
    sealing: &Sealing,
    target: &[String],
) -> Result<bool, CryptoError> {
    if named_key_ids(head)? != target {
        return Ok(false);
    }
    Ok(match &sealing.passphrase {
        Some(p) => head.ways_in() == 1 && head.access(&entry.path, p)?.opens,
        None => head.ways_in() == 0,
    })
}

/// The proof a rewritten part has the policy's ways in: the key ids its
/// head names are the policy's, its passphrase (if kept) opens it, and
/// the session key it gives is the one the old head gave.
fn proven<'a>(
    sealing: &'a Sealing,
    target: &'a [String],
    session: &'a OpenedSession,
) -> impl FnOnce(&std::path::Path) -> Result<(), BackupRotationError> + 'a {
    move |part| {
        let head = KeyPackets::read(part)?;
        if named_key_ids(&head)? != target {
            return Err(BackupRotationError::NotProven(
                "its public-key packets are not the policy's",
            ));
        }
        if let Some(p) = &sealing.passphrase {
            let candidates = [p];
            let again = head.session(part, &Openers::passphrases(&candidates))?;
            if again.key != session.key || again.algo != session.algo {
                return Err(BackupRotationError::NotProven(
                    "the passphrase gives another session key",
                ));
            }
        }
        Ok(())
    }
}

/// Stage **rewrap**: each backup given the new head; the state recorded
/// before each rewrite and after it.
fn rewrap_stage(
    data: &DataDir,
    entries: &[(&CatalogEntry, OpenedSession)],
    sealing: &Sealing,
    ctx: &OperationContext<'_>,
    report: &mut RewrapReport,
) -> std::io::Result<()> {
    if entries.is_empty() {
        return Ok(());
    }
    let target = report.key_ids.clone();
    let target = &target;
    let state = RotationState {
        stage: RotationStage::Rewrapping,
        done: 0,
        total: count(entries.len()),
        current: None,
    };
    recorded_stage(
        data,
        state,
        entries,
        |(entry, _)| entry,
        ctx,
        |(entry, session)| {
            rewrite(data, entry, proven(sealing, target, session), |out| {
                key_packets::write_rewrapped(&entry.path, session, sealing, out)?;
                Ok(())
            })
        },
        |entry, outcome| match outcome {
            Ok(()) => report.rewrapped.push(name_of(entry)),
            Err(e) => report.failed.push(skipped(entry, &e)),
        },
    )
}

fn log(data: &DataDir, ctx: &OperationContext<'_>, report: &RewrapReport) {
    use crate::local::activity_log::{ActivityLog, Level};
    let level = if report.clean() {
        Level::Info
    } else {
        Level::Warning
    };
    ActivityLog::backup(data).append(ctx, level, &format!("Rewrap: {}", report.summary()));
}
