//! GFS retention over a year of daily backups with a pinned clock.

use backupdesk_core::OperationContext;
use backupdesk_core::clock::FixedClock;
use backupdesk_core::local::catalog::BackupCatalog;
use backupdesk_core::local::demo::JournalMode;
use backupdesk_core::local::ledger::Ledger;
use backupdesk_core::local::retention::{RetentionPolicy, plan};
use chrono::{Duration, NaiveDate};

use crate::support::*;

/// Daily backups at 02:00 from 2025-11-27 to 2026-11-26, as tiny files.
fn a_year_of_daily_backups() -> Installation {
    let inst = Installation::empty();
    std::fs::create_dir_all(inst.data.backups()).unwrap();
    let first = NaiveDate::from_ymd_opt(2025, 11, 27).unwrap();
    for day in 0..365 {
        let date = first + Duration::days(day);
        let stem = format!("servers_db_{}_020000.db", date.format("%Y%m%d"));
        std::fs::write(inst.backup_path(&format!("{stem}.gpg")), vec![0u8; 1000]).unwrap();
        std::fs::write(inst.backup_path(&format!("{stem}.meta")), "{}").unwrap();
    }
    inst
}

fn survivors(inst: &Installation, policy: RetentionPolicy) -> Vec<String> {
    let catalog = BackupCatalog::scan(&inst.data).unwrap();
    let clock = FixedClock::utc(2026, 11, 26, 12, 0, 0);
    let plan = plan(
        &catalog,
        &Ledger::load(&inst.data),
        &policy,
        &OperationContext::bare(&clock),
    );
    let mut kept: Vec<String> = plan
        .decisions
        .iter()
        .filter(|d| !d.deleted())
        .map(|d| d.taken_at.format("%Y-%m-%d").to_string())
        .collect();
    kept.sort();
    kept
}

fn policy(keep_last: u32, daily: u32, weekly: u32, monthly: u32) -> RetentionPolicy {
    RetentionPolicy {
        keep_last,
        daily,
        weekly,
        monthly,
        pre_restore: 3,
    }
}

fn sundays_from(first: &str, count: usize) -> Vec<String> {
    let first = NaiveDate::parse_from_str(first, "%Y-%m-%d").unwrap();
    (0..count)
        .map(|i| {
            (first + Duration::weeks(i as i64))
                .format("%Y-%m-%d")
                .to_string()
        })
        .collect()
}

#[test]
fn a_year_of_daily_backups_keeps_exactly_the_expected_survivors() {
    let inst = a_year_of_daily_backups();
    let defaults: Vec<String> = [
        "2025-12-31",
        "2026-01-31",
        "2026-02-28",
        "2026-03-31",
        "2026-04-30",
        "2026-05-31",
        "2026-06-30",
        "2026-07-31",
        "2026-08-31",
        "2026-09-30",
        "2026-10-31",
        "2026-11-08",
        "2026-11-15",
        "2026-11-20",
        "2026-11-21",
        "2026-11-22",
        "2026-11-23",
        "2026-11-24",
        "2026-11-25",
        "2026-11-26",
    ]
    .map(String::from)
    .to_vec();
    let mut weekly_52 = sundays_from("2025-12-07", 51);
    weekly_52.push("2026-11-26".to_owned());
    let mut monthly_24: Vec<String> = vec!["2025-11-30".to_owned()];
    monthly_24.extend(
        [
            "2025-12-31",
            "2026-01-31",
            "2026-02-28",
            "2026-03-31",
            "2026-04-30",
            "2026-05-31",
            "2026-06-30",
            "2026-07-31",
            "2026-08-31",
            "2026-09-30",
            "2026-10-31",
            "2026-11-26",
        ]
        .map(String::from),
    );
    let cases: Vec<(&str, RetentionPolicy, Vec<String>)> = vec![
        (
            "defaults (last 3, 7 daily, 4 weekly, 12 monthly)",
            RetentionPolicy::default(),
            defaults,
        ),
        (
            "3 daily only",
            policy(0, 3, 0, 0),
            ["2026-11-24", "2026-11-25", "2026-11-26"]
                .map(String::from)
                .to_vec(),
        ),
        ("52 weekly", policy(0, 0, 52, 0), weekly_52),
        (
            "24 monthly: only 13 months exist",
            policy(0, 0, 0, 24),
            monthly_24,
        ),
        (
            "nothing but the newest",
            policy(0, 0, 0, 0),
            vec!["2026-11-26".to_owned()],
        ),
        (
            "keep last 400: everything",
            policy(400, 0, 0, 0),
            (0..365)
                .map(|d| {
                    (NaiveDate::from_ymd_opt(2025, 11, 27).unwrap() + Duration::days(d))
                        .format("%Y-%m-%d")
                        .to_string()
                })
                .collect(),
        ),
    ];
    for (label, policy, expected) in cases {
        assert_eq!(survivors(&inst, policy), expected, "{label}");
    }
}

#[test]
fn reasons_name_the_rule_and_the_period() {
    let inst = a_year_of_daily_backups();
    let catalog = BackupCatalog::scan(&inst.data).unwrap();
    let p = plan(
        &catalog,
        &Ledger::default(),
        &RetentionPolicy::default(),
        &OperationContext::bare(&FixedClock::utc(2026, 11, 26, 12, 0, 0)),
    );
    let reasons = |date: &str| {
        let d = p
            .decisions
            .iter()
            .find(|d| d.taken_at.format("%Y-%m-%d").to_string() == date)
            .unwrap();
        d.keep.iter().map(|k| k.to_string()).collect::<Vec<_>>()
    };
    assert_eq!(
        reasons("2026-11-26"),
        [
            "newest",
            "last",
            "daily 2026-11-26",
            "weekly 2026-W48",
            "monthly 2026-11"
        ]
    );
    assert_eq!(
        reasons("2026-11-22"),
        ["daily 2026-11-22", "weekly 2026-W47"]
    );
    assert_eq!(reasons("2026-10-31"), ["monthly 2026-10"]);
    assert!(reasons("2026-10-30").is_empty());
    assert_eq!(p.delete_count, 345);
    assert_eq!(p.bytes_freed, 345 * (1000 + 2));
}

#[test]
fn pinned_deep_verified_and_future_backups_survive() {
    let inst = a_year_of_daily_backups();
    let future = "servers_db_20261201_020000.db.gpg";
    std::fs::write(inst.backup_path(future), vec![0u8; 1000]).unwrap();
    backupdesk_core::local::ledger::Ledger::set_pinned(
        &inst.data,
        "servers_db_20260315_020000.db.gpg",
        true,
    )
    .unwrap();
    backupdesk_core::local::ledger::Ledger::record(
        &inst.data,
        "servers_db_20260610_020000.db.gpg",
        backupdesk_core::local::ledger::Verification {
            depth: backupdesk_core::local::ledger::VerifyDepth::Deep,
            ok: true,
            at: "2026-06-10T03:00:00+00:00".to_owned(),
            error_kind: None,
            by: None,
        },
    )
    .unwrap();
    let kept = survivors(&inst, policy(0, 3, 0, 0));
    assert_eq!(
        kept,
        [
            "2026-03-15",
            "2026-06-10",
            "2026-11-24",
            "2026-11-25",
            "2026-11-26",
            "2026-12-01"
        ]
    );
}

#[test]
fn pre_restore_backups_have_their_own_count() {
    let inst = a_year_of_daily_backups();
    for day in 1..=5 {
        std::fs::write(
            inst.backup_path(&format!("prerestore_202611{day:02}_100000.db.gpg")),
            vec![0u8; 500],
        )
        .unwrap();
    }
    std::fs::write(
        inst.backup_path("prerestore_20261001_100000.db"),
        vec![0u8; 500],
    )
    .unwrap();
    let catalog = BackupCatalog::scan(&inst.data).unwrap();
    let p = plan(
        &catalog,
        &Ledger::default(),
        &RetentionPolicy::default(),
        &OperationContext::bare(&FixedClock::utc(2026, 11, 26, 12, 0, 0)),
    );
    let kept: Vec<&str> = p
        .decisions
        .iter()
        .filter(|d| d.filename.starts_with("prerestore_") && !d.deleted())
        .map(|d| d.filename.as_str())
        .collect();
    assert_eq!(
        kept,
        [
            "prerestore_20261105_100000.db.gpg",
            "prerestore_20261104_100000.db.gpg",
            "prerestore_20261103_100000.db.gpg"
        ]
    );
}

#[test]
fn prune_dry_run_deletes_nothing_and_prune_deletes_gpg_and_meta_together() {
    let inst = Installation::demo(MIB, JournalMode::Wal);
    // Old backups from the server script era, one pinned, plus today's.
    for day in 1..=20 {
        let stem = format!("servers_db_202609{day:02}_020000.db");
        std::fs::write(inst.backup_path(&format!("{stem}.gpg")), vec![1u8; 2048]).unwrap();
        std::fs::write(inst.backup_path(&format!("{stem}.meta")), "{}").unwrap();
    }
    let (code, out) = inst.json(&["backup", "--no-prune"]);
    assert_eq!(code, 0, "{out:#}");
    let newest = out["filename"].as_str().unwrap().to_owned();
    let (code, _) = inst.json(&["pin", "servers_db_20260902_020000.db.gpg"]);
    assert_eq!(code, 0);
    let before = inst.fingerprint();
    let (code, dry) = inst.json(&[
        "prune",
        "--dry-run",
        "--keep-last",
        "0",
        "--keep-daily",
        "2",
        "--keep-weekly",
        "0",
        "--keep-monthly",
        "1",
    ]);
    assert_eq!(code, 0, "{dry:#}");
    assert_eq!(inst.fingerprint(), before, "a dry run deletes nothing");
    let plan = &dry["plan"];
    let deleted: Vec<&str> = plan["decisions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["keep"].as_array().unwrap().is_empty())
        .map(|d| d["filename"].as_str().unwrap())
        .collect();
    // Kept: today's (newest, daily, monthly 2026-11), 2026-09-20 (daily), 2026-09-02 (pinned).
    assert_eq!(deleted.len(), 18, "{plan:#}");
    assert!(
        !deleted.contains(&newest.as_str())
            && !deleted.contains(&"servers_db_20260902_020000.db.gpg")
    );
    assert_eq!(plan["bytes_freed"], 18 * (2048 + 2));

    let out = inst
        .cli(&[
            "prune",
            "--dry-run",
            "--keep-last",
            "0",
            "--keep-daily",
            "2",
            "--keep-weekly",
            "0",
            "--keep-monthly",
            "1",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("pinned")
            && text.contains("daily 2026-09-20")
            && text.contains("delete")
            && text.contains("18 to delete"),
        "{text}"
    );

    let (code, out) = inst.json(&[
        "prune",
        "--keep-last",
        "0",
        "--keep-daily",
        "2",
        "--keep-weekly",
        "0",
        "--keep-monthly",
        "1",
        "--yes",
    ]);
    assert_eq!(code, 0, "{out:#}");
    for name in deleted {
        assert!(!inst.backup_path(name).exists(), "{name} deleted");
        assert!(
            !inst.backup_path(&name.replace(".gpg", ".meta")).exists(),
            "{name}'s .meta deleted with it"
        );
    }
    assert!(
        inst.backup_path("servers_db_20260902_020000.db.meta")
            .exists()
    );
    let (_, list) = inst.json(&["list"]);
    assert_eq!(list["count"], 3);
}

#[test]
fn prune_without_a_terminal_needs_yes() {
    let inst = Installation::demo(MIB, JournalMode::Wal);
    for day in 1..=9 {
        std::fs::write(
            inst.backup_path(&format!("servers_db_202601{day:02}_020000.db.gpg")),
            vec![1u8; 100],
        )
        .unwrap();
    }
    let before = inst.fingerprint();
    let (code, out) = inst.json(&[
        "prune",
        "--keep-daily",
        "1",
        "--keep-monthly",
        "0",
        "--keep-weekly",
        "0",
        "--keep-last",
        "0",
    ]);
    assert_eq!(
        (code, out["error"]["kind"].as_str()),
        (2, Some("confirmation_required")),
        "{out:#}"
    );
    assert_eq!(inst.fingerprint(), before);
}

#[test]
fn backup_prunes_with_the_saved_policy_and_a_failed_prune_never_fails_it() {
    let inst = Installation::demo(MIB, JournalMode::Wal);
    for day in 1..=9 {
        std::fs::write(
            inst.backup_path(&format!("servers_db_202601{day:02}_020000.db.gpg")),
            vec![1u8; 100],
        )
        .unwrap();
    }
    let (code, _) = inst.json(&[
        "prune",
        "--dry-run",
        "--keep-daily",
        "1",
        "--keep-monthly",
        "0",
        "--keep-weekly",
        "0",
        "--keep-last",
        "0",
        "--save",
    ]);
    assert_eq!(code, 0);
    assert!(
        !inst.data.state().join("retention.json").exists(),
        "a dry run saves nothing either"
    );
    let (code, _) = inst.json(&[
        "prune",
        "--keep-daily",
        "2",
        "--keep-monthly",
        "0",
        "--keep-weekly",
        "0",
        "--keep-last",
        "0",
        "--save",
        "--yes",
    ]);
    assert_eq!(code, 0);
    assert_eq!(inst.json(&["list"]).1["count"], 2);
    let (code, out) = inst.json(&["backup"]);
    assert_eq!(code, 0, "{out:#}");
    assert_eq!(
        out["pruned"]["deleted"].as_array().unwrap().len(),
        1,
        "{out:#}"
    );
    let (code, out) = inst.json(&["backup", "--no-prune"]);
    assert_eq!(code, 0);
    assert!(out["pruned"].is_null());
    assert_eq!(inst.json(&["list"]).1["count"], 3);

    // A file the prune cannot delete (immutable, so not even root can) is
    // reported, and the backup still succeeds. The next backup's policy
    // (2 daily) deletes the newest of today's earlier backups.
    let stuck = inst.json(&["list"]).1["backups"][0]["filename"]
        .as_str()
        .unwrap()
        .to_owned();
    let chattr = std::process::Command::new("chattr")
        .arg("+i")
        .arg(inst.backup_path(&stuck))
        .status()
        .unwrap();
    assert!(
        chattr.success(),
        "chattr +i needs root and a filesystem with attributes"
    );
    let (code, out) = inst.json(&["backup"]);
    let _ = std::process::Command::new("chattr")
        .arg("-i")
        .arg(inst.backup_path(&stuck))
        .status();
    assert_eq!(code, 0, "{out:#}");
    assert!(
        out["warnings"][0]
            .as_str()
            .unwrap()
            .contains(&format!("could not prune {stuck}")),
        "{out:#}"
    );
    assert!(inst.backup_path(&stuck).exists());
}

#[test]
fn a_profiles_retention_policy_applies_to_prune_and_backup() {
    let inst = Installation::demo(MIB, JournalMode::Wal);
    for day in 1..=5 {
        std::fs::write(
            inst.backup_path(&format!("servers_db_202601{day:02}_020000.db.gpg")),
            vec![1u8; 100],
        )
        .unwrap();
    }
    let config = inst.dir.path().join("config");
    let run = |args: &[&str]| {
        let mut cmd = inst.cli(args);
        cmd.arg("--json").env("BACKUPDESK_CONFIG_DIR", &config);
        run_json(cmd)
    };
    let root = inst.root().to_str().unwrap().to_owned();
    let (code, _) = run(&[
        "profile",
        "add",
        "tight",
        "--local",
        &root,
        "--keep-last",
        "0",
        "--keep-daily",
        "2",
        "--keep-weekly",
        "0",
        "--keep-monthly",
        "0",
    ]);
    assert_eq!(code, 0);
    let (code, dry) = run(&["--profile", "tight", "prune", "--dry-run"]);
    assert_eq!(code, 0, "{dry:#}");
    assert_eq!(dry["plan"]["policy"]["daily"], 2);
    assert_eq!(dry["plan"]["delete_count"], 3, "{dry:#}");
    let (code, out) = run(&["--profile", "tight", "backup"]);
    assert_eq!(code, 0, "{out:#}");
    assert_eq!(
        out["pruned"]["deleted"].as_array().unwrap().len(),
        4,
        "the profile's 2 daily keep today and 01-05: {out:#}"
    );
}
