//! Concurrency: a writer holding the live database, a prune during
//! verify, another operation holding the lock.

use super::*;
use backupdesk_core::OperationContext;

/// Case 1: a writer holds the live database longer than the swap waits.
/// The copy gives up, SQLite rolls its half-done copy back, and nothing
/// of ours is in the live database: a "rollback" from the older safety
/// snapshot would only destroy what the service committed meanwhile.
#[test]
fn a_restore_that_gives_up_on_a_locked_database_keeps_what_the_service_committed() {
    let inst = Installation::demo(4 * MIB, JournalMode::Wal);
    let name = inst.backup();
    change_live(&inst.data.database(), "before-restore");
    let before = content_digest(&inst.data.database(), None);
    let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
    let (locked_tx, locked_rx) = std::sync::mpsc::channel::<()>();
    let db = inst.data.database();
    let writer = std::thread::spawn(move || {
        let conn = rusqlite::Connection::open(&db).unwrap();
        conn.execute_batch(
            "BEGIN EXCLUSIVE;
             INSERT INTO tags (name, color) VALUES ('committed-meanwhile-1', '#1');
             INSERT INTO tags (name, color) VALUES ('committed-meanwhile-2', '#2');",
        )
        .unwrap();
        locked_tx.send(()).unwrap();
        // The service keeps its lock until the restore has given up.
        let _ = done_rx.recv_timeout(Duration::from_secs(120));
        conn.execute_batch("COMMIT").unwrap();
    });
    locked_rx.recv().unwrap();
    let options = RestoreOptions {
        busy_wait: Some(Duration::from_secs(2)),
        ..RestoreOptions::default()
    };
    let err = restore(
        &inst.data,
        &name,
        &Passphrase::new(PASSPHRASE.to_owned()),
        &options,
        &OperationContext::bare(&SystemClock),
    )
    .unwrap_err();
    done_tx.send(()).unwrap();
    writer.join().unwrap();
    assert_eq!(err.kind(), "swap_failed_unchanged", "{err}");
    let text = err.to_string();
    assert!(
        text.contains("locked") && text.contains("was not changed") && text.contains("prerestore_"),
        "{text}"
    );
    assert_eq!(
        tag_rows(&inst.data.database(), "committed-meanwhile"),
        2,
        "the rows the service committed during the restore are there"
    );
    let mut expected = before;
    expected.remove("tags");
    let mut after = content_digest(&inst.data.database(), None);
    after.remove("tags");
    assert_eq!(after, expected, "everything else is as before the restore");
    assert_eq!(sqlite3_integrity(&inst.data.database()), "ok");
}

use backupdesk_core::local::catalog::BackupCatalog;
use backupdesk_core::local::ledger::{Ledger, VerifyDepth};

/// Case 12: a backup pruned while `verify --all` runs is not recorded
/// as failed (it is gone, which is no fault of a backup).
#[test]
fn a_backup_removed_during_verify_is_not_recorded_as_failed() {
    let inst = Installation::demo(MIB, JournalMode::Wal);
    let name = inst.backup();
    let catalog = BackupCatalog::scan(&inst.data).unwrap();
    let entry = catalog.find(&name).unwrap().clone();
    // The prune runs between the listing and this backup's turn.
    std::fs::remove_file(&entry.path).unwrap();
    let err = backupdesk_core::local::verify::verify_entry(
        &inst.data,
        &entry,
        &Passphrase::new(PASSPHRASE.to_owned()),
        VerifyDepth::Deep,
        &OperationContext::bare(&SystemClock),
    )
    .unwrap_err();
    assert!(!err.is_backup_fault(), "{err}");
    assert!(
        !Ledger::read(&inst.data)
            .unwrap()
            .verifications
            .contains_key(&name)
    );
}

/// Another operation holds the installation's lock: every verb that adds,
/// replaces or deletes backups is refused at once as `busy` (never waits,
/// never half-runs); reading verbs and pins go on (pins have the ledger's
/// own lock, and a prune never deletes a backup pinned while it runs); once the lock is free the same verbs work. A lock file left by a
/// killed process blocks nothing (the kernel released its lock).
#[test]
fn a_held_lock_makes_every_changing_verb_busy_and_a_stale_one_blocks_nothing() {
    use backupdesk_core::local::lock::OperationLock;
    let (inst, name) = installation_with_backup();
    let changing: [&[&str]; 4] = [
        &["backup"],
        &["restore", &name, "--yes"],
        &["prune", "--yes"],
        &["delete", &name, "--yes"],
    ];
    let held = OperationLock::acquire(&inst.data).unwrap();
    let before = inst.fingerprint();
    for args in changing {
        let started = Instant::now();
        let message = assert_fails(&inst, args, "busy");
        assert!(
            message.contains("another Backup Desk operation"),
            "{message}"
        );
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "{args:?} waited"
        );
    }
    for args in [
        &["list"][..],
        &["health"][..],
        &["storage"][..],
        &["verify", &name][..],
    ] {
        assert_eq!(
            inst.json(args).0,
            0,
            "{args:?} reads while the lock is held"
        );
    }
    assert_eq!(inst.fingerprint(), before);
    assert_eq!(inst.json(&["pin", &name]).0, 0);
    assert_eq!(inst.json(&["unpin", &name]).0, 0);
    drop(held);
    // The lock file stays behind, as after a SIGKILL: it holds no lock.
    assert!(inst.data.state().join("lock").exists());
    assert_eq!(inst.json(&["pin", &name]).0, 0);
    assert_eq!(inst.json(&["unpin", &name]).0, 0);
    std::thread::sleep(Duration::from_millis(1100));
    assert_eq!(inst.json(&["backup"]).0, 0);
    tally("concurrency (lock)", changing.len() + 1);
}

/// Two backups started at the same moment: one makes its backup, the other
/// is `busy`; never two half-backups or a shared temporary.
#[test]
fn two_backups_at_once_make_one_backup_and_one_busy() {
    let inst = Installation::demo(8 * MIB, JournalMode::Wal);
    let spawn = || {
        inst.cli(&["--json", "backup"])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap()
    };
    let (a, b) = (spawn(), spawn());
    let outcomes: Vec<serde_json::Value> = [a, b]
        .into_iter()
        .map(|c| serde_json::from_slice(&c.wait_with_output().unwrap().stdout).unwrap())
        .collect();
    let ok = outcomes.iter().filter(|o| o["ok"] == true).count();
    let busy = outcomes
        .iter()
        .filter(|o| o["error"]["kind"] == "busy")
        .count();
    assert_eq!((ok, busy), (1, 1), "{outcomes:#?}");
    let (_, list) = inst.json(&["list"]);
    assert_eq!(list["backups"].as_array().unwrap().len(), 1, "{list:#}");
    assert!(inst.leftovers().is_empty(), "{:?}", inst.leftovers());
    assert_eq!(inst.json(&["verify", "--all"]).0, 0);
}

/// A pin that lands after a prune made its plan (the admin pins in the app
/// while the scheduled prune runs) keeps the backup: the deletion checks
/// the pin again under the ledger's lock.
#[test]
fn a_backup_pinned_while_a_prune_runs_is_kept() {
    use backupdesk_core::local::retention::{RetentionPolicy, apply, plan_for};
    let inst = Installation::demo(MIB, JournalMode::Wal);
    let older = inst.backup();
    std::thread::sleep(Duration::from_millis(1100));
    let newer = inst.backup();
    let policy = RetentionPolicy {
        keep_last: 1,
        daily: 0,
        weekly: 0,
        monthly: 0,
        pre_restore: 0,
    };
    let plan = plan_for(&inst.data, &policy, &OperationContext::bare(&SystemClock)).unwrap();
    assert!(
        plan.decisions
            .iter()
            .any(|d| d.filename == older && d.deleted()),
        "the plan deletes the older backup"
    );
    // The pin arrives between the plan and the deletion.
    assert_eq!(inst.json(&["pin", &older]).0, 0);
    let outcome = apply(
        &inst.data,
        &plan,
        &OperationContext::bare(&SystemClock),
        "a prune",
    );
    assert!(outcome.deleted.is_empty(), "{outcome:?}");
    assert!(
        outcome
            .failed
            .iter()
            .any(|(n, why)| n == &older && why.contains("pinned")),
        "{outcome:?}"
    );
    assert!(inst.backup_path(&older).exists() && inst.backup_path(&newer).exists());
}
