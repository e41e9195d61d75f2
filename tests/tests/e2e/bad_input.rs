//! Every bad input gets its own error kind and changes nothing: the live
//! database and every file in the backup folder hash the same afterwards.

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::process::Command;

use backupdesk_core::demo::JournalMode;
use sequoia_openpgp as openpgp;

use crate::support::*;

/// Runs `args`, expects exit 1 with error kind `kind`, and checks nothing changed.
fn assert_fails(inst: &Installation, args: &[&str], kind: &str) -> String {
    let before = inst.fingerprint();
    let (code, out) = inst.json(args);
    assert_eq!(out["error"]["kind"], kind, "{args:?}: {out:#}");
    assert_eq!(code, 1, "{args:?}: {out:#}");
    assert_eq!(inst.fingerprint(), before, "{args:?} changed files");
    assert!(
        inst.leftovers().is_empty(),
        "{args:?} left {:?}",
        inst.leftovers()
    );
    out["error"]["message"].as_str().unwrap().to_owned()
}

fn installation_with_backup() -> (Installation, String) {
    let inst = Installation::demo(2 * MIB, JournalMode::Wal);
    let name = inst.backup();
    (inst, name)
}

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
fn truncated_backup() {
    let (inst, name) = installation_with_backup();
    let path = inst.backup_path(&name);
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
    let message = assert_fails(&inst, &["verify", &name], "truncated_backup");
    assert!(message.contains("truncated"), "{message}");

    // A gpg-made backup without .meta, cut short, is diagnosed by decryption.
    let gpg = Gpg::new();
    let legacy = "servers_db_20261120_010000.db.gpg";
    gpg.encrypt_like_script(PASSPHRASE, &inst.data.database(), &inst.backup_path(legacy));
    let bytes = std::fs::read(inst.backup_path(legacy)).unwrap();
    std::fs::write(inst.backup_path(legacy), &bytes[..bytes.len() - 100]).unwrap();
    assert_fails(&inst, &["verify", legacy], "truncated_backup");
}

#[test]
fn a_flipped_bit_anywhere_is_detected() {
    let (inst, name) = installation_with_backup();
    let path = inst.backup_path(&name);
    let original = std::fs::read(&path).unwrap();
    let len = original.len();
    for position in [0, 3, 20, 40, len / 3, len / 2, len - 30, len - 1] {
        for depth in [
            &["verify", name.as_str()][..],
            &["verify", "--deep", name.as_str()][..],
        ] {
            let mut bytes = original.clone();
            bytes[position] ^= 0x10;
            std::fs::write(&path, &bytes).unwrap();
            let message = assert_fails(&inst, depth, "backup_altered");
            assert!(
                message.contains("altered"),
                "position {position}: {message}"
            );
        }
    }
    std::fs::write(&path, &original).unwrap();
    let (code, out) = inst.json(&["verify", &name]);
    assert_eq!(code, 0, "the restored file verifies again: {out:#}");

    // Without a .meta to compare against, decryption itself catches it.
    let gpg = Gpg::new();
    let legacy = "servers_db_20261120_010000.db.gpg";
    gpg.encrypt_like_script(PASSPHRASE, &inst.data.database(), &inst.backup_path(legacy));
    let mut bytes = std::fs::read(inst.backup_path(legacy)).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    std::fs::write(inst.backup_path(legacy), &bytes).unwrap();
    let before = inst.fingerprint();
    let (code, out) = inst.json(&["verify", legacy]);
    assert_eq!(code, 1);
    let kind = out["error"]["kind"].as_str().unwrap();
    assert!(
        ["tampered_backup", "corrupt_backup"].contains(&kind),
        "damage is reported as damage: {out:#}"
    );
    assert_eq!(inst.fingerprint(), before);
}

#[test]
fn aead_seipd_v2_message_is_refused() {
    use openpgp::serialize::stream::{Encryptor, LiteralWriter, Message};
    let inst = Installation::demo(2 * MIB, JournalMode::Wal);
    let name = "servers_db_20261120_050000.db.gpg";
    let mut sink = Vec::new();
    {
        let message = Message::new(&mut sink);
        let message = Encryptor::with_passwords(message, Some(PASSPHRASE))
            .aead_algo(openpgp::types::AEADAlgorithm::default())
            .build()
            .unwrap();
        let mut literal = LiteralWriter::new(message).build().unwrap();
        literal
            .write_all(&std::fs::read(inst.data.database()).unwrap())
            .unwrap();
        literal.finalize().unwrap();
    }
    std::fs::write(inst.backup_path(name), sink).unwrap();
    let message = assert_fails(&inst, &["verify", name], "unsupported_format");
    assert!(message.contains("SEIPD v2"), "{message}");
}

#[test]
fn payload_that_is_not_sqlite() {
    let inst = Installation::demo(2 * MIB, JournalMode::Wal);
    let text = inst.dir.path().join("notes.txt");
    std::fs::write(
        &text,
        "these are not the pages you are looking for\n".repeat(100),
    )
    .unwrap();
    let name = "servers_db_20261120_060000.db.gpg";
    Gpg::new().encrypt_like_script(PASSPHRASE, &text, &inst.backup_path(name));
    assert_fails(&inst, &["verify", name], "not_a_sqlite_database");
    assert_fails(&inst, &["verify", "--deep", name], "not_a_sqlite_database");
}

fn edit_meta(inst: &Installation, name: &str, edit: impl FnOnce(&mut serde_json::Value)) {
    let path = inst.backup_path(&name.replace(".gpg", ".meta"));
    let mut meta: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    edit(&mut meta);
    std::fs::write(&path, serde_json::to_vec(&meta).unwrap()).unwrap();
}

#[test]
fn meta_with_a_wrong_checksum_or_size() {
    let (inst, name) = installation_with_backup();
    edit_meta(&inst, &name, |m| {
        m["checksum_sha256"] = "ab".repeat(32).into()
    });
    assert_fails(&inst, &["verify", &name], "checksum_mismatch");
    let (inst, name) = installation_with_backup();
    edit_meta(&inst, &name, |m| {
        m["size_bytes"] = (m["size_bytes"].as_u64().unwrap() + 4096).into()
    });
    assert_fails(&inst, &["verify", &name], "size_mismatch");
}

#[test]
fn malformed_or_huge_meta() {
    let (inst, name) = installation_with_backup();
    let meta = inst.backup_path(&name.replace(".gpg", ".meta"));
    std::fs::write(&meta, "{\"backup_name\": \"x\", ").unwrap();
    assert_fails(&inst, &["verify", &name], "malformed_meta");
    std::fs::write(&meta, r#"{"backup_name":"x","timestamp":"t","size_bytes":"big","checksum_sha256":"00","database_path":"p","encrypted":true}"#).unwrap();
    assert_fails(&inst, &["verify", &name], "malformed_meta");
    let mut huge = String::from("{\"pad\":\"");
    huge.push_str(&"x".repeat(4 * 1024 * 1024));
    huge.push_str("\"}");
    std::fs::write(&meta, huge).unwrap();
    assert_fails(&inst, &["verify", &name], "meta_too_large");
    // The listing still shows the backup, and says what is wrong with its .meta.
    let (code, list) = inst.json(&["list"]);
    assert_eq!(code, 0);
    assert!(
        list["backups"][0]["meta_problem"]
            .as_str()
            .unwrap()
            .contains("bytes"),
        "{list:#}"
    );
}

#[test]
fn names_that_escape_the_folder_or_are_not_backups() {
    let (inst, _) = installation_with_backup();
    for bad in [
        "../servers.db",
        "/etc/passwd",
        "a/b.db.gpg",
        "..",
        "../../data/servers_db_20261120_010000.db.gpg",
    ] {
        assert_fails(&inst, &["verify", bad], "invalid_name");
    }
    assert_fails(&inst, &["verify", "servers.db"], "not_a_backup_name");
    // NUL cannot travel through argv; the core API refuses it.
    let catalog = backupdesk_core::catalog::BackupCatalog::scan(&inst.data).unwrap();
    let err = catalog
        .find("servers_db_20261120_010000.db.gpg\0x")
        .unwrap_err();
    assert_eq!(backupdesk_core::ErrorKind::kind(&err), "invalid_name");
}

#[test]
fn missing_backup_file() {
    let (inst, _) = installation_with_backup();
    assert_fails(
        &inst,
        &["verify", "servers_db_20200101_000000.db.gpg"],
        "backup_not_found",
    );
}

#[test]
fn missing_or_foreign_database() {
    let inst = Installation::empty();
    assert_fails(&inst, &["backup"], "database_missing");
    std::fs::create_dir_all(inst.data.database().parent().unwrap()).unwrap();
    std::fs::write(
        inst.data.database(),
        "<html>not a database</html>".repeat(200),
    )
    .unwrap();
    assert_fails(&inst, &["backup"], "not_a_sqlite_database");
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

const NOBODY: u32 = 65534;

fn as_nobody(inst: &Installation, args: &[&str]) -> (i32, serde_json::Value) {
    let mut cmd = backupdesk();
    cmd.arg("--data-dir")
        .arg(inst.root())
        .arg("--json")
        .args(args)
        .env("DB_BACKUP_PASSPHRASE", PASSPHRASE)
        .uid(NOBODY)
        .gid(NOBODY);
    run_json(cmd)
}

/// Root ignores file modes, so these run the CLI as `nobody`.
#[test]
fn unreadable_or_unwritable_backup_folder() {
    let (inst, _) = installation_with_backup();
    let chown = |path: &std::path::Path| {
        assert!(
            Command::new("chown")
                .arg("-R")
                .arg(format!("{NOBODY}:{NOBODY}"))
                .arg(path)
                .status()
                .unwrap()
                .success()
        );
    };
    chown(inst.root());
    std::fs::set_permissions(inst.data.database(), std::fs::Permissions::from_mode(0o644)).unwrap();
    // The backup folder belongs to root and is private: nobody cannot list it.
    assert!(
        Command::new("chown")
            .arg("0:0")
            .arg(inst.data.backups())
            .status()
            .unwrap()
            .success()
    );
    let before = inst.fingerprint();
    let (code, out) = as_nobody(&inst, &["list"]);
    assert_eq!(
        (code, out["error"]["kind"].as_str()),
        (1, Some("backup_folder_unreadable")),
        "{out:#}"
    );
    let (code, out) = as_nobody(&inst, &["backup"]);
    assert_eq!(
        (code, out["error"]["kind"].as_str()),
        (1, Some("backup_folder_not_writable")),
        "{out:#}"
    );
    assert_eq!(inst.fingerprint(), before);
}

/// A real full filesystem: a 256 KiB tmpfs mounted on the backup folder.
#[test]
fn full_backup_folder() {
    let inst = Installation::demo(2 * MIB, JournalMode::Wal);
    let backups = inst.data.backups();
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=256k,mode=0700", "tmpfs"])
        .arg(&backups)
        .status()
        .unwrap();
    assert!(mounted.success(), "mounting a tmpfs needs root");
    struct Unmount(std::path::PathBuf);
    impl Drop for Unmount {
        fn drop(&mut self) {
            let _ = Command::new("umount").arg(&self.0).status();
        }
    }
    let _unmount = Unmount(backups.clone());
    let message = assert_fails(&inst, &["backup"], "backup_folder_full");
    assert!(message.contains("full"), "{message}");
    assert_eq!(
        std::fs::read_dir(&backups).unwrap().count(),
        0,
        "nothing partial is left in the folder"
    );
    let log = std::fs::read_to_string(inst.data.logs().join("backup.log")).unwrap();
    assert!(log.contains("[ERROR] Backup failed"), "{log}");
}
