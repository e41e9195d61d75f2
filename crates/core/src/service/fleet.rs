//! The fleet overview: one tile per profile saying at a glance whether its
//! backups are recent, verified and restorable. Never fails: an unreachable
//! server or unreadable folder becomes a tile in the `error` state.

use chrono::NaiveDateTime;
use serde::Serialize;

use crate::KindedError;
use crate::clock::Clock;
use crate::local::catalog::ListItem;
use crate::local::health::HealthReport;
use crate::targets::Target;

/// How a tile looks: problems first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum TileStatus {
    /// Unreachable, unhealthy, or no backup at all.
    Error,
    /// Overdue, or the newest backup failed or never had a verification.
    Warning,
    /// Recent and verified.
    Ok,
}

/// One profile's state.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct FleetTile {
    pub profile: String,
    /// The data directory or server URL.
    pub location: String,
    pub remote: bool,
    pub status: TileStatus,
    /// What is wrong, in words, worst first.
    pub problems: Vec<String>,
    /// Whether the database passed its health check (`None`: unknown).
    pub healthy: Option<bool>,
    pub newest_backup: Option<String>,
    /// The time in its name.
    pub newest_taken_at: Option<chrono::NaiveDateTime>,
    /// Age of the newest backup in seconds.
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
}

/// Reads one target into a tile.
pub fn tile(
    profile: &str,
    target: &dyn Target,
    remote: bool,
    overdue_after_hours: u32,
    clock: &dyn Clock,
) -> FleetTile {
    let mut tile = FleetTile::unknown(profile, target.describe(), remote, overdue_after_hours);
    let list = match target.list() {
        Ok(list) => list,
        Err(e) => {
            tile.status = TileStatus::Error;
            tile.error_kind = Some(e.kind());
            tile.problems.push(e.to_string());
            return tile;
        }
    };
    match target.health(clock) {
        Ok(HealthReport::Checked(h)) => tile.healthy = Some(h.healthy),
        Ok(HealthReport::Failed(f)) => {
            tile.healthy = Some(false);
            tile.problems
                .push(format!("database unhealthy: {}", f.error));
        }
        Err(e) => tile.problems.push(format!("health unknown: {e}")),
    }
    if tile.healthy == Some(false) && !tile.problems.iter().any(|p| p.contains("unhealthy")) {
        tile.problems
            .push("database fails its integrity check".to_owned());
    }
    summarize(&mut tile, &list, clock.now().naive_local());
    tile
}

fn summarize(tile: &mut FleetTile, list: &[ListItem], now: NaiveDateTime) {
    tile.backup_count = list.len() as u32;
    tile.storage_bytes = list.iter().map(|b| b.size).sum();
    let regular: Vec<&ListItem> = list.iter().filter(|b| !b.kind.is_pre_restore()).collect();
    if let Some(newest) = regular.first() {
        tile.newest_backup = Some(newest.filename.clone());
        tile.newest_taken_at = Some(newest.taken_at);
        let age = (now - newest.taken_at).num_seconds();
        tile.newest_age_seconds = Some(age);
        tile.overdue = age > i64::from(tile.overdue_after_hours) * 3600;
    }
    tile.sizes = regular.iter().take(20).rev().map(|b| b.size).collect();
    if let Some(latest) = list
        .iter()
        .filter_map(|b| b.verified.at.as_ref().map(|at| (at, b)))
        .max_by(|a, b| a.0.cmp(b.0))
    {
        tile.last_verified_at = Some(latest.0.clone());
        tile.last_verification_passed =
            Some(latest.1.verified.state == crate::local::catalog::VerificationStatus::Passed);
    }
    if regular.is_empty() {
        tile.problems.push("no backup yet".to_owned());
    } else if tile.overdue {
        tile.problems.push(format!(
            "newest backup is older than {} hours",
            tile.overdue_after_hours
        ));
    }
    if tile.last_verification_passed == Some(false) {
        tile.problems
            .push("the latest verification failed".to_owned());
    }
    tile.status = if tile.healthy == Some(false) || regular.is_empty() {
        TileStatus::Error
    } else if tile.overdue || tile.last_verification_passed == Some(false) {
        TileStatus::Warning
    } else {
        TileStatus::Ok
    };
}

/// Orders tiles problems first, then by name.
pub fn problems_first(tiles: &mut [FleetTile]) {
    tiles.sort_by(|a, b| (a.status, &a.profile).cmp(&(b.status, &b.profile)));
}

/// The tile of a profile whose target cannot even be opened.
pub fn unreachable_tile<E: KindedError + std::fmt::Display>(
    profile: &str,
    remote: bool,
    error: &E,
) -> FleetTile {
    let mut tile = FleetTile::unknown(profile, String::new(), remote, 0);
    tile.status = TileStatus::Error;
    tile.problems.push(error.to_string());
    tile.error_kind = Some(error.kind());
    tile
}

impl FleetTile {
    /// A tile that knows nothing yet about `profile` at `location`.
    fn unknown(profile: &str, location: String, remote: bool, overdue_after_hours: u32) -> Self {
        FleetTile {
            profile: profile.to_owned(),
            location,
            remote,
            status: TileStatus::Ok,
            problems: Vec::new(),
            healthy: None,
            newest_backup: None,
            newest_taken_at: None,
            newest_age_seconds: None,
            overdue_after_hours,
            overdue: false,
            last_verified_at: None,
            last_verification_passed: None,
            storage_bytes: 0,
            backup_count: 0,
            sizes: Vec::new(),
            error_kind: None,
        }
    }
}

/// One tile per profile of `book`, problems first (a profile whose target
/// cannot even be opened becomes an error tile).
pub fn overview(book: &crate::targets::profile::ProfileBook, clock: &dyn Clock) -> Vec<FleetTile> {
    use crate::targets::OpenedTarget;
    use crate::targets::profile::ProfileTarget;
    let mut tiles: Vec<FleetTile> = book
        .profiles()
        .iter()
        .map(|(name, profile)| {
            let remote = matches!(profile.target, ProfileTarget::Remote { .. });
            match OpenedTarget::open(name, profile) {
                Ok(target) => tile(
                    name,
                    target.get(),
                    remote,
                    profile.overdue_after_hours,
                    clock,
                ),
                Err(e) => unreachable_tile(name, remote, &e),
            }
        })
        .collect();
    problems_first(&mut tiles);
    tiles
}
