//! An installation's notifiers (issue 31): added, listed, removed and
//! tested by the shells; told by the jobs. After each job that checks an
//! installation (a backup, the scheduled verification, a drill) it is read
//! as its fleet tile is, and each watched thing (the latest backup, the
//! verifications, the latest drill, the off-site copies, the backup's age,
//! the database's health, the scheduled job) is failing or not: a notifier
//! hears of each change once and of its recovery once (`--on failures`:
//! only what breaks; `--on all`: also each job that went well). A ping
//! check hears `start` when a backup job starts, `fail` (with why) when a
//! job fails, and after the verification or a drill, success only when the
//! whole proof holds (the newest backup younger than the limit, its deep
//! verification passed, a drill within the limit, every off-site location
//! without a failure), else `fail` with the broken link. Deliveries run at
//! once, each bounded ([`crate::local::notify::deliver::BOUND`]); none
//! changes a job's outcome.

use crate::context::OperationContext;
use crate::local::layout::DataDir;
use crate::local::notify::deliver::{self, Sent};
use crate::local::notify::{
    Delivery, Event, Notifier, NotifierKind, NotifyOn, Observed, Ping, Watch, WatchState, book,
};
use crate::service::fleet::{Condition, FleetTile, TilePolicy};
use crate::service::{Selection, ServiceError};

type Result<T> = std::result::Result<T, ServiceError>;

/// A job that tells the notifiers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Job {
    Backup,
    Verify,
    Drill,
}

impl Job {
    fn word(self) -> &'static str {
        match self {
            Job::Backup => "backup",
            Job::Verify => "verification",
            Job::Drill => "drill",
        }
    }
}

/// Adds notifier `name` of `kind` reaching `url` (its secret kept in the
/// keychain, else in the installation's private file).
///
/// # Errors
/// Not a local installation; a bad name or URL; a name taken.
pub fn add(
    selection: &Selection,
    name: &str,
    kind: NotifierKind,
    on: NotifyOn,
    url: &str,
    ctx: &OperationContext<'_>,
) -> Result<Notifier> {
    let data = selection.installation()?;
    Ok(book::add(data, name, kind, on, url, ctx.secrets())?)
}

/// The installation's notifiers (redacted).
///
/// # Errors
/// Not a local installation; a damaged file.
pub fn list(selection: &Selection) -> Result<Vec<Notifier>> {
    Ok(book::list(selection.installation()?)?)
}

/// Removes notifier `name` and its secret.
///
/// # Errors
/// Not a local installation; no such notifier.
pub fn remove(selection: &Selection, name: &str, ctx: &OperationContext<'_>) -> Result<()> {
    Ok(book::remove(
        selection.installation()?,
        name,
        ctx.secrets(),
    )?)
}

/// Sends a test to notifier `name` (all when `None`): an event `test` to
/// ntfy and webhooks, a success ping with "test" to a ping check.
///
/// # Errors
/// Not a local installation; no such notifier. A failed delivery is in
/// the answer, not an error.
pub fn test(
    selection: &Selection,
    name: Option<&str>,
    ctx: &OperationContext<'_>,
) -> Result<Vec<Delivery>> {
    let data = selection.installation()?;
    let notifiers: Vec<Notifier> = book::list(data)?
        .into_iter()
        .filter(|n| name.is_none_or(|name| n.name == name))
        .collect();
    if let (Some(name), true) = (name, notifiers.is_empty()) {
        return Err(crate::local::notify::NotifyBookError::Unknown(name.to_owned()).into());
    }
    let event = event(data, "test", "test", None, "a test from Backup Desk", ctx);
    let ping = Ping::Success("test from Backup Desk".to_owned());
    Ok(send_all(data, &notifiers, ctx, |n| match n.kind {
        NotifierKind::Ping => vec![Message::Ping(ping.clone())],
        _ => vec![Message::Event(event.clone())],
    }))
}

/// A job starts: a ping check hears `start` (a backup job: the day's
/// proof begins).
pub(crate) fn job_started(selection: &Selection, job: Job, ctx: &OperationContext<'_>) {
    let Ok(data) = selection.installation() else {
        return;
    };
    if job != Job::Backup {
        return;
    }
    let pings: Vec<Notifier> = book::list(data)
        .unwrap_or_default()
        .into_iter()
        .filter(|n| n.kind == NotifierKind::Ping)
        .collect();
    send_all(data, &pings, ctx, |_| vec![Message::Ping(Ping::Start)]);
}

/// A job ended (`failed`: why, when it did; `took`: how long): its run
/// is recorded and the metrics file written; with notifiers, the
/// installation is read as its tile is, every change is told once, and a
/// ping check hears how the proof stands. Nothing here changes the job's
/// outcome.
pub(crate) fn job_finished(
    selection: &Selection,
    job: Job,
    failed: Option<String>,
    took: std::time::Duration,
    ctx: &OperationContext<'_>,
) {
    let Ok(data) = selection.installation() else {
        return;
    };
    let mut state = WatchState::load(data);
    state.record_job(job.word(), failed.is_none(), took, ctx.now().timestamp());
    match book::list(data) {
        Ok(notifiers) if !notifiers.is_empty() => {
            tell(
                selection,
                data,
                &notifiers,
                job,
                failed.as_deref(),
                &mut state,
                ctx,
            );
        }
        Ok(_) => {}
        Err(e) => tracing::warn!("the notifiers cannot be read: {e}"),
    }
    if let Err(e) = state.save(data) {
        tracing::warn!("the notifiers' state cannot be kept: {e}");
    }
    super::notify_metrics::write(selection, data, &state, ctx);
}

/// Tells `notifiers` what changed after `job` (and a ping check how the
/// proof stands), keeping the watched state in `state`.
fn tell(
    selection: &Selection,
    data: &DataDir,
    notifiers: &[Notifier],
    job: Job,
    failed: Option<&str>,
    state: &mut WatchState,
    ctx: &OperationContext<'_>,
) {
    let (tile, newest_deep_passed) = read_tile(selection, ctx);
    let mut seen = observed(&tile);
    if let (Job::Backup, Some(why)) = (job, failed) {
        seen.retain(|o| o.watch != Watch::Backup);
        seen.push(Observed::failing(Watch::Backup, why));
    }
    let changes = state.observe(&seen);
    state.watched = true;
    let events: Vec<Event> = changes
        .iter()
        .map(|c| {
            let word = if c.failing { "failed" } else { "recovered" };
            let kind = format!("{:?}", c.watch).to_lowercase();
            event(data, word, &kind, c.backup.as_deref(), &c.message, ctx)
        })
        .collect();
    let succeeded = failed.is_none().then(|| {
        let message = format!("{} done", job.word());
        event(
            data,
            "succeeded",
            job.word(),
            tile.newest_backup.as_deref(),
            &message,
            ctx,
        )
    });
    let ping = match (failed, job) {
        (Some(why), _) => Some(Ping::Fail(format!("{} failed: {why}", job.word()))),
        (None, Job::Backup) => None,
        (None, _) => Some(match broken_link(&tile, newest_deep_passed) {
            None => Ping::Success("the proof holds".to_owned()),
            Some(why) => Ping::Fail(why),
        }),
    };
    if let Some(ping) = &ping {
        state.proof_holds = Some(matches!(ping, Ping::Success(_)));
    }
    send_all(data, notifiers, ctx, |n| match (n.kind, n.on) {
        (NotifierKind::Ping, _) => ping.iter().cloned().map(Message::Ping).collect(),
        (_, on) => events
            .iter()
            .filter(|e| on != NotifyOn::Failures || e.event == "failed")
            .chain(succeeded.iter().filter(|_| on == NotifyOn::All))
            .cloned()
            .map(Message::Event)
            .collect(),
    });
}

/// The installation read as its fleet tile (health, list, schedule,
/// off-site ledgers), and whether its newest regular backup passed a deep
/// verification (and has not failed one since).
fn read_tile(selection: &Selection, ctx: &OperationContext<'_>) -> (FleetTile, bool) {
    // (A scheduled job names the folder, not a profile: the defaults.)
    let policy = TilePolicy::default();
    let (mut tile, list, _) =
        crate::service::fleet::read(selection.label(), selection.target(), false, policy, ctx);
    let newest_deep_passed = list
        .unwrap_or_default()
        .iter()
        .find(|b| !b.kind.is_pre_restore())
        .is_some_and(|b| {
            b.verified.deep_passed_at.is_some()
                && b.verified.state != crate::model::VerificationStatus::Failed
        });
    if let Some(glance) = crate::service::fleet::offsite_glance_of(selection) {
        for problem in &glance.problems {
            tile.add(Condition::OffsiteFailed, problem.clone());
        }
        tile.offsite = Some(glance);
    }
    (tile, newest_deep_passed)
}

/// Each watched thing, failing or not, as the tile says.
fn observed(tile: &FleetTile) -> Vec<Observed> {
    let of = |watch: Watch, conditions: &[Condition]| {
        let failing: Vec<&str> = tile
            .problems
            .iter()
            .filter(|p| conditions.contains(&p.condition))
            .map(|p| p.message.as_str())
            .collect();
        Observed {
            watch,
            failing: (!failing.is_empty()).then(|| failing.join("; ")),
            backup: tile.newest_backup.clone(),
        }
    };
    vec![
        of(
            Watch::Backup,
            &[Condition::LatestBackupFailed, Condition::NoBackup],
        ),
        of(Watch::Verification, &[Condition::VerificationFailed]),
        of(Watch::Drill, &[Condition::DrillFailed]),
        of(Watch::Offsite, &[Condition::OffsiteFailed]),
        of(Watch::Overdue, &[Condition::Overdue]),
        of(Watch::Health, &[Condition::Unhealthy]),
        of(Watch::Schedule, &[Condition::ScheduleMissing]),
    ]
}

/// The first broken link of the proof, in words (`None`: it holds).
fn broken_link(tile: &FleetTile, newest_deep_passed: bool) -> Option<String> {
    let Some(newest) = &tile.newest_backup else {
        return Some("no backup".to_owned());
    };
    if tile.overdue {
        return Some(format!(
            "the newest backup, {newest}, is older than {} hours",
            tile.overdue_after_hours
        ));
    }
    if !newest_deep_passed {
        return Some(format!(
            "the newest backup, {newest}, has not passed a deep verification"
        ));
    }
    if tile.drill_overdue || tile.last_drill_passed == Some(false) {
        return Some(format!(
            "no restore drill passed in the last {} days",
            tile.drill_overdue_after_days
        ));
    }
    if let Some(problem) = tile.offsite.as_ref().and_then(|o| o.problems.first()) {
        return Some(format!("off-site: {problem}"));
    }
    None
}

fn event(
    data: &DataDir,
    event: &str,
    kind: &str,
    backup: Option<&str>,
    message: &str,
    ctx: &OperationContext<'_>,
) -> Event {
    Event {
        event: event.to_owned(),
        installation: data.root().display().to_string(),
        backup: backup.map(str::to_owned),
        kind: kind.to_owned(),
        message: message.to_owned(),
        time: ctx
            .now()
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, false),
    }
}

/// One thing to send.
#[derive(Debug, Clone)]
enum Message {
    Event(Event),
    Ping(Ping),
}

/// Sends each notifier what `what` gives it, the notifiers at once (each
/// bounded); their outcomes in order.
fn send_all(
    data: &DataDir,
    notifiers: &[Notifier],
    ctx: &OperationContext<'_>,
    what: impl Fn(&Notifier) -> Vec<Message> + Sync,
) -> Vec<Delivery> {
    let what = &what;
    let deadline = std::time::Instant::now() + deliver::BOUND;
    std::thread::scope(|scope| {
        let handles: Vec<_> = notifiers
            .iter()
            .map(|notifier| {
                scope.spawn(move || {
                    let url = match book::secret_of(data, notifier, ctx.secrets()) {
                        Ok(url) => url,
                        Err(e) => {
                            let delivery = Delivery {
                                notifier: notifier.name.clone(),
                                ok: false,
                                attempts: 0,
                                detail: e.to_string(),
                            };
                            return vec![delivery];
                        }
                    };
                    what(notifier)
                        .iter()
                        .map(|message| {
                            let sent = match message {
                                Message::Event(e) => Sent::Event(e),
                                Message::Ping(p) => Sent::Ping(p),
                            };
                            deliver::deliver(data, notifier, &url, &sent, deadline, ctx)
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_default())
            .collect()
    })
}
