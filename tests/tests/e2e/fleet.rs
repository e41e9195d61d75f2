//! The fleet at scale: every profile read at once, tiles delivered as they
//! are ready, states that say what is wrong, the last known state kept in
//! the cache, and `backupdesk fleet` for scripts. Real servers on
//! 127.0.0.1: the stand-in (slow with added latency), one that accepts and
//! never answers, a port where nothing listens.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use backupdesk_core::OperationContext;
use backupdesk_core::clock::SystemClock;
use backupdesk_core::local::demo::JournalMode;
use backupdesk_core::service::fleet::{
    self, Condition, FleetCache, FleetOptions, FleetTile, TileStatus,
};
use backupdesk_core::targets::profile::{Profile, ProfileBook, ProfileTarget};
use backupdesk_e2e::standin::{SilentServer, StandIn, StandInOptions, refused_url};

use crate::remote::SERVER_PASSPHRASE;
use crate::support::*;

fn local(dir: &std::path::Path) -> Profile {
    Profile::new(ProfileTarget::Local {
        data_dir: dir.to_owned(),
    })
}

fn remote(url: &str) -> Profile {
    Profile::new(ProfileTarget::Remote {
        base_url: url.to_owned(),
        username: "admin".to_owned(),
        ca_cert: None,
    })
}

fn conditions(tile: &FleetTile) -> Vec<Condition> {
    tile.problems.iter().map(|p| p.condition).collect()
}

#[test]
fn a_slow_and_a_hung_server_do_not_delay_the_other_tiles() {
    let book_dir = tempfile::tempdir().unwrap();
    let with_backup = Installation::demo(MIB, JournalMode::Wal);
    with_backup.backup();
    let without_backup = Installation::demo(MIB, JournalMode::Wal);
    let served = Installation::demo(MIB, JournalMode::Wal);
    let mut slow_options = StandInOptions::new(served.root(), SERVER_PASSPHRASE);
    slow_options.latency = Duration::from_millis(1500);
    let slow = StandIn::start(slow_options);
    let hung = SilentServer::start();
    let mut book = ProfileBook::load(book_dir.path()).unwrap();
    book.add("fast-a", local(with_backup.root())).unwrap();
    book.add("fast-b", local(without_backup.root())).unwrap();
    book.add("refused", remote(&refused_url())).unwrap();
    book.add("slow", remote(&slow.base_url)).unwrap();
    book.add("hung", remote(&hung.base_url)).unwrap();

    let timeout = Duration::from_secs(4);
    let options = FleetOptions {
        in_flight: 16,
        read_timeout: timeout,
    };
    let (tiles, arrived, total) = refresh_timed(&book, &options);
    eprintln!("arrivals: {arrived:?}, total {total:?}");
    for fast in ["fast-a", "fast-b", "refused"] {
        assert!(
            arrived[fast] < Duration::from_millis(1400),
            "{fast} waited for a slow one: {arrived:?}"
        );
    }
    assert!(
        arrived["slow"] >= Duration::from_millis(1500),
        "{arrived:?}"
    );
    assert!(arrived["slow"] < timeout, "{arrived:?}");
    assert!(arrived["hung"] >= timeout, "{arrived:?}");
    // Bounded by the slowest single read, never the sum.
    assert!(total < timeout + Duration::from_millis(1500), "{total:?}");

    let by_name = |name: &str| tiles.iter().find(|t| t.profile == name).unwrap().clone();
    assert_eq!(conditions(&by_name("hung")), [Condition::Busy]);
    assert_eq!(by_name("hung").status, TileStatus::Warning);
    assert_eq!(conditions(&by_name("refused")), [Condition::Unreachable]);
    assert_eq!(conditions(&by_name("slow")), [Condition::NeedsLogin]);
    assert_eq!(conditions(&by_name("fast-b")), [Condition::NoBackup]);
    assert_eq!(
        conditions(&by_name("fast-a")),
        [Condition::NeverVerified, Condition::NeverDrilled]
    );
    assert_eq!(by_name("fast-a").status, TileStatus::Warning);
    // Problems first.
    let statuses: Vec<TileStatus> = tiles.iter().map(|t| t.status).collect();
    let mut sorted = statuses.clone();
    sorted.sort();
    assert_eq!(statuses, sorted);
}

#[test]
fn what_cannot_be_read_now_shows_its_last_known_state_from_the_cache() {
    let book_dir = tempfile::tempdir().unwrap();
    let inst = Installation::demo(MIB, JournalMode::Wal);
    let name = inst.backup();
    let (code, out) = inst.json(&["drill"]);
    assert_eq!(code, 0, "{out:#}");
    let mut book = ProfileBook::load(book_dir.path()).unwrap();
    book.add("office", local(inst.root())).unwrap();
    let cache = FleetCache::open(&book_dir.path().join("data")).unwrap();
    let options = FleetOptions::default();
    let first = fleet::refresh(
        &book,
        &options,
        Some(&cache),
        &OperationContext::bare(&SystemClock),
        &|_| {},
    );
    assert_eq!(first[0].status, TileStatus::Ok, "{:?}", first[0].problems);
    assert!(!first[0].from_cache);
    let read_at = first[0].read_at.clone().unwrap();
    // The backup list and health are kept beside the tile.
    let known = cache.backups("office").unwrap().unwrap();
    assert_eq!(known.read_at, read_at);
    assert_eq!(known.backups[0].filename, name);
    assert_eq!(known.backups[0].drill.as_ref().map(|d| d.ok), Some(true));

    // The folder goes away (an unmounted disk, a server out of reach).
    let moved = inst.dir.path().join("elsewhere");
    std::fs::rename(inst.root(), &moved).unwrap();
    let second = fleet::refresh(
        &book,
        &options,
        Some(&cache),
        &OperationContext::bare(&SystemClock),
        &|_| {},
    );
    let tile = &second[0];
    assert!(tile.from_cache, "{tile:?}");
    assert_eq!(tile.read_at.as_deref(), Some(read_at.as_str()));
    assert_eq!(tile.newest_backup.as_deref(), Some(name.as_str()));
    assert!(tile.restore_estimate_ms.is_some());
    assert_eq!(conditions(tile), [Condition::Unreadable]);
    assert_eq!(tile.status, TileStatus::Error);
    // The cache alone paints every profile at once (offline too).
    let cached = fleet::cached(&book, Some(&cache));
    assert_eq!(cached[0].newest_backup.as_deref(), Some(name.as_str()));
    assert_eq!(cached[0].read_at.as_deref(), Some(read_at.as_str()));
    std::fs::rename(&moved, inst.root()).unwrap();
}

#[test]
fn the_cli_fleet_reports_every_profile_and_exits_1_when_any_needs_attention() {
    let config = tempfile::tempdir().unwrap();
    let good = Installation::demo(MIB, JournalMode::Wal);
    good.backup();
    let (code, out) = good.json(&["drill"]);
    assert_eq!(code, 0, "{out:#}");
    let hung = SilentServer::start();
    let cli = |args: &[&str]| {
        let mut cmd = backupdesk();
        cmd.env("BACKUPDESK_CONFIG_DIR", config.path()).args(args);
        cmd
    };
    let ok = |args: &[&str]| {
        let out = cli(args).output().unwrap();
        assert!(out.status.success(), "{args:?}: {out:?}");
    };
    ok(&[
        "profile",
        "add",
        "good",
        "--local",
        good.root().to_str().unwrap(),
    ]);
    let (code, out) = run_json({
        let mut c = cli(&["fleet", "--json"]);
        c.arg("--timeout").arg("2");
        c
    });
    assert_eq!((code, out["ok"].as_bool()), (0, Some(true)), "{out:#}");
    assert_eq!(out["tiles"][0]["status"], "ok");

    let empty = Installation::demo(MIB, JournalMode::Wal);
    ok(&[
        "profile",
        "add",
        "empty",
        "--local",
        empty.root().to_str().unwrap(),
    ]);
    ok(&[
        "profile",
        "add",
        "busy",
        "--url",
        &hung.base_url,
        "--username",
        "admin",
    ]);
    let started = Instant::now();
    let (code, out) = run_json(cli(&["fleet", "--json", "--timeout", "2"]));
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "{:?}",
        started.elapsed()
    );
    assert_eq!((code, out["ok"].as_bool()), (1, Some(false)), "{out:#}");
    let tiles = out["tiles"].as_array().unwrap();
    let status: Vec<(&str, &str, &str)> = tiles
        .iter()
        .map(|t| {
            (
                t["profile"].as_str().unwrap(),
                t["status"].as_str().unwrap(),
                t["problems"][0]["condition"].as_str().unwrap_or("-"),
            )
        })
        .collect();
    assert_eq!(
        status,
        [
            ("empty", "error", "no_backup"),
            ("busy", "warning", "busy"),
            ("good", "ok", "-"),
        ]
    );
    // In words: a line per profile as it is read, then the count.
    let out = cli(&["fleet", "--timeout", "2"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("ERROR   empty") && text.contains("no backup yet"),
        "{text}"
    );
    assert!(
        text.contains("WARNING busy") && text.contains("did not answer within 2 s"),
        "{text}"
    );
    assert!(
        text.contains("OK      good") && text.contains("restore ≈"),
        "{text}"
    );
    assert!(
        text.contains("3 profile(s): 1 ok, 1 warning, 1 error"),
        "{text}"
    );
}

#[test]
fn a_stalled_read_does_not_hold_its_slot_even_with_one_in_flight() {
    let book_dir = tempfile::tempdir().unwrap();
    let hung = SilentServer::start();
    let installs: Vec<Installation> = (0..3)
        .map(|_| Installation::demo(MIB, JournalMode::Wal))
        .collect();
    let mut book = ProfileBook::load(book_dir.path()).unwrap();
    // First in the queue (profiles are read in name order).
    book.add("a-hung", remote(&hung.base_url)).unwrap();
    for (i, inst) in installs.iter().enumerate() {
        book.add(&format!("b-local-{i}"), local(inst.root()))
            .unwrap();
    }
    let options = FleetOptions {
        in_flight: 1,
        read_timeout: Duration::from_secs(5),
    };
    let (_, arrived, _) = refresh_timed(&book, &options);
    for i in 0..3 {
        assert!(
            arrived[&format!("b-local-{i}")] < Duration::from_secs(3),
            "a local tile waited for the hung read: {arrived:?}"
        );
    }
    assert!(arrived["a-hung"] >= Duration::from_secs(5), "{arrived:?}");
}

/// A refresh of `book`, with when each tile arrived and how long it all took.
fn refresh_timed(
    book: &ProfileBook,
    options: &FleetOptions,
) -> (Vec<FleetTile>, BTreeMap<String, Duration>, Duration) {
    let started = Instant::now();
    let arrived: Mutex<BTreeMap<String, Duration>> = Mutex::default();
    let tiles = fleet::refresh(
        book,
        options,
        None,
        &OperationContext::bare(&SystemClock),
        &|tile| {
            arrived
                .lock()
                .unwrap()
                .insert(tile.profile.clone(), started.elapsed());
        },
    );
    (tiles, arrived.into_inner().unwrap(), started.elapsed())
}
