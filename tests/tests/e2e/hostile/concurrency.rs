//! Concurrency: a writer holding the live database, a prune during
//! verify, another operation holding the lock.

use super::*;

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
        &SystemClock,
        &NoProgress,
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

use backupdesk_core::catalog::BackupCatalog;
use backupdesk_core::ledger::{Ledger, VerifyDepth};

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
    let err = backupdesk_core::verify::verify_entry(
        &inst.data,
        &entry,
        &Passphrase::new(PASSPHRASE.to_owned()),
        VerifyDepth::Deep,
        &SystemClock,
        &NoProgress,
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
