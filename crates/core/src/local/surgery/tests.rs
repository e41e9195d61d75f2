//! Surgical recovery on a real demo database and a real encrypted backup:
//! the losses admins have (alerts deleted, a server changed) found by
//! `diff`, restored alone while the history grew meanwhile, and undone.

use std::sync::Arc;

use rusqlite::Connection;

use super::*;
use crate::clock::FixedClock;
use crate::context::{MemorySecrets, OperationContext, SharedSecrets};
use crate::format::crypto::Passphrase;
use crate::local::backup::{BackupOptions, create_backup};
use crate::local::demo::{DemoOptions, create_demo};
use crate::local::layout::DataDir;
use crate::progress::NoProgress;

struct Bench {
    _dir: tempfile::TempDir,
    data: DataDir,
    backup: String,
    secrets: SharedSecrets,
}

fn passphrase() -> Passphrase {
    Passphrase::new("correct horse battery staple".to_owned())
}

fn at(minute: u32) -> FixedClock {
    FixedClock::utc(2026, 12, 4, 3, minute, 0)
}

impl Bench {
    /// A demo installation with one backup of it.
    fn new() -> Bench {
        let dir = tempfile::tempdir().unwrap();
        let data = DataDir::new(dir.path());
        let options = DemoOptions {
            size_bytes: 256 * 1024,
            servers: 3,
            ..DemoOptions::default()
        };
        create_demo(&data, &options, at(0).0).unwrap();
        let secrets: SharedSecrets = Arc::new(MemorySecrets::new());
        let clock = at(1);
        let ctx = OperationContext::new(&clock, &NoProgress, &secrets);
        let options = BackupOptions {
            prune_after: false,
            ..Default::default()
        };
        let report = create_backup(&data, &passphrase(), &options, &ctx).unwrap();
        Bench {
            _dir: dir,
            backup: report.name.file_name().to_owned(),
            data,
            secrets,
        }
    }

    fn live(&self) -> Connection {
        Connection::open(self.data.database()).unwrap()
    }

    fn run<T>(&self, minute: u32, f: impl FnOnce(&OperationContext<'_>) -> T) -> T {
        let clock = at(minute);
        f(&OperationContext::new(&clock, &NoProgress, &self.secrets))
    }

    /// Each table's rows, hashed in key order.
    fn contents(&self) -> Vec<(String, String)> {
        let conn = self.live();
        let names: Vec<String> = conn
            .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        names
            .into_iter()
            .map(|t| {
                let sql = format!("SELECT * FROM \"{t}\" ORDER BY 1, 2");
                let mut stmt = conn.prepare(&sql).unwrap();
                let width = stmt.column_count();
                let mut text = String::new();
                let mut rows = stmt.query([]).unwrap();
                while let Some(row) = rows.next().unwrap() {
                    for i in 0..width {
                        text.push_str(&format!("{:?}|", row.get_ref(i).unwrap()));
                    }
                    text.push('\n');
                }
                (
                    t,
                    format!(
                        "{:x}",
                        sha2::Digest::finalize(<sha2::Sha256 as sha2::Digest>::new_with_prefix(
                            text
                        ))
                    ),
                )
            })
            .collect()
    }

    /// The losses: two alerts deleted, a server renamed; meanwhile the
    /// history grows.
    fn lose_and_grow(&self) {
        self.live()
            .execute_batch(
                "DELETE FROM alerts WHERE id IN (1, 2);
                 UPDATE servers SET name = 'renamed' WHERE id = 1;
                 INSERT INTO monitoring_history (server_id, timestamp, cpu_percent)
                   VALUES (1, '2026-12-04T04:00:00Z', 1.0), (2, '2026-12-04T04:00:05Z', 2.0);",
            )
            .unwrap();
    }
}

fn table<'a>(report: &'a DiffReport, name: &str) -> &'a TableDiff {
    report.tables.iter().find(|t| t.table == name).unwrap()
}

#[test]
fn diff_against_live_finds_exactly_what_changed() {
    let bench = Bench::new();
    bench.lose_and_grow();
    let report = bench.run(2, |ctx| {
        let old = open_backup(&bench.data, &bench.backup, &passphrase(), ctx).unwrap();
        let new = open_live(&bench.data).unwrap();
        let options = DiffOptions {
            rows: true,
            ..Default::default()
        };
        diff(&old, &new, &options).unwrap()
    });
    let alerts = table(&report, "alerts");
    assert_eq!((alerts.inserted, alerts.deleted, alerts.updated), (0, 2, 0));
    let servers = table(&report, "servers");
    assert_eq!(
        (servers.inserted, servers.deleted, servers.updated),
        (0, 0, 1)
    );
    assert_eq!(servers.changes[0].columns.len(), 1);
    assert_eq!(servers.changes[0].columns[0].column, "name");
    assert_eq!(servers.changes[0].columns[0].new, "renamed");
    assert_eq!(table(&report, "monitoring_history").inserted, 2);
    assert_eq!(report.changed_tables, 3, "{report:#?}");
    let staging: Vec<_> = std::fs::read_dir(bench.data.staging()).unwrap().collect();
    assert!(
        staging.is_empty(),
        "the staged plaintext is gone once closed"
    );
}

#[test]
fn a_merge_restore_brings_back_only_the_chosen_rows_and_its_undo_puts_live_back() {
    let bench = Bench::new();
    let before = bench.contents();
    bench.lose_and_grow();
    let lost = bench.contents();
    let options = PartialOptions {
        tables: vec!["alerts".into(), "servers".into()],
        ..Default::default()
    };
    let report = bench
        .run(2, |ctx| {
            restore_rows(&bench.data, &bench.backup, &passphrase(), &options, ctx)
        })
        .unwrap();
    let counts: Vec<_> = report
        .plan
        .tables
        .iter()
        .map(|t| (t.table.as_str(), t.insert, t.update, t.delete))
        .collect();
    assert_eq!(counts, [("alerts", 2, 0, 0), ("servers", 0, 1, 0)]);
    assert!(report.undo_backup.starts_with("prerestore_rows_"));
    let after = bench.contents();
    for ((name, now), (_, then)) in after.iter().zip(&before) {
        match name.as_str() {
            "monitoring_history" => assert_ne!(now, then, "the samples written meanwhile stay"),
            _ => assert_eq!(now, then, "{name} is as in the backup"),
        }
    }
    let history: i64 = bench
        .live()
        .query_row(
            "SELECT count(*) FROM monitoring_history WHERE timestamp LIKE '2026-12-04T04%'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(history, 2);
    let undone = bench
        .run(3, |ctx| {
            undo_rows(&bench.data, &report.undo_backup, &passphrase(), false, ctx)
        })
        .unwrap()
        .unwrap();
    assert_eq!(undone.plan.mode, "undo");
    assert_eq!(bench.contents(), lost, "the undo puts live back as it was");
}

#[test]
fn rows_that_would_dangle_roll_back_unless_their_parents_come_along() {
    let bench = Bench::new();
    bench
        .live()
        .execute_batch(
            "DELETE FROM alerts WHERE server_id = 3;
             DELETE FROM monitoring_history WHERE server_id = 3;
             DELETE FROM tasks WHERE server_id = 3;
             DELETE FROM server_notes WHERE server_id = 3;
             DELETE FROM terminal_sessions WHERE server_id = 3;
             DELETE FROM server_inventory_latest WHERE server_id = 3;
             DELETE FROM server_inventory_snapshots WHERE server_id = 3;
             DELETE FROM server_tag_map WHERE server_id = 3;
             DELETE FROM servers WHERE id = 3;",
        )
        .unwrap();
    let lost = bench.contents();
    let mut options = PartialOptions {
        tables: vec!["alerts".into()],
        where_sql: Some("server_id = 3".into()),
        ..Default::default()
    };
    let e = bench
        .run(2, |ctx| {
            restore_rows(&bench.data, &bench.backup, &passphrase(), &options, ctx)
        })
        .unwrap_err();
    assert!(
        matches!(&e, SurgeryError::DanglingReferences(what) if what.contains("alerts row") && what.contains("servers")),
        "{e}"
    );
    assert_eq!(bench.contents(), lost, "rolled back: nothing changed");
    let backups = std::fs::read_dir(bench.data.backups()).unwrap().count();
    options.with_parents = true;
    let report = bench
        .run(3, |ctx| {
            restore_rows(&bench.data, &bench.backup, &passphrase(), &options, ctx)
        })
        .unwrap();
    let servers = report
        .plan
        .tables
        .iter()
        .find(|t| t.table == "servers")
        .unwrap();
    assert!(servers.parent && servers.insert == 1, "{:?}", report.plan);
    assert!(std::fs::read_dir(bench.data.backups()).unwrap().count() > backups);
}

#[test]
fn a_table_that_differs_a_bad_filter_and_a_rows_backup_are_refused_with_their_kind() {
    let bench = Bench::new();
    bench
        .live()
        .execute_batch("ALTER TABLE tags ADD COLUMN icon TEXT")
        .unwrap();
    let restore = |tables: &[&str], where_sql: Option<&str>| {
        let options = PartialOptions {
            tables: tables.iter().map(|t| t.to_string()).collect(),
            where_sql: where_sql.map(str::to_owned),
            ..Default::default()
        };
        bench
            .run(2, |ctx| {
                restore_rows(&bench.data, &bench.backup, &passphrase(), &options, ctx)
            })
            .unwrap_err()
    };
    let e = restore(&["tags"], None);
    assert_eq!(e.kind(), crate::ErrorKind::SchemaDiffers);
    assert!(e.to_string().contains("icon"), "{e}");
    assert_eq!(
        restore(&["alerts"], Some("no_such_column = 1")).kind(),
        crate::ErrorKind::BadWhere
    );
    assert_eq!(
        restore(&["nope"], None).kind(),
        crate::ErrorKind::NoSuchTable
    );
    let rows = bench.run(2, |ctx| {
        restore_rows(
            &bench.data,
            "prerestore_rows_20261204_031500.db.gpg",
            &passphrase(),
            &PartialOptions::default(),
            ctx,
        )
    });
    assert_eq!(rows.unwrap_err().kind(), crate::ErrorKind::RowsBackup);
}

#[test]
fn tables_and_queries_read_a_backup_and_never_write() {
    let bench = Bench::new();
    bench.run(2, |ctx| {
        let opened = open_backup(&bench.data, &bench.backup, &passphrase(), ctx).unwrap();
        let all = tables(opened.connection(), "main").unwrap();
        let servers = all.iter().find(|t| t.name == "servers").unwrap();
        assert_eq!(
            (servers.rows, servers.primary_key.as_slice()),
            (3, ["id".to_owned()].as_slice())
        );
        let answer = query(
            opened.connection(),
            "SELECT name FROM servers ORDER BY id",
            QueryLimits::default(),
        )
        .unwrap();
        assert_eq!(answer.rows.len(), 3);
        let e = query(
            opened.connection(),
            "DELETE FROM servers",
            QueryLimits::default(),
        )
        .unwrap_err();
        assert_eq!(e.kind(), crate::ErrorKind::ReadOnlyQuery);
    });
    let live = open_live(&bench.data).unwrap();
    let e = query(
        live.connection(),
        "UPDATE servers SET name = 'x'",
        QueryLimits::default(),
    )
    .unwrap_err();
    assert_eq!(e.kind(), crate::ErrorKind::ReadOnlyQuery);
}

#[test]
fn changes_walks_the_backups_and_reports_the_configuration_only() {
    let bench = Bench::new();
    bench
        .live()
        .execute_batch(
            "INSERT INTO users (username, email, password_hash, role, created_at)
               VALUES ('newadmin', 'n@example.org', 'x', 'admin', '2026-12-04');
             UPDATE webhooks SET url = 'https://hooks.example.org/changed' WHERE id = 1;
             INSERT INTO monitoring_history (server_id, timestamp, cpu_percent)
               VALUES (1, '2026-12-04T04:00:00Z', 1.0);",
        )
        .unwrap();
    let options = crate::local::backup::BackupOptions {
        prune_after: false,
        ..Default::default()
    };
    let second = bench
        .run(5, |ctx| {
            create_backup(&bench.data, &passphrase(), &options, ctx)
        })
        .unwrap();
    let report = bench
        .run(6, |ctx| changes(&bench.data, &passphrase(), None, ctx))
        .unwrap();
    assert_eq!(report.backups, 2);
    assert_eq!(report.changes.len(), 1, "{report:#?}");
    let pair = &report.changes[0];
    assert_eq!(
        (pair.older.as_str(), pair.newer.as_str()),
        (bench.backup.as_str(), second.name.file_name())
    );
    let changed: Vec<(&str, u64, u64)> = pair
        .tables
        .iter()
        .map(|t| (t.table.as_str(), t.inserted, t.updated))
        .collect();
    assert_eq!(
        changed,
        [("users", 1, 0), ("webhooks", 0, 1)],
        "samples are left out"
    );
    let since = chrono::NaiveDate::from_ymd_opt(2030, 1, 1)
        .unwrap()
        .and_hms_opt(0, 0, 0)
        .unwrap();
    let later = bench
        .run(6, |ctx| {
            changes(&bench.data, &passphrase(), Some(since), ctx)
        })
        .unwrap();
    assert_eq!(
        (later.backups, later.changes.len()),
        (1, 0),
        "only the base before the date"
    );
}
