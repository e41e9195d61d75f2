//! `passphrase rotate`: every backup re-encrypted under the new passphrase,
//! all or nothing, checksums unchanged, resumable after SIGKILL, backups
//! neither passphrase opens left alone, a damaged one stopping it whole.

use std::process::Stdio;

use backupdesk_core::demo::JournalMode;

use crate::support::*;

const NEW: &str = "a new passphrase for 2027";

fn installation_with_backups(count: usize) -> (Installation, Vec<String>) {
    let inst = Installation::demo(4 * MIB, JournalMode::Wal);
    let mut names = Vec::new();
    for _ in 0..count {
        let (code, out) = inst.json(&["backup", "--no-prune"]);
        assert_eq!(code, 0, "{out:#}");
        names.push(out["filename"].as_str().unwrap().to_owned());
    }
    (inst, names)
}

fn checksum(inst: &Installation, name: &str) -> String {
    let meta: serde_json::Value = serde_json::from_slice(
        &std::fs::read(inst.backup_path(&name.replace(".gpg", ".meta"))).unwrap(),
    )
    .unwrap();
    meta["checksum_sha256"].as_str().unwrap().to_owned()
}

fn rotate_cmd(inst: &Installation, new_file: &std::path::Path) -> std::process::Command {
    let mut cmd = inst.cli(&["passphrase", "rotate", "--json", "--new-passphrase-file"]);
    cmd.arg(new_file)
        .env("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent");
    cmd
}

#[test]
fn rotation_re_encrypts_everything_and_leaves_foreign_backups_alone() {
    let (inst, names) = installation_with_backups(3);
    let before: Vec<String> = names.iter().map(|n| checksum(&inst, n)).collect();
    // One backup made by gpg with another passphrase.
    let foreign = "servers_db_20261101_000000.db.gpg";
    Gpg::new().encrypt_like_script(
        "someone else's passphrase",
        &inst.data.database(),
        &inst.backup_path(foreign),
    );
    let foreign_hash = sha256_file(&inst.backup_path(foreign));
    let new_file = inst.dir.path().join("new");
    write_private(&new_file, NEW);

    let (code, out) = run_json(rotate_cmd(&inst, &new_file));
    assert_eq!(code, 1, "one backup could not be rotated: {out:#}");
    assert_eq!(
        out["report"]["rotated"].as_array().unwrap().len(),
        3,
        "{out:#}"
    );
    assert_eq!(out["report"]["skipped"][0]["filename"], foreign);
    assert_eq!(out["report"]["skipped"][0]["kind"], "wrong_passphrase");
    assert_eq!(
        sha256_file(&inst.backup_path(foreign)),
        foreign_hash,
        "left alone"
    );
    assert!(out["keychain"].as_str().unwrap().contains("not updated"));

    for (name, sum) in names.iter().zip(&before) {
        assert_eq!(checksum(&inst, name), *sum, "{name}: checksum unchanged");
        let plain = inst.dir.path().join("plain.db");
        let gpg = Gpg::new();
        assert!(
            gpg.decrypt(NEW, &inst.backup_path(name), &plain)
                .status
                .success(),
            "{name} opens with the new passphrase"
        );
        assert_eq!(sha256_file(&plain), *sum);
        assert!(
            !gpg.decrypt(PASSPHRASE, &inst.backup_path(name), &plain)
                .status
                .success(),
            "{name} no longer opens with the old one"
        );
    }
    let verify = inst.cli_with(&new_file, &["--json", "verify", &names[0]]);
    let (code, out) = run_json(verify);
    assert_eq!(code, 0, "the .meta matches the new file: {out:#}");
}

#[test]
fn a_killed_rotation_completes_when_run_again() {
    let (inst, names) = installation_with_backups(6);
    let before: Vec<String> = names.iter().map(|n| checksum(&inst, n)).collect();
    let new_file = inst.dir.path().join("new");
    write_private(&new_file, NEW);

    // Time one full rotation on a copy, then kill real runs part-way.
    let started = std::time::Instant::now();
    let mut probe = rotate_cmd(&inst, &new_file);
    let probe_out = probe.output().unwrap();
    let full = started.elapsed();
    assert!(probe_out.status.success());
    // Rotate back, so the real test starts from the old passphrase again.
    let old_file = inst.passphrase_file.clone();
    let mut back = inst.cli_with(
        &new_file,
        &["passphrase", "rotate", "--new-passphrase-file"],
    );
    back.arg(&old_file);
    back.env("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent");
    assert!(back.output().unwrap().status.success());

    let mut rng = Lcg(2027);
    for run in 0..3 {
        let mut child = rotate_cmd(&inst, &new_file)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(full.mul_f64(0.15 + rng.next_unit() * 0.5));
        child.kill().ok();
        child.wait().unwrap();
        // Every backup opens with the old or the new passphrase, whole.
        for name in &names {
            let plain = inst.dir.path().join("plain.db");
            let gpg = Gpg::new();
            let opens = gpg
                .decrypt(PASSPHRASE, &inst.backup_path(name), &plain)
                .status
                .success()
                || gpg
                    .decrypt(NEW, &inst.backup_path(name), &plain)
                    .status
                    .success();
            assert!(
                opens,
                "run {run}: {name} opens with one of the two passphrases"
            );
        }
    }
    let (code, out) = run_json(rotate_cmd(&inst, &new_file));
    assert_eq!(code, 0, "{out:#}");
    let done = out["report"]["rotated"].as_array().unwrap().len()
        + out["report"]["already_rotated"].as_array().unwrap().len();
    assert_eq!(done, 6, "{out:#}");
    // (All or nothing since issue 26: a run killed while preparing
    // replaced none, one killed in its swaps left a prefix; either way the
    // next run completes it, and no part file of theirs is left.)
    assert!(inst.leftovers().is_empty(), "{:?}", inst.leftovers());
    for (name, sum) in names.iter().zip(&before) {
        assert_eq!(checksum(&inst, name), *sum);
    }
    let verify = inst.cli_with(&new_file, &["--json", "verify", "--all"]);
    let (code, out) = run_json(verify);
    assert_eq!(code, 0, "{out:#}");
    assert!(inst.leftovers().is_empty(), "{:?}", inst.leftovers());
}

/// Issue 26, point 1: a backup damaged inside (its start intact, so the
/// old passphrase opens it) among four stops the rotation before anything
/// is replaced: it is named, every file is as it was, no part is left,
/// and every good backup still opens with the old passphrase (before: the
/// other three were re-encrypted under a passphrase stored nowhere, and
/// the set was split).
#[test]
fn a_damaged_backup_stops_the_rotation_before_anything_is_replaced() {
    let (inst, names) = installation_with_backups(4);
    let damaged = &names[1];
    let path = inst.backup_path(damaged);
    let mut bytes = std::fs::read(&path).unwrap();
    let middle = bytes.len() / 2;
    for b in &mut bytes[middle..middle + 64] {
        *b ^= 0x5a;
    }
    std::fs::write(&path, &bytes).unwrap();
    let before: Vec<String> = names
        .iter()
        .map(|n| sha256_file(&inst.backup_path(n)))
        .collect();
    let new_file = inst.dir.path().join("new");
    write_private(&new_file, NEW);

    let (code, out) = run_json(rotate_cmd(&inst, &new_file));
    assert_eq!(code, 1, "{out:#}");
    assert_eq!(out["ok"], false, "{out:#}");
    assert_eq!(
        out["report"]["rotated"].as_array().unwrap().len(),
        0,
        "{out:#}"
    );
    assert_eq!(
        out["report"]["damaged"][0]["filename"],
        damaged.as_str(),
        "{out:#}"
    );
    assert!(
        out["keychain"]
            .as_str()
            .unwrap()
            .contains("keeps the old passphrase")
            || out["keychain"].as_str().unwrap().contains("not updated"),
        "{out:#}"
    );
    let after: Vec<String> = names
        .iter()
        .map(|n| sha256_file(&inst.backup_path(n)))
        .collect();
    assert_eq!(after, before, "every file as it was");
    assert!(inst.leftovers().is_empty(), "{:?}", inst.leftovers());
    let plain = inst.dir.path().join("plain.db");
    for name in names.iter().filter(|n| *n != damaged) {
        assert!(
            Gpg::new()
                .decrypt(PASSPHRASE, &inst.backup_path(name), &plain)
                .status
                .success(),
            "{name} still opens with the old passphrase"
        );
    }
    // In words, too: the damaged backup by name, nothing re-encrypted.
    let out = inst
        .cli(&["passphrase", "rotate", "--new-passphrase-file"])
        .arg(&new_file)
        .env("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent")
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        said.contains("nothing was re-encrypted") && said.contains(damaged.as_str()),
        "{said}"
    );
}
