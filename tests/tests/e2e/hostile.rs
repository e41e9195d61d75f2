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

mod files {
    use super::*;

    /// Case 4: a damaged ledger (it holds the pins) stops pruning, the
    /// automatic one after a backup too, and is never overwritten.
    #[test]
    fn a_damaged_ledger_never_lets_a_pinned_backup_be_pruned() {
        let inst = Installation::demo(MIB, JournalMode::Wal);
        let pinned = inst.backup();
        assert_eq!(inst.json(&["pin", &pinned]).0, 0);
        std::thread::sleep(Duration::from_millis(1100));
        inst.backup();
        let ledger = inst.data.state().join("ledger.json");
        std::fs::write(&ledger, "{ damaged").unwrap();
        let (code, out) = inst.json(&[
            "prune",
            "--keep-last",
            "1",
            "--keep-daily",
            "0",
            "--keep-weekly",
            "0",
            "--keep-monthly",
            "0",
            "--yes",
        ]);
        assert_eq!(code, 1, "{out:#}");
        assert_eq!(out["error"]["kind"], "ledger_damaged", "{out:#}");
        // The automatic prune after a backup is skipped with a warning.
        std::thread::sleep(Duration::from_millis(1100));
        let (code, out) = inst.json(&["backup"]);
        assert_eq!(code, 0, "{out:#}");
        assert!(out.to_string().contains("damaged"), "{out:#}");
        assert!(
            inst.backup_path(&pinned).exists(),
            "the pinned backup is still there"
        );
        assert_eq!(
            std::fs::read_to_string(&ledger).unwrap(),
            "{ damaged",
            "never overwritten"
        );
        // Pinning is refused too rather than writing a new, empty ledger.
        let (code, out) = inst.json(&["unpin", &pinned]);
        assert_eq!(code, 1, "{out:#}");
    }

    /// Case 9: a FIFO named like a `.meta` does not hang anything.
    #[test]
    fn a_fifo_named_like_a_meta_hangs_nothing() {
        let inst = Installation::demo(MIB, JournalMode::Wal);
        let name = inst.backup();
        let meta = inst.backup_path(&name.replace(".db.gpg", ".db.meta"));
        std::fs::remove_file(&meta).unwrap();
        let status = std::process::Command::new("mkfifo")
            .arg(&meta)
            .status()
            .unwrap();
        assert!(status.success());
        let started = Instant::now();
        let (code, out) = inst.json(&["list"]);
        assert_eq!(code, 0, "{out:#}");
        assert!(
            out["backups"][0]["meta_problem"]
                .as_str()
                .unwrap()
                .contains("not a regular file"),
            "{out:#}"
        );
        assert_eq!(inst.json(&["storage"]).0, 0);
        std::thread::sleep(Duration::from_millis(1100));
        let (code, out) = inst.json(&["backup"]);
        assert_eq!(code, 0, "{out:#}");
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "{:?}",
            started.elapsed()
        );
    }

    /// Case 6: a live database that is a symlink is restored into the file
    /// it points to; the link stays a link.
    #[test]
    fn a_symlinked_live_database_is_restored_into_its_target() {
        let inst = Installation::demo(MIB, JournalMode::Delete);
        let name = inst.backup();
        let expected = {
            let plain = inst.dir.path().join("expected.db");
            gpg_decrypt_to(PASSPHRASE, &inst.backup_path(&name), &plain);
            content_digest(&plain, None)
        };
        let real = inst.dir.path().join("real-servers.db");
        std::fs::rename(inst.data.database(), &real).unwrap();
        std::os::unix::fs::symlink(&real, inst.data.database()).unwrap();
        change_live(&real, "after-backup");
        let (code, out) = inst.json(&["restore", &name, "--yes"]);
        assert_eq!(code, 0, "{out:#}");
        assert!(
            std::fs::symlink_metadata(inst.data.database())
                .unwrap()
                .file_type()
                .is_symlink(),
            "the link stays"
        );
        assert_eq!(
            content_digest(&real, None),
            expected,
            "the real file holds the backup"
        );
        assert!(
            out["report"]["warnings"]
                .to_string()
                .contains("symbolic link"),
            "{out:#}"
        );
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

    /// Case 19: staged plaintext copies are 0600 whatever the umask.
    #[test]
    fn a_staged_snapshot_is_private_whatever_the_umask() {
        use std::os::unix::fs::PermissionsExt;
        let inst = Installation::demo(MIB, JournalMode::Delete);
        let dest = inst.dir.path().join("copy-snapshot.db");
        backupdesk_core::snapshot::take_snapshot(&inst.data.database(), &dest, &NoProgress)
            .unwrap();
        let mode = std::fs::metadata(&dest).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
}

mod passphrase {
    use super::*;

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
}

mod remote {
    use super::*;
    use backupdesk_core::remote::RemoteServer;

    /// Cases 2 and 3/17: a login answered with a 307 elsewhere is not
    /// followed (the password stays here); URLs with credentials, queries,
    /// fragments, bad ports or paths are refused; the plain-http warning
    /// judges the real host.
    #[test]
    fn redirects_are_never_followed_and_urls_are_checked() {
        use std::io::{Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let evil = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let evil_addr = evil.local_addr().unwrap();
        evil.set_nonblocking(true).unwrap();
        let server = std::thread::spawn(move || {
            let (mut stream, _) = listener.accept().unwrap();
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf);
            let answer = format!(
                "HTTP/1.0 307 Temporary Redirect\r\nLocation: http://{evil_addr}/api/auth/login\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            );
            stream.write_all(answer.as_bytes()).unwrap();
        });
        let client = RemoteServer::new(&format!("http://{addr}"), "admin", None).unwrap();
        let err = client.login("the-admin-password").unwrap_err();
        server.join().unwrap();
        assert_eq!(err.kind(), "redirected", "{err}");
        assert!(err.to_string().contains(&evil_addr.to_string()), "{err}");
        std::thread::sleep(Duration::from_millis(200));
        assert!(evil.accept().is_err(), "nothing reached the other origin");

        for bad in [
            "http://admin:secret@monitor.example.org:9083",
            "https://monitor.example.org:99999",
            "https://monitor.example.org/#frag",
            "https://monitor.example.org/?q=1",
            "https://monitor example.org",
            "ftp://monitor.example.org",
            "https://monitor.example.org/api",
        ] {
            let err = RemoteServer::new(bad, "admin", None)
                .map(|_| ())
                .unwrap_err();
            assert_eq!(err.kind(), "invalid_url", "{bad}: {err}");
            assert!(!err.to_string().contains("secret"), "{err}");
            let scratch = tempfile::tempdir().unwrap();
            let out = backupdesk()
                .env("BACKUPDESK_CONFIG_DIR", scratch.path())
                .args([
                    "--json",
                    "profile",
                    "add",
                    "x",
                    "--url",
                    bad,
                    "--username",
                    "admin",
                ])
                .output()
                .unwrap();
            assert_eq!(out.status.code(), Some(1), "{bad}");
            let text = String::from_utf8_lossy(&out.stdout);
            assert!(
                text.contains("invalid_url") && !text.contains("secret"),
                "{bad}: {text}"
            );
            assert!(!scratch.path().join("profiles.toml").exists());
        }
        use backupdesk_core::remote::insecure_url;
        assert!(insecure_url("http://127.0.0.1@evil.example/"));
        assert!(insecure_url("http://127.evil.example/"));
        assert!(!insecure_url("http://127.0.0.2:9083"));
        assert!(!insecure_url("http://[::1]:9083"));
    }
}

mod folders {
    use super::*;

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
}

mod remote_bodies {
    use super::*;
    use backupdesk_core::remote::RemoteServer;

    /// Case 10: an endless answer is cut at the limit, not read into memory.
    #[test]
    fn an_endless_server_answer_is_refused_at_the_limit() {
        use std::io::{Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let server = std::thread::spawn(move || {
            let (mut stream, _) = listener.accept().unwrap();
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf);
            let _ = stream.write_all(
                b"HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n{\"backups\": [",
            );
            let chunk = vec![b' '; 1 << 20];
            // At most 256 MiB, and only while the client reads.
            for _ in 0..256 {
                if stream.write_all(&chunk).is_err() {
                    break;
                }
            }
        });
        let client = RemoteServer::new(&format!("http://{addr}"), "admin", None).unwrap();
        client.set_token("t");
        let err = client.list().unwrap_err();
        server.join().unwrap();
        assert_eq!(err.kind(), "bad_response", "{err}");
        assert!(err.to_string().contains("larger than 32 MiB"), "{err}");
    }
}

mod concurrent_prune {
    use super::*;
    use backupdesk_core::catalog::BackupCatalog;
    use backupdesk_core::ledger::{Ledger, VerifyDepth};

    /// Case 12: a backup pruned while `verify --all` runs is not recorded
    /// as failed (it is gone, which is no fault of a backup).
    #[test]
    fn a_backup_removed_during_verify_is_not_recorded_as_failed() {
        let inst = Installation::demo(MIB, JournalMode::Wal);
        let name = inst.backup();
        let catalog = BackupCatalog::scan(&inst.data).unwrap();
        let entry = catalog.find(&name).unwrap().clone();
        // The prune runs between the listing and this backup's turn.
        std::fs::remove_file(&entry.path).unwrap();
        let err = backupdesk_core::verify::verify_entry(
            &inst.data,
            &entry,
            &Passphrase::new(PASSPHRASE.to_owned()),
            VerifyDepth::Deep,
            &SystemClock,
            &NoProgress,
        )
        .unwrap_err();
        assert!(!err.is_backup_fault(), "{err}");
        assert!(
            !Ledger::read(&inst.data)
                .unwrap()
                .verifications
                .contains_key(&name)
        );
    }
}

mod damaged_live {
    use super::*;

    /// Case 7: a restore over a damaged live database (the disaster a
    /// restore exists for) goes ahead: the damaged file is kept as it was,
    /// encrypted, as the safety copy, and the report says so.
    #[test]
    fn a_restore_over_a_damaged_live_database_keeps_it_as_is_and_restores() {
        for damage in ["not sqlite", "malformed pages"] {
            let inst = Installation::demo(MIB, JournalMode::Delete);
            let name = inst.backup();
            let expected = {
                let plain = inst.dir.path().join("expected.db");
                gpg_decrypt_to(PASSPHRASE, &inst.backup_path(&name), &plain);
                content_digest(&plain, None)
            };
            let live = inst.data.database();
            if damage == "not sqlite" {
                std::fs::write(&live, "<html>this file was overwritten</html>".repeat(100))
                    .unwrap();
            } else {
                // A valid header, garbage pages after it.
                let mut bytes = std::fs::read(&live).unwrap();
                for b in bytes.iter_mut().skip(100).take(64 * 1024) {
                    *b = 0xA5;
                }
                std::fs::write(&live, &bytes).unwrap();
            }
            let damaged = std::fs::read(&live).unwrap();
            let (code, out) = inst.json(&["restore", &name, "--yes"]);
            assert_eq!(code, 0, "{damage}: {out:#}");
            assert_eq!(content_digest(&live, None), expected, "{damage}");
            let warnings = out["report"]["warnings"].to_string();
            assert!(warnings.contains("damaged"), "{damage}: {out:#}");
            let pre = out["report"]["pre_restore_backup"].as_str().unwrap();
            let kept = inst.dir.path().join("kept.db");
            gpg_decrypt_to(PASSPHRASE, &inst.backup_path(pre), &kept);
            assert_eq!(
                std::fs::read(&kept).unwrap(),
                damaged,
                "{damage}: kept byte for byte"
            );
        }
    }
}
