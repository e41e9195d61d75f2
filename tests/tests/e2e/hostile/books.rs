//! Issue 27, the config books: a profile book edited by hand with names
//! that carry terminal escapes or line breaks, and books that are FIFOs.

use std::process::Stdio;

use super::*;

/// A config folder holding a profile book with one local profile, whose
/// name is then replaced by `name` as a hand edit would.
fn book_with_profile_named(inst: &Installation, name: &str) -> std::path::PathBuf {
    let config = inst.dir.path().join("config");
    let mut cmd = inst.cli(&["profile", "add", "plain", "--local"]);
    cmd.arg(inst.root()).env("BACKUPDESK_CONFIG_DIR", &config);
    assert!(cmd.output().unwrap().status.success());
    let book = config.join("profiles.toml");
    let text = std::fs::read_to_string(&book).unwrap();
    let quoted = toml_quote(name);
    let edited = text.replacen("plain", &quoted, 1);
    assert_ne!(edited, text, "{text}");
    std::fs::write(&book, edited).unwrap();
    config
}

/// `name` as a TOML basic string's inside (control characters as \uXXXX).
fn toml_quote(name: &str) -> String {
    let inner: String = name
        .chars()
        .map(|c| match c {
            c if c.is_control() => format!("\\u{:04X}", u32::from(c)),
            '"' => "\\\"".to_owned(),
            c => c.to_string(),
        })
        .collect();
    format!("\"{inner}\"")
}

/// Case 21: names from a hand-edited book are printed with their control
/// characters escaped: no escape sequence reaches the terminal and no
/// line break forges an output line (before: printed raw).
#[test]
fn books_hostile_profile_names_never_reach_the_terminal_raw() {
    let (inst, _) = installation_with_backup();
    let hostile = "evil\u{1b}]0;pwned\u{7}\u{1b}[2J\nOK: every backup verified";
    let config = book_with_profile_named(&inst, hostile);
    let mut cases = 0;
    for args in [
        vec!["profile", "list"],
        vec!["profile", "show", hostile],
        vec!["--profile", hostile, "list"],
        vec!["--profile", "nope\u{1b}[2J", "list"],
        vec!["fleet", "--cached"],
    ] {
        let out = backupdesk()
            .args(&args)
            .env("BACKUPDESK_CONFIG_DIR", &config)
            .env("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/none")
            .output()
            .unwrap();
        for (stream, bytes) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
            let text = String::from_utf8_lossy(bytes);
            assert!(
                !text.contains('\u{1b}') && !text.contains('\u{7}'),
                "{args:?}: a raw control character on {stream}: {text:?}"
            );
            assert!(
                !text
                    .lines()
                    .any(|l| l.starts_with("OK: every backup verified")),
                "{args:?}: a forged line on {stream}: {text:?}"
            );
        }
        cases += 1;
    }
    tally("books: hostile names", cases);
}

/// Case 15: a profile book or a location book that is a FIFO is refused
/// at once with a clear error (before: the CLI hung on it; `backup` made
/// its backup, then hung on the location book).
#[test]
fn books_that_are_fifos_are_refused_at_once() {
    let (inst, _) = installation_with_backup();
    let config = inst.dir.path().join("config");
    std::fs::create_dir_all(&config).unwrap();
    for book in ["profiles.toml", "offsite.toml"] {
        let path = config.join(book);
        let made = std::process::Command::new("mkfifo")
            .arg(&path)
            .status()
            .unwrap();
        assert!(made.success());
    }
    for (args, expect_ok) in [
        (vec!["profile", "list"], false),
        (vec!["offsite", "list"], false),
        (vec!["backup"], true),
    ] {
        let mut cmd = inst.cli(&args);
        cmd.arg("--json")
            .env("BACKUPDESK_CONFIG_DIR", &config)
            .env("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/none")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let child = cmd.spawn().unwrap();
        let id = child.id();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(child.wait_with_output());
        });
        let out = match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(out) => out.unwrap(),
            Err(_) => {
                let _ = std::process::Command::new("kill")
                    .args(["-KILL", &id.to_string()])
                    .status();
                panic!("{args:?} hangs on a FIFO book");
            }
        };
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        if expect_ok {
            assert_eq!(out.status.code(), Some(0), "{json:#}");
        } else {
            assert_eq!(out.status.code(), Some(1), "{json:#}");
            let message = json["error"]["message"].as_str().unwrap();
            assert!(message.contains("not a regular file"), "{message}");
        }
    }
    tally("books: FIFOs", 3);
}

/// The same fault class, swept: every file that holds a secret (an API
/// password, an SSH key's passphrase) is read as the passphrase file is,
/// bounded: a FIFO nobody writes to is given up on, `/dev/zero` is refused
/// at its first 4 KiB (before: a FIFO hung `login` and `offsite add` for
/// ever; `/dev/zero` was read until memory ran out).
#[test]
fn secret_files_that_are_fifos_or_endless_are_refused_in_bounded_time() {
    let inst = Installation::empty();
    let config = inst.dir.path().join("config");
    let fifo = inst.dir.path().join("secret-fifo");
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let mut cmd = inst.cli(&[
        "profile",
        "add",
        "lab",
        "--url",
        "http://127.0.0.1:9",
        "--username",
        "admin",
    ]);
    cmd.env("BACKUPDESK_CONFIG_DIR", &config);
    assert!(cmd.output().unwrap().status.success());
    let fifo = fifo.display().to_string();
    let key = inst.dir.path().join("id_ed25519");
    std::fs::write(&key, "not read: the passphrase file is refused first").unwrap();
    let key = key.display().to_string();
    let cases: [(Vec<&str>, &str); 4] = [
        (vec!["login", "lab", "--password-file", &fifo], "within"),
        (
            vec!["login", "lab", "--password-file", "/dev/zero"],
            "line end",
        ),
        (
            vec![
                "offsite",
                "add",
                "far",
                "--sftp",
                "u@127.0.0.1:/x",
                "--identity",
                &key,
                "--key-passphrase-file",
                &fifo,
            ],
            "within",
        ),
        (
            vec![
                "offsite",
                "add",
                "far",
                "--sftp",
                "u@127.0.0.1:/x",
                "--identity",
                &key,
                "--key-passphrase-file",
                "/dev/zero",
            ],
            "line end",
        ),
    ];
    for (args, says) in cases {
        let mut cmd = inst.cli(&args);
        // (The FIFO is given up on after 1 s here, not 10: the same
        // refusal, sooner.)
        cmd.arg("--json")
            .env("BACKUPDESK_CONFIG_DIR", &config)
            .env("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/none")
            .env("BACKUPDESK_TEST_PIPE_WAIT_S", "1");
        let out = output_within(60, cmd);
        let json: serde_json::Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{args:?}: {e}: {}", String::from_utf8_lossy(&out.stderr)));
        assert_eq!(out.status.code(), Some(1), "{args:?}: {json:#}");
        let message = json["error"]["message"].as_str().unwrap();
        assert!(message.contains(says), "{args:?}: {message}");
    }
    tally("secret files: FIFOs and endless", 4);
}

/// Case 19: a fleet cache that is a link to another SQLite database (here
/// a copy of the live one) is never written through: the fleet answers
/// from a cache of its own, the linked database is byte for byte as it
/// was, with no journal beside it (before: the fleet's tables, WAL mode
/// and `user_version` were written into it).
#[test]
fn a_fleet_cache_linked_to_another_database_is_never_written_through() {
    let (inst, _) = installation_with_backup();
    let config = inst.dir.path().join("config");
    let mut add = inst.cli(&["profile", "add", "here", "--local"]);
    add.arg(inst.root()).env("BACKUPDESK_CONFIG_DIR", &config);
    assert!(add.output().unwrap().status.success());
    let precious = inst.dir.path().join("precious.db");
    std::fs::copy(inst.data.database(), &precious).unwrap();
    let before = sha256_file(&precious);
    std::os::unix::fs::symlink(&precious, config.join("fleet-cache.sqlite3")).unwrap();

    let mut fleet = inst.cli(&["fleet", "--json"]);
    fleet
        .env("BACKUPDESK_CONFIG_DIR", &config)
        .env("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/none");
    let out = output_within(60, fleet);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    assert_eq!(json["tiles"][0]["profile"], "here", "{json:#}");
    assert_eq!(sha256_file(&precious), before, "written through the link");
    for companion in ["precious.db-wal", "precious.db-shm"] {
        assert!(!inst.dir.path().join(companion).exists(), "{companion}");
    }
    assert!(
        !config
            .join("fleet-cache.sqlite3")
            .symlink_metadata()
            .unwrap()
            .is_symlink(),
        "the cache is a file of its own now"
    );
    tally("books: fleet cache links", 1);
}
