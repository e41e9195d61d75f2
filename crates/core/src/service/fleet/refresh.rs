//! Reading every profile at once. A bounded number of reads run in flight
//! (each on its own thread: the HTTP client blocks), every tile is handed
//! to the caller the moment it is ready, so the total time is that of the
//! slowest profile, not the sum. A profile that cannot be read keeps its
//! last known state from the cache, marked as such, with what went wrong
//! now. Only one refresh runs at a time: [`FleetRefresher`] lets a second
//! caller join the running one instead of starting another.

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use crate::context::OperationContext;
use crate::targets::OpenedTarget;
use crate::targets::profile::{Profile, ProfileBook, ProfileTarget};

use super::cache::FleetCache;
use super::{FleetTile, TilePolicy, problems_first, read, unreachable_tile};

/// Where a caller wants each tile the moment it is ready.
pub type TileSink = Arc<dyn Fn(&FleetTile) + Send + Sync>;

/// How a refresh reads the fleet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FleetOptions {
    /// Profiles read at the same time.
    pub in_flight: usize,
    /// How long one read from a server may take before the tile says
    /// "busy" (a glance: shorter than an operation's 30 s).
    pub read_timeout: Duration,
}

impl Default for FleetOptions {
    fn default() -> Self {
        FleetOptions {
            in_flight: 16,
            read_timeout: Duration::from_secs(10),
        }
    }
}

/// Reads profile `name` into its tile, falling back to its cached state
/// when it cannot be read now (the tile then says why and since when).
/// The fresh tile, with its list and health, goes into the cache.
pub fn refresh_one(
    name: &str,
    profile: &Profile,
    options: &FleetOptions,
    cache: Option<&FleetCache>,
    ctx: &OperationContext<'_>,
) -> FleetTile {
    let mut tile = refresh_tile(name, profile, options, cache, ctx);
    tile.over_ssh = matches!(profile.target, ProfileTarget::Ssh { .. });
    tile.offsite = offsite_glance(name, ctx);
    let problems = tile.offsite.as_ref().map(|o| o.problems.clone());
    for problem in problems.unwrap_or_default() {
        tile.add(super::Condition::OffsiteFailed, problem);
    }
    if !tile.from_cache
        && let Some(newest) = tile.newest_backup.clone()
        && let Some(problem) = super::passphrase_check::stored_passphrase_problem(
            name,
            profile,
            &newest,
            ctx.secrets(),
        )
    {
        tile.add(super::Condition::PassphraseOpensNoBackup, problem);
    }
    tile
}

/// The profile's off-site copies as this machine's ledgers know them.
fn offsite_glance(name: &str, ctx: &OperationContext<'_>) -> Option<super::OffsiteGlance> {
    let selection = crate::service::Selection::profile(name, ctx).ok()?;
    offsite_glance_of(&selection)
}

/// The selection's off-site copies as this machine's ledgers know them
/// (`None`: no location, or none readable).
pub(crate) fn offsite_glance_of(
    selection: &crate::service::Selection,
) -> Option<super::OffsiteGlance> {
    let locations = crate::service::offsite::overview(selection).ok()?;
    if locations.is_empty() {
        return None;
    }
    Some(super::OffsiteGlance {
        locations: locations.len() as u32,
        newest_pushed_at: locations
            .iter()
            .filter_map(|l| l.newest_pushed_at.clone())
            .max(),
        last_deep_check: locations
            .iter()
            .filter_map(|l| l.last_deep_check.clone())
            .max(),
        problems: locations.iter().flat_map(|l| l.problems()).collect(),
    })
}

fn refresh_tile(
    name: &str,
    profile: &Profile,
    options: &FleetOptions,
    cache: Option<&FleetCache>,
    ctx: &OperationContext<'_>,
) -> FleetTile {
    // Through the API only: no verification or drill can be seen there.
    let remote = matches!(profile.target, ProfileTarget::Remote { .. });
    let opened = match &profile.target {
        // A folder that is gone (an unmounted disk) is not "no backups".
        ProfileTarget::Local { data_dir } if !data_dir.is_dir() => {
            Err(FolderGone(data_dir.clone()))
        }
        _ => Ok(OpenedTarget::open_for_a_glance(
            name,
            profile,
            ctx,
            options.read_timeout,
        )),
    };
    let not_opened = |mut tile: FleetTile| {
        tile.location = profile.target.location();
        tile
    };
    let fresh = match opened {
        Err(gone) => not_opened(unreachable_tile(name, false, &gone)),
        Ok(Err(e)) => not_opened(unreachable_tile(name, remote, &e)),
        Ok(Ok(target)) => {
            let (fresh, list, health) =
                read(name, target.get(), remote, TilePolicy::of(profile), ctx);
            if fresh.read_at.is_some()
                && let Some(cache) = cache
                && let Err(e) = cache.store_read(&fresh, list.as_deref(), health.as_ref())
            {
                tracing::warn!("the fleet cache could not be written: {e}");
            }
            fresh
        }
    };
    if fresh.read_at.is_some() {
        return fresh;
    }
    // Not read now: show what was last known, and why it is not newer.
    match cache.and_then(|c| c.tile(name).ok().flatten()) {
        Some(mut known) => {
            known.from_cache = true;
            known.error_kind = fresh.error_kind;
            for problem in fresh.problems {
                known.add(problem.condition, problem.message);
            }
            known
        }
        None => fresh,
    }
}

/// A local profile's folder that does not exist now.
#[derive(Debug, thiserror::Error)]
#[error("{} does not exist (an unmounted disk, a moved folder?)", .0.display())]
struct FolderGone(std::path::PathBuf);

impl crate::KindedError for FolderGone {
    fn kind(&self) -> crate::ErrorKind {
        crate::ErrorKind::NotAnInstallation
    }
}

/// Reads every profile of `book` with `options.in_flight` reads making
/// progress at once, the slowest of the last refresh first; `on_tile` sees
/// each tile as soon as it is ready. Returns them all, problems first.
///
/// A read that has waited longer than [`STALLED_AFTER`] (a busy server
/// holding the connection) no longer counts against `in_flight`: another
/// worker starts beside it, up to [`MAX_THREADS_PER_SLOT`] times
/// `in_flight` in all. So a handful of hung servers never holds up the
/// rest: the whole refresh takes about as long as the slowest single read.
pub fn refresh(
    book: &ProfileBook,
    options: &FleetOptions,
    cache: Option<&FleetCache>,
    ctx: &OperationContext<'_>,
    on_tile: &(dyn Fn(&FleetTile) + Sync),
) -> Vec<FleetTile> {
    // The slowest first (as the last refresh measured them; profiles never
    // timed before them all, their cost unknown): the refresh then takes
    // about as long as its slowest read instead of queueing behind fast ones.
    let took = cache.and_then(|c| c.read_times().ok()).unwrap_or_default();
    let mut order: Vec<(&String, &Profile)> = book.profiles().iter().collect();
    order.sort_by_key(|(name, _)| std::cmp::Reverse(took.get(*name).copied().unwrap_or(u64::MAX)));
    let queue: Mutex<VecDeque<(&String, &Profile)>> = Mutex::new(order.into());
    let done = Mutex::new(Vec::with_capacity(book.profiles().len()));
    let in_flight = options.in_flight.max(1);
    let cap = in_flight * MAX_THREADS_PER_SLOT;
    // Per worker: since when its current read runs (`None`: between
    // reads), and whether it has finished.
    let workers: Mutex<Vec<(Option<Instant>, bool)>> = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        let spawn = |id: usize| {
            let (queue, done, workers) = (&queue, &done, &workers);
            scope.spawn(move || {
                loop {
                    let next = queue.lock().unwrap_or_else(|e| e.into_inner()).pop_front();
                    let Some((name, profile)) = next else {
                        break;
                    };
                    let began = Instant::now();
                    workers.lock().unwrap_or_else(|e| e.into_inner())[id].0 = Some(began);
                    let tile = refresh_one(name, profile, options, cache, ctx);
                    if let Some(cache) = cache {
                        let _ = cache.record_read_time(name, began.elapsed());
                    }
                    workers.lock().unwrap_or_else(|e| e.into_inner())[id].0 = None;
                    on_tile(&tile);
                    done.lock().unwrap_or_else(|e| e.into_inner()).push(tile);
                }
                workers.lock().unwrap_or_else(|e| e.into_inner())[id].1 = true;
            });
        };
        let first = in_flight.min(book.profiles().len());
        workers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .resize(first, (None, false));
        (0..first).for_each(spawn);
        // Keep `in_flight` reads making progress while stalled ones wait.
        loop {
            std::thread::sleep(Duration::from_millis(50));
            if queue.lock().unwrap_or_else(|e| e.into_inner()).is_empty() {
                break;
            }
            let id = {
                let mut all = workers.lock().unwrap_or_else(|e| e.into_inner());
                let progressing = all
                    .iter()
                    .filter(|(since, finished)| {
                        !finished && since.is_none_or(|t| t.elapsed() < STALLED_AFTER)
                    })
                    .count();
                if progressing >= in_flight || all.len() >= cap {
                    continue;
                }
                all.push((None, false));
                all.len() - 1
            };
            spawn(id);
        }
    });
    let mut tiles = done.into_inner().unwrap_or_else(|e| e.into_inner());
    problems_first(&mut tiles);
    tiles
}

/// How long a read may wait before it stops counting as in flight.
pub(crate) const STALLED_AFTER: Duration = Duration::from_secs(1);

/// At most this many threads per slot of `in_flight` (stalled reads
/// included).
pub(crate) const MAX_THREADS_PER_SLOT: usize = 4;

/// One refresh at a time, shared by every caller of the process (the app's
/// windows, the auto-refresh, a button): a caller arriving while one runs
/// receives the tiles delivered so far at once, then the rest as they come,
/// and the same result.
#[derive(Default)]
pub struct FleetRefresher {
    running: Mutex<Option<Arc<Running>>>,
}

#[derive(Default)]
struct Running {
    state: Mutex<RunState>,
    finished: Condvar,
}

#[derive(Default)]
struct RunState {
    delivered: Vec<FleetTile>,
    listeners: Vec<TileSink>,
    result: Option<Vec<FleetTile>>,
}

impl FleetRefresher {
    /// Refreshes the fleet of `book`, or joins the refresh that runs.
    /// Returns whether this call joined one, and the tiles.
    pub fn refresh(
        &self,
        book: &ProfileBook,
        options: &FleetOptions,
        cache: Option<&FleetCache>,
        ctx: &OperationContext<'_>,
        on_tile: TileSink,
    ) -> (bool, Vec<FleetTile>) {
        let (running, joined) = {
            let mut slot = self.running.lock().unwrap_or_else(|e| e.into_inner());
            match slot.as_ref() {
                Some(running) => (running.clone(), true),
                None => {
                    let running = Arc::new(Running::default());
                    *slot = Some(running.clone());
                    (running, false)
                }
            }
        };
        if joined {
            let mut state = running.state.lock().unwrap_or_else(|e| e.into_inner());
            for tile in &state.delivered {
                on_tile(tile);
            }
            state.listeners.push(on_tile);
            while state.result.is_none() {
                state = running
                    .finished
                    .wait(state)
                    .unwrap_or_else(|e| e.into_inner());
            }
            return (true, state.result.clone().unwrap_or_default());
        }
        running
            .state
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .listeners
            .push(on_tile);
        let tiles = refresh(book, options, cache, ctx, &|tile| {
            let mut state = running.state.lock().unwrap_or_else(|e| e.into_inner());
            state.delivered.push(tile.clone());
            for listener in &state.listeners {
                listener(tile);
            }
        });
        *self.running.lock().unwrap_or_else(|e| e.into_inner()) = None;
        running
            .state
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .result = Some(tiles.clone());
        running.finished.notify_all();
        (false, tiles)
    }
}
