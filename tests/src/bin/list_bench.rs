//! Part of `make bench`: how fast `backupdesk list` is over 10,000 backups;
//! writes `target/bench/list-report.json` plus a short table on stdout.
//!
//! Scenarios so far:
//! - `list-10k`: `backupdesk list --json` over 10,000 backups (each with a
//!   `.meta`), median of 5 runs. Target: well under a second (< 0.5 s).
//!
//! usage: backupdesk-list-bench [--bin target/release/backupdesk]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use backupdesk_e2e::bench_args::{flag, median};

fn main() {
    let bin = PathBuf::from(flag("--bin").unwrap_or_else(|| "target/release/backupdesk".into()));
    let out_dir = PathBuf::from("target/bench");
    std::fs::create_dir_all(&out_dir).expect("create target/bench");

    let rows = vec![list_10k(&bin)];

    println!("{:<12} {:>12} {:>12}  target", "scenario", "median", "runs");
    for row in &rows {
        println!(
            "{:<12} {:>10.3} s {:>12}  {} ({})",
            row["scenario"].as_str().unwrap(),
            row["median_s"].as_f64().unwrap(),
            row["runs"].as_u64().unwrap(),
            row["target"].as_str().unwrap(),
            if row["met"].as_bool().unwrap() {
                "met"
            } else {
                "NOT met"
            }
        );
    }
    let report = serde_json::json!({ "scenarios": rows });
    std::fs::write(
        out_dir.join("list-report.json"),
        serde_json::to_vec_pretty(&report).unwrap(),
    )
    .expect("write report");
    println!("report: target/bench/list-report.json");
}

fn list_10k(bin: &Path) -> serde_json::Value {
    let dir = tempfile_dir("bd-bench-list");
    let backups = dir.join("data/backups");
    std::fs::create_dir_all(&backups).unwrap();
    std::fs::create_dir_all(dir.join("data")).unwrap();
    let start = chrono::NaiveDate::from_ymd_opt(2020, 1, 1)
        .unwrap()
        .and_hms_opt(2, 0, 0)
        .unwrap();
    for i in 0..10_000i64 {
        let t = start + chrono::Duration::hours(6 * i);
        let stem = format!("servers_db_{}", t.format("%Y%m%d_%H%M%S"));
        std::fs::write(backups.join(format!("{stem}.db.gpg")), [0x8cu8; 64]).unwrap();
        let meta = serde_json::json!({
            "backup_name": format!("{stem}.db"), "timestamp": t.format("%Y-%m-%dT%H:%M:%S+00:00").to_string(),
            "size_bytes": 225280, "checksum_sha256": "0".repeat(64),
            "database_path": "/opt/server-monitor/data/servers.db", "encrypted": true,
        });
        std::fs::write(backups.join(format!("{stem}.db.meta")), meta.to_string()).unwrap();
    }
    let mut times = Vec::new();
    for _ in 0..5 {
        let t = Instant::now();
        let out = Command::new(bin)
            .arg("--data-dir")
            .arg(&dir)
            .args(["list", "--json"])
            .stderr(Stdio::inherit())
            .output()
            .expect("run backupdesk");
        times.push(t.elapsed());
        assert!(out.status.success());
        let value: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(value["count"], 10_000);
    }
    let _ = std::fs::remove_dir_all(&dir);
    let m = median(&times);
    serde_json::json!({
        "scenario": "list-10k", "median_s": m.as_secs_f64(), "runs": 5,
        "target": "< 0.5 s", "met": m < Duration::from_millis(500),
    })
}

fn tempfile_dir(prefix: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("{prefix}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
