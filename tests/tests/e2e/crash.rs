//! `SIGKILL` at random points of a backup: no partial backup is ever
//! listed, the live database is untouched, and the next run removes every
//! plaintext leftover.

use std::time::Instant;

use backupdesk_core::demo::JournalMode;

use crate::support::*;

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
