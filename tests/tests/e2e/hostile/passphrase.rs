//! Passphrases: wrong, default, endless, not text, not a file.

use super::*;

#[test]
fn wrong_passphrase() {
    let (inst, name) = installation_with_backup();
    let wrong = inst.dir.path().join("wrong");
    write_private(&wrong, "not the passphrase\n");
    let cmd = inst.cli_with(&wrong, &["--json", "verify", &name]);
    let before = inst.fingerprint();
    let (code, out) = run_json(cmd);
    assert_eq!(
        (code, out["error"]["kind"].as_str()),
        (1, Some("wrong_passphrase")),
        "{out:#}"
    );
    assert_eq!(inst.fingerprint(), before);
}

#[test]
fn the_default_passphrase_is_refused_for_new_backups() {
    let inst = Installation::demo(2 * MIB, JournalMode::Wal);
    write_private(&inst.passphrase_file, DEFAULT_PASSPHRASE);
    let message = assert_fails(&inst, &["backup"], "default_passphrase_refused");
    assert!(message.contains("--allow-default-passphrase"), "{message}");
    let out = inst
        .cli(&["backup", "--allow-default-passphrase"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("warning"),
        "an explicit opt-in is warned about"
    );
}

/// Case 14: `--passphrase-file /dev/zero` is refused at once.
#[test]
fn an_endless_passphrase_file_is_refused_without_reading_it_all() {
    let inst = Installation::demo(MIB, JournalMode::Wal);
    let before = inst.fingerprint();
    let out = backupdesk()
        .arg("--data-dir")
        .arg(inst.root())
        .args(["--json", "--passphrase-file", "/dev/zero", "backup"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        json["error"]["kind"], "passphrase_file_too_long",
        "{json:#}"
    );
    assert_eq!(inst.fingerprint(), before);
}

/// Case 13: a wrong passphrase typed during verify says so, and does not
/// record the good backup as failed (which would block its restore).
#[test]
fn a_wrong_passphrase_during_verify_does_not_mark_the_backup_failed() {
    let inst = Installation::demo(MIB, JournalMode::Wal);
    let name = inst.backup();
    let wrong = inst.dir.path().join("wrong");
    write_private(&wrong, "not the passphrase\n");
    let (code, out) = run_json(inst.cli_with(&wrong, &["--json", "verify", &name]));
    assert_eq!(code, 1);
    assert_eq!(out["error"]["kind"], "wrong_passphrase", "{out:#}");
    let (_, list) = inst.json(&["list"]);
    assert_eq!(list["backups"][0]["verified"]["state"], "never", "{list:#}");
    let (code, out) = inst.json(&["restore", &name, "--dry-run"]);
    assert_eq!(code, 0, "still restorable: {out:#}");
}

/// Passphrase files that are not what they should be: each is refused with
/// its own kind before anything is opened (a FIFO nobody writes to is given
/// up on after 10 s), for a backup and for a restore; nothing changes. A
/// CRLF line end, a missing final newline and a second line are read as an
/// admin means them.
#[test]
fn passphrase_files_that_are_no_passphrase_files_are_refused_with_their_kind() {
    let (inst, name) = installation_with_backup();
    let dir = inst.dir.path().join("passphrases");
    std::fs::create_dir_all(&dir).unwrap();
    let file = |label: &str, bytes: &[u8]| {
        let path = dir.join(label);
        std::fs::write(&path, bytes).unwrap();
        path
    };
    let fifo = dir.join("fifo");
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let folder = dir.join("folder");
    std::fs::create_dir_all(&folder).unwrap();
    let refused: Vec<(&str, std::path::PathBuf, &str)> = vec![
        ("an empty file", file("empty", b""), "empty_passphrase"),
        ("a lone newline", file("newline", b"\n"), "empty_passphrase"),
        ("/dev/null", "/dev/null".into(), "empty_passphrase"),
        (
            "NUL bytes",
            file("nul", b"ab\0cd\n"),
            "passphrase_file_not_text",
        ),
        (
            "not UTF-8",
            file("latin1", b"\xff\xfe caf\xe9\n"),
            "passphrase_file_not_text",
        ),
        (
            "5000 bytes without a line end",
            file("long", &[b'a'; 5000]),
            "passphrase_file_too_long",
        ),
        ("a folder", folder, "passphrase_file_unreadable"),
        (
            "a missing file",
            dir.join("missing"),
            "passphrase_file_unreadable",
        ),
        (
            "a FIFO nobody writes to",
            fifo,
            "passphrase_file_unreadable",
        ),
        ("only spaces", file("spaces", b"   \n"), "wrong_passphrase"),
    ];
    let before = inst.fingerprint();
    for (what, path, kind) in &refused {
        for args in [
            &["--json", "restore", name.as_str(), "--yes"][..],
            &["--json", "verify", &name][..],
        ] {
            // (A FIFO nobody writes to is given up on after 1 s here, not
            // 10: the same refusal, sooner.)
            let mut cmd = inst.cli_with(path, args);
            cmd.env("BACKUPDESK_TEST_PIPE_WAIT_S", "1");
            let (code, out) = run_json(cmd);
            assert_eq!(
                (code, out["error"]["kind"].as_str()),
                (1, Some(*kind)),
                "{what} {args:?}: {out:#}"
            );
        }
        assert_eq!(inst.fingerprint(), before, "{what}");
    }
    assert!(inst.leftovers().is_empty(), "{:?}", inst.leftovers());
    let (_, list) = inst.json(&["list"]);
    assert_eq!(list["backups"][0]["verified"]["state"], "never", "{list:#}");
    let read_as_meant: Vec<(&str, std::path::PathBuf)> = vec![
        (
            "a CRLF line end",
            file("crlf", format!("{PASSPHRASE}\r\n").as_bytes()),
        ),
        ("no final newline", file("bare", PASSPHRASE.as_bytes())),
        (
            "a second line",
            file("two", format!("{PASSPHRASE}\nsecond\n").as_bytes()),
        ),
    ];
    for (what, path) in &read_as_meant {
        let (code, out) = run_json(inst.cli_with(path, &["--json", "verify", &name]));
        assert_eq!(code, 0, "{what}: {out:#}");
    }
    tally("passphrase", refused.len() + read_as_meant.len());
}
