//! Surgical recovery through the CLI: look inside a backup, compare it
//! with live, restore only the rows that were lost while the service keeps
//! writing, undo it; refusals that change nothing; kills at each stage of
//! a partial restore; the same over SSH.

use std::collections::BTreeMap;
use std::path::Path;

use backupdesk_core::local::demo::JournalMode;

use crate::support::*;

/// The losses: three alerts deleted, a server renamed.
fn lose_rows(db: &Path) {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.busy_timeout(std::time::Duration::from_secs(30))
        .unwrap();
    conn.execute_batch(
        "DELETE FROM alerts WHERE id IN (3, 4, 5);
         UPDATE servers SET name = 'renamed-by-mistake' WHERE id = 2;",
    )
    .unwrap();
}

/// Every table's digest but `monitoring_history`'s (the writer's).
fn config_tables(db: &Path) -> BTreeMap<String, String> {
    let mut digests = content_digest(db, None);
    digests.remove("monitoring_history");
    digests
}

fn foreign_key_problems(db: &Path) -> i64 {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.busy_timeout(std::time::Duration::from_secs(30))
        .unwrap();
    conn.query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| {
        r.get(0)
    })
    .unwrap()
}

fn table<'a>(report: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    report["tables"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["table"] == name)
        .unwrap_or_else(|| panic!("{name} in {report:#}"))
}

#[test]
fn surgery_lost_rows_found_by_diff_restored_beside_a_writer_and_undone() {
    let inst = Installation::demo(2 * MIB, JournalMode::Wal);
    let db = inst.data.database();
    let name = inst.backup();
    let as_backed_up = config_tables(&db);
    let base = max_history_id(&db);
    let history_before = content_digest(&db, Some(base))["monitoring_history"].clone();
    let fk_before = foreign_key_problems(&db);
    lose_rows(&db);
    let lost = config_tables(&db);
    let writer = start_writer(&db);

    let (code, diff) = inst.json(&["diff", &name, "--live", "--rows"]);
    assert_eq!(code, 0, "{diff:#}");
    let changed: Vec<&str> = diff["tables"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["inserted"] != 0 || t["deleted"] != 0 || t["updated"] != 0)
        .map(|t| t["table"].as_str().unwrap())
        .collect();
    assert_eq!(
        changed,
        ["alerts", "monitoring_history", "servers"],
        "{diff:#}"
    );
    let alerts = table(&diff, "alerts");
    assert_eq!(
        (alerts["deleted"].as_u64(), alerts["inserted"].as_u64()),
        (Some(3), Some(0))
    );
    let keys: Vec<_> = alerts["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["key"][0].clone())
        .collect();
    assert_eq!(keys, [3, 4, 5]);
    let servers = table(&diff, "servers");
    assert_eq!(servers["updated"], 1);
    let cell = &servers["changes"][0]["columns"][0];
    assert_eq!(
        (cell["column"].as_str(), cell["new"].as_str()),
        (Some("name"), Some("renamed-by-mistake"))
    );

    let (code, done) = inst.json(&[
        "restore", &name, "--table", "alerts", "--table", "servers", "--yes",
    ]);
    assert_eq!(code, 0, "{done:#}");
    let undo = done["report"]["undo_backup"].as_str().unwrap().to_owned();
    assert!(undo.starts_with("prerestore_rows_"), "{done:#}");
    assert_eq!(
        config_tables(&db),
        as_backed_up,
        "the lost rows are back, every other table as it was"
    );
    assert_eq!(
        content_digest(&db, Some(base))["monitoring_history"],
        history_before,
        "the history is untouched"
    );
    assert_eq!(
        foreign_key_problems(&db),
        fk_before,
        "foreign_key_check finds nothing new"
    );

    let (code, undone) = inst.json(&["restore", &undo, "--yes"]);
    assert_eq!(code, 0, "{undone:#}");
    assert_eq!(undone["report"]["plan"]["mode"], "undo");
    assert_eq!(
        config_tables(&db),
        lost,
        "the undo puts live back as it was"
    );

    let writer_ran_on = writer_alive(writer);
    assert!(writer_ran_on, "the service's writes never failed");
    let conn = rusqlite::Connection::open(&db).unwrap();
    let (count, last): (i64, i64) = conn
        .query_row(
            "SELECT count(*), max(id) FROM monitoring_history WHERE id > ?1",
            [base],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert!(
        count > 1 && count == last - base,
        "every sample written meanwhile is there ({count})"
    );
    assert!(inst.leftovers().is_empty(), "{:?}", inst.leftovers());
}

/// Stops the writer; whether it was still running (a failed commit ends it).
fn writer_alive(mut writer: std::process::Child) -> bool {
    let alive = writer.try_wait().unwrap().is_none();
    stop_writer(writer);
    alive
}

fn kind_of(inst: &Installation, args: &[&str]) -> String {
    let (code, out) = inst.json(args);
    assert_ne!(code, 0, "{args:?} was refused: {out:#}");
    out["error"]["kind"].as_str().unwrap_or_default().to_owned()
}

#[test]
fn surgery_refusals_change_nothing_and_name_their_kind() {
    let inst = Installation::demo(2 * MIB, JournalMode::Wal);
    let db = inst.data.database();
    let name = inst.backup();
    let conn = rusqlite::Connection::open(&db).unwrap();
    let server: i64 = conn
        .query_row(
            "SELECT server_id FROM alerts WHERE server_id IS NOT NULL LIMIT 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    conn.execute_batch(&format!(
        "PRAGMA foreign_keys = ON; DELETE FROM servers WHERE id = {server};
         ALTER TABLE tags ADD COLUMN icon TEXT;"
    ))
    .unwrap();
    drop(conn);
    let state = inst.fingerprint();
    let only_server = format!("server_id = {server}");
    let restore_alerts = [
        "restore",
        name.as_str(),
        "--table",
        "alerts",
        "--where",
        &only_server,
        "--yes",
    ];
    let (code, out) = inst.json(&restore_alerts);
    assert_eq!(
        (code, out["error"]["kind"].as_str()),
        (1, Some("dangling_references")),
        "{out:#}"
    );
    assert!(
        out["error"]["message"]
            .as_str()
            .unwrap()
            .contains("→ servers"),
        "{out:#}"
    );
    assert_eq!(
        kind_of(&inst, &["restore", &name, "--table", "tags", "--yes"]),
        "schema_differs"
    );
    assert_eq!(
        kind_of(&inst, &["restore", &name, "--table", "nope", "--yes"]),
        "no_such_table"
    );
    assert_eq!(
        kind_of(
            &inst,
            &[
                "restore",
                &name,
                "--table",
                "alerts",
                "--where",
                "bogus_column = 1",
                "--yes"
            ]
        ),
        "bad_where"
    );
    for sql in [
        "DELETE FROM alerts",
        "SELECT 1; DROP TABLE alerts",
        "PRAGMA journal_mode = delete",
    ] {
        assert_eq!(
            kind_of(&inst, &["query", &name, sql]),
            "read_only_query",
            "{sql}"
        );
        assert_eq!(
            kind_of(&inst, &["query", "--live", sql]),
            "read_only_query",
            "{sql}"
        );
    }
    let runaway =
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT count(*) FROM n";
    assert_eq!(
        kind_of(&inst, &["query", "--live", "--time-limit", "1", runaway]),
        "query_stopped"
    );
    assert_eq!(
        inst.fingerprint(),
        state,
        "nothing changed, no backup added"
    );

    let mut with_parents = restore_alerts.to_vec();
    with_parents.insert(4, "--with-parents");
    let (code, done) = inst.json(&with_parents);
    assert_eq!(code, 0, "{done:#}");
    let servers = table(&done["report"]["plan"], "servers");
    assert_eq!(
        (servers["parent"].as_bool(), servers["insert"].as_u64()),
        (Some(true), Some(1)),
        "{done:#}"
    );
    let undo = done["report"]["undo_backup"].as_str().unwrap();
    assert_eq!(
        kind_of(&inst, &["restore", undo, "--table", "alerts", "--yes"]),
        "rows_backup"
    );
    let (code, answer) = inst.json(&["query", &name, "SELECT count(*) AS n FROM servers"]);
    assert_eq!(
        (code, answer["columns"][0].as_str()),
        (0, Some("n")),
        "{answer:#}"
    );
    let (code, tables) = inst.json(&["tables", &name]);
    assert_eq!(code, 0);
    let servers = tables["tables"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "servers");
    assert_eq!(servers.unwrap()["primary_key"][0], "id", "{tables:#}");
    assert!(inst.leftovers().is_empty(), "{:?}", inst.leftovers());
}

#[test]
fn surgery_a_partial_restore_killed_at_any_stage_leaves_live_before_or_after() {
    let inst = Installation::demo(2 * MIB, JournalMode::Wal);
    let db = inst.data.database();
    let name = inst.backup();
    let restored = config_tables(&db);
    lose_rows(&db);
    let lost = config_tables(&db);
    let args = [
        "restore",
        name.as_str(),
        "--table",
        "alerts",
        "--table",
        "servers",
        "--yes",
        "--json",
    ];
    for stage in ["marked", "saved", "applied", "published"] {
        let out = inst
            .cli(&args)
            .env("BACKUPDESK_TEST_ROWS_KILL_AT", stage)
            .output()
            .unwrap();
        assert!(!out.status.success(), "{stage}: the process was killed");
        assert_eq!(
            config_tables(&db),
            lost,
            "{stage}: live is as before, never between"
        );
        assert_eq!(sqlite3_integrity(&db), "ok", "{stage}");
        // The next run cleans what the killed one left.
        let (code, plan) = inst.json(&["restore", &name, "--table", "alerts", "--dry-run"]);
        assert_eq!(code, 0, "{stage}: {plan:#}");
        assert!(
            inst.leftovers().is_empty(),
            "{stage}: {:?}",
            inst.leftovers()
        );
        let (code, list) = inst.json(&["verify", "--all"]);
        assert_eq!(code, 0, "{stage}: every listed backup is whole: {list:#}");
    }
    let (code, done) = inst.json(&args[..7]);
    assert_eq!(code, 0, "{done:#}");
    assert_eq!(config_tables(&db), restored);
}

#[test]
fn surgery_over_ssh_runs_in_the_servers_engine_and_answers_as_locally() {
    let served = crate::ssh::served(MIB);
    let (inst, laptop) = (&served.inst, &served.laptop);
    let name = inst.backup();
    lose_rows(&inst.data.database());
    let pass = inst.passphrase_file.display().to_string();
    let over_ssh = |verb: &[&str]| {
        let mut args = vec!["--profile", "srv", "--passphrase-file", &pass];
        args.extend_from_slice(verb);
        laptop.json(&args)
    };
    for verb in [
        vec!["tables", name.as_str()],
        vec!["diff", name.as_str(), "--live", "--rows"],
    ] {
        let (lc, local) = inst.json(&verb);
        let (rc, remote) = over_ssh(&verb);
        assert_eq!((lc, &local), (rc, &remote), "{verb:?} over SSH = locally");
    }
    let (code, done) = over_ssh(&["restore", &name, "--table", "alerts", "--yes"]);
    assert_eq!(code, 0, "{done:#}");
    assert_eq!(done["report"]["plan"]["tables"][0]["insert"], 3, "{done:#}");
    let (code, diff) = inst.json(&["diff", &name, "--live", "--table", "alerts"]);
    assert_eq!(
        (code, diff["changed_tables"].as_u64()),
        (0, Some(0)),
        "{diff:#}"
    );
}

#[test]
fn surgery_changes_tells_the_configurations_history_from_the_backups() {
    let inst = Installation::demo(MIB, JournalMode::Wal);
    let db = inst.data.database();
    let first = inst.backup();
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute_batch(
        "INSERT INTO users (username, email, password_hash, role, created_at)
           VALUES ('intruder', 'i@example.org', 'x', 'admin', '2026-12-04');
         INSERT INTO monitoring_history (server_id, timestamp, cpu_percent)
           VALUES (1, '2026-12-04T04:00:00Z', 1.0);",
    )
    .unwrap();
    drop(conn);
    let second = inst.backup();
    let (code, report) = inst.json(&["changes"]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["changes"].as_array().unwrap().len(), 1, "{report:#}");
    let change = &report["changes"][0];
    assert_eq!(
        (change["older"].as_str(), change["newer"].as_str()),
        (Some(first.as_str()), Some(second.as_str()))
    );
    let users = &change["tables"][0];
    assert_eq!(
        (users["table"].as_str(), users["inserted"].as_u64()),
        (Some("users"), Some(1)),
        "{report:#}"
    );
    assert_eq!(
        change["tables"].as_array().unwrap().len(),
        1,
        "samples are not configuration"
    );
    let text = inst.cli(&["changes"]).output().unwrap();
    assert!(
        String::from_utf8_lossy(&text.stdout).contains("intruder"),
        "the new user is named"
    );
    let (code, later) = inst.json(&["changes", "--since", "2100-01-01"]);
    assert_eq!(
        (code, later["changes"].as_array().map(Vec::len)),
        (0, Some(0)),
        "{later:#}"
    );
    let (code, bad) = inst.json(&["changes", "--since", "last tuesday"]);
    assert_eq!(
        (code, bad["error"]["kind"].as_str()),
        (2, Some("invalid_time")),
        "{bad:#}"
    );
    assert!(inst.leftovers().is_empty(), "{:?}", inst.leftovers());
}
