//! Names: every trick a backup name can play on the verbs that take one.
//! The name is judged before anything is opened; nothing changes.

use super::*;

/// `backupdesk … --json VERB… -- NAME`: the name after `--`, so names that
/// look like flags reach the name check too.
fn with_name(inst: &Installation, verb: &[&str], name: &str) -> (i32, serde_json::Value) {
    let mut cmd = inst.cli(&["--json"]);
    cmd.args(verb).arg("--").arg(name);
    run_json(cmd)
}

#[test]
fn names_that_escape_the_folder_or_are_not_backups_are_refused_by_every_verb() {
    let (inst, good) = installation_with_backup();
    let absolute = inst.backup_path(&good).display().to_string();
    let relative = format!("sm/data/backups/{good}");
    let cases: Vec<(String, &str)> = vec![
        // Names that could reach outside the backup folder.
        (String::new(), "invalid_name"),
        (".".into(), "invalid_name"),
        ("..".into(), "invalid_name"),
        ("../servers.db".into(), "invalid_name"),
        ("/etc/passwd".into(), "invalid_name"),
        ("a/b.db.gpg".into(), "invalid_name"),
        (
            "../../data/servers_db_20261120_010000.db.gpg".into(),
            "invalid_name",
        ),
        (format!("{good}/"), "invalid_name"),
        (format!("./{good}"), "invalid_name"),
        (relative, "invalid_name"),
        (absolute, "invalid_name"),
        ("..\\..\\servers.db".into(), "invalid_name"),
        // Names that are not backup names at all.
        ("servers.db".into(), "not_a_backup_name"),
        ("servers_db_20261120_010000.db".into(), "not_a_backup_name"),
        (
            "servers_db_20261120_010000.db.meta".into(),
            "not_a_backup_name",
        ),
        ("ledger.json".into(), "not_a_backup_name"),
        (
            "servers_db_2026\n1120_010000.db.gpg".into(),
            "not_a_backup_name",
        ),
        (format!("{}.db.gpg", "x".repeat(5000)), "not_a_backup_name"),
        ("%2e%2e%2fservers.db".into(), "not_a_backup_name"),
        (
            "servers_db_２0261120_010000.db.gpg".into(),
            "not_a_backup_name",
        ),
        (
            "servers_db_20261399_250000.db.gpg".into(),
            "not_a_backup_name",
        ),
        (
            "servers_db_00000000_000000.db.gpg".into(),
            "not_a_backup_name",
        ),
        ("-rf".into(), "not_a_backup_name"),
        (format!("{good} "), "not_a_backup_name"),
        (format!(" {good}"), "not_a_backup_name"),
        (format!("{good}\r"), "not_a_backup_name"),
        (good.to_uppercase(), "not_a_backup_name"),
        // Well-formed names of backups that are not there.
        (
            "servers_db_20200101_000000.db.gpg".into(),
            "backup_not_found",
        ),
        (
            "prerestore_20261120_010000.db.gpg".into(),
            "backup_not_found",
        ),
    ];
    let verbs: [&[&str]; 6] = [
        &["verify"],
        &["verify", "--deep"],
        &["restore", "--dry-run"],
        &["restore", "--yes"],
        &["pin"],
        &["delete", "--yes"],
    ];
    let before = inst.fingerprint();
    for (name, kind) in &cases {
        for verb in verbs {
            let (code, out) = with_name(&inst, verb, name);
            assert_eq!(
                (code, out["error"]["kind"].as_str()),
                (1, Some(*kind)),
                "{verb:?} {name:?}: {out:#}"
            );
        }
    }
    assert_eq!(inst.fingerprint(), before);
    assert!(inst.leftovers().is_empty(), "{:?}", inst.leftovers());
    // Nothing was pinned or recorded under any of those names.
    let (_, list) = inst.json(&["list"]);
    assert_eq!(list["backups"].as_array().unwrap().len(), 1, "{list:#}");
    assert_eq!(list["backups"][0]["pinned"], false, "{list:#}");
    tally("names", cases.len());
}

/// A NUL cannot travel through argv; the core API refuses it.
#[test]
fn a_name_with_a_nul_is_refused_by_the_catalog() {
    let (inst, good) = installation_with_backup();
    let catalog = backupdesk_core::local::catalog::BackupCatalog::scan(&inst.data).unwrap();
    for bad in [format!("{good}\0x"), "\0".to_owned()] {
        let err = catalog.find(&bad).unwrap_err();
        assert_eq!(
            backupdesk_core::KindedError::kind(&err),
            "invalid_name",
            "{bad:?}"
        );
    }
}

/// Entries named like backups that are no regular files (a link to a
/// secret, a link to a real backup, a folder, a FIFO) are never read,
/// followed or listed; verify says what they are; nothing hangs.
#[test]
fn entries_named_like_backups_that_are_not_regular_files_are_never_read() {
    let (inst, good) = installation_with_backup();
    let name = "servers_db_20250101_000000.db.gpg";
    let path = inst.backup_path(name);
    let secret = inst.dir.path().join("secret.txt");
    std::fs::write(&secret, "not for backup desk\n").unwrap();
    let plant: [(&str, &dyn Fn()); 4] = [
        ("a symbolic link", &|| {
            std::os::unix::fs::symlink(&secret, &path).unwrap()
        }),
        ("a symbolic link", &|| {
            std::os::unix::fs::symlink(inst.backup_path(&good), &path).unwrap()
        }),
        ("a folder", &|| std::fs::create_dir(&path).unwrap()),
        ("a FIFO", &|| {
            assert!(
                std::process::Command::new("mkfifo")
                    .arg(&path)
                    .status()
                    .unwrap()
                    .success()
            )
        }),
    ];
    for (what, plant) in plant {
        plant();
        let before = inst.fingerprint();
        let (code, list) = inst.json(&["list"]);
        assert_eq!(code, 0, "{what}: {list:#}");
        assert_eq!(
            list["backups"].as_array().unwrap().len(),
            1,
            "{what}: {list:#}"
        );
        let message = assert_fails(&inst, &["verify", name], "not_a_regular_file");
        assert!(message.contains(what), "{message}");
        for verb in [
            &["restore", name, "--yes"][..],
            &["delete", name, "--yes"][..],
        ] {
            let (code, out) = inst.json(verb);
            assert_eq!(code, 1, "{what} {verb:?}: {out:#}");
            assert_eq!(
                out["error"]["kind"], "backup_not_found",
                "{what} {verb:?}: {out:#}"
            );
        }
        let (code, _) = inst.json(&["verify", "--all"]);
        assert_eq!(code, 0, "{what}: only the good backup is verified");
        assert_eq!(inst.fingerprint(), before, "{what}");
        assert_eq!(
            std::fs::read_to_string(&secret).unwrap(),
            "not for backup desk\n"
        );
        if std::fs::symlink_metadata(&path).unwrap().is_dir() {
            std::fs::remove_dir(&path).unwrap();
        } else {
            std::fs::remove_file(&path).unwrap();
        }
    }
    tally("names (not regular files)", 4);
}
