//! Restore drills (`backupdesk drill`) and the scheduled rolling
//! verification: a real restore into a scratch folder, recorded, shown,
//! kept by retention; the live database and every backup never touched.

use std::process::Stdio;
use std::time::{Duration, Instant};

use backupdesk_core::local::demo::JournalMode;

use crate::support::*;

fn list_item(inst: &Installation, name: &str) -> serde_json::Value {
    let (_, list) = inst.json(&["list"]);
    list["backups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["filename"] == name)
        .unwrap_or_else(|| panic!("{name} not listed: {list:#}"))
        .clone()
}

#[test]
fn a_drill_on_a_good_backup_passes_records_its_time_and_touches_nothing() {
    let inst = Installation::demo(4 * MIB, JournalMode::Wal);
    let name = inst.backup();
    let before = inst.fingerprint();
    let (code, out) = inst.json(&["drill"]);
    assert_eq!(code, 0, "{out:#}");
    let report = &out["report"];
    assert_eq!(report["filename"], name.as_str());
    assert_eq!(report["counts_checked"], true);
    assert!(report["restore_ms"].as_u64().unwrap() > 0, "{report:#}");
    assert!(
        report["tables"].as_array().unwrap().len() >= 20,
        "{report:#}"
    );
    assert_eq!(inst.fingerprint(), before, "the drill changed files");
    assert!(inst.leftovers().is_empty(), "{:?}", inst.leftovers());

    let item = list_item(&inst, &name);
    let drill = &item["drill"];
    assert_eq!(drill["ok"], true, "{drill:#}");
    // A drill is a deep verification and more: recorded as one too.
    assert_eq!(
        (
            item["verified"]["state"].as_str(),
            item["verified"]["depth"].as_str()
        ),
        (Some("passed"), Some("deep"))
    );
    assert_eq!(drill["restore_ms"], report["restore_ms"]);
    let log = std::fs::read_to_string(inst.root().join("logs/verify.log")).unwrap();
    assert!(
        log.contains(&format!("Restore drill of {name} passed")),
        "{log}"
    );
    // A named drill, in words.
    let out = inst.cli(&["drill", &name]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && text.starts_with("DRILL PASSED"),
        "{text}"
    );
}

#[test]
fn a_drill_of_an_altered_backup_fails_is_recorded_and_touches_nothing() {
    let inst = Installation::demo(2 * MIB, JournalMode::Wal);
    let name = inst.backup();
    // The payload altered, the .meta (and its checksums) kept.
    let path = inst.backup_path(&name);
    let mut bytes = std::fs::read(&path).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x40;
    std::fs::write(&path, bytes).unwrap();
    let before = inst.fingerprint();
    let (code, out) = inst.json(&["drill"]);
    assert_eq!(code, 1, "{out:#}");
    let kind = out["error"]["kind"].as_str().unwrap();
    assert!(
        ["backup_altered", "corrupt_backup", "checksum_mismatch"].contains(&kind),
        "{out:#}"
    );
    assert_eq!(inst.fingerprint(), before, "the drill changed files");
    assert!(inst.leftovers().is_empty(), "{:?}", inst.leftovers());
    let drill = &list_item(&inst, &name)["drill"];
    assert_eq!(
        (drill["ok"].as_bool(), drill["error_kind"].as_str()),
        (Some(false), Some(kind))
    );
}

#[test]
fn a_backup_whose_row_counts_differ_from_its_meta_fails_the_drill() {
    let inst = Installation::demo(2 * MIB, JournalMode::Wal);
    let name = inst.backup();
    // What .meta recorded no longer matches what the backup holds (its
    // checksums still do): only the drill's count comparison can see it.
    let meta_path = inst.backup_path(&name.replace(".db.gpg", ".db.meta"));
    let mut meta: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&meta_path).unwrap()).unwrap();
    let table = meta["tables"][0]["name"].as_str().unwrap().to_owned();
    let rows = meta["tables"][0]["rows"].as_u64().unwrap();
    meta["tables"][0]["rows"] = (rows + 5).into();
    std::fs::write(&meta_path, serde_json::to_vec_pretty(&meta).unwrap()).unwrap();
    let live = sha256_file(&inst.data.database());
    let (code, out) = inst.json(&["drill", &name]);
    assert_eq!(
        (code, out["error"]["kind"].as_str()),
        (1, Some("drill_mismatch")),
        "{out:#}"
    );
    let message = out["error"]["message"].as_str().unwrap();
    assert!(
        message.contains(&table) && message.contains(&(rows + 5).to_string()),
        "{message}"
    );
    assert_eq!(sha256_file(&inst.data.database()), live);
    assert!(inst.leftovers().is_empty(), "{:?}", inst.leftovers());
}

#[test]
fn a_killed_drill_leaves_no_scratch_folder_after_the_next_run() {
    let inst = Installation::demo(48 * MIB, JournalMode::Wal);
    inst.backup();
    let live = sha256_file(&inst.data.database());
    let mut child = inst
        .cli(&["drill", "--json"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Kill it once its scratch folder holds something.
    let deadline = Instant::now() + Duration::from_secs(60);
    let scratch = || {
        std::fs::read_dir(inst.data.staging())
            .map(|r| {
                r.flatten()
                    .any(|e| e.file_name().to_string_lossy().ends_with("-drill"))
            })
            .unwrap_or(false)
    };
    while !scratch() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(scratch(), "the drill never made its scratch folder");
    std::thread::sleep(Duration::from_millis(150));
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(
        !inst.leftovers().is_empty(),
        "the kill left nothing to clean"
    );
    let (code, out) = inst.json(&["drill"]);
    assert_eq!(code, 0, "{out:#}");
    assert!(inst.leftovers().is_empty(), "{:?}", inst.leftovers());
    assert_eq!(sha256_file(&inst.data.database()), live);
}

#[test]
fn retention_keeps_the_newest_drilled_backup() {
    let inst = Installation::demo(MIB, JournalMode::Wal);
    let drilled = inst.backup();
    let (code, out) = inst.json(&["drill"]);
    assert_eq!(code, 0, "{out:#}");
    std::thread::sleep(Duration::from_millis(1100));
    inst.backup();
    let (_, plan) = inst.json(&[
        "prune",
        "--dry-run",
        "--keep-last",
        "0",
        "--keep-daily",
        "0",
        "--keep-weekly",
        "0",
        "--keep-monthly",
        "0",
    ]);
    let decision = plan["plan"]["decisions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["filename"] == drilled.as_str())
        .unwrap()
        .clone();
    assert!(
        decision["keep"]
            .as_array()
            .unwrap()
            .iter()
            .any(|k| k["rule"] == "newest_drilled"),
        "{decision:#}"
    );
}

#[test]
fn the_rolling_verification_deep_checks_the_newest_and_the_least_recently_checked() {
    let inst = Installation::demo(MIB, JournalMode::Wal);
    let mut names = Vec::new();
    for _ in 0..3 {
        names.push(inst.backup());
        std::thread::sleep(Duration::from_millis(1100));
    }
    // 2 older backups: a share of ceil(2/28) = 1 each run, oldest-checked first.
    let (code, first) = inst.json(&["verify", "--rolling"]);
    assert_eq!(code, 0, "{first:#}");
    let checked = |out: &serde_json::Value| -> Vec<String> {
        out["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["filename"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(checked(&first), [names[2].clone(), names[0].clone()]);
    assert!(
        first["results"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["report"]["depth"] == "deep")
    );
    let (_, second) = inst.json(&["verify", "--rolling"]);
    assert_eq!(checked(&second), [names[2].clone(), names[1].clone()]);
    let log = std::fs::read_to_string(inst.root().join("logs/verify.log")).unwrap();
    assert!(
        log.contains(&format!("Verified {} (deep): passed", names[1])),
        "{log}"
    );
}
