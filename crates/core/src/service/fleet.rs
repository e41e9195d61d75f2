//! The fleet overview: one tile per profile saying at a glance whether its
//! backups are recent, verified and restorable. Never fails: an unreachable
//! server or unreadable folder becomes a tile in the `error` state.

use serde::Serialize;

use crate::KindedError;
use crate::clock::Clock;
use crate::model::{HealthReport, ListItem};
use crate::targets::Target;

/// How a tile looks: problems first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum TileStatus {
    /// Unreachable, unhealthy, no backup at all, or the latest drill failed.
    Error,
    /// Overdue, a failed or missing verification, no recent passed drill.
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
}

/// The thresholds a tile is judged by (the profile's).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TilePolicy {
    /// The newest backup is overdue after this many hours.
    pub overdue_after_hours: u32,
    /// Without a passed drill for this many days the tile warns.
    pub drill_overdue_after_days: u32,
}

impl TilePolicy {
    /// The thresholds of `profile`.
    pub fn of(profile: &crate::targets::profile::Profile) -> Self {
        TilePolicy {
            overdue_after_hours: profile.overdue_after_hours,
            drill_overdue_after_days: profile.drill_overdue_after_days,
        }
    }
}

/// Reads one target into a tile.
pub fn tile(
    profile: &str,
    target: &dyn Target,
    remote: bool,
    policy: TilePolicy,
    clock: &dyn Clock,
) -> FleetTile {
    let mut tile = FleetTile::unknown(profile, target.describe(), remote, policy);
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
    summarize(&mut tile, &list, clock.now());
    tile
}

/// The tile's verdict from the backup list. Problems, worst first:
/// unhealthy or no backup (error), the latest drill failed (error),
/// overdue, the latest verification failed, never verified, no drill passed
/// for too long (warnings). A server's backups cannot be verified or
/// drilled through its API: those rules are for local installations.
fn summarize(tile: &mut FleetTile, list: &[ListItem], now: chrono::DateTime<chrono::FixedOffset>) {
    let naive_now = now.naive_local();
    tile.backup_count = list.len() as u32;
    tile.storage_bytes = list.iter().map(|b| b.size).sum();
    let regular: Vec<&ListItem> = list.iter().filter(|b| !b.kind.is_pre_restore()).collect();
    if let Some(newest) = regular.first() {
        tile.newest_backup = Some(newest.filename.clone());
        tile.newest_taken_at = Some(newest.taken_at);
        let age = (naive_now - newest.taken_at).num_seconds();
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
            Some(latest.1.verified.state == crate::model::VerificationStatus::Passed);
    }
    summarize_drills(tile, list, now);
    let local = !tile.remote;
    let never_verified = local && !regular.is_empty() && tile.last_verified_at.is_none();
    let drill_failed = tile.last_drill_passed == Some(false);
    if regular.is_empty() {
        tile.problems.push("no backup yet".to_owned());
    }
    if drill_failed {
        tile.problems
            .push("the latest restore drill failed: that backup could not be restored".to_owned());
    }
    if !regular.is_empty() && tile.overdue {
        tile.problems.push(format!(
            "newest backup is older than {} hours",
            tile.overdue_after_hours
        ));
    }
    if tile.last_verification_passed == Some(false) {
        tile.problems
            .push("the latest verification failed".to_owned());
    }
    if never_verified {
        tile.problems.push("no backup was ever verified".to_owned());
    }
    if local && !regular.is_empty() && tile.drill_overdue {
        tile.problems.push(match &tile.last_drill_at {
            None => "never drilled: no restore drill has proven a backup restorable".to_owned(),
            Some(_) => format!(
                "no restore drill passed in the last {} days",
                tile.drill_overdue_after_days
            ),
        });
    }
    tile.status = if tile.healthy == Some(false) || regular.is_empty() || drill_failed {
        TileStatus::Error
    } else if tile.overdue
        || tile.last_verification_passed == Some(false)
        || never_verified
        || (local && tile.drill_overdue)
    {
        TileStatus::Warning
    } else {
        TileStatus::Ok
    };
}

/// The newest drill of any backup, the restore estimate of the newest
/// passed one, and whether a passed drill is older than the threshold.
fn summarize_drills(
    tile: &mut FleetTile,
    list: &[ListItem],
    now: chrono::DateTime<chrono::FixedOffset>,
) {
    if tile.remote {
        return;
    }
    let drills = || list.iter().filter_map(|b| b.drill.as_ref());
    if let Some(latest) = drills().max_by(|a, b| a.at.cmp(&b.at)) {
        tile.last_drill_at = Some(latest.at.clone());
        tile.last_drill_passed = Some(latest.ok);
    }
    let newest_passed = drills().filter(|d| d.ok).max_by(|a, b| a.at.cmp(&b.at));
    tile.restore_estimate_ms = newest_passed.and_then(|d| d.restore_ms);
    let limit = chrono::Duration::days(i64::from(tile.drill_overdue_after_days));
    tile.drill_overdue = match newest_passed {
        None => true,
        Some(d) => chrono::DateTime::parse_from_rfc3339(&d.at)
            .map(|at| now.signed_duration_since(at) > limit)
            .unwrap_or(true),
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
    let mut tile = FleetTile::unknown(
        profile,
        String::new(),
        remote,
        TilePolicy {
            overdue_after_hours: 0,
            drill_overdue_after_days: 0,
        },
    );
    tile.status = TileStatus::Error;
    tile.problems.push(error.to_string());
    tile.error_kind = Some(error.kind());
    tile
}

impl FleetTile {
    /// A tile that knows nothing yet about `profile` at `location`.
    fn unknown(profile: &str, location: String, remote: bool, policy: TilePolicy) -> Self {
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
            overdue_after_hours: policy.overdue_after_hours,
            overdue: false,
            last_verified_at: None,
            last_verification_passed: None,
            storage_bytes: 0,
            backup_count: 0,
            sizes: Vec::new(),
            error_kind: None,
            last_drill_at: None,
            last_drill_passed: None,
            restore_estimate_ms: None,
            drill_overdue_after_days: policy.drill_overdue_after_days,
            drill_overdue: false,
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
                Ok(target) => tile(name, target.get(), remote, TilePolicy::of(profile), clock),
                Err(e) => unreachable_tile(name, remote, &e),
            }
        })
        .collect();
    problems_first(&mut tiles);
    tiles
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{BackupKind, DrillRecord, VerificationStatus, VerifiedState, VerifyDepth};

    const NOW: &str = "2026-12-02T12:00:00+00:00";

    fn now() -> chrono::DateTime<chrono::FixedOffset> {
        chrono::DateTime::parse_from_rfc3339(NOW).unwrap()
    }

    fn backup(hours_ago: i64) -> ListItem {
        let taken = now().naive_local() - chrono::Duration::hours(hours_ago);
        ListItem {
            filename: format!("servers_db_{}.db.gpg", taken.format("%Y%m%d_%H%M%S")),
            path: String::new(),
            taken_at: taken,
            size: 10,
            size_human: "10 B".into(),
            created_at: String::new(),
            encrypted: true,
            checksum: None,
            timestamp: None,
            kind: BackupKind::Encrypted,
            has_meta: true,
            meta_problem: None,
            db_size: None,
            verified: VerifiedState::never(),
            pinned: false,
            drill: None,
        }
    }

    fn verified(mut item: ListItem, ok: bool) -> ListItem {
        item.verified = VerifiedState {
            state: if ok {
                VerificationStatus::Passed
            } else {
                VerificationStatus::Failed
            },
            depth: Some(VerifyDepth::Deep),
            at: Some("2026-12-02T03:00:00+00:00".into()),
            error_kind: None,
            deep_passed_at: None,
        };
        item
    }

    fn drilled(mut item: ListItem, ok: bool, days_ago: i64) -> ListItem {
        let at = now() - chrono::Duration::days(days_ago);
        item.drill = Some(DrillRecord {
            ok,
            at: at.to_rfc3339(),
            restore_ms: ok.then_some(4200),
            error_kind: (!ok).then_some(crate::ErrorKind::BackupAltered),
        });
        item
    }

    fn judged(remote: bool, list: &[ListItem]) -> FleetTile {
        let policy = TilePolicy {
            overdue_after_hours: 26,
            drill_overdue_after_days: 8,
        };
        let mut tile = FleetTile::unknown("p", "/x".into(), remote, policy);
        tile.healthy = Some(true);
        summarize(&mut tile, list, now());
        tile
    }

    #[test]
    fn recent_verified_and_drilled_is_ok() {
        let tile = judged(false, &[drilled(verified(backup(2), true), true, 2)]);
        assert_eq!(tile.status, TileStatus::Ok, "{:?}", tile.problems);
        assert_eq!(tile.restore_estimate_ms, Some(4200));
        assert!(!tile.drill_overdue);
    }

    #[test]
    fn never_verified_is_a_warning_on_a_local_installation_only() {
        let tile = judged(false, &[drilled(backup(2), true, 1)]);
        assert_eq!(tile.status, TileStatus::Warning);
        assert_eq!(tile.problems, ["no backup was ever verified"]);
        // A server's API offers no way to verify or drill.
        let server = judged(true, &[backup(2)]);
        assert_eq!(server.status, TileStatus::Ok, "{:?}", server.problems);
        assert_eq!(server.last_drill_at, None);
    }

    #[test]
    fn never_drilled_and_drill_overdue_are_warnings() {
        let never = judged(false, &[verified(backup(2), true)]);
        assert_eq!(never.status, TileStatus::Warning);
        assert!(
            never.problems[0].starts_with("never drilled"),
            "{:?}",
            never.problems
        );
        let overdue = judged(false, &[drilled(verified(backup(2), true), true, 9)]);
        assert_eq!(overdue.status, TileStatus::Warning);
        assert_eq!(
            overdue.problems,
            ["no restore drill passed in the last 8 days"]
        );
    }

    #[test]
    fn a_failed_drill_is_an_error_even_after_older_passes() {
        let list = [
            drilled(verified(backup(2), true), false, 1),
            drilled(verified(backup(30), true), true, 3),
        ];
        let tile = judged(false, &list);
        assert_eq!(tile.status, TileStatus::Error);
        assert_eq!(tile.last_drill_passed, Some(false));
        assert_eq!(tile.restore_estimate_ms, Some(4200));
        assert!(
            tile.problems[0].contains("restore drill failed"),
            "{:?}",
            tile.problems
        );
    }

    #[test]
    fn problems_come_worst_first() {
        let tile = judged(false, &[verified(backup(50), false)]);
        assert_eq!(tile.status, TileStatus::Warning);
        assert_eq!(
            tile.problems,
            [
                "newest backup is older than 26 hours",
                "the latest verification failed",
                "never drilled: no restore drill has proven a backup restorable",
            ]
        );
    }
}
