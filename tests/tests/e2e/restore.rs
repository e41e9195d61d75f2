//! Restores that cannot lose data: round trips under a live writer and an
//! open reader, backups made by gpg, injected faults after
//! the swap began. Bad backups and SIGKILLs are in the `hostile` matrix.

use std::process::{Command, Stdio};

use backupdesk_core::OperationContext;
use backupdesk_core::clock::SystemClock;
use backupdesk_core::format::crypto::Passphrase;
use backupdesk_core::local::demo::JournalMode;
use backupdesk_core::local::restore::{FaultPoint, Faults, RestoreOptions, restore_with_faults};

use crate::support::*;

fn restore_round_trip(mode: JournalMode) {
    let inst = Installation::demo(8 * MIB, mode);
    let name = inst.backup();
    let backup_db = inst.dir.path().join("backup-content.db");
    gpg_decrypt_to(PASSPHRASE, &inst.backup_path(&name), &backup_db);
    let expected = content_digest(&backup_db, None);
    let backup_max_id = max_history_id(&backup_db);

    change_live(&inst.data.database(), "changed-after-backup");
    let before_restore = content_digest(&inst.data.database(), None);
    assert_ne!(before_restore, expected);

    // A reader holding the file open, and the service writing every 10 ms.
    let reader = rusqlite::Connection::open(inst.data.database()).unwrap();
    let _: i64 = reader
        .query_row("SELECT count(*) FROM tags", [], |r| r.get(0))
        .unwrap();
    let writer = start_writer(&inst.data.database());

    let (code, out) = inst.json(&["restore", &name, "--yes"]);
    std::thread::sleep(std::time::Duration::from_millis(200));
    stop_writer(writer);
    assert_eq!(code, 0, "{out:#}");
    assert_eq!(
        out["report"]["swap"], "backup_api",
        "a database in use is swapped inside SQLite's locking"
    );

    // The live database holds the backup's content (plus whatever the
    // service wrote after the swap, which only ever appends samples).
    assert_eq!(sqlite3_integrity(&inst.data.database()), "ok");
    assert_eq!(
        content_digest(&inst.data.database(), Some(backup_max_id)),
        expected
    );
    let tags: i64 = reader
        .query_row(
            "SELECT count(*) FROM tags WHERE name = 'changed-after-backup'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(tags, 0, "the open reader sees the restored content");
    let journal: String = reader
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(
        journal,
        if mode == JournalMode::Wal {
            "wal"
        } else {
            "delete"
        }
    );

    // The previous content is kept, encrypted, and gpg reads it.
    let pre = out["report"]["pre_restore_backup"].as_str().unwrap();
    assert!(
        pre.starts_with("prerestore_") && pre.ends_with(".db.gpg"),
        "{pre}"
    );
    assert!(inst.backup_path(&pre.replace(".gpg", ".meta")).exists());
    let pre_db = inst.dir.path().join("pre.db");
    gpg_decrypt_to(PASSPHRASE, &inst.backup_path(pre), &pre_db);
    let pre_content = content_digest(&pre_db, None);
    assert_eq!(pre_content["tags"], before_restore["tags"]);
    assert_eq!(pre_content["alerts"], before_restore["alerts"]);
    only_encrypted_files_in_backups(&inst);
    let log = std::fs::read_to_string(inst.data.logs().join("restore.log")).unwrap();
    assert!(log.contains("[INFO] Database restored from"), "{log}");
}

#[test]
fn restore_round_trip_in_wal_mode_with_a_reader_and_a_writer() {
    restore_round_trip(JournalMode::Wal);
}

#[test]
fn restore_round_trip_in_rollback_journal_mode_with_a_reader_and_a_writer() {
    restore_round_trip(JournalMode::Delete);
}

/// Restoring with the scripts' default passphrase works (legacy
/// installations have nothing else), but the safety backup made with it is
/// never silent: the report and restore.log say so.
#[test]
fn a_safety_backup_with_the_default_passphrase_is_announced() {
    let inst = Installation::demo(2 * MIB, JournalMode::Wal);
    let plaintext = inst.dir.path().join("script.db");
    std::fs::copy(inst.data.database(), &plaintext).unwrap();
    let name = "servers_db_20261120_010000.db.gpg";
    Gpg::new().encrypt_like_script(DEFAULT_PASSPHRASE, &plaintext, &inst.backup_path(name));
    let default_file = inst.dir.path().join("default-pass");
    write_private(&default_file, DEFAULT_PASSPHRASE);
    let (code, out) = run_json(inst.cli_with(&default_file, &["--json", "restore", name, "--yes"]));
    assert_eq!(code, 0, "{out:#}");
    assert!(
        out["report"]["warnings"]
            .to_string()
            .contains("well-known default passphrase"),
        "{out:#}"
    );
    let log = std::fs::read_to_string(inst.data.logs().join("restore.log")).unwrap();
    assert!(
        log.contains(
            "[WARNING] Pre-restore backup encrypted with the well-known default passphrase"
        ),
        "{log}"
    );
}

#[test]
fn restore_of_a_gpg_backup_with_the_default_passphrase_and_no_meta() {
    let inst = Installation::demo(4 * MIB, JournalMode::Wal);
    let plaintext = inst.dir.path().join("script.db");
    assert!(
        Command::new("sqlite3")
            .arg(inst.data.database())
            .arg(format!(".backup '{}'", plaintext.display()))
            .status()
            .unwrap()
            .success()
    );
    let expected = content_digest(&plaintext, None);
    let name = "servers_db_20261120_010000.db.gpg";
    Gpg::new().encrypt_like_script(DEFAULT_PASSPHRASE, &plaintext, &inst.backup_path(name));
    change_live(&inst.data.database(), "after-script-backup");

    let (code, plan) = inst.json(&["restore", name, "--dry-run"]);
    assert_eq!(code, 0, "{plan:#}");
    assert_eq!(plan["plan"]["counts_from"], "staged_copy");
    assert!(plan["plan"]["warnings"].to_string().contains("no .meta"));

    // The service's file: its owner and mode must survive the swap.
    let live = inst.data.database();
    std::os::unix::fs::chown(&live, Some(65534), Some(65534)).unwrap();
    std::fs::set_permissions(&live, std::os::unix::fs::PermissionsExt::from_mode(0o640)).unwrap();

    let (code, out) = inst.json(&["restore", name, "--yes"]);
    assert_eq!(code, 0, "{out:#}");
    assert_eq!(
        out["report"]["swap"], "rename",
        "nobody holds the database: an atomic rename"
    );
    let meta = std::fs::metadata(&live).unwrap();
    assert_eq!(
        (
            std::os::unix::fs::MetadataExt::uid(&meta),
            std::os::unix::fs::MetadataExt::gid(&meta),
            std::os::unix::fs::MetadataExt::mode(&meta) & 0o7777
        ),
        (65534, 65534, 0o640),
        "owner and mode of the live file are kept"
    );
    assert!(
        out["report"]["warnings"]
            .to_string()
            .contains("default passphrase"),
        "{out:#}"
    );
    assert_eq!(content_digest(&inst.data.database(), None), expected);
    // The safety copy is encrypted with the admin's passphrase, not the default.
    let pre = out["report"]["pre_restore_backup"].as_str().unwrap();
    let check = Gpg::new().decrypt(
        DEFAULT_PASSPHRASE,
        &inst.backup_path(pre),
        &inst.dir.path().join("x.db"),
    );
    assert!(!check.status.success());
    only_encrypted_files_in_backups(&inst);
}

#[test]
fn dry_run_shows_the_plan_and_changes_nothing() {
    let inst = Installation::demo(4 * MIB, JournalMode::Wal);
    let name = inst.backup();
    change_live(&inst.data.database(), "dry");
    let before = inst.fingerprint();
    let out = inst
        .cli(&[
            "restore",
            &name,
            "--dry-run",
            "--stop-cmd",
            "systemctl stop server-monitor-api",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains(&format!("Restore plan for {name}"))
            && (text.contains("just now") || text.contains("minutes ago")),
        "{text}"
    );
    assert!(
        text.contains("stop the service: systemctl stop server-monitor-api"),
        "{text}"
    );
    assert!(
        text.contains("row counts of the backup from .meta"),
        "{text}"
    );
    let tags = text
        .lines()
        .find(|l| l.trim_start().starts_with("tags "))
        .unwrap();
    assert!(
        tags.contains("-1"),
        "one tag more live than in the backup: {tags}"
    );
    assert!(text.contains("Dry run: nothing was changed."));
    assert_eq!(inst.fingerprint(), before);
}

/// Runs a failing restore and checks the live database is byte-identical
/// and no new backup appeared.
/// A backup whose latest verification failed is refused before anything
/// happens (the same guard as the app's); verified again once the cause is
/// fixed, it restores.
#[test]
fn a_backup_that_failed_verification_is_refused_until_verified_again() {
    let inst = Installation::demo(4 * MIB, JournalMode::Wal);
    let name = inst.backup();
    change_live(&inst.data.database(), "live");
    let meta_path = inst.backup_path(&name.replace(".gpg", ".meta"));
    let meta = std::fs::read_to_string(&meta_path).unwrap();
    let mut broken: serde_json::Value = serde_json::from_str(&meta).unwrap();
    broken["checksum_sha256"] = "ab".repeat(32).into();
    std::fs::write(&meta_path, serde_json::to_vec(&broken).unwrap()).unwrap();
    let (code, out) = inst.json(&["verify", &name]);
    assert_eq!(
        (code, out["error"]["kind"].as_str()),
        (1, Some("checksum_mismatch")),
        "{out:#}"
    );

    let message = assert_restore_fails(&inst, &[&name], "verification_failed");
    assert!(message.contains("verify it again"), "{message}");
    // The dry run says so too.
    assert_restore_fails(&inst, &[&name, "--dry-run"], "verification_failed");

    std::fs::write(&meta_path, meta).unwrap();
    let (code, out) = inst.json(&["verify", &name]);
    assert_eq!(code, 0, "{out:#}");
    let (code, out) = inst.json(&["restore", &name, "--yes"]);
    assert_eq!(code, 0, "{out:#}");
}

#[test]
fn a_pre_restore_backup_that_cannot_be_written_stops_the_restore() {
    let inst = Installation::demo(4 * MIB, JournalMode::Wal);
    let good = inst.backup();
    change_live(&inst.data.database(), "live");
    // Move the backups onto a small tmpfs that has room for them but not for
    // a pre-restore backup.
    let saved = inst.dir.path().join("saved");
    std::fs::create_dir_all(&saved).unwrap();
    for entry in std::fs::read_dir(inst.data.backups()).unwrap().flatten() {
        std::fs::rename(entry.path(), saved.join(entry.file_name())).unwrap();
    }
    let used: u64 = std::fs::read_dir(&saved)
        .unwrap()
        .flatten()
        .map(|e| e.metadata().unwrap().len())
        .sum();
    let size_kib = used / 1024 + 64;
    let backups = inst.data.backups();
    assert!(
        Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size_kib}k,mode=0700"),
                "tmpfs"
            ])
            .arg(&backups)
            .status()
            .unwrap()
            .success()
    );
    struct Unmount(std::path::PathBuf);
    impl Drop for Unmount {
        fn drop(&mut self) {
            let _ = Command::new("umount").arg(&self.0).status();
        }
    }
    let _unmount = Unmount(backups.clone());
    for entry in std::fs::read_dir(&saved).unwrap().flatten() {
        std::fs::copy(entry.path(), backups.join(entry.file_name())).unwrap();
    }
    let started = inst.dir.path().join("started");
    let start_cmd = format!("touch {}", started.display());
    let message = assert_restore_fails(
        &inst,
        &[&good, "--stop-cmd", "true", "--start-cmd", &start_cmd],
        "pre_restore_backup_failed",
    );
    assert!(message.contains("full"), "{message}");
    assert!(
        started.exists(),
        "the service is started again after the failure"
    );

    // Read-only: the same, with the folder remounted read-only.
    assert!(
        Command::new("mount")
            .args(["-o", "remount,ro"])
            .arg(&backups)
            .status()
            .unwrap()
            .success()
    );
    let message = assert_restore_fails(&inst, &[&good], "pre_restore_backup_failed");
    assert!(
        message.contains("cannot write") || message.contains("Read-only"),
        "{message}"
    );
}

/// A failure forced at each step after the swap changed the live database
/// ends in a rollback to the exact previous content; one forced half-way
/// through the swap, before anything of ours is in place (SQLite rolls its
/// half-done copy back itself; a rename never happened), changes nothing
/// and so rolls nothing back.
#[test]
fn injected_faults_after_the_swap_began_roll_back_to_the_old_content() {
    for (fault, mode, held) in [
        (FaultPoint::MidSwap, JournalMode::Wal, true),
        (FaultPoint::PostSwapCheck, JournalMode::Wal, true),
        (FaultPoint::AfterSwap, JournalMode::Delete, true),
    ]
    .into_iter()
    .chain(
        [
            (FaultPoint::MidSwap, JournalMode::Wal),
            (FaultPoint::AfterSwap, JournalMode::Wal),
            (FaultPoint::PostSwapCheck, JournalMode::Delete),
            (FaultPoint::MidSwap, JournalMode::Delete),
            (FaultPoint::AfterSwap, JournalMode::Delete),
        ]
        .map(|(fault, mode)| (fault, mode, false)),
    ) {
        let inst = Installation::demo(4 * MIB, mode);
        let name = inst.backup();
        change_live(&inst.data.database(), "old-content");
        let old = content_digest(&inst.data.database(), None);
        // A reader holding the file sends the swap through SQLite's backup
        // API; without one it is a rename. Both must roll back exactly.
        let reader = held.then(|| rusqlite::Connection::open(inst.data.database()).unwrap());
        let options = RestoreOptions {
            start_cmd: Some("true".to_owned()),
            ..RestoreOptions::default()
        };
        let passphrase = Passphrase::new(PASSPHRASE.to_owned());
        let err = restore_with_faults(
            &inst.data,
            &name,
            &passphrase,
            &options,
            Faults {
                fault: Some(fault),
                ..Faults::default()
            },
            &OperationContext::bare(&SystemClock),
        )
        .unwrap_err();
        drop(reader);
        let expected = if fault == FaultPoint::MidSwap {
            "swap_failed_unchanged"
        } else {
            "rolled_back"
        };
        assert_eq!(
            backupdesk_core::KindedError::kind(&err),
            expected,
            "{fault:?} held={held}: {err}"
        );
        assert!(
            err.to_string().contains("prerestore_"),
            "{fault:?}: names the pre-restore backup: {err}"
        );
        assert_eq!(sqlite3_integrity(&inst.data.database()), "ok", "{fault:?}");
        assert_eq!(
            content_digest(&inst.data.database(), None),
            old,
            "{fault:?} {mode:?}: not the old content"
        );
        let log = std::fs::read_to_string(inst.data.logs().join("restore.log")).unwrap();
        let logged = if fault == FaultPoint::MidSwap {
            "nothing to roll back"
        } else {
            "Rolled back"
        };
        assert!(log.contains(logged), "{fault:?}: {log}");
        assert!(inst.leftovers().is_empty());
    }
}

/// `backupdesk restore` with no name, on a real terminal (a pty from
/// `script`): a numbered list, a pick, a typed confirmation.
fn interactive_restore(inst: &Installation, answers: &str) -> (bool, String) {
    let command = format!(
        "{} --data-dir {} --passphrase-file {} restore",
        assert_cmd::cargo::cargo_bin("backupdesk").display(),
        inst.root().display(),
        inst.passphrase_file.display()
    );
    let mut child = Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("script (bsdutils) gives the CLI a terminal");
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(answers.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn interactive_restore_picks_from_a_numbered_list_and_asks_to_type_restore() {
    let inst = Installation::demo(2 * MIB, JournalMode::Wal);
    let name = inst.backup();
    change_live(&inst.data.database(), "interactive");
    let before = inst.fingerprint();

    let (ok, screen) = interactive_restore(&inst, "1\nno\n");
    assert!(!ok, "{screen}");
    assert!(
        screen.contains(&format!("1) {name}")),
        "a numbered list: {screen}"
    );
    assert!(screen.contains("Type RESTORE to continue"), "{screen}");
    assert!(
        screen.contains("not confirmed; nothing was changed"),
        "{screen}"
    );
    assert_eq!(inst.fingerprint(), before);

    let (ok, screen) = interactive_restore(&inst, "7\n");
    assert!(
        !ok && screen.contains("is not a number from the list"),
        "{screen}"
    );
    assert_eq!(inst.fingerprint(), before);

    let (ok, screen) = interactive_restore(&inst, "1\nRESTORE\n");
    assert!(ok, "{screen}");
    assert!(screen.contains(&format!("Restored {name}")), "{screen}");
    let tags: i64 = rusqlite::Connection::open(inst.data.database())
        .unwrap()
        .query_row(
            "SELECT count(*) FROM tags WHERE name = 'interactive'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(tags, 0, "the backup's content is live");
}
