//! Judging one profile: its list and health into a tile, by rules that
//! are pure over the list, the health and the clock.

use crate::KindedError;
use crate::context::OperationContext;
use crate::model::{HealthReport, ListItem};
use crate::remote::RemoteError;
use crate::targets::{Target, TargetError};

use super::{Condition, FleetTile, TileStatus};

/// The thresholds a tile is judged by (the profile's).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TilePolicy {
    /// The newest backup is overdue after this many hours.
    pub overdue_after_hours: u32,
    /// Without a passed drill for this many days the tile warns.
    pub drill_overdue_after_days: u32,
}

impl Default for TilePolicy {
    /// A profile's defaults: overdue after 26 hours, a drill within 8 days.
    fn default() -> Self {
        TilePolicy {
            overdue_after_hours: crate::targets::profile::default_overdue_hours(),
            drill_overdue_after_days: crate::targets::profile::default_drill_overdue_days(),
        }
    }
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
    ctx: &OperationContext<'_>,
) -> FleetTile {
    read(profile, target, remote, policy, ctx).0
}

/// [`tile`], with the backup list and health it was judged from (for the
/// cache; `None` when they could not be read).
pub fn read(
    profile: &str,
    target: &dyn Target,
    remote: bool,
    policy: TilePolicy,
    ctx: &OperationContext<'_>,
) -> (FleetTile, Option<Vec<ListItem>>, Option<HealthReport>) {
    let mut tile = FleetTile::unknown(profile, target.describe(), remote, policy);
    let list = match target.list() {
        Ok(list) => list,
        Err(e) => {
            tile.error_kind = Some(e.kind());
            tile.add(condition_of(&e), e.to_string());
            return (tile, None, None);
        }
    };
    tile.read_at = Some(
        ctx.now()
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, false),
    );
    tile.status = TileStatus::Ok;
    let health = target.health(ctx);
    match &health {
        Ok(HealthReport::Checked(h)) => {
            tile.healthy = Some(h.healthy);
            if !h.healthy {
                tile.add(
                    Condition::Unhealthy,
                    format!(
                        "database unhealthy: integrity {}, {} foreign-key errors",
                        h.integrity_check, h.foreign_key_errors
                    ),
                );
            }
        }
        Ok(HealthReport::Failed(f)) => {
            tile.healthy = Some(false);
            tile.add(
                Condition::Unhealthy,
                format!("database unhealthy: {}", f.error),
            );
        }
        Err(e) => tile.add(Condition::HealthUnknown, format!("health unknown: {e}")),
    }
    summarize(&mut tile, &list, ctx.now());
    if let Some(rotation) = target.rotation() {
        tile.add(Condition::RotationUnfinished, rotation.words());
    }
    if let Some(evidence) = target.unattended() {
        for (condition, problem) in super::schedule_check::schedule_problems(&evidence) {
            tile.add(condition, problem);
        }
        tile.encryption = evidence.encryption;
    }
    (tile, Some(list), health.ok())
}

/// The condition a failed read of a target means: busy (the port took the
/// connection, nothing answered in time), unreachable (refused, DNS, TLS),
/// needs a login, or unreadable.
pub fn condition_of(error: &TargetError) -> Condition {
    match error {
        TargetError::Remote(RemoteError::Timeout { .. })
        | TargetError::Ssh(crate::targets::ssh::SshError::TimedOut { .. }) => Condition::Busy,
        TargetError::Remote(RemoteError::Unreachable { .. }) => Condition::Unreachable,
        TargetError::Remote(RemoteError::AuthenticationRequired) => Condition::NeedsLogin,
        _ => Condition::Unreadable,
    }
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
    tile.last_proven = last_proven(list);
    let local = !tile.remote;
    if regular.is_empty() {
        tile.add(Condition::NoBackup, "no backup yet");
        return;
    }
    if tile.last_drill_passed == Some(false) {
        tile.add(
            Condition::DrillFailed,
            "the latest restore drill failed: that backup could not be restored",
        );
    }
    if tile.overdue {
        tile.add(
            Condition::Overdue,
            format!(
                "newest backup is older than {} hours",
                tile.overdue_after_hours
            ),
        );
    }
    add_failures(tile, list);
    if local && tile.last_verified_at.is_none() {
        tile.add(Condition::NeverVerified, "no backup was ever verified");
    }
    if local && tile.drill_overdue {
        match &tile.last_drill_at {
            None => tile.add(
                Condition::NeverDrilled,
                "no restore drill has proven a backup restorable yet",
            ),
            Some(_) => {
                let days = tile.drill_overdue_after_days;
                tile.add(
                    Condition::DrillOverdue,
                    format!("no restore drill passed in the last {days} days"),
                )
            }
        }
    }
}

/// The newest passed deep verification or drill among `list`.
fn last_proven(list: &[ListItem]) -> Option<super::Proven> {
    let verified = list.iter().filter_map(|b| {
        let v = &b.verified;
        let deep_pass = v.state == crate::model::VerificationStatus::Passed
            && v.depth == Some(crate::model::VerifyDepth::Deep);
        Some(super::Proven {
            at: v.at.clone().filter(|_| deep_pass)?,
            backup: b.filename.clone(),
            drill: false,
            by: v.by.clone(),
        })
    });
    let drilled = list.iter().filter_map(|b| {
        let d = b.drill.as_ref().filter(|d| d.ok)?;
        Some(super::Proven {
            at: d.at.clone(),
            backup: b.filename.clone(),
            drill: true,
            by: d.by.clone(),
        })
    });
    // (A drill records a deep verification at the same time: the drill,
    // the stronger proof, wins a tie.)
    verified
        .chain(drilled)
        .max_by(|a, b| a.at.cmp(&b.at).then(a.drill.cmp(&b.drill)))
}

/// The failures among `list` that keep a tile from ok: every backup whose
/// own latest check failed (named), and a drill whose backup failed since.
fn add_failures(tile: &mut FleetTile, list: &[ListItem]) {
    // Any backup whose own latest check failed counts, not only the
    // newest check of all: one failed backup among verified ones is
    // still a failed backup.
    let failed: Vec<&str> = list
        .iter()
        .filter(|b| b.verified.state == crate::model::VerificationStatus::Failed)
        .map(|b| b.filename.as_str())
        .collect();
    if !failed.is_empty() {
        let shown = failed
            .iter()
            .take(3)
            .copied()
            .collect::<Vec<_>>()
            .join(", ");
        let more = match failed.len() {
            n if n > 3 => format!(" and {} more", n - 3),
            _ => String::new(),
        };
        tile.add(
            Condition::VerificationFailed,
            format!(
                "{} backup(s) failed verification: {shown}{more}",
                failed.len()
            ),
        );
    }
    if let Some(name) = drill_no_longer_holds(list) {
        tile.add(
            Condition::DrillFailed,
            format!("not proven restorable: {name}, drilled, has failed verification since"),
        );
    }
}

/// The backup of the newest passed drill when it has failed verification
/// since (its bytes or the passphrase that opens it changed): its drill no
/// longer proves anything.
fn drill_no_longer_holds(list: &[ListItem]) -> Option<&str> {
    let newest = list
        .iter()
        .filter(|b| b.drill.as_ref().is_some_and(|d| d.ok))
        .max_by(|a, b| {
            let at = |x: &ListItem| x.drill.as_ref().map(|d| d.at.clone());
            at(a).cmp(&at(b))
        })?;
    let drilled_at = newest.drill.as_ref()?.at.as_str();
    let newest_drill = list
        .iter()
        .filter_map(|b| b.drill.as_ref())
        .map(|d| d.at.as_str())
        .max()?;
    // (A newer failed drill says more, and is said already.)
    (newest_drill == drilled_at
        && newest.verified.state == crate::model::VerificationStatus::Failed)
        .then_some(newest.filename.as_str())
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
    tile.error_kind = Some(error.kind());
    tile.add(Condition::Unreadable, error.to_string());
    tile
}

impl FleetTile {
    /// A tile that knows nothing yet about `profile` at `location`.
    pub(super) fn unknown(
        profile: &str,
        location: String,
        remote: bool,
        policy: TilePolicy,
    ) -> Self {
        FleetTile {
            profile: profile.to_owned(),
            location,
            remote,
            over_ssh: false,
            status: TileStatus::Unknown,
            problems: Vec::new(),
            read_at: None,
            from_cache: false,
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
            offsite: None,
            last_proven: None,
            encryption: None,
        }
    }
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
            states: Vec::new(),
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
            by: None,
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
            by: None,
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
        tile.status = TileStatus::Ok;
        summarize(&mut tile, list, now());
        tile
    }

    #[test]
    fn the_newest_proof_says_when_of_which_and_by_whom() {
        // Nothing passed deep: no proof (a quick check proves no read).
        let mut quick = verified(backup(2), true);
        quick.verified.depth = Some(VerifyDepth::Quick);
        assert_eq!(
            judged(false, &[quick, verified(backup(3), false)]).last_proven,
            None
        );
        // A deep verification by the laptop that handed over the keys,
        // then a drill of an older backup made later: the drill is newer.
        let mut by_laptop = verified(backup(2), true);
        by_laptop.verified.by = Some("ops@laptop".into());
        let mut drill = drilled(backup(30), true, 0);
        drill.drill.as_mut().unwrap().by = Some("ops@laptop".into());
        let tile = judged(false, &[by_laptop.clone(), drill.clone()]);
        let proven = tile.last_proven.unwrap();
        assert_eq!(
            (proven.backup.as_str(), proven.drill, proven.by.as_deref()),
            (drill.filename.as_str(), true, Some("ops@laptop"))
        );
        // A failed drill proves nothing: the deep verification stands.
        let tile = judged(false, &[by_laptop.clone(), drilled(backup(30), false, 0)]);
        let proven = tile.last_proven.unwrap();
        assert_eq!(
            (proven.backup, proven.drill, proven.by.as_deref()),
            (by_laptop.filename, false, Some("ops@laptop"))
        );
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
        assert_eq!(texts(&tile), ["no backup was ever verified"]);
        assert_eq!(tile.problems[0].condition, Condition::NeverVerified);
        // A server's API offers no way to verify or drill.
        let server = judged(true, &[backup(2)]);
        assert_eq!(server.status, TileStatus::Ok, "{:?}", server.problems);
        assert_eq!(server.last_drill_at, None);
    }

    #[test]
    fn never_drilled_and_drill_overdue_are_warnings() {
        let never = judged(false, &[verified(backup(2), true)]);
        assert_eq!(never.status, TileStatus::Warning);
        assert_eq!(conditions(&never), [Condition::NeverDrilled]);
        let overdue = judged(false, &[drilled(verified(backup(2), true), true, 9)]);
        assert_eq!(overdue.status, TileStatus::Warning);
        assert_eq!(
            texts(&overdue),
            ["no restore drill passed in the last 8 days"]
        );
        assert_eq!(conditions(&overdue), [Condition::DrillOverdue]);
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
        assert_eq!(conditions(&tile), [Condition::DrillFailed]);
    }

    #[test]
    fn a_failed_backup_among_verified_ones_is_never_ok() {
        // The newest check passed; an older backup's own check failed.
        let mut older = verified(backup(30), false);
        older.verified.at = Some("2026-12-01T03:00:00+00:00".into());
        let list = [drilled(verified(backup(2), true), true, 1), older];
        let tile = judged(false, &list);
        assert_eq!(tile.last_verification_passed, Some(true));
        assert_ne!(tile.status, TileStatus::Ok, "{:?}", tile.problems);
        assert_eq!(conditions(&tile), [Condition::VerificationFailed]);
        assert!(
            texts(&tile)[0].contains(&list[1].filename),
            "{:?}",
            texts(&tile)
        );
    }

    #[test]
    fn a_drilled_backup_that_failed_verification_since_proves_nothing() {
        let list = [drilled(verified(backup(2), false), true, 1)];
        let tile = judged(false, &list);
        assert_eq!(tile.status, TileStatus::Error, "{:?}", tile.problems);
        assert!(conditions(&tile).contains(&Condition::DrillFailed));
        assert!(
            texts(&tile)
                .iter()
                .any(|t| t.starts_with("not proven restorable") && t.contains(&list[0].filename)),
            "{:?}",
            texts(&tile)
        );
    }

    #[test]
    fn problems_come_worst_first() {
        let tile = judged(false, &[verified(backup(50), false)]);
        assert_eq!(tile.status, TileStatus::Warning);
        assert_eq!(
            texts(&tile),
            [
                "newest backup is older than 26 hours",
                "1 backup(s) failed verification: servers_db_20261130_100000.db.gpg",
                "no restore drill has proven a backup restorable yet",
            ]
        );
    }

    #[test]
    fn no_backup_and_unhealthy_are_errors_before_everything_else() {
        let mut tile = judged(false, &[]);
        assert_eq!(conditions(&tile), [Condition::NoBackup]);
        tile.add(Condition::Overdue, "late");
        tile.add(Condition::Unhealthy, "bad");
        assert_eq!(
            conditions(&tile),
            [
                Condition::Unhealthy,
                Condition::NoBackup,
                Condition::Overdue
            ]
        );
        assert_eq!(tile.status, TileStatus::Error);
    }

    #[test]
    fn a_failed_read_says_busy_unreachable_or_needs_login() {
        use crate::remote::RemoteError;
        let busy = TargetError::Remote(RemoteError::Timeout {
            url: "u".into(),
            seconds: 10,
        });
        let down = TargetError::Remote(RemoteError::Unreachable {
            url: "u".into(),
            reason: "refused".into(),
        });
        let login = TargetError::Remote(RemoteError::AuthenticationRequired);
        assert_eq!(condition_of(&busy), Condition::Busy);
        assert_eq!(condition_of(&down), Condition::Unreachable);
        assert_eq!(condition_of(&login), Condition::NeedsLogin);
        assert_eq!(Condition::Busy.severity(), TileStatus::Warning);
        assert_eq!(Condition::NeedsLogin.severity(), TileStatus::Error);
    }

    fn texts(tile: &FleetTile) -> Vec<&str> {
        tile.problems.iter().map(|p| p.message.as_str()).collect()
    }

    fn conditions(tile: &FleetTile) -> Vec<Condition> {
        tile.problems.iter().map(|p| p.condition).collect()
    }
}
