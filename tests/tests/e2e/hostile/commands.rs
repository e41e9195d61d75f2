//! Service commands: `--stop-cmd` and `--start-cmd` that fail, hang,
//! leave daemons behind or would see the passphrase.

use super::*;

/// Case 5: the start command fails after it started the service. The
/// checked restore stays in place (a rollback underneath the running
/// service would lose what it writes); the failure is reported.
#[test]
fn a_failing_start_command_never_rolls_back_a_checked_restore() {
    let inst = Installation::demo(2 * MIB, JournalMode::Delete);
    let name = inst.backup();
    let expected = backup_content(&inst, &name);
    change_live(&inst.data.database(), "after-backup");
    let (code, out) = inst.json(&[
        "restore",
        &name,
        "--yes",
        "--stop-cmd",
        "true",
        "--start-cmd",
        "echo started-but-says-no >&2; exit 3",
    ]);
    assert_eq!(code, 0, "{out:#}");
    let warnings = out["report"]["warnings"].to_string();
    assert!(
        warnings.contains("start command") && warnings.contains("started-but-says-no"),
        "{out:#}"
    );
    assert_eq!(content_digest(&inst.data.database(), None), expected);
    let log = std::fs::read_to_string(inst.data.logs().join("restore.log")).unwrap();
    assert!(!log.contains("Rolled back"), "{log}");
}

/// Case 18: the stop and start commands do not inherit the passphrase.
#[test]
fn service_commands_never_see_the_passphrase() {
    let inst = Installation::demo(MIB, JournalMode::Wal);
    let name = inst.backup();
    let env_file = inst.dir.path().join("stop.env");
    let out = backupdesk()
        .args(["--data-dir"])
        .arg(inst.root())
        .args(["restore", &name, "--yes", "--stop-cmd"])
        .arg(format!("env > {}", env_file.display()))
        .args(["--start-cmd", "true"])
        .env("DB_BACKUP_PASSPHRASE", PASSPHRASE)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let env = std::fs::read_to_string(&env_file).unwrap();
    assert!(env.contains("PATH="), "the command ran: {env}");
    assert!(
        !env.contains(PASSPHRASE) && !env.contains("DB_BACKUP_PASSPHRASE"),
        "{env}"
    );
}

/// Case 11: a start command that forks a daemon keeping stdout open, or
/// one that never ends, cannot hold the restore (and its lock).
#[test]
fn a_start_command_that_leaves_a_daemon_behind_does_not_hang_the_restore() {
    let inst = Installation::demo(MIB, JournalMode::Wal);
    let name = inst.backup();
    let started = Instant::now();
    let (code, out) = inst.json(&[
        "restore",
        &name,
        "--yes",
        "--stop-cmd",
        "true",
        "--start-cmd",
        "sleep 600 &",
    ]);
    assert_eq!(code, 0, "{out:#}");
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "{:?}",
        started.elapsed()
    );
    let _ = std::process::Command::new("pkill")
        .args(["-f", "^sleep 600$"])
        .status();
    // The lock is free: the next operation runs at once.
    assert_eq!(inst.json(&["list"]).0, 0);
}
