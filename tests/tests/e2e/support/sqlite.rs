//! Reading SQLite files as a test sees them (counts, content digests,
//! integrity), changing them, and a writer standing in for the service.

use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};

#[allow(unused_imports)]
use super::*;

/// Row counts per table of a SQLite file. Opened read-write (never
/// created) so that a hot journal left by a killed writer is rolled back.
pub fn table_counts(db: &Path) -> BTreeMap<String, i64> {
    let conn =
        rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE)
            .unwrap();
    conn.busy_timeout(std::time::Duration::from_secs(30))
        .unwrap();
    let names: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    names
        .into_iter()
        .map(|n| {
            let c: i64 = conn
                .query_row(&format!("SELECT count(*) FROM \"{n}\""), [], |r| r.get(0))
                .unwrap();
            (n, c)
        })
        .collect()
}

/// `PRAGMA integrity_check` through the real `sqlite3` CLI.
pub fn sqlite3_integrity(db: &Path) -> String {
    let out = Command::new("sqlite3")
        .arg(db)
        .arg("PRAGMA integrity_check;")
        .output()
        .expect("sqlite3 is installed");
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// A deterministic digest of every table's content (rows in rowid order),
/// independent of page layout. `monitoring_history_upto` limits that table
/// to rows with `id <= N` (rows a running service added later).
pub fn content_digest(db: &Path, monitoring_history_upto: Option<i64>) -> BTreeMap<String, String> {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.busy_timeout(std::time::Duration::from_secs(30))
        .unwrap();
    let names: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let mut digests = BTreeMap::new();
    for name in names {
        let filter = match (name.as_str(), monitoring_history_upto) {
            ("monitoring_history", Some(max)) => format!(" WHERE id <= {max}"),
            _ => String::new(),
        };
        let order = if name == "system_settings" || name == "server_tag_map" || name == "sessions" {
            ""
        } else {
            " ORDER BY rowid"
        };
        let mut stmt = conn
            .prepare(&format!("SELECT * FROM \"{name}\"{filter}{order}"))
            .unwrap();
        let columns = stmt.column_count();
        let mut hasher = Sha256::new();
        let mut rows = stmt.query([]).unwrap();
        while let Some(row) = rows.next().unwrap() {
            for i in 0..columns {
                let value: rusqlite::types::Value = row.get(i).unwrap();
                hasher.update(format!("{value:?}\u{1f}").as_bytes());
            }
            hasher.update(b"\x1e");
        }
        digests.insert(name, hex::encode(hasher.finalize()));
    }
    digests
}

/// The largest `id` in `monitoring_history`.
pub fn max_history_id(db: &Path) -> i64 {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.query_row(
        "SELECT coalesce(max(id), 0) FROM monitoring_history",
        [],
        |r| r.get(0),
    )
    .unwrap()
}

/// Changes the live database so it differs from earlier backups in several tables.
pub fn change_live(db: &Path, tag: &str) {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.busy_timeout(std::time::Duration::from_secs(30))
        .unwrap();
    conn.execute_batch(&format!(
        "DELETE FROM alerts WHERE id % 2 = 0;
         INSERT INTO tags (name, color) VALUES ('{tag}', '#000000');
         UPDATE servers SET status = 'maintenance' WHERE id % 3 = 0;
         INSERT INTO monitoring_history (server_id, timestamp, cpu_percent, status) SELECT server_id, timestamp, cpu_percent, 'copy' FROM monitoring_history LIMIT 500;"
    ))
    .unwrap();
}

/// Stands in for Server Monitor's service: `sm-writer` committing a sample
/// every 10 ms to `db`, started and ready. Kill it when done.
pub fn start_writer(db: &Path) -> std::process::Child {
    use std::io::BufRead;
    let mut writer = Command::new(assert_cmd::cargo::cargo_bin("sm-writer"))
        .arg(db)
        .args(["10", "120000"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(writer.stdout.take().unwrap()).lines();
    assert_eq!(lines.next().unwrap().unwrap(), "ready");
    writer
}

/// Stops a writer started by [`start_writer`].
pub fn stop_writer(mut writer: std::process::Child) {
    writer.kill().unwrap();
    writer.wait().unwrap();
}
