//! `backupdesk fleet`: every profile at a glance, for people, scripts and
//! monitoring. Every profile is read at once (16 in flight); a line per
//! profile the moment it is read. Exit 0 when every tile is ok, 1 when any
//! is a warning or an error (for cron or a Nagios check).

use std::process::ExitCode;
use std::sync::Mutex;

use backupdesk_core::OperationContext;
use backupdesk_core::format::human::size_human;
use backupdesk_core::service::fleet::{self, FleetOptions, FleetTile, TileStatus};
use backupdesk_core::service::profiles;

use crate::args::{FleetArgs, GlobalArgs};
use crate::failure::fail;
use crate::output::print_json;
use crate::output::say;

/// `fleet --json`.
#[derive(serde::Serialize)]
struct FleetJson<'a> {
    ok: bool,
    tiles: &'a [FleetTile],
}

pub fn run(
    global: &GlobalArgs,
    args: &FleetArgs,
    ctx: &OperationContext<'_>,
) -> anyhow::Result<ExitCode> {
    let book = profiles::book().map_err(fail)?;
    if args.format == "prometheus" {
        let tiles = fleet::cached(&book, fleet::open_cache().as_ref());
        print!("{}", fleet::prometheus(&tiles));
        return Ok(ExitCode::SUCCESS);
    }
    let out = Mutex::new(std::io::stdout());
    let options = FleetOptions {
        in_flight: args.in_flight as usize,
        read_timeout: std::time::Duration::from_secs(args.timeout),
    };
    let cache = fleet::open_cache();
    let show = |tile: &FleetTile| {
        if !global.json {
            use std::io::Write;
            let mut out = out.lock().unwrap_or_else(|e| e.into_inner());
            let _ = writeln!(out, "{}", backupdesk_core::printable::escaped(&line(tile)));
        }
    };
    let tiles = if args.cached {
        let tiles = fleet::cached(&book, cache.as_ref());
        tiles.iter().for_each(show);
        tiles
    } else {
        fleet::refresh(&book, &options, cache.as_ref(), ctx, &show)
    };
    let ok = tiles.iter().all(FleetTile::is_ok);
    if global.json {
        print_json(&FleetJson { ok, tiles: &tiles });
    } else {
        let count = |s| tiles.iter().filter(|t| t.status == s).count();
        say!(
            "{} profile(s): {} ok, {} warning, {} error",
            tiles.len(),
            count(TileStatus::Ok),
            count(TileStatus::Warning),
            count(TileStatus::Error)
        );
    }
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn line(tile: &FleetTile) -> String {
    let status = match tile.status {
        TileStatus::Ok => "OK",
        TileStatus::Warning => "WARNING",
        TileStatus::Error => "ERROR",
        TileStatus::Unknown => "UNKNOWN",
    };
    let what = match tile.problems.first() {
        Some(problem) => problem.message.clone(),
        None => {
            let age = tile
                .newest_age_seconds
                .map(|s| format!("newest backup {} h old", s / 3600))
                .unwrap_or_default();
            let drill = match tile.restore_estimate_ms {
                Some(ms) => format!(", restore ≈ {:.1} s", ms as f64 / 1000.0),
                None => String::new(),
            };
            let proven = match &tile.last_proven {
                Some(p) => format!(
                    ", proven {} by {} ({})",
                    p.at,
                    p.by.as_deref().unwrap_or(if tile.over_ssh || tile.remote {
                        "the server itself"
                    } else {
                        "this machine"
                    }),
                    if p.drill {
                        "drill"
                    } else {
                        "deep verification"
                    }
                ),
                None => String::new(),
            };
            format!(
                "{age}, {} in {} backup(s){drill}{proven}",
                size_human(tile.storage_bytes),
                tile.backup_count
            )
        }
    };
    let cached = match (&tile.from_cache, &tile.read_at) {
        (true, Some(at)) => format!(" (last known, as of {at})"),
        (true, None) => " (never read yet)".to_owned(),
        _ => String::new(),
    };
    format!("{status:<8}{:<20} {what}{cached}", tile.profile)
}
