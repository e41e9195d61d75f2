//! The snapshot primitives on small real databases: what passes for a
//! database, a snapshot of a WAL database, no file replaced.

use super::*;
use crate::KindedError;
use crate::progress::NoProgress;

fn database(dir: &Path) -> std::path::PathBuf {
    let path = dir.join("live.db");
    let conn = Connection::open(&path).unwrap();
    conn.execute_batch(
        "PRAGMA journal_mode = WAL;
         CREATE TABLE servers (id INTEGER PRIMARY KEY, name TEXT);
         CREATE TABLE \"odd \"\"name\"\"\" (x);
         INSERT INTO servers (name) VALUES ('a'), ('b'), ('c');",
    )
    .unwrap();
    // Left open: the WAL holds rows not yet in the main file.
    std::mem::forget(conn);
    path
}

#[test]
fn only_a_sqlite_file_passes_for_a_database() {
    let dir = tempfile::tempdir().unwrap();
    let live = database(dir.path());
    assert!(check_is_sqlite(&live).is_ok());
    let empty = dir.path().join("empty.db");
    std::fs::write(&empty, b"").unwrap();
    assert!(
        check_is_sqlite(&empty).is_ok(),
        "SQLite takes 0 bytes as empty"
    );
    let text = dir.path().join("notes.txt");
    std::fs::write(&text, b"this is a text file, not a database").unwrap();
    assert_eq!(
        check_is_sqlite(&text).unwrap_err().kind(),
        "not_a_sqlite_database"
    );
    let missing = dir.path().join("missing.db");
    assert_eq!(
        check_is_sqlite(&missing).unwrap_err().kind(),
        "database_missing"
    );
    assert_eq!(
        check_is_sqlite(dir.path()).unwrap_err().kind(),
        "not_a_sqlite_database",
        "a folder is no database"
    );
}

#[test]
fn a_snapshot_holds_what_the_wal_had_and_is_checked_sound() {
    let dir = tempfile::tempdir().unwrap();
    let live = database(dir.path());
    let copy = dir.path().join("copy.db");
    take_snapshot(&live, &copy, &NoProgress).unwrap();
    let report = inspect(&copy, &NoProgress).unwrap();
    assert!(report.integrity_ok());
    assert_eq!(report.foreign_key_errors, 0);
    let servers = report.tables.iter().find(|t| t.name == "servers").unwrap();
    assert_eq!(servers.rows, 3);
    // A table name with quotes in it is counted too.
    assert!(report.tables.iter().any(|t| t.name == "odd \"name\""));
    assert!(report.page_size >= 512 && report.page_count > 0);
}

#[test]
fn a_snapshot_never_replaces_an_existing_file() {
    let dir = tempfile::tempdir().unwrap();
    let live = database(dir.path());
    let dest = dir.path().join("there.db");
    std::fs::write(&dest, b"keep me").unwrap();
    assert!(take_snapshot(&live, &dest, &NoProgress).is_err());
    assert_eq!(std::fs::read(&dest).unwrap(), b"keep me");
}

#[test]
fn the_read_only_check_reads_a_live_wal_database_without_writing() {
    let dir = tempfile::tempdir().unwrap();
    let live = database(dir.path());
    let before = std::fs::read(&live).unwrap();
    let report = inspect_read_only(&live).unwrap();
    assert!(report.integrity_ok());
    assert_eq!(std::fs::read(&live).unwrap(), before);
}
