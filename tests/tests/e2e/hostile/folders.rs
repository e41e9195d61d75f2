//! Folders: unreadable, unwritable, full, stricter than ours, linked
//! elsewhere, or not there at all.

use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::process::Command;

use super::*;

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

/// Case 8: symlinks inside the data folder are never followed: a linked
/// log is not appended to, a linked backups or state folder is not
/// chmod-ed (the operation fails with a clear error), a linked lock file
/// is not created at its target.
#[test]
fn symlinks_inside_the_data_folder_are_never_followed() {
    use std::os::unix::fs::PermissionsExt;
    let inst = Installation::demo(MIB, JournalMode::Wal);
    let elsewhere = inst.dir.path().join("elsewhere");
    std::fs::create_dir_all(&elsewhere).unwrap();
    std::fs::set_permissions(&elsewhere, std::fs::Permissions::from_mode(0o755)).unwrap();
    let victim = elsewhere.join("victim.txt");
    std::fs::write(&victim, "untouched\n").unwrap();
    std::fs::create_dir_all(inst.data.logs()).unwrap();
    std::os::unix::fs::symlink(&victim, inst.data.logs().join("backup.log")).unwrap();
    assert_eq!(inst.json(&["backup"]).0, 0);
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "untouched\n");

    // data/.backupdesk as a link to another folder: refused, not chmod-ed.
    let state = inst.data.state();
    std::fs::remove_dir_all(&state).unwrap();
    std::os::unix::fs::symlink(&elsewhere, &state).unwrap();
    std::thread::sleep(Duration::from_millis(1100));
    let (code, out) = inst.json(&["backup"]);
    assert_eq!(code, 1, "{out:#}");
    assert!(
        out["error"]["message"]
            .as_str()
            .unwrap()
            .contains("symbolic link"),
        "{out:#}"
    );
    let mode = std::fs::metadata(&elsewhere).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o755, "the link's target keeps its mode");
    assert!(!elsewhere.join("lock").exists());
    std::fs::remove_file(&state).unwrap();

    // data/backups as a link: refused the same way.
    let backups = inst.data.backups();
    let moved = inst.dir.path().join("moved-backups");
    std::fs::rename(&backups, &moved).unwrap();
    std::os::unix::fs::symlink(&elsewhere, &backups).unwrap();
    let (code, out) = inst.json(&["backup"]);
    assert_eq!(code, 1, "{out:#}");
    assert_eq!(
        std::fs::metadata(&elsewhere).unwrap().permissions().mode() & 0o777,
        0o755
    );
}

/// The installation's paths are the wrong kind of thing: the data dir is a
/// file, `data/backups` is a file, the live database is a folder or a FIFO.
/// Each is refused with its kind; nothing is created or changed.
#[test]
fn paths_of_the_wrong_kind_are_refused_with_their_kind() {
    // The --data-dir is a file.
    let scratch = tempfile::tempdir().unwrap();
    let file = scratch.path().join("server-monitor");
    std::fs::write(&file, "not a folder").unwrap();
    for args in [&["list"][..], &["backup"][..]] {
        let out = backupdesk()
            .arg("--data-dir")
            .arg(&file)
            .arg("--json")
            .args(args)
            .env("DB_BACKUP_PASSPHRASE", PASSPHRASE)
            .output()
            .unwrap();
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(
            (out.status.code(), json["error"]["kind"].as_str()),
            (Some(1), Some("not_an_installation")),
            "{args:?}: {json:#}"
        );
    }
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "not a folder");

    // data/backups is a file.
    let inst = Installation::demo(MIB, JournalMode::Wal);
    std::fs::remove_dir(inst.data.backups()).unwrap();
    std::fs::write(inst.data.backups(), "a file").unwrap();
    assert_fails(&inst, &["list"], "backup_folder_unreadable");
    assert_fails(&inst, &["backup"], "backup_folder_not_writable");
    assert_eq!(
        std::fs::read_to_string(inst.data.backups()).unwrap(),
        "a file"
    );

    // The live database is a folder, then a FIFO.
    let inst = Installation::demo(MIB, JournalMode::Wal);
    let live = inst.data.database();
    std::fs::remove_file(&live).unwrap();
    std::fs::create_dir(&live).unwrap();
    assert_fails(&inst, &["backup"], "not_a_sqlite_database");
    std::fs::remove_dir(&live).unwrap();
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&live)
            .status()
            .unwrap()
            .success()
    );
    let started = std::time::Instant::now();
    assert_fails(&inst, &["backup"], "not_a_sqlite_database");
    assert!(started.elapsed() < std::time::Duration::from_secs(30));
    tally("folders (wrong kinds)", 5);
}

/// Case 16: an admin's stricter backups folder (0500) is not loosened.
#[test]
fn a_read_only_backups_folder_is_left_as_the_admin_set_it() {
    use std::os::unix::fs::PermissionsExt;
    let inst = Installation::demo(MIB, JournalMode::Wal);
    inst.backup();
    let backups = inst.data.backups();
    std::fs::set_permissions(&backups, std::fs::Permissions::from_mode(0o500)).unwrap();
    let _ = inst.json(&["list"]);
    let _ = inst.json(&["backup"]);
    let mode = std::fs::metadata(&backups).unwrap().permissions().mode() & 0o777;
    std::fs::set_permissions(&backups, std::fs::Permissions::from_mode(0o700)).unwrap();
    assert_eq!(mode, 0o500);
}

/// Case 15: a mistyped `--data-dir` is an error, and nothing is created there.
#[test]
fn a_mistyped_data_dir_is_an_error_and_creates_nothing() {
    let scratch = tempfile::tempdir().unwrap();
    let typo = scratch.path().join("server-monitr");
    for args in [&["list"][..], &["backup"][..], &["prune", "--dry-run"][..]] {
        let out = backupdesk()
            .arg("--data-dir")
            .arg(&typo)
            .arg("--json")
            .args(args)
            .env("DB_BACKUP_PASSPHRASE", PASSPHRASE)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(
            json["error"]["kind"], "not_an_installation",
            "{args:?}: {json:#}"
        );
    }
    assert!(!typo.exists(), "nothing was created at the typo");
}
