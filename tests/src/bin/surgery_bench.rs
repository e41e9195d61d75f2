//! `make bench`, surgical recovery (issue 29): looking inside, comparing
//! and restoring rows of a backup of a generated demo database, against
//! what they are measured by: a deep verification of the same backup, and
//! Debian's `sqldiff` (sqlite3-tools) on the same two plaintext files.
//!
//! Each comparison runs its two sides alternately, at least three pairs,
//! each run after `sync` and a quiet pause (see `bench_timing`). Writes
//! `target/bench/surgery.json` and prints a table with each target.
//!
//! usage: backupdesk-surgery-bench [--size 512MiB] [--pairs 3] [--only query|diff|engine|partial]
//!        backupdesk-surgery-bench --diff-files OLD NEW   (one timed side)

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use backupdesk_core::local::layout::DataDir;
use backupdesk_core::local::surgery::{DiffOptions, diff, open_live};
use backupdesk_e2e::bench_args::flag;
use backupdesk_e2e::bench_timing::{Run, pair_summary, sh, timed, warm};
use serde_json::{Value, json};

const PASSPHRASE: &str = "bench passphrase, not a secret";

/// The installation under test and how to call the release CLI on it.
struct Bench {
    bin: PathBuf,
    root: PathBuf,
    pass_file: PathBuf,
}

impl Bench {
    fn args<'a>(&'a self, args: &[&'a str]) -> Vec<&'a str> {
        let mut full = vec![
            "--data-dir",
            self.root.to_str().unwrap(),
            "--passphrase-file",
            self.pass_file.to_str().unwrap(),
        ];
        full.extend_from_slice(args);
        full
    }

    fn ours(&self, args: &[&str]) -> Run {
        timed(&self.bin, &self.args(args), &[])
    }

    fn live(&self) -> PathBuf {
        self.root.join("data/servers.db")
    }

    fn backup(&self, name: &str) -> PathBuf {
        self.root.join("data/backups").join(name)
    }
}

/// `--diff-files OLD NEW`: both compared (counts for every table) by
/// Backup Desk's engine, as its own process so it is timed like sqldiff.
fn diff_files(old: &str, new: &str) {
    let open = |root: &str| open_live(&DataDir::new(PathBuf::from(root))).expect("open");
    let report = diff(&open(old), &open(new), &DiffOptions::default()).expect("diff");
    println!("{} tables differ", report.changed_tables);
}

/// Live changed after the backup, as an admin's bad day: half the alerts
/// deleted, a third of the servers changed, a tag added, 500 samples.
fn change_live(db: &Path) {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.execute_batch(
        "DELETE FROM alerts WHERE id % 2 = 0;
         UPDATE servers SET status = 'maintenance' WHERE id % 3 = 0;
         INSERT INTO tags (name, color) VALUES ('bench', '#000000');
         INSERT INTO monitoring_history (server_id, timestamp, cpu_percent, status)
           SELECT server_id, timestamp, cpu_percent, 'copy' FROM monitoring_history LIMIT 500;",
    )
    .unwrap();
}

/// A private (0700) GnuPG home under `work`, as gpg wants it.
fn gnupg_home(work: &Path) -> PathBuf {
    let home = work.join("gnupg");
    std::fs::create_dir_all(&home).unwrap();
    std::fs::set_permissions(&home, std::os::unix::fs::PermissionsExt::from_mode(0o700)).unwrap();
    home
}

fn count(db: &Path, table: &str) -> u64 {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| {
        r.get::<_, i64>(0)
    })
    .unwrap() as u64
}

/// One comparison's result, with its target check.
fn row(scenario: &str, ours: &[Run], reference: &[Run], target: f64) -> Value {
    let mut row = pair_summary(scenario, ours, reference);
    let met = row["ratio_median"].as_f64().unwrap_or(f64::MAX) <= target;
    row.insert("ratio_target".into(), json!(target));
    row.insert("met".into(), json!(met));
    Value::Object(row)
}

/// Pairs of `ours` and `reference`, alternating, each after `prepare`.
fn pairs(
    n: usize,
    prepare: &dyn Fn(),
    ours: &dyn Fn() -> Run,
    reference: &dyn Fn() -> Run,
) -> (Vec<Run>, Vec<Run>) {
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for _ in 0..n {
        prepare();
        a.push(ours());
        prepare();
        b.push(reference());
    }
    (a, b)
}

/// A partial restore of `alerts` (half its rows deleted first) while
/// sm-writer commits a sample every 10 ms: its time after staging, its
/// total, and whether every commit of the writer is still there.
fn partial_under_writer(bench: &Bench, name: &str, writer: &Path) -> Value {
    let live = bench.live();
    rusqlite::Connection::open(&live)
        .unwrap()
        .execute_batch("DELETE FROM alerts WHERE id % 2 = 0")
        .unwrap();
    let before = count(&live, "monitoring_history");
    let mut w = Command::new(writer)
        .arg(&live)
        .args(["10", "600000", "--until-stdin-closes"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("sm-writer (built with make bench)");
    std::thread::sleep(std::time::Duration::from_millis(300));
    let started = Instant::now();
    let out = Command::new(&bench.bin)
        .args(bench.args(&["restore", name, "--table", "alerts", "--yes", "--json"]))
        .output()
        .unwrap();
    let total = started.elapsed().as_secs_f64();
    std::thread::sleep(std::time::Duration::from_millis(300));
    drop(w.stdin.take());
    let report = String::from_utf8_lossy(&w.wait_with_output().unwrap().stdout).into_owned();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let done: Value = serde_json::from_slice(&out.stdout).unwrap();
    let commits: u64 = report
        .split_whitespace()
        .find_map(|w| w.strip_prefix("commits="))
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let after = count(&live, "monitoring_history");
    let applied_ms = done["report"]["duration_ms"].as_u64().unwrap_or(u64::MAX);
    json!({
        "scenario": "partial restore of alerts, 10 ms writer",
        "after_staging_ms": applied_ms, "total_s": total,
        "writer_commits": commits, "commits_kept": after == before + commits,
        "met": applied_ms <= 2000 && after == before + commits,
    })
}

/// A demo installation of `size` under a fresh work folder, backed up:
/// the bench, its folder, the backup's name, the database's size.
fn set_up(release: &Path, size: &str) -> (Bench, PathBuf, String, u64) {
    let work = std::env::temp_dir().join(format!("bd-surgery-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).unwrap();
    let bench = Bench {
        bin: release.join("backupdesk"),
        root: work.join("sm"),
        pass_file: work.join("passphrase"),
    };
    std::fs::write(&bench.pass_file, format!("{PASSPHRASE}\n")).unwrap();
    eprintln!("generating a {size} demo database in {}", work.display());
    bench.ours(&["demo", "init", bench.root.to_str().unwrap(), "--size", size]);
    let db_size = std::fs::metadata(bench.live()).unwrap().len();
    bench.ours(&["backup", "--no-prune"]);
    let name = std::fs::read_dir(bench.root.join("data/backups"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .find(|n| n.starts_with("servers_db_") && n.ends_with(".gpg"))
        .expect("a backup");
    (bench, work, name, db_size)
}

/// Backup Desk's diff engine and `sqldiff --summary` on the same two
/// plaintext files (the backup decrypted by gpg, a copy of live), in pairs.
fn engine_pairs(bench: &Bench, work: &Path, backup: &Path, n: usize) -> (Vec<Run>, Vec<Run>) {
    let (old, new) = (work.join("old"), work.join("new"));
    for dir in [&old, &new] {
        std::fs::create_dir_all(dir.join("data")).unwrap();
    }
    let (old_db, new_db) = (old.join("data/servers.db"), new.join("data/servers.db"));
    let decrypt = Command::new("gpg")
        .args([
            "--batch",
            "--quiet",
            "--pinentry-mode",
            "loopback",
            "--passphrase-file",
        ])
        .arg(&bench.pass_file)
        .arg("-o")
        .arg(&old_db)
        .arg("-d")
        .arg(backup)
        .env("GNUPGHOME", gnupg_home(work))
        .status()
        .unwrap();
    assert!(decrypt.success(), "gpg -d of the backup");
    std::fs::copy(bench.live(), &new_db).unwrap();
    let me = std::env::current_exe().unwrap();
    let warm_files = || warm(&[&old_db, &new_db]);
    let (a, b) = pairs(
        n,
        &warm_files,
        &|| {
            timed(
                &me,
                &["--diff-files", old.to_str().unwrap(), new.to_str().unwrap()],
                &[],
            )
        },
        &|| {
            sh(&format!(
                "sqldiff --summary {} {} > /dev/null",
                old_db.display(),
                new_db.display()
            ))
        },
    );
    (a, b)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--diff-files") {
        return diff_files(&args[2], &args[3]);
    }
    let size = flag("--size").unwrap_or_else(|| "512MiB".into());
    let n: usize = flag("--pairs")
        .and_then(|p| p.parse().ok())
        .unwrap_or(3)
        .max(3);
    let only = flag("--only");
    let wants = |scenario: &str| only.as_deref().is_none_or(|o| o == scenario);
    let release = PathBuf::from("target/release");
    let (bench, work, name, db_size) = set_up(&release, &size);
    let backup = bench.backup(&name);
    change_live(&bench.live());
    let deep = || bench.ours(&["verify", &name, "--deep"]);
    let warm_backup = || warm(&[&backup]);
    let mut rows = Vec::new();

    if wants("query") {
        eprintln!("query vs verify --deep");
        let (a, b) = pairs(
            n,
            &warm_backup,
            &|| bench.ours(&["query", &name, "SELECT count(*) FROM users"]),
            &deep,
        );
        rows.push(row("query, first answer / verify --deep", &a, &b, 1.3));
    }

    if wants("diff") {
        eprintln!("diff --live vs verify --deep");
        let warm_both = || warm(&[&backup, &bench.live()]);
        let (a, b) = pairs(
            n,
            &warm_both,
            &|| bench.ours(&["diff", &name, "--live"]),
            &deep,
        );
        rows.push(row("diff --live / verify --deep", &a, &b, 2.5));
    }

    if wants("engine") {
        eprintln!("diff engine vs sqldiff on the same plaintext files");
        let (a, b) = engine_pairs(&bench, &work, &backup, n);
        rows.push(row("diff engine / sqldiff --summary", &a, &b, 0.5));
    }

    eprintln!("partial restore under a writer");
    let writer = release.join("sm-writer");
    let runs = if wants("partial") { n } else { 0 };
    let partial: Vec<Value> = (0..runs)
        .map(|_| partial_under_writer(&bench, &name, &writer))
        .collect();

    let _ = std::fs::remove_dir_all(&work);
    print_table(&rows, &partial, &size, db_size);
    let report = json!({ "size": size, "database_bytes": db_size, "pairs": n, "comparisons": rows, "partial": partial });
    std::fs::create_dir_all("target/bench").unwrap();
    std::fs::write(
        "target/bench/surgery.json",
        serde_json::to_vec_pretty(&report).unwrap(),
    )
    .unwrap();
    println!("report: target/bench/surgery.json");
}

fn print_table(rows: &[Value], partial: &[Value], size: &str, db_size: u64) {
    let met = |v: &Value| {
        if v["met"].as_bool().unwrap_or(false) {
            "met"
        } else {
            "NOT met"
        }
    };
    println!("Backup Desk surgery bench, {size} database ({db_size} bytes)");
    println!(
        "{:<40} {:>9} {:>9} {:>7} {:>7}  target",
        "comparison", "ours", "reference", "ratio", "RSS"
    );
    for r in rows {
        println!(
            "{:<40} {:>7.2} s {:>7.2} s {:>7.3} {:>3.0} MiB  <= {} {}",
            r["scenario"].as_str().unwrap(),
            r["ours_median_s"].as_f64().unwrap(),
            r["reference_median_s"].as_f64().unwrap(),
            r["ratio_median"].as_f64().unwrap(),
            r["ours_peak_rss_mib"].as_f64().unwrap(),
            r["ratio_target"],
            met(r),
        );
    }
    for p in partial {
        println!(
            "partial restore of alerts, 10 ms writer: {} ms after staging ({:.2} s in all), {} writer commits, all kept: {}  <= 2000 ms {}",
            p["after_staging_ms"],
            p["total_s"].as_f64().unwrap(),
            p["writer_commits"],
            p["commits_kept"],
            met(p),
        );
    }
}
