//! The fleet overview: one tile per profile saying at a glance whether its
//! backups are recent, verified and restorable, and if not, what is wrong.
//! Never fails: an unreachable server or unreadable folder becomes a tile
//! that says so, with the last known state from the cache.
//!
//! - `tile`: judging one profile from its list and health (pure rules).
//! - `refresh`: every profile read at once, a bounded number in flight,
//!   each tile handed over the moment it is ready; one refresh at a time
//!   ([`FleetRefresher`]: a second caller joins the running one).
//! - `passphrase_check`: a rule that reads this machine's keychain;
//!   `schedule_check`: the schedule and the latest backup attempt, from the
//!   target's evidence.
//! - `cache`: the last known tile, backup list and health of every
//!   profile, in SQLite, for the first paint and for offline use.

mod cache;
mod metrics;
mod passphrase_check;
mod refresh;
mod schedule_check;
mod tile;

use serde::{Deserialize, Serialize};

use crate::targets::profile::{ProfileBook, ProfileTarget};

pub use cache::{CacheError, CachedProfile, FleetCache, KnownBackups};
pub use metrics::prometheus;
pub(crate) use refresh::offsite_glance_of;
pub use refresh::{FleetOptions, FleetRefresher, TileSink, refresh, refresh_one};
pub use tile::{TilePolicy, condition_of, problems_first, read, tile, unreachable_tile};

/// How a tile looks: problems first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum TileStatus {
    /// Something needs action now: unreachable, needs a login, unhealthy,
    /// no backup, the latest drill failed.
    Error,
    /// Something needs a look: busy, overdue, a failed or missing
    /// verification, no recent passed drill.
    Warning,
    /// Never read yet (a new profile before its first refresh).
    Unknown,
    /// Recent, verified, proven restorable.
    Ok,
}

/// What is wrong with a profile, one kind each (the UI filters on them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum Condition {
    /// Connection refused, no such host, a TLS failure.
    Unreachable,
    /// The server's token expired or is missing.
    NeedsLogin,
    /// The folder or the server's answers could not be read.
    Unreadable,
    /// The database fails its health check.
    Unhealthy,
    /// No regular backup at all.
    NoBackup,
    /// The latest restore drill failed.
    DrillFailed,
    /// The port accepts but nothing answered in time (the real server runs
    /// one request at a time: a backup blocks it up to a minute).
    Busy,
    /// The newest backup is older than the profile allows.
    Overdue,
    /// The latest verification failed.
    VerificationFailed,
    /// No backup was ever verified (local installations).
    NeverVerified,
    /// No restore drill ever (local installations).
    NeverDrilled,
    /// No restore drill passed for too long.
    DrillOverdue,
    /// The health check could not run.
    HealthUnknown,
    /// The latest push to an off-site location failed, or a copy there
    /// failed its latest check (this machine's ledgers).
    OffsiteFailed,
    /// A passphrase rotation is unfinished: some backups still open with
    /// the old passphrase, or do not yet open with the new one.
    RotationUnfinished,
    /// The passphrase stored on this machine does not open the newest
    /// backup (local installations).
    PassphraseOpensNoBackup,
    /// No scheduled job backs the installation up (local installations:
    /// this machine's crontab or systemd timers, read).
    ScheduleMissing,
    /// The latest backup attempt failed, and none succeeded since (a
    /// scheduled job that fails each night; local installations).
    LatestBackupFailed,
}

impl Condition {
    /// How bad it is.
    pub(crate) fn severity(self) -> TileStatus {
        match self {
            Condition::Unreachable
            | Condition::NeedsLogin
            | Condition::Unreadable
            | Condition::Unhealthy
            | Condition::NoBackup
            | Condition::DrillFailed
            | Condition::PassphraseOpensNoBackup
            | Condition::LatestBackupFailed => TileStatus::Error,
            Condition::Busy
            | Condition::Overdue
            | Condition::VerificationFailed
            | Condition::NeverVerified
            | Condition::NeverDrilled
            | Condition::DrillOverdue
            | Condition::HealthUnknown
            | Condition::OffsiteFailed
            | Condition::RotationUnfinished
            | Condition::ScheduleMissing => TileStatus::Warning,
        }
    }
}

/// One problem of a tile: its kind and what to read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct TileProblem {
    pub condition: Condition,
    pub message: String,
}

/// One profile's state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct FleetTile {
    pub profile: String,
    /// The data directory or server URL.
    pub location: String,
    /// Reached through Server Monitor's API only: its backups cannot be
    /// verified or drilled from here.
    pub remote: bool,
    /// Reached over SSH (Backup Desk's engine on the server answers).
    #[serde(default)]
    pub over_ssh: bool,
    /// The worst of the problems' severities (`ok` without problems).
    pub status: TileStatus,
    /// What is wrong, worst first.
    pub problems: Vec<TileProblem>,
    /// When what the tile shows was read (RFC 3339; `None`: never).
    pub read_at: Option<String>,
    /// What the tile shows comes from the cache: this refresh could not
    /// read the profile (see its first problem), or it has not run yet.
    pub from_cache: bool,
    /// Whether the database passed its health check (`None`: unknown).
    pub healthy: Option<bool>,
    pub newest_backup: Option<String>,
    /// The time in its name.
    pub newest_taken_at: Option<chrono::NaiveDateTime>,
    /// Age of the newest backup in seconds (when read).
    pub newest_age_seconds: Option<i64>,
    pub overdue_after_hours: u32,
    pub overdue: bool,
    /// The newest verification of any backup (RFC 3339).
    pub last_verified_at: Option<String>,
    /// Whether that verification passed.
    pub last_verification_passed: Option<bool>,
    /// Bytes used by all backups.
    pub storage_bytes: u64,
    pub backup_count: u32,
    /// Sizes of the last (up to) 20 regular backups, oldest first.
    pub sizes: Vec<u64>,
    /// The error kind when the target could not be read.
    pub error_kind: Option<crate::ErrorKind>,
    /// The newest restore drill of any backup (RFC 3339; `None`: never, or
    /// a server, which offers no download to drill with).
    pub last_drill_at: Option<String>,
    /// Whether that drill passed.
    pub last_drill_passed: Option<bool>,
    /// How long the restore of the newest passed drill took: the
    /// restore-time estimate.
    pub restore_estimate_ms: Option<u64>,
    pub drill_overdue_after_days: u32,
    /// No drill passed within `drill_overdue_after_days` (or none ever).
    pub drill_overdue: bool,
    /// What this machine's ledgers say of the profile's off-site copies
    /// (`None`: no location).
    #[serde(default)]
    pub offsite: Option<OffsiteGlance>,
    /// The newest proof that a backup reads back whole (a passed deep
    /// verification or restore drill): when, of which, by whom.
    #[serde(default)]
    pub last_proven: Option<Proven>,
    /// How new backups are sealed (`None`: not known, as for a server
    /// reached through its API).
    #[serde(default)]
    pub encryption: Option<crate::local::schedule::EncryptionGlance>,
}

/// A backup proven to read back whole: by a deep verification or a
/// restore drill that passed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Proven {
    /// When (RFC 3339).
    pub at: String,
    /// The backup.
    pub backup: String,
    /// `true`: a restore drill; `false`: a deep verification.
    pub drill: bool,
    /// The machine that held the way in (a laptop that handed over the
    /// session keys to a server that keeps no secret); `None`: the
    /// installation's own machine.
    pub by: Option<String>,
}

/// The off-site side of a tile, from the ledgers alone (no request).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct OffsiteGlance {
    /// How many locations.
    pub locations: u32,
    /// When the newest copy was pushed (RFC 3339; `None`: never).
    pub newest_pushed_at: Option<String>,
    /// The newest passed deep check of a copy (RFC 3339; `None`: never).
    pub last_deep_check: Option<String>,
    /// What is wrong off-site, per location (a failed latest push, a
    /// copy whose latest check failed); each is also a tile problem.
    pub problems: Vec<String>,
}

impl FleetTile {
    /// Adds a problem and raises the status to its severity.
    pub fn add(&mut self, condition: Condition, message: impl Into<String>) {
        self.problems.push(TileProblem {
            condition,
            message: message.into(),
        });
        self.problems
            .sort_by_key(|p| (p.condition.severity(), p.condition));
        self.status = self.status.min(condition.severity());
    }

    /// Whether the profile needs no attention.
    pub fn is_ok(&self) -> bool {
        self.status == TileStatus::Ok
    }
}

/// The fleet as last known: every profile of `book` from the cache (those
/// never read come as tiles that say so), problems first. Instant, offline
/// too: the first paint.
pub fn cached(book: &ProfileBook, cache: Option<&FleetCache>) -> Vec<FleetTile> {
    let names: Vec<&str> = book.profiles().keys().map(String::as_str).collect();
    let mut known: Vec<FleetTile> = cache
        .and_then(|c| c.all(&names).ok())
        .unwrap_or_default()
        .into_iter()
        .map(|c| c.tile)
        .collect();
    for (name, profile) in book.profiles() {
        if !known.iter().any(|t| &t.profile == name) {
            let remote = matches!(profile.target, ProfileTarget::Remote { .. });
            let location = profile.target.location();
            let mut tile = FleetTile::unknown(name, location, remote, TilePolicy::of(profile));
            tile.over_ssh = matches!(profile.target, ProfileTarget::Ssh { .. });
            tile.from_cache = true;
            known.push(tile);
        }
    }
    problems_first(&mut known);
    known
}

/// The cache in Backup Desk's data folder, if it can be opened (a fleet
/// without a cache still works, only without its memory).
pub fn open_cache() -> Option<FleetCache> {
    match FleetCache::open(&crate::targets::profile::data_dir()) {
        Ok(cache) => Some(cache),
        Err(e) => {
            tracing::warn!("{e}; the fleet works without its cache");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::targets::profile::Profile;

    fn tile() -> FleetTile {
        let profile = Profile::new(ProfileTarget::Local {
            data_dir: "/srv/monitor".into(),
        });
        FleetTile::unknown(
            "lab",
            "/srv/monitor".into(),
            false,
            TilePolicy::of(&profile),
        )
    }

    #[test]
    fn a_tile_takes_the_status_of_its_worst_problem_and_lists_the_worst_first() {
        let mut t = tile();
        assert_eq!(t.status, TileStatus::Unknown);
        t.status = TileStatus::Ok;
        assert!(t.is_ok());
        t.add(Condition::Overdue, "the newest backup is 30 hours old");
        assert_eq!(t.status, TileStatus::Warning);
        t.add(Condition::NoBackup, "no backup");
        t.add(Condition::NeverDrilled, "never drilled");
        assert_eq!(t.status, TileStatus::Error);
        assert!(!t.is_ok());
        let order: Vec<Condition> = t.problems.iter().map(|p| p.condition).collect();
        assert_eq!(
            order,
            [
                Condition::NoBackup,
                Condition::Overdue,
                Condition::NeverDrilled
            ]
        );
        // A warning after an error never lowers it.
        t.add(Condition::Busy, "busy");
        assert_eq!(t.status, TileStatus::Error);
    }

    #[test]
    fn what_needs_action_now_is_an_error_and_what_needs_a_look_a_warning() {
        for c in [
            Condition::Unreachable,
            Condition::NeedsLogin,
            Condition::Unhealthy,
            Condition::NoBackup,
            Condition::DrillFailed,
            Condition::PassphraseOpensNoBackup,
            Condition::LatestBackupFailed,
        ] {
            assert_eq!(c.severity(), TileStatus::Error, "{c:?}");
        }
        for c in [
            Condition::Busy,
            Condition::Overdue,
            Condition::NeverVerified,
            Condition::DrillOverdue,
            Condition::OffsiteFailed,
            Condition::ScheduleMissing,
        ] {
            assert_eq!(c.severity(), TileStatus::Warning, "{c:?}");
        }
        // Problems sort before a tile that is fine.
        assert!(TileStatus::Error < TileStatus::Warning);
        assert!(TileStatus::Warning < TileStatus::Ok);
    }

    #[test]
    fn a_tile_is_sent_in_snake_case_as_the_ui_reads_it() {
        let mut t = tile();
        t.add(Condition::PassphraseOpensNoBackup, "x");
        let json = serde_json::to_value(&t).unwrap();
        assert_eq!(json["status"], "error");
        assert_eq!(
            json["problems"][0]["condition"],
            "passphrase_opens_no_backup"
        );
        assert_eq!(json["profile"], "lab");
    }
}
