//! Part of `make bench` (issue 30): giving 30 backups of a 256 MiB database
//! a new encryption policy (a recipient key added beside the passphrase).
//!
//! - ours: `backupdesk encryption set --recipient CERT --passphrase`, then
//!   `encryption rewrap --all` (new key packets, the body copied byte for
//!   byte);
//! - reference: re-encrypting each backup, as any tool without a rewrap
//!   must and as Backup Desk's first passphrase rotation did: `gpg -d |
//!   gpg --symmetric --encrypt -r KEY` (the same two ways in), backup after
//!   backup.
//!
//! Both start from the same 30 files (copied back before each side, read
//! once untimed). Target: ours ≤ 0.1× the reference's time. Also checked
//! (untimed): each rewrapped backup's body is byte-identical and every
//! backup still decrypts with `gpg -d` by the passphrase. Writes
//! `target/bench/rewrap-report.json` plus a line on stdout.
//!
//! usage: backupdesk-rewrap-bench [--size 256MiB] [--backups 30] [--pairs 1]

use std::path::{Path, PathBuf};

use backupdesk_e2e::bench_args::{flag, median};
use backupdesk_e2e::bench_timing::{Run, sh, timed, warm};
use serde_json::{Value, json};

const PASSPHRASE: &str = "bench passphrase, not a secret";
const TARGET: f64 = 0.1;

fn main() {
    let size = flag("--size").unwrap_or_else(|| "256MiB".into());
    let count: usize = flag("--backups").map_or(30, |n| n.parse().expect("--backups N"));
    let pairs: usize = flag("--pairs").map_or(1, |n| n.parse().expect("--pairs N"));
    let bin = PathBuf::from("target/release/backupdesk");
    let out_dir = PathBuf::from("target/bench");
    std::fs::create_dir_all(&out_dir).unwrap();
    let work = std::env::temp_dir().join(format!("bd-bench-rewrap-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).unwrap();
    let _cleanup = Cleanup(work.clone());
    let root = work.join("sm");
    let pass_file = work.join("passphrase");
    std::fs::write(&pass_file, format!("{PASSPHRASE}\n")).unwrap();
    let ours = |args: &[&str]| {
        let mut full = vec![
            "--data-dir",
            root.to_str().unwrap(),
            "--passphrase-file",
            pass_file.to_str().unwrap(),
        ];
        full.extend_from_slice(args);
        let config = work.join("config");
        timed(
            &bin,
            &full,
            &[("BACKUPDESK_CONFIG_DIR", config.to_str().unwrap())],
        )
    };

    eprintln!("generating a {size} demo database and {count} backups of it");
    timed(
        &bin,
        &["demo", "init", root.to_str().unwrap(), "--size", &size],
        &[],
    );
    std::fs::remove_dir_all(root.join("data/backups")).unwrap();
    std::fs::create_dir_all(root.join("data/backups")).unwrap();
    ours(&["backup", "--no-prune"]);
    let pristine = work.join("pristine");
    let names = clone_backups(&root.join("data/backups"), &pristine, count);
    let backup_bytes: u64 = names
        .iter()
        .map(|n| std::fs::metadata(pristine.join(n)).unwrap().len())
        .sum();
    let (gnupg, cert) = bench_key(&work);

    let (mut mine, mut reference) = (Vec::new(), Vec::new());
    for pair in 0..pairs {
        eprintln!("pair {}: encryption rewrap --all", pair + 1);
        let backups = reset(&pristine, &root.join("data/backups"));
        // The policy is set anew each pair: set, then rewrap (both timed).
        let _ = std::fs::remove_file(root.join("data/.backupdesk/encryption.json"));
        let set = ours(&[
            "encryption",
            "set",
            "--recipient",
            cert.to_str().unwrap(),
            "--passphrase",
        ]);
        let rewrap = ours(&["encryption", "rewrap", "--all"]);
        mine.push(Run {
            seconds: set.seconds + rewrap.seconds,
            rss_kib: set.rss_kib.max(rewrap.rss_kib),
        });
        check_bodies(&pristine, &backups, &names);
        eprintln!(
            "pair {}: gpg -d | gpg --symmetric --encrypt, backup by backup",
            pair + 1
        );
        let backups = reset(&pristine, &root.join("data/backups"));
        let outs = work.join("reencrypted");
        let _ = std::fs::remove_dir_all(&outs);
        std::fs::create_dir_all(&outs).unwrap();
        let gpg = format!("GNUPGHOME={} gpg --batch --yes --quiet", gnupg.display());
        let pass = pass_file.display();
        let script: Vec<String> = names
            .iter()
            .map(|n| {
                format!(
                    "{gpg} --passphrase-file {pass} -d {src} | {gpg} --passphrase-file {pass} --trust-model always --cipher-algo AES256 --symmetric --encrypt -r bench@example.org -o {dst}",
                    src = backups.join(n).display(),
                    dst = outs.join(n).display()
                )
            })
            .collect();
        reference.push(sh(&format!("set -e -o pipefail\n{}", script.join("\n"))));
    }
    still_opens(&gnupg, &pass_file, &root.join("data/backups"), &names);
    report(&out_dir, &size, count, backup_bytes, &mine, &reference);
}

/// `count` backups in `to`: the one backup in `from` under `count` names a
/// day apart, each with its `.meta` naming it.
fn clone_backups(from: &Path, to: &Path, count: usize) -> Vec<String> {
    std::fs::create_dir_all(to).unwrap();
    let gpg = std::fs::read_dir(from)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|e| e == "gpg"))
        .expect("the backup");
    let meta: Value =
        serde_json::from_str(&std::fs::read_to_string(gpg.with_extension("meta")).unwrap())
            .unwrap();
    (0..count)
        .map(|i| {
            let day = chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap()
                + chrono::Duration::days(i as i64);
            let stem = format!("servers_db_{}_020000.db", day.format("%Y%m%d"));
            let mut meta = meta.clone();
            meta["backup_name"] = json!(stem);
            meta["timestamp"] = json!(format!("{}T02:00:00+00:00", day.format("%Y-%m-%d")));
            std::fs::copy(&gpg, to.join(format!("{stem}.gpg"))).unwrap();
            std::fs::write(to.join(format!("{stem}.meta")), meta.to_string()).unwrap();
            format!("{stem}.gpg")
        })
        .collect()
}

/// The backups folder made the pristine set again, each file read once.
fn reset(pristine: &Path, backups: &Path) -> PathBuf {
    let _ = std::fs::remove_dir_all(backups);
    std::fs::create_dir_all(backups).unwrap();
    for entry in std::fs::read_dir(pristine).unwrap().flatten() {
        std::fs::copy(entry.path(), backups.join(entry.file_name())).unwrap();
        warm(&[&backups.join(entry.file_name())]);
    }
    backups.to_owned()
}

/// A throwaway GnuPG home with one key (`bench@example.org`, no
/// passphrase) and its public certificate exported for the policy.
fn bench_key(work: &Path) -> (PathBuf, PathBuf) {
    let gnupg = work.join("gnupg");
    std::fs::create_dir_all(&gnupg).unwrap();
    std::fs::set_permissions(&gnupg, std::os::unix::fs::PermissionsExt::from_mode(0o700)).unwrap();
    let cert = work.join("bench.pub.asc");
    let made = std::process::Command::new("bash")
        .arg("-c")
        .arg(format!(
            "export GNUPGHOME={g}; gpg --batch --quiet --passphrase '' --quick-gen-key bench@example.org default default never && gpg --batch --armor --export bench@example.org > {c}",
            g = gnupg.display(),
            c = cert.display()
        ))
        .status()
        .unwrap();
    assert!(made.success(), "gpg could not make the bench key");
    (gnupg, cert)
}

/// Each rewrapped backup's bytes after its head equal the original's.
fn check_bodies(pristine: &Path, backups: &Path, names: &[String]) {
    for name in names {
        let before = std::fs::read(pristine.join(name)).unwrap();
        let after = std::fs::read(backups.join(name)).unwrap();
        let tail = before.len().min(after.len()) - 1024;
        assert_eq!(
            before[before.len() - tail..],
            after[after.len() - tail..],
            "{name}: the body changed"
        );
        assert!(
            after.len() > before.len(),
            "{name}: no key packet was added"
        );
    }
}

/// Every backup (the last side's) still opens with `gpg -d` by the passphrase.
fn still_opens(gnupg: &Path, pass_file: &Path, backups: &Path, names: &[String]) {
    for name in [names.first(), names.last()].into_iter().flatten() {
        let ok = std::process::Command::new("bash")
            .arg("-c")
            .arg(format!(
                "GNUPGHOME={} gpg --batch --quiet --passphrase-file {} -d {} > /dev/null",
                gnupg.display(),
                pass_file.display(),
                backups.join(name).display()
            ))
            .status()
            .unwrap();
        assert!(ok.success(), "{name} no longer opens with gpg -d");
    }
}

fn report(out_dir: &Path, size: &str, count: usize, bytes: u64, ours: &[Run], reference: &[Run]) {
    let seconds = |runs: &[Run]| median(&runs.iter().map(|r| r.seconds).collect::<Vec<_>>());
    let (a, b) = (seconds(ours), seconds(reference));
    let ratio = a / b;
    let row = json!({
        "scenario": "rewrap", "database": size, "backups": count, "backup_bytes": bytes,
        "ours_s": a, "reference_s": b, "ratio": ratio, "ratio_target": TARGET,
        "time_met": ratio <= TARGET,
        "ours_peak_rss_mib": ours.iter().map(|r| r.rss_kib).max().unwrap_or(0) as f64 / 1024.0,
        "reference": "gpg -d | gpg --symmetric --encrypt -r KEY, per backup",
    });
    std::fs::write(
        out_dir.join("rewrap-report.json"),
        serde_json::to_string_pretty(&row).unwrap(),
    )
    .unwrap();
    println!(
        "rewrap  {count} backups of {size} ({:.0} MiB): ours {a:.1} s, re-encrypting {b:.1} s, ratio {ratio:.3} (target <= {TARGET}) {}",
        bytes as f64 / 1048576.0,
        if ratio <= TARGET { "MET" } else { "NOT MET" }
    );
}

struct Cleanup(PathBuf);

impl Drop for Cleanup {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
