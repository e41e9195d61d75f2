//! `passphrase rotate`: every backup given the new passphrase as a key
//! packet beside the old one (the encrypted body untouched), the old one
//! removed only once every backup opens with the new; checksums
//! unchanged, resumable after SIGKILL with "rotation in progress: N of M"
//! said meanwhile, backups neither passphrase opens left alone, a damaged
//! one rotated like the rest and still found damaged.

use std::process::Stdio;

use backupdesk_core::local::demo::JournalMode;

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

/// The last 4 KiB of a backup: its encrypted body, which a rotation
/// copies byte for byte.
fn tail(inst: &Installation, name: &str) -> Vec<u8> {
    let bytes = std::fs::read(inst.backup_path(name)).unwrap();
    bytes[bytes.len().saturating_sub(4096)..].to_vec()
}

fn opens_with(inst: &Installation, name: &str, passphrase: &str) -> bool {
    let plain = inst.dir.path().join("plain.db");
    Gpg::new()
        .decrypt(passphrase, &inst.backup_path(name), &plain)
        .status
        .success()
}

fn rotate_cmd(inst: &Installation, new_file: &std::path::Path) -> std::process::Command {
    let mut cmd = inst.cli(&["passphrase", "rotate", "--json", "--new-passphrase-file"]);
    cmd.arg(new_file)
        .env("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent");
    cmd
}

#[test]
fn rotation_gives_every_backup_the_new_passphrase_and_leaves_foreign_backups_alone() {
    let (inst, names) = installation_with_backups(3);
    let before: Vec<String> = names.iter().map(|n| checksum(&inst, n)).collect();
    let bodies: Vec<Vec<u8>> = names.iter().map(|n| tail(&inst, n)).collect();
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

    for ((name, sum), body) in names.iter().zip(&before).zip(&bodies) {
        assert_eq!(checksum(&inst, name), *sum, "{name}: checksum unchanged");
        assert_eq!(
            tail(&inst, name),
            *body,
            "{name}: the encrypted body untouched"
        );
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
    // (Key packets since issue 26: a killed run left some backups opening
    // with both passphrases; the next run completes it, and no part file
    // of theirs is left.)
    assert!(inst.leftovers().is_empty(), "{:?}", inst.leftovers());
    for (name, sum) in names.iter().zip(&before) {
        assert_eq!(checksum(&inst, name), *sum);
    }
    let verify = inst.cli_with(&new_file, &["--json", "verify", "--all"]);
    let (code, out) = run_json(verify);
    assert_eq!(code, 0, "{out:#}");
    assert!(inst.leftovers().is_empty(), "{:?}", inst.leftovers());
}

/// Issue 26, point 1: a rotation killed part-way (after its second
/// backup was renamed into place, before that one's `.meta` was updated)
/// leaves every backup opening with the old passphrase, the first two
/// with the new one too, and says "rotation in progress: N of 4" in
/// `list` until a second run completes it (the `.meta` repaired); then
/// every backup opens with the new passphrase only, and verifies.
#[test]
fn a_rotation_killed_part_way_says_so_and_the_next_run_completes_it() {
    let (inst, names) = installation_with_backups(4);
    let new_file = inst.dir.path().join("new");
    write_private(&new_file, NEW);
    let killed = rotate_cmd(&inst, &new_file)
        .env("BACKUPDESK_TEST_ROTATION_KILL_AFTER", "2")
        .output()
        .unwrap();
    assert!(!killed.status.success(), "the run was killed");
    let mut both = 0;
    for name in &names {
        // gpg reads the first key packet only: the old one stays first.
        assert!(
            opens_with(&inst, name, PASSPHRASE),
            "{name} opens with the old passphrase"
        );
        let path = inst.backup_path(name);
        let new = backupdesk_core::format::crypto::Passphrase::new(NEW.to_owned());
        let head = backupdesk_core::format::key_packets::KeyPackets::read(&path).unwrap();
        both += usize::from(head.access(&path, &new).unwrap().opens);
    }
    assert_eq!(both, 2, "two backups were given the new passphrase");
    let listed = inst.cli(&["list"]).output().unwrap();
    let said = String::from_utf8_lossy(&listed.stdout);
    assert!(
        said.contains("rotation in progress") && said.contains("of 4 backups"),
        "{said}"
    );
    let (code, out) = inst.json(&["list"]);
    assert_eq!(code, 0, "{out:#}");

    let (code, out) = run_json(rotate_cmd(&inst, &new_file));
    assert_eq!(code, 0, "{out:#}");
    assert_eq!(
        out["report"]["already_rotated"].as_array().unwrap().len(),
        2,
        "{out:#}"
    );
    assert_eq!(
        out["report"]["rotated"].as_array().unwrap().len(),
        2,
        "{out:#}"
    );
    assert!(out["report"]["in_progress"].is_null(), "{out:#}");
    for name in &names {
        assert!(
            opens_with(&inst, name, NEW),
            "{name} opens with the new passphrase"
        );
        assert!(
            !opens_with(&inst, name, PASSPHRASE),
            "{name}: the old one removed"
        );
    }
    let (code, out) = run_json(inst.cli_with(&new_file, &["--json", "verify", "--all"]));
    assert_eq!(code, 0, "every .meta matches its file: {out:#}");
    let listed = inst.cli(&["list"]).output().unwrap();
    assert!(!String::from_utf8_lossy(&listed.stdout).contains("rotation in progress"));
    assert!(inst.leftovers().is_empty(), "{:?}", inst.leftovers());
}

/// Issue 26, point 1: a backup damaged inside (its start intact) among
/// four no longer blocks the rotation nor splits the set: its body is not
/// touched, so it is given the new passphrase like the rest, and every
/// backup opens with the new passphrase only; the damaged one is still
/// found damaged by verify (damaged, not a wrong passphrase), the others
/// verify (before: the other three were re-encrypted under a passphrase
/// stored nowhere, and the set was split; then: the rotation refused to
/// run at all while one damaged backup was there).
#[test]
fn a_damaged_backup_is_rotated_with_the_rest_and_still_found_damaged() {
    let (inst, names) = installation_with_backups(4);
    let damaged = &names[1];
    let path = inst.backup_path(damaged);
    let mut bytes = std::fs::read(&path).unwrap();
    let middle = bytes.len() / 2;
    for b in &mut bytes[middle..middle + 64] {
        *b ^= 0x5a;
    }
    std::fs::write(&path, &bytes).unwrap();
    let damaged_tail = tail(&inst, damaged);
    let new_file = inst.dir.path().join("new");
    write_private(&new_file, NEW);

    let (code, out) = run_json(rotate_cmd(&inst, &new_file));
    assert_eq!(code, 0, "{out:#}");
    assert_eq!(out["ok"], true, "{out:#}");
    assert_eq!(
        out["report"]["rotated"].as_array().unwrap().len(),
        4,
        "{out:#}"
    );
    assert!(inst.leftovers().is_empty(), "{:?}", inst.leftovers());
    assert_eq!(
        tail(&inst, damaged),
        damaged_tail,
        "its damaged body is as it was"
    );
    for name in names.iter().filter(|n| *n != damaged) {
        assert!(
            opens_with(&inst, name, NEW),
            "{name} opens with the new passphrase"
        );
        assert!(
            !opens_with(&inst, name, PASSPHRASE),
            "{name}: the old one removed"
        );
    }
    let (code, out) = run_json(inst.cli_with(&new_file, &["--json", "verify", damaged]));
    assert_eq!(code, 1, "{out:#}");
    let found = out.to_string();
    assert!(
        (found.contains("corrupt_backup") || found.contains("tampered_backup"))
            && !found.contains("wrong_passphrase"),
        "found damaged, not a wrong passphrase: {out:#}"
    );
    let (code, out) = run_json(inst.cli_with(&new_file, &["--json", "verify", &names[0]]));
    assert_eq!(code, 0, "{out:#}");
}
