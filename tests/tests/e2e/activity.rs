//! The activity log (issue 26 point 3): what happened to an installation,
//! newest first, from its logs, filtered; never through a planted link.

use backupdesk_core::local::demo::JournalMode;

use crate::support::*;

fn messages(page: &serde_json::Value) -> Vec<String> {
    page["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["message"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn activity_says_what_happened_newest_first_and_filters_it() {
    let inst = Installation::demo(2 * MIB, JournalMode::Wal);
    let first = inst.backup();
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let second = inst.backup();
    // The second altered: its verification fails (an error in verify.log).
    let path = inst.backup_path(&second);
    let mut bytes = std::fs::read(&path).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xff;
    std::fs::write(&path, bytes).unwrap();
    // A second apart each: entries of one second in different logs have no
    // order between them.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    assert_eq!(inst.json(&["verify", "--all"]).0, 1);
    std::thread::sleep(std::time::Duration::from_millis(1100));
    assert_eq!(inst.json(&["--yes", "delete", &first]).0, 0);

    let (code, all) = inst.json(&["activity"]);
    assert_eq!(code, 0, "{all:#}");
    let said = messages(&all);
    let position = |what: &str, name: &str| {
        said.iter()
            .position(|m| m.starts_with(what) && m.contains(name))
            .unwrap_or_else(|| panic!("{what:?} {name} not in {said:#?}"))
    };
    let deleted = position("Deleted", &first);
    let failed = position("Verification of", &second);
    let made_second = position("Backup created", &second);
    let made_first = position("Backup created", &first);
    assert!(
        deleted < failed && failed < made_second && made_second < made_first,
        "newest first: {said:#?}"
    );
    assert_eq!(all["matching"].as_u64(), Some(said.len() as u64));

    // Errors only: the failed verification, named.
    let (_, errors) = inst.json(&["activity", "--level", "error"]);
    let entries = errors["entries"].as_array().unwrap();
    assert!(
        !entries.is_empty() && entries.iter().all(|e| e["level"] == "error"),
        "{errors:#}"
    );
    assert!(
        messages(&errors).iter().any(|m| m.contains(&second)),
        "{errors:#}"
    );
    // A search, one log, a limit, a day.
    let (_, found) = inst.json(&["activity", "--search", &first, "--log", "backup"]);
    let found = messages(&found);
    assert_eq!(found.len(), 2, "{found:#?}");
    assert!(found.iter().all(|m| m.contains(&first)));
    let (_, one) = inst.json(&["activity", "--limit", "1"]);
    assert_eq!(one["entries"].as_array().unwrap().len(), 1);
    assert_eq!(one["matching"], all["matching"]);
    let out = inst
        .cli(&["activity", "--since", "2099-01-01"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "Nothing recorded that matches."
    );

    // In words: the time, the log, the level, the message.
    let out = inst.cli(&["activity", "--log", "verify"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let failure = text.lines().find(|l| l.contains(&second)).unwrap();
    assert!(
        chrono::NaiveDateTime::parse_from_str(&failure[..19], "%Y-%m-%d %H:%M:%S").is_ok()
            && failure[19..]
                .trim_start()
                .starts_with("verify   error    Verification of"),
        "{text}"
    );

    // Bad input: a clear usage error, nothing read.
    for (args, says) in [
        (vec!["activity", "--since", "yesterday"], "is not a date"),
        (vec!["activity", "--limit", "0"], "--limit"),
        (vec!["activity", "--level", "loud"], "--level"),
    ] {
        let out = inst.cli(&args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(says), "{args:?}: {err}");
    }
}

#[test]
fn activity_never_follows_a_link_planted_as_a_log() {
    let inst = Installation::demo(2 * MIB, JournalMode::Wal);
    inst.backup();
    let secret = inst.dir.path().join("secret");
    std::fs::write(&secret, "2026-12-01 02:00:00 [INFO] root's secret line\n").unwrap();
    let restore_log = inst.data.logs().join("restore.log");
    let _ = std::fs::remove_file(&restore_log);
    std::os::unix::fs::symlink(&secret, &restore_log).unwrap();
    let out = inst.cli(&["activity", "--json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stdout.contains("secret line") && !stderr.contains("secret line"));
    assert!(
        stderr.contains("restore.log") && stderr.contains("a link"),
        "{stderr}"
    );
    // The other logs are still read.
    let page: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(messages(&page).iter().any(|m| m.contains("Backup created")));
}

#[test]
fn activity_through_a_servers_api_is_refused_by_name() {
    let config = tempfile::tempdir().unwrap();
    let url = "http://127.0.0.1:9";
    let add = backupdesk()
        .env("BACKUPDESK_CONFIG_DIR", config.path())
        .args([
            "profile",
            "add",
            "api-only",
            "--url",
            url,
            "--username",
            "admin",
        ])
        .output()
        .unwrap();
    assert!(
        add.status.success(),
        "{}",
        String::from_utf8_lossy(&add.stderr)
    );
    let mut cmd = backupdesk();
    cmd.env("BACKUPDESK_CONFIG_DIR", config.path()).args([
        "--profile",
        "api-only",
        "--json",
        "activity",
    ]);
    let (code, out) = run_json(cmd);
    assert_eq!(code, 1, "{out:#}");
    assert_eq!(out["error"]["kind"], "remote_unsupported", "{out:#}");
    assert!(
        out["error"]["message"].as_str().unwrap().contains(url),
        "{out:#}"
    );
}
