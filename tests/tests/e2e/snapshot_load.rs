//! Snapshots while another process commits every 10 ms, as Server Monitor's
//! service does, in WAL and rollback-journal mode.

use backupdesk_core::demo::JournalMode;

use crate::support::*;

fn backup_under_writer(mode: JournalMode) {
    let inst = Installation::demo(24 * MIB, mode);
    let rows_before = table_counts(&inst.data.database())["monitoring_history"];
    let writer = start_writer(&inst.data.database());
    std::thread::sleep(std::time::Duration::from_millis(300));

    let (code, out) = inst.json(&["backup"]);
    std::thread::sleep(std::time::Duration::from_millis(200));
    stop_writer(writer);
    assert_eq!(code, 0, "backup under load: {out:#}");

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
    backup_under_writer(JournalMode::Wal);
}

#[test]
fn snapshot_under_a_writer_in_rollback_journal_mode() {
    backup_under_writer(JournalMode::Delete);
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
