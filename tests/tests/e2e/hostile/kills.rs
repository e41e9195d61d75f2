//! Kills: `SIGKILL` at random points of a backup and of a restore. No
//! partial backup is ever listed; a killed restore leaves the old or the
//! new content, never a mix; the next run cleans up.

use std::process::Stdio;
use std::time::Instant;

use super::*;

/// Every listed encrypted backup is complete: its `.meta` exists and records
/// exactly the SHA-256 of the `.gpg` as it is on disk.
fn assert_listed_backups_are_complete(inst: &Installation, context: &str) {
    let (code, list) = inst.json(&["list"]);
    assert_eq!(code, 0, "{context}: {list:#}");
    for item in list["backups"].as_array().unwrap() {
        let name = item["filename"].as_str().unwrap();
        let meta_path = inst.backup_path(&name.replace(".gpg", ".meta"));
        let meta: serde_json::Value = serde_json::from_slice(
            &std::fs::read(&meta_path)
                .unwrap_or_else(|_| panic!("{context}: {name} listed without .meta")),
        )
        .unwrap();
        assert_eq!(
            meta["gpg_sha256"].as_str().unwrap(),
            sha256_file(&inst.backup_path(name)),
            "{context}: {name} is partial"
        );
    }
}

#[test]
fn sigkill_during_backup_never_lists_a_partial_backup() {
    let inst = Installation::demo(12 * MIB, JournalMode::Wal);
    let live = sha256_file(&inst.data.database());

    let started = Instant::now();
    inst.backup();
    let full = started.elapsed();

    let mut rng = Lcg(20261126);
    let mut killed_mid_way = 0;
    for run in 0..20 {
        let delay = full.mul_f64(rng.next_unit() * 1.1);
        let mut child = inst
            .cli(&["backup", "--json"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(delay);
        let finished = child.try_wait().unwrap().is_some();
        child.kill().ok();
        child.wait().unwrap();
        if !finished {
            killed_mid_way += 1;
        }
        let context = format!("run {run}, killed after {delay:?}");
        assert_eq!(
            sha256_file(&inst.data.database()),
            live,
            "{context}: live database changed"
        );
        assert_listed_backups_are_complete(&inst, &context);

        // The next run cleans up whatever the killed one left.
        inst.backup();
        assert!(
            inst.leftovers().is_empty(),
            "{context}: leftovers after the next run: {:?}",
            inst.leftovers()
        );
    }
    assert!(
        killed_mid_way >= 10,
        "most kills landed during a backup ({killed_mid_way}/20)"
    );
    let (code, all) = inst.json(&["verify", "--all"]);
    assert_eq!(code, 0, "every listed backup verifies: {all:#}");
}

fn sigkill_during_restore(mode: JournalMode, seed: u64, runs: usize) {
    let inst = Installation::demo(8 * MIB, mode);
    let a = inst.backup();
    change_live(&inst.data.database(), "content-b");
    let b = inst.backup();
    let (content_a, content_b) = (backup_content(&inst, &a), backup_content(&inst, &b));
    assert_ne!(content_a, content_b);

    let started = std::time::Instant::now();
    let (code, out) = inst.json(&["restore", &a, "--yes"]);
    assert_eq!(code, 0, "{out:#}");
    let mut full = started.elapsed();

    let mut rng = Lcg(seed);
    let mut current = a.clone();
    let mut changed_while_killed = 0;
    for run in 0..runs {
        let target = if current == a { b.clone() } else { a.clone() };
        let (old, new) = if target == a {
            (&content_b, &content_a)
        } else {
            (&content_a, &content_b)
        };
        // Half the kills anywhere in the run, half in its last part, where
        // the pre-restore backup and the swap happen.
        let point = if run % 2 == 0 {
            rng.next_unit() * 1.1
        } else {
            0.7 + rng.next_unit() * 0.35
        };
        let delay = full.mul_f64(point);
        let mut child = inst
            .cli(&["restore", &target, "--yes", "--json"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(delay);
        child.kill().ok();
        child.wait().unwrap();
        let context = format!("{mode:?} run {run}, killed after {delay:?}");
        assert_eq!(sqlite3_integrity(&inst.data.database()), "ok", "{context}");
        let now = content_digest(&inst.data.database(), None);
        assert!(
            now == *old || now == *new,
            "{context}: a mix of old and new content"
        );
        if now == *new {
            current = target.clone();
            changed_while_killed += 1;
        }
        // The next run completes and cleans up what the killed one left.
        let next = if current == a { b.clone() } else { a.clone() };
        let next_started = std::time::Instant::now();
        let (code, out) = inst.json(&["restore", &next, "--yes"]);
        full = next_started.elapsed();
        assert_eq!(code, 0, "{context}: next run: {out:#}");
        current = next;
        assert!(
            inst.leftovers().is_empty(),
            "{context}: {:?}",
            inst.leftovers()
        );
        only_encrypted_files_in_backups(&inst);
    }
    eprintln!("{mode:?}: {changed_while_killed}/{runs} killed restores had completed the swap");

    // And four kills that certainly land half-way through the swap, while
    // half of the pages are written into the live database: SQLite's
    // journal (or uncommitted WAL frames) must leave the old content.
    for run in 0..4 {
        let target = if current == a { b.clone() } else { a.clone() };
        let old = if current == a { &content_a } else { &content_b };
        let mut cmd = inst.cli(&["restore", &target, "--yes", "--json"]);
        cmd.env("BACKUPDESK_TEST_SWAP_PAUSE_MS", "3000")
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let mut child = cmd.spawn().unwrap();
        // Wait until the pre-restore backup of this run exists: the swap follows.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        let pre_count = |inst: &Installation| {
            std::fs::read_dir(inst.data.backups())
                .unwrap()
                .flatten()
                .filter(|e| {
                    e.file_name().to_string_lossy().starts_with("prerestore_")
                        && e.file_name().to_string_lossy().ends_with(".gpg")
                })
                .count()
        };
        let before = pre_count(&inst);
        while pre_count(&inst) == before && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        std::thread::sleep(std::time::Duration::from_millis(800));
        assert!(
            child.try_wait().unwrap().is_none(),
            "mid-swap run {run}: still paused in the swap"
        );
        child.kill().unwrap();
        child.wait().unwrap();
        let context = format!("{mode:?} mid-swap kill {run}");
        assert_eq!(sqlite3_integrity(&inst.data.database()), "ok", "{context}");
        assert_eq!(
            content_digest(&inst.data.database(), None),
            *old,
            "{context}: not the old content"
        );
        std::thread::sleep(std::time::Duration::from_millis(1000));
    }
    let (code, out) = inst.json(&["restore", &a, "--yes"]);
    assert_eq!(code, 0, "{out:#}");
    assert!(inst.leftovers().is_empty(), "{:?}", inst.leftovers());
}

#[test]
fn sigkill_during_restore_leaves_old_or_new_content_in_wal_mode() {
    sigkill_during_restore(JournalMode::Wal, 7, 12);
}

#[test]
fn sigkill_during_restore_leaves_old_or_new_content_in_rollback_mode() {
    sigkill_during_restore(JournalMode::Delete, 11, 12);
}
