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
