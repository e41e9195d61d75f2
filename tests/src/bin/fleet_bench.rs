//! Part of `make bench`: the fleet at scale, side by side with the
//! sequential refresh it replaced, in one run. Writes
//! `target/bench/fleet-report.json` and a table on stdout.
//!
//! 100 profiles: 80 stand-in servers (`StandIn`, in this process, each on
//! its own loopback port and data folder, logged in, 100 to 500 ms of added
//! latency per request), 10 that accept and never answer, 10 where nothing
//! listens, and local installations. Runs inside a D-Bus session with a
//! real gnome-keyring (it re-executes itself under
//! `dbus-run-session -- tests/scripts/with-keyring.sh`), since the tokens
//! live in the keychain as for an admin.
//!
//! Scenarios (the release CLI, `backupdesk fleet --json`, the default 10 s
//! read timeout):
//! - `cached`: `fleet --cached` after a refresh: the last known fleet of
//!   100 profiles, read from the cache (the app's first paint). Target ≤ 1 s.
//! - `complete`: `fleet` with 16 in flight. Target ≤ 1.2 × one read timeout.
//! - `sequential`: the refresh before this change, every profile read in
//!   turn (`refresh_one` in a loop, in this process), for comparison.
//! - peak RSS of the CLI for `complete`, and of the desktop app (release,
//!   under Xvfb) refreshing the same 100 profiles: its own process and its
//!   WebKit helpers, read from `/proc/*/status` `VmHWM`.
//!
//! usage: backupdesk-fleet-bench [--skip-sequential] [--skip-app]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use backupdesk_core::OperationContext;
use backupdesk_core::clock::FixedClock;
use backupdesk_core::keychain::{Keychain, SecretKind};
use backupdesk_core::local::demo::{DemoOptions, create_demo};
use backupdesk_core::local::layout::DataDir;
use backupdesk_core::remote::RemoteServer;
use backupdesk_core::targets::profile::{Profile, ProfileBook, ProfileTarget};
use backupdesk_e2e::bench_args::{median, switch};
use backupdesk_e2e::standin::{ADMIN, SilentServer, StandIn, StandInOptions, refused_url};

const PASSPHRASE: &str = "the fleet bench passphrase";
const READ_TIMEOUT_S: f64 = 10.0;

fn main() {
    if std::env::var_os("BACKUPDESK_FLEET_BENCH_INNER").is_none() {
        let me = std::env::current_exe().unwrap();
        let keyring = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/with-keyring.sh");
        let status = Command::new("dbus-run-session")
            .arg("--")
            .arg(keyring)
            .arg(me)
            .args(std::env::args().skip(1))
            .env("BACKUPDESK_FLEET_BENCH_INNER", "1")
            .status()
            .expect("dbus-run-session (package dbus-daemon)");
        std::process::exit(status.code().unwrap_or(1));
    }
    let bin = std::fs::canonicalize("target/release/backupdesk").expect("release CLI built");
    let app = std::fs::canonicalize("target/release/backupdesk-app").ok();
    let out_dir = PathBuf::from("target/bench");
    std::fs::create_dir_all(&out_dir).unwrap();
    let work = std::env::temp_dir().join(format!("bd-fleet-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).unwrap();
    let config = work.join("config");

    eprintln!(
        "starting 80 stand-in servers, 10 silent ones, 10 refused ports, 5 local installations"
    );
    let template = work.join("template");
    create_demo(
        &DataDir::new(&template),
        &DemoOptions {
            size_bytes: 1 << 20,
            ..DemoOptions::default()
        },
        FixedClock::utc(2026, 11, 20, 12, 0, 0).0,
    )
    .unwrap();
    let install = |name: &str| {
        let root = work.join(name);
        std::fs::create_dir_all(root.join("data/backups")).unwrap();
        std::fs::copy(
            DataDir::new(&template).database(),
            DataDir::new(&root).database(),
        )
        .unwrap();
        root
    };
    let servers: Vec<StandIn> = (0..80)
        .map(|i| {
            let mut options = StandInOptions::new(install(&format!("server-{i:02}")), PASSPHRASE);
            options.latency = Duration::from_millis(100 + (400 * i as u64) / 79);
            StandIn::start(options)
        })
        .collect();
    let silent: Vec<SilentServer> = (0..10).map(|_| SilentServer::start()).collect();
    let mut book = ProfileBook::load(&config).unwrap();
    let keychain = Keychain::open().expect("the keyring of this session");
    std::thread::scope(|scope| {
        for (i, server) in servers.iter().enumerate() {
            let keychain = &keychain;
            scope.spawn(move || {
                let client = RemoteServer::new(&server.base_url, ADMIN.0, None).unwrap();
                let token = client.login(ADMIN.1).expect("login to a stand-in");
                keychain
                    .set(&format!("server-{i:02}"), SecretKind::ApiToken, &token)
                    .unwrap();
            });
        }
    });
    let remote = |url: &str| {
        Profile::new(ProfileTarget::Remote {
            base_url: url.to_owned(),
            username: ADMIN.0.to_owned(),
            ca_cert: None,
        })
    };
    for (i, server) in servers.iter().enumerate() {
        book.add(&format!("server-{i:02}"), remote(&server.base_url))
            .unwrap();
    }
    for (i, server) in silent.iter().enumerate() {
        book.add(&format!("silent-{i}"), remote(&server.base_url))
            .unwrap();
    }
    for i in 0..10 {
        book.add(&format!("refused-{i}"), remote(&refused_url()))
            .unwrap();
    }
    for i in 0..5 {
        let root = install(&format!("local-{i}"));
        book.add(
            &format!("local-{i}"),
            Profile::new(ProfileTarget::Local { data_dir: root }),
        )
        .unwrap();
    }
    let profiles = book.profiles().len();
    eprintln!("{profiles} profiles ready");

    let fleet = |args: &[&str]| -> (f64, u64, serde_json::Value) {
        let rss_file = work.join("rss");
        let started = Instant::now();
        let out = Command::new("/usr/bin/time")
            .args(["-f", "%M", "-o"])
            .arg(&rss_file)
            .arg(&bin)
            .args(["fleet", "--json"])
            .args(args)
            .env("BACKUPDESK_CONFIG_DIR", &config)
            .stderr(Stdio::null())
            .output()
            .expect("/usr/bin/time (package time)");
        let seconds = started.elapsed().as_secs_f64();
        let rss_kib = std::fs::read_to_string(&rss_file)
            .ok()
            .and_then(|t| t.trim().lines().last()?.trim().parse().ok())
            .unwrap_or(0);
        let json = serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null);
        (seconds, rss_kib, json)
    };

    let mut complete = Vec::new();
    let mut complete_rss = 0;
    let mut counts = serde_json::Value::Null;
    for run in 0..3 {
        let (seconds, rss, json) = fleet(&[]);
        eprintln!("complete run {run}: {seconds:.2} s");
        complete.push(seconds);
        complete_rss = complete_rss.max(rss);
        counts = tally(&json);
    }
    let cached: Vec<f64> = (0..5).map(|_| fleet(&["--cached"]).0).collect();
    let sequential = if switch("--skip-sequential") {
        None
    } else {
        // The refresh before this change, as it was: every profile read in
        // turn (here in this process, against the same servers and tokens).
        eprintln!("the sequential baseline: one profile after another (minutes)");
        let options = backupdesk_core::service::fleet::FleetOptions {
            in_flight: 1,
            read_timeout: Duration::from_secs_f64(READ_TIMEOUT_S),
        };
        let book = ProfileBook::load(&config).unwrap();
        let started = Instant::now();
        for (name, profile) in book.profiles() {
            backupdesk_core::service::fleet::refresh_one(
                name,
                profile,
                &options,
                None,
                &OperationContext::bare(&backupdesk_core::clock::SystemClock),
            );
        }
        Some(started.elapsed().as_secs_f64())
    };
    let app_rss = if switch("--skip-app") {
        None
    } else {
        app.as_deref().and_then(|app| app_peak_rss(app, &config))
    };

    let complete_s = median(&complete);
    let cached_s = median(&cached);
    let rows = serde_json::json!({
        "profiles": profiles,
        "tiles": counts,
        "read_timeout_s": READ_TIMEOUT_S,
        "cached_first_paint_s": cached_s,
        "cached_target": "<= 1 s",
        "cached_met": cached_s <= 1.0,
        "complete_s": complete_s,
        "complete_runs_s": complete,
        "complete_target_s": 1.2 * READ_TIMEOUT_S,
        "complete_met": complete_s <= 1.2 * READ_TIMEOUT_S,
        "sequential_s": sequential,
        "cli_peak_rss_mib": complete_rss as f64 / 1024.0,
        "app_peak_rss_mib": app_rss.map(|(own, helpers)| serde_json::json!({"app": own as f64 / 1024.0, "webkit_helpers": helpers as f64 / 1024.0})),
    });
    println!(
        "fleet of {profiles} profiles (80 stand-ins at 100-500 ms, 10 silent, 10 refused, 5 local), read timeout {READ_TIMEOUT_S} s"
    );
    println!("{:<34} {:>10}  target", "scenario", "median");
    println!(
        "{:<34} {:>8.3} s  <= 1 s ({})",
        "cached first paint (fleet --cached)",
        cached_s,
        if cached_s <= 1.0 { "met" } else { "NOT met" }
    );
    println!(
        "{:<34} {:>8.3} s  <= {:.0} s ({})",
        "complete refresh (16 in flight)",
        complete_s,
        1.2 * READ_TIMEOUT_S,
        if complete_s <= 1.2 * READ_TIMEOUT_S {
            "met"
        } else {
            "NOT met"
        }
    );
    match sequential {
        Some(s) => println!(
            "{:<34} {:>8.3} s  (before: one after another)",
            "sequential baseline", s
        ),
        None => println!("{:<34} {:>10}", "sequential baseline", "skipped"),
    }
    println!(
        "{:<34} {:>8.1} MiB",
        "CLI peak RSS (complete)",
        complete_rss as f64 / 1024.0
    );
    match app_rss {
        Some((own, helpers)) => println!(
            "{:<34} {:>8.1} MiB  (+ {:.1} MiB in its WebKit helper processes)",
            "app peak RSS (refreshing 100)",
            own as f64 / 1024.0,
            helpers as f64 / 1024.0
        ),
        None => println!("{:<34} {:>10}", "app peak RSS", "not measured"),
    }
    println!("tiles: {counts}");
    std::fs::write(
        out_dir.join("fleet-report.json"),
        serde_json::to_vec_pretty(&rows).unwrap(),
    )
    .unwrap();
    println!("report: target/bench/fleet-report.json");
    drop(servers);
    drop(silent);
    let _ = std::fs::remove_dir_all(&work);
}

/// Tiles per status and per first condition.
fn tally(json: &serde_json::Value) -> serde_json::Value {
    let mut by: std::collections::BTreeMap<String, u64> = Default::default();
    for tile in json["tiles"].as_array().into_iter().flatten() {
        let key = format!(
            "{}:{}",
            tile["status"].as_str().unwrap_or("?"),
            tile["problems"][0]["condition"].as_str().unwrap_or("-")
        );
        *by.entry(key).or_default() += 1;
    }
    serde_json::to_value(by).unwrap()
}

/// Starts the release app under Xvfb on the bench's profiles (its fleet
/// screen refreshes them all on start), waits for the refresh to be over,
/// and returns the peak RSS (KiB) of the app and of its helper processes.
fn app_peak_rss(app: &Path, config: &Path) -> Option<(u64, u64)> {
    let mut xvfb = Command::new("Xvfb")
        .args([
            "-displayfd",
            "1",
            "-screen",
            "0",
            "1280x860x24",
            "-nolisten",
            "tcp",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let mut line = String::new();
    std::io::BufRead::read_line(&mut std::io::BufReader::new(xvfb.stdout.take()?), &mut line)
        .ok()?;
    let mut child = Command::new(app)
        .env("DISPLAY", format!(":{}", line.trim()))
        .env("BACKUPDESK_CONFIG_DIR", config)
        .env("NO_AT_BRIDGE", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    // The refresh takes one read timeout; then the peak is in.
    std::thread::sleep(Duration::from_secs_f64(READ_TIMEOUT_S + 8.0));
    let pid = child.id();
    let own = vm_hwm(pid);
    let helpers: u64 = children(pid).into_iter().map(vm_hwm).sum();
    let _ = child.kill();
    let _ = child.wait();
    let _ = xvfb.kill();
    let _ = xvfb.wait();
    Some((own, helpers))
}

fn vm_hwm(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))?
                .split_whitespace()
                .nth(1)?
                .parse()
                .ok()
        })
        .unwrap_or(0)
}

/// Every descendant of `pid`.
fn children(pid: u32) -> Vec<u32> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return out;
    };
    let parents: Vec<(u32, u32)> = entries
        .flatten()
        .filter_map(|e| {
            let p: u32 = e.file_name().to_str()?.parse().ok()?;
            let stat = std::fs::read_to_string(format!("/proc/{p}/stat")).ok()?;
            let ppid = stat
                .rsplit(')')
                .next()?
                .split_whitespace()
                .nth(1)?
                .parse()
                .ok()?;
            Some((p, ppid))
        })
        .collect();
    let mut frontier = vec![pid];
    while let Some(parent) = frontier.pop() {
        for &(p, pp) in &parents {
            if pp == parent {
                out.push(p);
                frontier.push(p);
            }
        }
    }
    out
}
