//! The hostile and unlucky inputs of issue 12 that were not handled, kept
//! as tests, grouped by what they attack. Each asserts the specific error
//! (or the careful behaviour) and that the live database and every backup
//! are as they must be afterwards.

use std::time::{Duration, Instant};

use backupdesk_core::ErrorKind;
use backupdesk_core::clock::SystemClock;
use backupdesk_core::crypto::Passphrase;
use backupdesk_core::demo::JournalMode;
use backupdesk_core::progress::NoProgress;
use backupdesk_core::restore::{RestoreOptions, restore};

use crate::support::*;

fn tag_rows(db: &std::path::Path, prefix: &str) -> i64 {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.query_row(
        "SELECT count(*) FROM tags WHERE name LIKE ?1 || '%'",
        [prefix],
        |r| r.get(0),
    )
    .unwrap()
}

mod concurrency {
    use super::*;

    /// Case 1: a writer holds the live database longer than the swap waits.
    /// The copy gives up, SQLite rolls its half-done copy back, and nothing
    /// of ours is in the live database: a "rollback" from the older safety
    /// snapshot would only destroy what the service committed meanwhile.
    #[test]
    fn a_restore_that_gives_up_on_a_locked_database_keeps_what_the_service_committed() {
        let inst = Installation::demo(4 * MIB, JournalMode::Wal);
        let name = inst.backup();
        change_live(&inst.data.database(), "before-restore");
        let before = content_digest(&inst.data.database(), None);
        let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
        let (locked_tx, locked_rx) = std::sync::mpsc::channel::<()>();
        let db = inst.data.database();
        let writer = std::thread::spawn(move || {
            let conn = rusqlite::Connection::open(&db).unwrap();
            conn.execute_batch(
                "BEGIN EXCLUSIVE;
                 INSERT INTO tags (name, color) VALUES ('committed-meanwhile-1', '#1');
                 INSERT INTO tags (name, color) VALUES ('committed-meanwhile-2', '#2');",
            )
            .unwrap();
            locked_tx.send(()).unwrap();
            // The service keeps its lock until the restore has given up.
            let _ = done_rx.recv_timeout(Duration::from_secs(120));
            conn.execute_batch("COMMIT").unwrap();
        });
        locked_rx.recv().unwrap();
        let options = RestoreOptions {
            busy_wait: Some(Duration::from_secs(2)),
            ..RestoreOptions::default()
        };
        let err = restore(
            &inst.data,
            &name,
            &Passphrase::new(PASSPHRASE.to_owned()),
            &options,
            &SystemClock,
            &NoProgress,
        )
        .unwrap_err();
        done_tx.send(()).unwrap();
        writer.join().unwrap();
        assert_eq!(err.kind(), "swap_failed_unchanged", "{err}");
        let text = err.to_string();
        assert!(
            text.contains("locked")
                && text.contains("was not changed")
                && text.contains("prerestore_"),
            "{text}"
        );
        assert_eq!(
            tag_rows(&inst.data.database(), "committed-meanwhile"),
            2,
            "the rows the service committed during the restore are there"
        );
        let mut expected = before;
        expected.remove("tags");
        let mut after = content_digest(&inst.data.database(), None);
        after.remove("tags");
        assert_eq!(after, expected, "everything else is as before the restore");
        assert_eq!(sqlite3_integrity(&inst.data.database()), "ok");
    }
}

mod service_commands {
    use super::*;

    /// Case 5: the start command fails after it started the service. The
    /// checked restore stays in place (a rollback underneath the running
    /// service would lose what it writes); the failure is reported.
    #[test]
    fn a_failing_start_command_never_rolls_back_a_checked_restore() {
        let inst = Installation::demo(2 * MIB, JournalMode::Delete);
        let name = inst.backup();
        let expected = {
            let plain = inst.dir.path().join("expected.db");
            gpg_decrypt_to(PASSPHRASE, &inst.backup_path(&name), &plain);
            content_digest(&plain, None)
        };
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
}
