//! Push: every backup and `.meta` of an installation not yet at its
//! locations, copied and confirmed by the store, then each copy locked for
//! as long as its retention rule keeps it (on a remote with Object Lock).

use serde::Serialize;

use chrono::{Local, TimeZone, Utc};

use super::{Result, chosen, ledger_path, store};
use crate::context::OperationContext;
use crate::local::activity_log::{ActivityLog, Level};
use crate::local::catalog::BackupCatalog;
use crate::local::ledger::Ledger;
use crate::local::retention;
use crate::offsite::ledger::{CopyLedger, CopyRecord, LockState, SupersededCopy, local_version};
use crate::offsite::throttle::Throttle;
use crate::service::selection::Selection;

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
    /// Bytes sent by this push.
    pub bytes_sent: u64,
    /// Bytes a cut-off earlier push had sent already, kept.
    pub bytes_kept: u64,
}

/// What a push did at one location.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct PushReport {
    pub location: String,
    pub copied: Vec<Copied>,
    /// Files the store held already (same name and size).
    pub present: Vec<String>,
    /// Copies whose lock was set or extended now, with its new date.
    pub locked: Vec<LockSet>,
    /// Copies this push replaced with a newer one (after a rewrap) while
    /// their lock still held them: kept in the store until that date, and
    /// readable only by the ways in they were made with.
    pub superseded: Vec<SupersededCopy>,
}

/// A copy's lock set or extended by a push.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct LockSet {
    pub name: String,
    /// RFC 3339, UTC.
    pub retain_until: String,
}

/// How a push runs.
#[derive(Debug, Clone, Default)]
pub struct PushOptions {
    /// Only this location (default: every location of the installation).
    pub only: Option<String>,
    /// At most this many bytes a second (default: no limit).
    pub limit: Option<u64>,
    /// Started by the push after a backup (said in the activity log).
    pub after_backup: bool,
}

/// Copies every backup (`.gpg`) and its `.meta` of the selection's
/// installation not yet at the location(s), byte for byte: one listing
/// per location, then one upload per missing file, each part's and the
/// whole file's SHA-256 confirmed by the store (recorded in the location's
/// ledger). A push cut off earlier resumes where the store's parts end.
///
/// On a remote with Object Lock each copy is then locked until its
/// retention rule may let it go ([`release_at`]), extended (never
/// shortened) as its rules change: one request per copy whose date grows,
/// none for the others (their dates are in the ledger). Whether the remote
/// locks is read once per push that copies something.
///
/// Each location's outcome is written to the installation's
/// `logs/backup.log` (a failure too, before it is returned).
///
/// # Errors
/// Not a local installation; no such location; the store's refusals (the
/// first failing location ends the push).
pub fn push(
    selection: &Selection,
    options: &PushOptions,
    ctx: &OperationContext<'_>,
) -> Result<Vec<PushReport>> {
    let data = selection.installation()?;
    let mut throttle = Throttle::new(options.limit);
    let targets = chosen(selection, options.only.as_deref())?;
    let catalog = BackupCatalog::scan(data)?;
    let policy = crate::service::retention::policy(selection)?;
    let run = PushRun {
        files: files_to_push(data, &catalog),
        retired: crate::local::rotation::RetiredWays::load(data),
        plan: retention::plan(&catalog, &Ledger::load(data), &policy, ctx),
        policy,
        ctx: *ctx,
    };
    let log = ActivityLog::backup(data);
    let by = if options.after_backup {
        " (after a backup)"
    } else {
        ""
    };
    let mut reports = Vec::new();
    for location in targets {
        match run.to(&location, &mut throttle) {
            Ok(report) => {
                log.append(ctx, Level::Info, &format!("{}{by}", report.summary()));
                note_outcome(&location.name, ctx, None);
                reports.push(report);
            }
            Err(e) => {
                log.append(
                    ctx,
                    Level::Error,
                    &format!("Off-site push to {} failed{by}: {e}", location.name),
                );
                note_outcome(&location.name, ctx, Some(e.to_string()));
                return Err(e);
            }
        }
    }
    Ok(reports)
}

impl PushReport {
    /// One line for the activity log: what was copied, by name.
    pub fn summary(&self) -> String {
        let copied: Vec<&str> = self.copied.iter().map(|c| c.name.as_str()).collect();
        let mut line = format!(
            "Pushed off-site to {}: {} file(s) copied",
            self.location,
            copied.len()
        );
        if !copied.is_empty() {
            line.push_str(&format!(" ({})", copied.join(", ")));
        }
        line.push_str(&format!(", {} already there", self.present.len()));
        if !self.locked.is_empty() {
            line.push_str(&format!(", {} lock(s) set or extended", self.locked.len()));
        }
        for kept in &self.superseded {
            line.push_str(&format!("; {}", kept.words()));
        }
        line
    }
}

/// What every location of one push shares: the files, the retention plan
/// the locks follow, the clock and the progress.
struct PushRun<'a> {
    files: Vec<(String, std::path::PathBuf)>,
    /// What each backup's rewraps took from it.
    retired: crate::local::rotation::RetiredWays,
    plan: retention::RetentionPlan,
    policy: retention::RetentionPolicy,
    ctx: OperationContext<'a>,
}

impl PushRun<'_> {
    /// The copy of `name` the store holds under a lock that still runs,
    /// about to be replaced by a newer one (a rewrapped backup): what it
    /// still needs, from the ways in its backup lost since.
    fn superseded(&self, name: &str, ledger: &CopyLedger) -> Option<SupersededCopy> {
        let until = ledger.copies.get(name)?.retain_until.clone()?;
        let ends = chrono::DateTime::parse_from_rfc3339(&until).ok()?;
        if ends <= self.ctx.now() {
            return None;
        }
        Some(SupersededCopy {
            name: name.to_owned(),
            retain_until: until,
            retired: self.retired.backups.get(name).cloned().unwrap_or_default(),
        })
    }

    /// Stage **copy**, then stage **lock**, at one location.
    fn to(&self, location: &super::OffsiteLocation, throttle: &mut Throttle) -> Result<PushReport> {
        let remote = store(location, &self.ctx)?;
        let ledger_file = ledger_path(&location.name);
        let mut ledger = CopyLedger::load(&ledger_file)?;
        let there = remote.list()?;
        let mut report = PushReport {
            location: location.name.clone(),
            copied: Vec::new(),
            present: Vec::new(),
            locked: Vec::new(),
            superseded: Vec::new(),
        };
        for (name, path) in &self.files {
            let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
            let version = local_version(name, path);
            // Held already: the same size, and (where this machine pushed
            // it) the same version of the local file.
            let same_version = ledger
                .copies
                .get(name)
                .and_then(|r| r.local_version.as_ref())
                .is_none_or(|pushed| Some(pushed) == version.as_ref());
            if same_version && there.iter().any(|(n, s)| n == name && *s == size) {
                report.present.push(name.clone());
                continue;
            }
            if let Some(kept) = self.superseded(name, &ledger) {
                ledger.superseded.push(kept.clone());
                report.superseded.push(kept);
            }
            let uploaded = remote.upload_file(name, path, throttle, &self.ctx)?;
            *ledger.entry(name) = CopyRecord {
                local_version: version,
                size: uploaded.size,
                store_checksum: Some(uploaded.checksum_sha256.clone()),
                pushed_at: Some(stamp(&self.ctx)),
                ..CopyRecord::default()
            };
            ledger.save(&ledger_file)?;
            report.copied.push(Copied {
                name: name.clone(),
                size: uploaded.size,
                checksum_sha256: uploaded.checksum_sha256,
                parts_sent: uploaded.parts_sent,
                parts_kept: uploaded.parts_kept,
                bytes_sent: uploaded.bytes_sent,
                bytes_kept: uploaded.bytes_kept,
            });
        }
        if !report.copied.is_empty() || ledger.lock.is_none() {
            ledger.lock = Some(match remote.object_lock()? {
                Some(mode) => LockState::On(mode),
                None => LockState::Off,
            });
            ledger.save(&ledger_file)?;
        }
        if let Some(LockState::On(mode)) = ledger.lock {
            let locks = Locks {
                plan: &self.plan,
                policy: &self.policy,
                mode,
                ledger_file: &ledger_file,
            };
            locks.apply(remote.as_ref(), &mut ledger, &mut report, &self.ctx)?;
        }
        Ok(report)
    }
}

/// Records how the push to `location` ended in its ledger (`problem`:
/// why it failed), for the fleet tile; a ledger that cannot be written is
/// only logged (the push's own outcome stands).
fn note_outcome(location: &str, ctx: &OperationContext<'_>, problem: Option<String>) {
    let path = ledger_path(location);
    let result = CopyLedger::load(&path).and_then(|mut ledger| {
        ledger.last_push = Some(crate::offsite::ledger::CopyCheck {
            at: stamp(ctx),
            ok: problem.is_none(),
            problem,
        });
        ledger.save(&path)
    });
    if let Err(e) = result {
        tracing::warn!("cannot record the push's outcome for {location}: {e}");
    }
}

/// Each encrypted backup with its `.meta` first (a copy whose `.meta` is
/// there can be checked from the store alone): names and local paths.
fn files_to_push(
    data: &crate::local::layout::DataDir,
    catalog: &BackupCatalog,
) -> Vec<(String, std::path::PathBuf)> {
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
    files
}

/// Stage **lock** of a push to a location whose bucket locks copies: each
/// held copy the retention plan keeps is locked until the policy would
/// release it (never shortened; only copies the store holds get records).
struct Locks<'a> {
    plan: &'a retention::RetentionPlan,
    policy: &'a retention::RetentionPolicy,
    mode: crate::offsite::store::LockMode,
    ledger_file: &'a std::path::Path,
}

impl Locks<'_> {
    fn apply(
        &self,
        remote: &dyn crate::offsite::store::CopyStore,
        ledger: &mut CopyLedger,
        report: &mut PushReport,
        ctx: &OperationContext<'_>,
    ) -> Result<()> {
        let now = ctx.now().naive_local();
        for decision in &self.plan.decisions {
            let Some(until) = retention::release_at(decision, self.policy, now)
                .and_then(|t| Local.from_local_datetime(&t).earliest())
                .map(|t| t.with_timezone(&Utc))
                .filter(|t| *t > ctx.now())
            else {
                continue;
            };
            let name = decision.filename.clone();
            let meta = crate::format::name::BackupName::parse(&name)
                .ok()
                .and_then(|n| n.meta_name());
            for file in std::iter::once(name).chain(meta) {
                let held =
                    report.present.contains(&file) || report.copied.iter().any(|c| c.name == file);
                if !held {
                    // No record for a copy the store does not hold.
                    continue;
                }
                let record = ledger.entry(&file);
                let locked_until = record
                    .retain_until
                    .as_deref()
                    .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok());
                if locked_until.is_some_and(|t| t >= until) {
                    continue;
                }
                remote.retain_until(&file, self.mode, until)?;
                let until = until.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
                record.retain_until = Some(until.clone());
                ledger.save(self.ledger_file)?;
                report.locked.push(LockSet {
                    name: file,
                    retain_until: until,
                });
            }
        }
        Ok(())
    }
}

/// Now, as the ledger writes times.
pub(super) fn stamp(ctx: &OperationContext<'_>) -> String {
    ctx.now()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, false)
}
