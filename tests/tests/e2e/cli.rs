//! The command line itself: grammar, exit codes, human and JSON output,
//! logs, permissions and the verification record.

use std::os::unix::fs::PermissionsExt;

use assert_cmd::Command as AssertCommand;
use backupdesk_core::local::demo::JournalMode;
use predicates::prelude::*;

use crate::support::*;

fn cmd() -> AssertCommand {
    let mut c = AssertCommand::cargo_bin("backupdesk").unwrap();
    c.env_remove("DB_BACKUP_PASSPHRASE");
    c
}

#[test]
fn usage_errors_exit_2() {
    cmd().assert().code(2);
    cmd()
        .arg("frobnicate")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("unrecognized subcommand"));
    cmd().arg("verify").assert().code(2);
    cmd()
        .args(["demo", "init", "x", "--size", "12parsecs"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("unknown size unit"));
    let config = tempfile::tempdir().unwrap();
    cmd()
        .args(["--profile", "prod", "list"])
        .env("BACKUPDESK_CONFIG_DIR", config.path())
        .assert()
        .code(1)
        .stderr(predicate::str::contains("no profile named 'prod'"));
}

#[test]
fn no_passphrase_and_no_terminal_is_a_clear_usage_error() {
    let inst = Installation::demo(2 * MIB, JournalMode::Wal);
    cmd()
        .arg("--data-dir")
        .arg(inst.root())
        .arg("backup")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--passphrase-file"));
}

#[test]
fn global_flags_go_before_or_after_the_verb() {
    let inst = Installation::demo(2 * MIB, JournalMode::Wal);
    inst.backup();
    let root = inst.root().to_str().unwrap();
    let a = cmd()
        .args(["--json", "--data-dir", root, "list"])
        .output()
        .unwrap();
    let b = cmd()
        .args(["list", "--data-dir", root, "--json"])
        .output()
        .unwrap();
    assert!(a.status.success() && b.status.success());
    assert_eq!(a.stdout, b.stdout);
}

#[test]
fn passphrase_from_the_environment() {
    let inst = Installation::demo(2 * MIB, JournalMode::Wal);
    cmd()
        .arg("--data-dir")
        .arg(inst.root())
        .arg("backup")
        .env("DB_BACKUP_PASSPHRASE", PASSPHRASE)
        .assert()
        .success()
        .stdout(predicate::str::starts_with("Backup created: "));
}

#[test]
fn backup_then_list_then_verify_in_human_output() {
    let inst = Installation::demo(4 * MIB, JournalMode::Delete);
    cmd()
        .arg("--data-dir")
        .arg(inst.root())
        .arg("list")
        .assert()
        .success()
        .stdout(predicate::str::contains("No backups in"));

    let out = inst.cli(&["backup"]).output().unwrap();
    assert!(out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.starts_with("Backup created: ")
            && stdout.contains(".db.gpg")
            && stdout.contains("sha256"),
        "{stdout}"
    );

    let list = inst.cli(&["list"]).output().unwrap();
    let text = String::from_utf8_lossy(&list.stdout);
    assert!(
        text.contains("servers_db_") && text.contains("never") && text.contains("1 backup(s)"),
        "{text}"
    );

    let verify = inst.cli(&["verify", "--all", "--deep"]).output().unwrap();
    let text = String::from_utf8_lossy(&verify.stdout);
    assert!(verify.status.success(), "{text}");
    assert!(
        text.contains("deep verify passed")
            && text.contains("integrity ok, 23 tables")
            && text.contains("1 passed, 0 failed"),
        "{text}"
    );

    let list = inst.cli(&["list"]).output().unwrap();
    let text = String::from_utf8_lossy(&list.stdout);
    assert!(
        text.contains("passed (deep"),
        "the verification is recorded: {text}"
    );
    // Core's states, in words, last on the row.
    let row = text.lines().find(|l| l.starts_with("servers_db_")).unwrap();
    assert!(row.ends_with(" verified (deep)"), "{text}");
}

#[test]
fn json_shapes_carry_the_server_fields_and_ours() {
    let inst = Installation::demo(2 * MIB, JournalMode::Wal);
    let (code, backup) = inst.json(&["backup"]);
    assert_eq!(code, 0);
    for field in [
        "filename",
        "path",
        "meta_path",
        "size",
        "size_human",
        "checksum",
        "timestamp",
        "duration_ms",
        "meta",
    ] {
        assert!(
            backup.get(field).is_some(),
            "backup --json has {field}: {backup:#}"
        );
    }
    let (_, list) = inst.json(&["list"]);
    assert_eq!(list["count"], 1);
    let item = &list["backups"][0];
    for field in [
        "filename",
        "path",
        "size",
        "size_human",
        "created_at",
        "encrypted",
        "checksum",
        "timestamp",
        "kind",
        "verified",
    ] {
        assert!(item.get(field).is_some(), "list item has {field}: {item:#}");
    }
    assert_eq!(item["checksum"], backup["checksum"]);
    assert_eq!(item["kind"], "encrypted");
    assert_eq!(item["verified"]["state"], "never");
    let created = item["created_at"].as_str().unwrap();
    assert!(
        chrono::NaiveDateTime::parse_from_str(created, "%Y-%m-%dT%H:%M:%S%.f").is_ok(),
        "naive local ISO: {created}"
    );
    assert!(
        item["size_human"].as_str().unwrap().ends_with(" KB")
            || item["size_human"].as_str().unwrap().ends_with(" MB")
    );

    let meta = &backup["meta"];
    for field in [
        "backup_name",
        "timestamp",
        "size_bytes",
        "checksum_sha256",
        "database_path",
        "encrypted",
        "gpg_sha256",
        "tables",
        "page_size",
    ] {
        assert!(meta.get(field).is_some(), ".meta has {field}");
    }
    assert!(chrono::DateTime::parse_from_rfc3339(meta["timestamp"].as_str().unwrap()).is_ok());
    assert_eq!(meta["tables"].as_array().unwrap().len(), 23);
}

#[test]
fn files_are_private_and_the_log_uses_the_scripts_format() {
    let inst = Installation::demo(2 * MIB, JournalMode::Wal);
    std::fs::set_permissions(inst.data.backups(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let name = inst.backup();
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&inst.data.backups()), 0o700);
    assert_eq!(mode(&inst.backup_path(&name)), 0o600);
    assert_eq!(
        mode(&inst.backup_path(&name.replace(".gpg", ".meta"))),
        0o600
    );
    assert_eq!(mode(&inst.data.staging()), 0o700);
    let log = std::fs::read_to_string(inst.data.logs().join("backup.log")).unwrap();
    let line = log.lines().last().unwrap();
    let re_ok = line.len() > 22
        && chrono::NaiveDateTime::parse_from_str(&line[..19], "%Y-%m-%d %H:%M:%S").is_ok()
        && line[19..].starts_with(" [INFO] Backup created: ");
    assert!(re_ok, "{line}");
    assert!(!log.contains(PASSPHRASE));
}

#[test]
fn verify_all_reports_each_backup_and_fails_when_one_fails() {
    let inst = Installation::demo(2 * MIB, JournalMode::Wal);
    let good = inst.backup();
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let bad = inst.backup();
    let path = inst.backup_path(&bad);
    let mut bytes = std::fs::read(&path).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xff;
    std::fs::write(&path, bytes).unwrap();
    let (code, out) = inst.json(&["verify", "--all"]);
    assert_eq!(code, 1, "{out:#}");
    assert_eq!(
        (out["passed"].as_u64(), out["failed"].as_u64()),
        (Some(1), Some(1))
    );
    let results = out["results"].as_array().unwrap();
    let find = |n: &str| results.iter().find(|r| r["filename"] == n).unwrap().clone();
    assert_eq!(find(&good)["ok"], true);
    assert_eq!(find(&bad)["error"]["kind"], "backup_altered");
    let (_, list) = inst.json(&["list"]);
    let state = |n: &str| {
        list["backups"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["filename"] == n)
            .unwrap()["verified"]
            .clone()
    };
    assert_eq!(state(&good)["state"], "passed");
    assert_eq!(state(&bad)["state"], "failed");
    assert_eq!(state(&bad)["error_kind"], "backup_altered");
    // All that holds, failure first, derived in core.
    let states = |n: &str| {
        list["backups"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["filename"] == n)
            .unwrap()["states"]
            .clone()
    };
    assert_eq!(states(&good), serde_json::json!(["quick_verified"]));
    assert_eq!(states(&bad), serde_json::json!(["failed_verification"]));
}

#[test]
fn list_shows_every_kind_newest_first() {
    let inst = Installation::demo(2 * MIB, JournalMode::Wal);
    let ours = inst.backup();
    let db = std::fs::read(inst.data.database()).unwrap();
    std::fs::write(inst.backup_path("servers_db_20200101_000000.db.bak"), &db).unwrap();
    std::fs::write(inst.backup_path("prerestore_20200102_000000.db"), &db).unwrap();
    std::fs::write(inst.backup_path("notes.txt"), "ignored").unwrap();
    std::fs::write(
        inst.backup_path(".servers_db_20200103_000000.db.gpg.part"),
        "ignored",
    )
    .unwrap();
    let (_, list) = inst.json(&["list"]);
    let names: Vec<&str> = list["backups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["filename"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            ours.as_str(),
            "prerestore_20200102_000000.db",
            "servers_db_20200101_000000.db.bak"
        ]
    );
    let kinds: Vec<&str> = list["backups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["encrypted", "pre_restore_plain", "legacy_plain"]);
    let (code, out) = inst.json(&["verify", "--deep", "servers_db_20200101_000000.db.bak"]);
    assert_eq!(code, 0, "{out:#}");
    assert!(
        out["report"]["warnings"][0]
            .as_str()
            .unwrap()
            .contains("plaintext")
    );
}

#[test]
fn demo_init_never_overwrites_a_database() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("sm");
    cmd()
        .args(["demo", "init"])
        .arg(&root)
        .args(["--size", "1MiB"])
        .assert()
        .success()
        .stdout(predicate::str::contains("23 tables"));
    let before = sha256_file(&root.join("data/servers.db"));
    cmd()
        .args(["--json", "demo", "init"])
        .arg(&root)
        .assert()
        .code(1)
        .stdout(predicate::str::contains("database_exists"));
    assert_eq!(sha256_file(&root.join("data/servers.db")), before);
}

#[test]
fn a_second_backup_in_the_same_second_waits_instead_of_failing() {
    let inst = Installation::demo(MIB, JournalMode::Wal);
    let a = inst.backup();
    let b = inst.backup();
    assert_ne!(a, b);
}

#[test]
fn delete_removes_the_backup_and_its_meta_and_refuses_bad_names() {
    let inst = Installation::demo(MIB, JournalMode::Wal);
    let (code, out) = inst.json(&["backup", "--no-prune"]);
    assert_eq!(code, 0, "{out:#}");
    let name = out["filename"].as_str().unwrap().to_owned();
    let before = inst.fingerprint();
    let (code, out) = inst.json(&["delete", &name]);
    assert_eq!(
        (code, out["error"]["kind"].as_str()),
        (2, Some("confirmation_required")),
        "{out:#}"
    );
    for (bad, kind) in [
        ("../servers.db", "invalid_name"),
        ("servers_db_20200101_000000.db.gpg", "backup_not_found"),
    ] {
        let (code, out) = inst.json(&["delete", bad, "--yes"]);
        assert_eq!(
            (code, out["error"]["kind"].as_str()),
            (1, Some(kind)),
            "{out:#}"
        );
    }
    assert_eq!(inst.fingerprint(), before);
    let (code, out) = inst.json(&["delete", &name, "--yes"]);
    assert_eq!(code, 0, "{out:#}");
    assert!(!inst.backup_path(&name).exists());
    assert!(!inst.backup_path(&name.replace(".gpg", ".meta")).exists());
    assert_eq!(inst.json(&["list"]).1["count"], 0);
}
