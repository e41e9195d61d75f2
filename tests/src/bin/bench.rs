//! `make bench`: Backup Desk's release binary against the shell pipelines of
//! Server Monitor's scripts, on a generated realistic database.
//!
//! Each scenario runs its two sides alternately (A B A B ...), at least three
//! pairs, each run after a `sync` (as hyperfine's `--prepare sync`) and a
//! few seconds of quiet (see [`SETTLE`]), with
//! its input files read once beforehand (untimed), so both sides start from
//! the same page-cache state whatever the other side left behind (Backup Desk
//! drops backup files from the cache as it streams them, gpg does not). It
//! reports the median wall time of each side, the median of the
//! per-pair ratios, output sizes and peak RSS (GNU time's `%M`, the largest
//! resident set of the process tree's biggest member). Writes
//! `target/bench/report.json` and prints a table with each target.
//!
//! usage: backupdesk-bench [--size 512MiB] [--pairs 3] [--only SCENARIO] [--rss-only]
//!   --only backup|verify|restore|load: run one scenario (while tuning it).
//!   --rss-only: run each Backup Desk operation once and report its peak RSS
//!   (for the 2 GiB memory check, where the references take many minutes).

use std::path::PathBuf;
use std::process::{Command, Stdio};

use backupdesk_e2e::bench_args::{flag, switch};
use backupdesk_e2e::bench_timing::{Run, pair_summary, sh, timed, warm};
use serde_json::{Value, json};

const PASSPHRASE: &str = "bench passphrase, not a secret";

struct Bench {
    bin: PathBuf,
    root: PathBuf,
    work: PathBuf,
    pass_file: PathBuf,
}

impl Bench {
    fn ours(&self, args: &[&str]) -> Run {
        let mut full = vec![
            "--data-dir",
            self.root.to_str().unwrap(),
            "--passphrase-file",
            self.pass_file.to_str().unwrap(),
        ];
        full.extend_from_slice(args);
        timed(&self.bin, &full, &[])
    }

    fn backups(&self) -> PathBuf {
        self.root.join("data/backups")
    }

    fn clear_backups(&self) {
        for entry in std::fs::read_dir(self.backups()).unwrap().flatten() {
            let _ = std::fs::remove_file(entry.path());
        }
    }

    fn newest_backup(&self) -> String {
        let mut names: Vec<String> = std::fs::read_dir(self.backups())
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with("servers_db_") && n.ends_with(".gpg"))
            .collect();
        names.sort();
        names.pop().expect("a backup exists")
    }
}

/// One scenario's result, with its target check.
fn row(scenario: &str, ours: &[Run], reference: &[Run], ratio_target: f64, extra: Value) -> Value {
    let mut row = pair_summary(scenario, ours, reference);
    let met = row["ratio_median"].as_f64().unwrap_or(f64::MAX) <= ratio_target;
    row.insert("ratio_target".into(), json!(ratio_target));
    row.insert("time_met".into(), json!(met));
    row.insert("extra".into(), extra);
    Value::Object(row)
}

fn main() {
    let size = flag("--size").unwrap_or_else(|| "512MiB".into());
    let pairs: usize = flag("--pairs")
        .and_then(|p| p.parse().ok())
        .unwrap_or(3)
        .max(3);
    let rss_only = switch("--rss-only");
    let only = flag("--only");
    let wants = |scenario: &str| only.as_deref().is_none_or(|o| o == scenario);
    let release = PathBuf::from("target/release");
    let bin = release.join("backupdesk");
    let writer = release.join("sm-writer");
    let out_dir = PathBuf::from("target/bench");
    std::fs::create_dir_all(&out_dir).unwrap();

    let work = std::env::temp_dir().join(format!("bd-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).unwrap();
    let bench = Bench {
        bin: bin.clone(),
        root: work.join("sm"),
        pass_file: work.join("passphrase"),
        work: work.clone(),
    };
    std::fs::write(&bench.pass_file, format!("{PASSPHRASE}\n")).unwrap();
    eprintln!("generating a {size} demo database in {}", work.display());
    let demo = timed(
        &bin,
        &[
            "demo",
            "init",
            bench.root.to_str().unwrap(),
            "--size",
            &size,
        ],
        &[],
    );
    let db = bench.root.join("data/servers.db");
    let db_size = std::fs::metadata(&db).unwrap().len();
    eprintln!("  {db_size} bytes in {:.1} s", demo.seconds);
    let gnupg = work.join("gnupg");
    std::fs::create_dir_all(&gnupg).unwrap();
    std::fs::set_permissions(&gnupg, std::os::unix::fs::PermissionsExt::from_mode(0o700)).unwrap();
    let gpg = format!("GNUPGHOME={} gpg --batch --yes --quiet", gnupg.display());
    let x = work.join("ref.db");
    let xs = x.display().to_string();
    let pass = bench.pass_file.display().to_string();

    let mut rows = Vec::new();
    if rss_only {
        bench.clear_backups();
        let b = bench.ours(&["backup", "--no-prune"]);
        let name = bench.newest_backup();
        let v = bench.ours(&["verify", &name]);
        let r = bench.ours(&["restore", &name, "--yes"]);
        for (scenario, run) in [("backup", b), ("verify", v), ("restore", r)] {
            rows.push(json!({
                "scenario": scenario, "ours_s": run.seconds,
                "ours_peak_rss_mib": run.rss_kib as f64 / 1024.0,
                "rss_target_mib": 64, "rss_met": run.rss_kib <= 64 * 1024,
            }));
        }
    } else {
        // Backup: ours vs sqlite3 .backup + sha256sum + gpg --symmetric.
        let (mut ours, mut reference) = (Vec::new(), Vec::new());
        let (mut ours_size, mut ref_size) = (0, 0);
        for pair in 0..if wants("backup") { pairs } else { 0 } {
            eprintln!("backup pair {}", pair + 1);
            bench.clear_backups();
            warm(&[&db]);
            ours.push(bench.ours(&["backup", "--no-prune"]));
            ours_size = std::fs::metadata(bench.backups().join(bench.newest_backup()))
                .unwrap()
                .len();
            let _ = std::fs::remove_file(&x);
            let _ = std::fs::remove_file(format!("{xs}.gpg"));
            warm(&[&db]);
            reference.push(sh(&format!(
                "sqlite3 {db} \".backup {xs}\" && sha256sum {xs} >/dev/null && {gpg} --passphrase-fd 0 --symmetric --cipher-algo AES256 {xs} < {pass}",
                db = db.display()
            )));
            ref_size = std::fs::metadata(format!("{xs}.gpg")).unwrap().len();
        }
        let size_ratio = ours_size as f64 / ref_size as f64;
        if wants("backup") {
            rows.push(row(
                "backup",
                &ours,
                &reference,
                0.35,
                json!({
                    "ours_output_bytes": ours_size, "reference_output_bytes": ref_size,
                    "size_ratio": size_ratio, "size_target": 1.05, "size_met": size_ratio <= 1.05,
                }),
            ));
        }

        // Verify (quick): ours vs gpg -d | sha256sum.
        if ours.is_empty() {
            bench.clear_backups();
            bench.ours(&["backup", "--no-prune"]);
        }
        let name = bench.newest_backup();
        let backup_path = bench.backups().join(&name);
        let (mut ours, mut reference) = (Vec::new(), Vec::new());
        for pair in 0..if wants("verify") { pairs } else { 0 } {
            eprintln!("verify pair {}", pair + 1);
            warm(&[&backup_path]);
            ours.push(bench.ours(&["verify", &name]));
            warm(&[&backup_path]);
            reference.push(sh(&format!(
                "{gpg} --passphrase-fd 3 -d {} 3< {pass} | sha256sum >/dev/null",
                backup_path.display()
            )));
        }
        if wants("verify") {
            rows.push(row("verify", &ours, &reference, 0.60, json!({})));
        }

        // Restore: ours vs the scripts' sequence on a copy of the live db.
        let live_copy = work.join("live-copy.db");
        std::fs::copy(&db, &live_copy).unwrap();
        let (mut ours, mut reference) = (Vec::new(), Vec::new());
        for pair in 0..if wants("restore") { pairs } else { 0 } {
            eprintln!("restore pair {}", pair + 1);
            warm(&[&backup_path, &db]);
            ours.push(bench.ours(&["restore", &name, "--yes"]));
            warm(&[&backup_path, &live_copy]);
            let staged = work.join("restored.db");
            reference.push(sh(&format!(
                "{gpg} --passphrase-fd 3 -o {s} -d {b} 3< {pass} && sha256sum {s} >/dev/null \
                 && sqlite3 {s} 'PRAGMA integrity_check' >/dev/null && cp {l} {w}/prerestore.db \
                 && cp {s} {l} && sqlite3 {l} 'PRAGMA integrity_check' >/dev/null && rm -f {s} {w}/prerestore.db",
                s = staged.display(),
                b = backup_path.display(),
                l = live_copy.display(),
                w = work.display()
            )));
        }
        if wants("restore") {
            rows.push(row("restore", &ours, &reference, 0.50, json!({})));
        }

        // Snapshot under a writer committing every 10 ms vs idle.
        let (mut loaded, mut idle) = (Vec::new(), Vec::new());
        let mut writer_report = String::new();
        for pair in 0..if wants("load") { pairs } else { 0 } {
            eprintln!("snapshot-under-load pair {}", pair + 1);
            bench.clear_backups();
            let mut w = Command::new(&writer)
                .arg(&db)
                .args(["10", "600000"])
                .stdout(Stdio::piped())
                .spawn()
                .expect("sm-writer (built with make bench)");
            std::thread::sleep(std::time::Duration::from_millis(300));
            warm(&[&db]);
            loaded.push(bench.ours(&["backup", "--no-prune"]));
            let _ = w.kill();
            let out = w.wait_with_output().unwrap();
            writer_report = String::from_utf8_lossy(&out.stdout).into_owned();
            std::thread::sleep(std::time::Duration::from_millis(1100));
            bench.clear_backups();
            warm(&[&db]);
            idle.push(bench.ours(&["backup", "--no-prune"]));
        }
        let _ = writer_report;
        if wants("load") {
            rows.push(row(
                "backup under a 10 ms writer vs idle",
                &loaded,
                &idle,
                1.5,
                json!({}),
            ));
        }
    }

    let _ = std::fs::remove_dir_all(&bench.work);
    print_table(&rows, &size, db_size, rss_only);
    let report = json!({
        "size": size, "database_bytes": db_size, "pairs": pairs, "rss_only": rss_only,
        "machine": { "cores": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0) },
        "scenarios": rows,
    });
    std::fs::write(
        out_dir.join("report.json"),
        serde_json::to_vec_pretty(&report).unwrap(),
    )
    .unwrap();
    println!("report: target/bench/report.json");
}

fn print_table(rows: &[Value], size: &str, db_size: u64, rss_only: bool) {
    println!("Backup Desk bench, {size} database ({db_size} bytes)");
    if rss_only {
        println!(
            "{:<10} {:>9} {:>13}  target",
            "scenario", "time", "peak RSS"
        );
        for r in rows {
            println!(
                "{:<10} {:>7.2} s {:>9.1} MiB  <= 64 MiB: {}",
                r["scenario"].as_str().unwrap(),
                r["ours_s"].as_f64().unwrap(),
                r["ours_peak_rss_mib"].as_f64().unwrap(),
                if r["rss_met"].as_bool().unwrap() {
                    "met"
                } else {
                    "NOT met"
                }
            );
        }
        return;
    }
    println!(
        "{:<38} {:>9} {:>9} {:>7} {:>8} {:>9}  targets",
        "scenario", "ours", "reference", "ratio", "target", "RSS"
    );
    for r in rows {
        let rss = r["ours_peak_rss_mib"].as_f64().unwrap();
        let mut targets = format!(
            "time {}",
            if r["time_met"].as_bool().unwrap() {
                "met"
            } else {
                "NOT met"
            }
        );
        if r["scenario"] != "backup under a 10 ms writer vs idle" {
            targets.push_str(&format!(
                ", RSS <= 64 MiB {}",
                if rss <= 64.0 { "met" } else { "NOT met" }
            ));
        }
        if let Some(size_ratio) = r["extra"]["size_ratio"].as_f64() {
            targets.push_str(&format!(
                ", size {:.3}x {}",
                size_ratio,
                if size_ratio <= 1.05 { "met" } else { "NOT met" }
            ));
        }
        println!(
            "{:<38} {:>7.2} s {:>7.2} s {:>7.3} {:>8} {:>5.1} MiB  {targets}",
            r["scenario"].as_str().unwrap(),
            r["ours_median_s"].as_f64().unwrap(),
            r["reference_median_s"].as_f64().unwrap(),
            r["ratio_median"].as_f64().unwrap(),
            format!("<= {}", r["ratio_target"]),
            rss,
        );
    }
}
