//! The fleet as Prometheus metrics (`fleet --format prometheus`), from the
//! tiles as last known (the cache: nothing is read, offline too): one
//! sample per profile of each family, labelled with the profile.

use super::{FleetTile, TileStatus};
use crate::local::notify::metrics::{Family, render};

/// Seconds since the epoch of an RFC 3339 time.
fn epoch(at: Option<&String>) -> Option<f64> {
    let at = chrono::DateTime::parse_from_rfc3339(at?).ok()?;
    Some(at.timestamp() as f64)
}

/// The tiles in Prometheus' text format.
pub fn prometheus(tiles: &[FleetTile]) -> String {
    let mut status = Family::new(
        "backupdesk_fleet_status",
        "Tile status: 0 ok, 1 warning, 2 error, 3 unknown (never read).",
    );
    let mut problems = Family::new("backupdesk_fleet_problems", "Problems the tile shows.");
    let mut age = Family::new(
        "backupdesk_fleet_newest_backup_age_seconds",
        "Age of the newest backup when last read.",
    );
    let mut count = Family::new("backupdesk_fleet_backups", "Backups kept.");
    let mut bytes = Family::new("backupdesk_fleet_backup_bytes", "Bytes of all backups.");
    let mut read = Family::new(
        "backupdesk_fleet_read_timestamp_seconds",
        "When the tile was last read.",
    );
    let mut verified = Family::new(
        "backupdesk_fleet_last_verification_timestamp_seconds",
        "The newest verification of any backup.",
    );
    let mut proven = Family::new(
        "backupdesk_fleet_last_proven_timestamp_seconds",
        "The newest passed deep verification or restore drill.",
    );
    let mut offsite = Family::new(
        "backupdesk_fleet_offsite_last_push_timestamp_seconds",
        "When the newest off-site copy was pushed.",
    );
    for tile in tiles {
        let profile = [("profile", tile.profile.as_str())];
        let code = match tile.status {
            TileStatus::Ok => 0.0,
            TileStatus::Warning => 1.0,
            TileStatus::Error => 2.0,
            TileStatus::Unknown => 3.0,
        };
        status.push(&profile, code);
        problems.push(&profile, tile.problems.len() as f64);
        if let Some(seconds) = tile.newest_age_seconds {
            age.push(&profile, seconds as f64);
        }
        if tile.read_at.is_some() {
            count.push(&profile, f64::from(tile.backup_count));
            bytes.push(&profile, tile.storage_bytes as f64);
        }
        let times = [
            (&mut read, epoch(tile.read_at.as_ref())),
            (&mut verified, epoch(tile.last_verified_at.as_ref())),
            (&mut proven, epoch(tile.last_proven.as_ref().map(|p| &p.at))),
            (
                &mut offsite,
                epoch(
                    tile.offsite
                        .as_ref()
                        .and_then(|o| o.newest_pushed_at.as_ref()),
                ),
            ),
        ];
        for (family, at) in times {
            if let Some(at) = at {
                family.push(&profile, at);
            }
        }
    }
    render(&[
        status, problems, age, count, bytes, read, verified, proven, offsite,
    ])
}
