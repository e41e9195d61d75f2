//! Snapshots while another process commits every 10 ms, as Server Monitor's
//! service does, in WAL and rollback-journal mode.

use backupdesk_core::local::demo::JournalMode;

use crate::support::*;

fn backup_under_writer(mode: JournalMode, expected_read: &str) {
    let inst = Installation::demo(24 * MIB, mode);
    let rows_before = table_counts(&inst.data.database())["monitoring_history"];
    let writer = start_writer(&inst.data.database());
    std::thread::sleep(std::time::Duration::from_millis(300));

    let (code, out) = inst.json(&["backup"]);
    std::thread::sleep(std::time::Duration::from_millis(200));
    stop_writer(writer);
    assert_eq!(code, 0, "backup under load: {out:#}");
    assert_eq!(
        out["snapshot"], expected_read,
        "how the database was read: {out:#}"
    );

    let rows_after = table_counts(&inst.data.database())["monitoring_history"];
    assert!(
        rows_after > rows_before + 10,
        "the writer kept committing during the backup ({rows_before} -> {rows_after})"
    );

    let name = out["filename"].as_str().unwrap();
    let (code, verified) = inst.json(&["verify", "--deep", name]);
    assert_eq!(code, 0, "{verified:#}");
    assert_eq!(
        verified["report"]["database"]["integrity"],
        serde_json::json!(["ok"])
    );
    let snapshot_rows = verified["report"]["database"]["tables"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "monitoring_history")
        .unwrap()["rows"]
        .as_i64()
        .unwrap();
    assert!(
        snapshot_rows >= rows_before && snapshot_rows <= rows_after,
        "a consistent point in time"
    );

    // And the real sqlite3 agrees on the gpg-decrypted copy.
    let out_db = inst.dir.path().join("decrypted.db");
    let gpg = Gpg::new().decrypt(PASSPHRASE, &inst.backup_path(name), &out_db);
    assert!(gpg.status.success());
    assert_eq!(sqlite3_integrity(&out_db), "ok");
}

#[test]
fn snapshot_under_a_writer_in_wal_mode() {
    // In place: a read transaction pins the file while the writer goes on.
    backup_under_writer(JournalMode::Wal, "pinned");
}

#[test]
fn snapshot_under_a_writer_in_rollback_journal_mode() {
    // A writer's commits change the file itself: a staged copy first.
    backup_under_writer(JournalMode::Delete, "staged_copy");
}

/// The pinned in-place read (WAL mode) against its worst enemy: a writer
/// that commits every millisecond and forces a checkpoint after each
/// commit, trying to copy its frames into the very file being read. The
/// backup must hold one consistent moment (each commit adds a probe row and
/// bumps a tally in the same transaction), and the writer must never wait
/// for the read (only for the milliseconds of the initial checkpoint).
#[test]
fn a_pinned_read_holds_against_forced_checkpoints() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::{Duration, Instant};

    let inst = Installation::demo(24 * MIB, JournalMode::Wal);
    let db = inst.data.database();
    {
        let conn = rusqlite::Connection::open(&db).unwrap();
        conn.execute_batch(
            "CREATE TABLE pin_probe (id INTEGER PRIMARY KEY, payload BLOB NOT NULL);
             CREATE TABLE pin_tally (n INTEGER NOT NULL);
             INSERT INTO pin_tally VALUES (0);",
        )
        .unwrap();
    }
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (db, stop) = (db.clone(), stop.clone());
        std::thread::spawn(move || {
            let conn = rusqlite::Connection::open(&db).unwrap();
            conn.busy_timeout(Duration::from_secs(30)).unwrap();
            let (mut commits, mut checkpoints_done, mut worst) = (0u64, 0u64, Duration::ZERO);
            while !stop.load(Ordering::Relaxed) {
                let started = Instant::now();
                conn.execute_batch(
                    "BEGIN IMMEDIATE;
                     INSERT INTO pin_probe (payload) VALUES (randomblob(16384));
                     UPDATE pin_tally SET n = n + 1;
                     COMMIT;",
                )
                .unwrap();
                worst = worst.max(started.elapsed());
                commits += 1;
                let (busy, log, done): (i64, i64, i64) = conn
                    .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| {
                        Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                    })
                    .unwrap();
                if busy == 0 && log == done {
                    checkpoints_done += 1;
                }
                std::thread::sleep(Duration::from_millis(1));
            }
            (commits, checkpoints_done, worst)
        })
    };
    std::thread::sleep(Duration::from_millis(300));
    let (code, out) = inst.json(&["backup", "--no-prune"]);
    std::thread::sleep(Duration::from_millis(200));
    stop.store(true, Ordering::Relaxed);
    let (commits, checkpoints_done, worst) = writer.join().unwrap();
    assert_eq!(code, 0, "{out:#}");
    assert_eq!(out["snapshot"], "pinned", "{out:#}");
    let backup_ms = out["duration_ms"].as_u64().unwrap();
    assert!(
        commits > 20,
        "the writer kept committing ({commits} commits)"
    );
    assert!(
        checkpoints_done > 0,
        "the writer's checkpoints ran before and after the backup"
    );
    assert!(
        worst < Duration::from_millis(1000),
        "the writer waited {worst:?} for one commit during a {backup_ms} ms backup"
    );

    let out_db = inst.dir.path().join("pinned.db");
    let name = out["filename"].as_str().unwrap();
    let gpg = Gpg::new().decrypt(PASSPHRASE, &inst.backup_path(name), &out_db);
    assert!(gpg.status.success());
    assert_eq!(sqlite3_integrity(&out_db), "ok");
    let conn = rusqlite::Connection::open(&out_db).unwrap();
    let probes: i64 = conn
        .query_row("SELECT count(*) FROM pin_probe", [], |r| r.get(0))
        .unwrap();
    let tally: i64 = conn
        .query_row("SELECT n FROM pin_tally", [], |r| r.get(0))
        .unwrap();
    assert_eq!(probes, tally, "one moment: every probe row with its tally");
    assert!(
        probes > 0 && (probes as u64) < commits,
        "a moment during the run"
    );
}

/// The service crashed in the middle of a big transaction (rollback
/// journal mode), leaving a hot journal: the backup rolls it back through
/// SQLite and saves the last committed state.
#[test]
fn a_hot_journal_left_by_a_crashed_writer_is_rolled_back_first() {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let inst = Installation::demo(8 * MIB, JournalMode::Delete);
    let rows_before = table_counts(&inst.data.database())["monitoring_history"];
    let mut writer = Command::new("sqlite3")
        .arg(inst.data.database())
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = writer.stdin.take().unwrap();
    // A delete far larger than the page cache spills changed pages into the
    // database file, with their originals in the journal.
    stdin
        .write_all(
            b"PRAGMA cache_size=10;\nBEGIN;\nDELETE FROM monitoring_history;\nSELECT 'deleted';\n",
        )
        .unwrap();
    stdin.flush().unwrap();
    let journal = inst.data.database().with_file_name("servers.db-journal");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !(journal.exists() && std::fs::metadata(&journal).unwrap().len() > 4096) {
        assert!(
            std::time::Instant::now() < deadline,
            "the writer never wrote its journal"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    std::thread::sleep(std::time::Duration::from_millis(500));
    writer.kill().unwrap();
    writer.wait().unwrap();
    drop(stdin);
    assert!(journal.exists(), "a hot journal is left behind");

    let (code, out) = inst.json(&["backup"]);
    assert_eq!(code, 0, "{out:#}");
    let tables = out["meta"]["tables"].as_array().unwrap();
    let history = tables
        .iter()
        .find(|t| t["name"] == "monitoring_history")
        .unwrap();
    assert_eq!(
        history["rows"].as_i64().unwrap(),
        rows_before,
        "the last committed state"
    );
    let name = out["filename"].as_str().unwrap();
    let (code, verified) = inst.json(&["verify", "--deep", name]);
    assert_eq!(code, 0, "{verified:#}");
}

/// A reader of the service still on an older snapshot keeps the WAL from
/// being fully checkpointed: the file is then not the whole database, so
/// the backup copies it through SQLite instead of pinning it, and sees the
/// latest commit either way. Once the reader is gone, it pins again.
#[test]
fn an_old_reader_makes_the_backup_copy_instead_of_pin() {
    let inst = Installation::demo(8 * MIB, JournalMode::Wal);
    let db = inst.data.database();
    let reader = rusqlite::Connection::open(&db).unwrap();
    reader
        .execute_batch("BEGIN; SELECT count(*) FROM servers;")
        .unwrap();
    let writer = rusqlite::Connection::open(&db).unwrap();
    writer
        .execute_batch(
            "CREATE TABLE late_rows (id INTEGER PRIMARY KEY);
             INSERT INTO late_rows VALUES (1), (2), (3);",
        )
        .unwrap();

    let (code, out) = inst.json(&["backup", "--no-prune"]);
    assert_eq!(code, 0, "{out:#}");
    assert_eq!(out["snapshot"], "staged_copy", "{out:#}");
    let late = out["meta"]["tables"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "late_rows")
        .map(|t| t["rows"].as_u64().unwrap());
    assert_eq!(late, Some(3), "the backup holds the latest commit: {out:#}");

    reader.execute_batch("COMMIT").unwrap();
    drop(reader);
    let (code, out) = inst.json(&["backup", "--no-prune"]);
    assert_eq!(code, 0, "{out:#}");
    assert_eq!(out["snapshot"], "pinned", "{out:#}");
    drop(writer);
}
