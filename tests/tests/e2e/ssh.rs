//! SSH profiles against a real `sshd` on 127.0.0.1: `profile install`
//! puts this build on "the server", then every verb runs there with the
//! same JSON and exit codes as locally; the passphrase travels on the
//! channel's stdin only; host-key, login and engine problems are each a
//! clear error.

use std::path::{Path, PathBuf};
use std::process::Command;

use backupdesk_core::local::demo::JournalMode;

use crate::support::*;

/// The laptop's side: its own config folder and SSH client config.
pub(crate) struct Laptop {
    pub(crate) config: tempfile::TempDir,
    pub(crate) ssh_config: PathBuf,
}

impl Laptop {
    pub(crate) fn new(ssh_config: PathBuf) -> Self {
        Laptop {
            config: tempfile::tempdir().unwrap(),
            ssh_config,
        }
    }

    pub(crate) fn cli(&self, args: &[&str]) -> Command {
        let mut cmd = backupdesk();
        cmd.env("BACKUPDESK_CONFIG_DIR", self.config.path())
            .env("BACKUPDESK_SSH_CONFIG", &self.ssh_config)
            .env(
                "DBUS_SESSION_BUS_ADDRESS",
                "unix:path=/nonexistent/no-keychain-here",
            )
            .args(args);
        cmd
    }

    pub(crate) fn json(&self, args: &[&str]) -> (i32, serde_json::Value) {
        let mut cmd = self.cli(args);
        cmd.arg("--json");
        run_json(cmd)
    }

    pub(crate) fn add(&self, name: &str, destination: &str, root: &Path, engine: &Path) {
        let (code, out) = self.json(&[
            "profile",
            "add",
            name,
            "--ssh",
            destination,
            "--data-dir",
            &root.display().to_string(),
            "--engine",
            &engine.display().to_string(),
        ]);
        assert_eq!(code, 0, "{out:#}");
    }
}

pub(crate) fn engine_path(sshd: &Sshd) -> PathBuf {
    sshd.dir.path().join("server home/bin/backupdesk")
}

/// A server (a real sshd) whose installation is the laptop's SSH profile
/// `srv`, its engine installed there.
pub(crate) struct Served {
    pub(crate) sshd: Sshd,
    pub(crate) inst: Installation,
    pub(crate) laptop: Laptop,
}

pub(crate) fn served(size: u64) -> Served {
    let sshd = Sshd::start();
    let inst = Installation::demo(size, JournalMode::Wal);
    let laptop = Laptop::new(sshd.trusting_config());
    laptop.add("srv", "sm-test", inst.root(), &engine_path(&sshd));
    assert_eq!(laptop.json(&["profile", "install", "srv", "--yes"]).0, 0);
    Served { sshd, inst, laptop }
}

#[test]
fn ssh_install_then_every_verb_answers_as_it_does_locally() {
    let sshd = Sshd::start();
    let inst = Installation::demo(MIB, JournalMode::Wal);
    let first = inst.backup();
    let laptop = Laptop::new(sshd.trusting_config());
    let engine = engine_path(&sshd);
    laptop.add("srv", "sm-test", inst.root(), &engine);
    let pass = inst.passphrase_file.display().to_string();

    // Before the install: a clear error, nothing run.
    let (code, out) = laptop.json(&["--profile", "srv", "list"]);
    assert_eq!(
        (code, out["error"]["kind"].as_str()),
        (1, Some("engine_missing")),
        "{out:#}"
    );

    let (code, out) = laptop.json(&["profile", "install", "srv", "--yes"]);
    assert_eq!(code, 0, "{out:#}");
    assert!(
        out["version"].as_str().unwrap().ends_with("(json 1)"),
        "{out:#}"
    );
    assert!(engine.is_file());

    // Read-only verbs: the same document as on the folder itself.
    for verb in [vec!["list"], vec!["storage"], vec!["health"]] {
        let (lc, local) = inst.json(&verb);
        let mut args = vec!["--profile", "srv"];
        args.extend(verb.iter().copied());
        let (rc, remote) = laptop.json(&args);
        assert_eq!(lc, rc, "{verb:?}: exit codes");
        if verb == ["list"] {
            assert_eq!(local, remote, "{verb:?}");
        } else {
            same_shape(&remote, &local, verb[0]).unwrap();
        }
        println!("ssh: {verb:?} over SSH = locally (exit {rc})");
    }
    for verb in [
        vec!["verify", first.as_str()],
        vec!["verify", first.as_str(), "--deep"],
    ] {
        let (lc, local) = inst.json(&verb);
        let mut args = vec!["--profile", "srv", "--passphrase-file", &pass];
        args.extend(verb.iter().copied());
        let (rc, remote) = laptop.json(&args);
        assert_eq!((lc, rc), (0, 0), "{remote:#}");
        same_shape(&remote, &local, "verify").unwrap();
        assert_eq!(remote["checksum_sha256"], local["checksum_sha256"]);
    }
    let (code, out) = laptop.json(&[
        "--profile",
        "srv",
        "verify",
        "no-such.db.gpg",
        "--passphrase-file",
        &pass,
    ]);
    let (local_code, local_out) = inst.json(&["verify", "no-such.db.gpg"]);
    assert_eq!(
        (code, out["error"]["kind"].clone()),
        (local_code, local_out["error"]["kind"].clone())
    );

    // A backup over SSH; the passphrase never shows in a process list.
    let passphrase = std::fs::read_to_string(&inst.passphrase_file).unwrap();
    let passphrase = passphrase.trim().to_owned();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let sampler = {
        let (stop, passphrase) = (stop.clone(), passphrase.clone());
        std::thread::spawn(move || {
            let mut samples = 0;
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                let ps = Command::new("ps").args(["-eo", "args"]).output().unwrap();
                assert!(
                    !String::from_utf8_lossy(&ps.stdout).contains(&passphrase),
                    "the passphrase is in the process list"
                );
                samples += 1;
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            samples
        })
    };
    let (code, made) = laptop.json(&["--profile", "srv", "--passphrase-file", &pass, "backup"]);
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let samples = sampler.join().unwrap();
    assert_eq!(code, 0, "{made:#}");
    let second = made["filename"].as_str().unwrap().to_owned();
    assert!(inst.backup_path(&second).is_file());
    println!("ssh: backup over SSH, {samples} process lists sampled, no passphrase in any");

    // The server's progress comes back as it happens (here passed on as
    // lines, as the app will ask for them; a terminal gets bars).
    let out = laptop
        .cli(&[
            "--profile",
            "srv",
            "--passphrase-file",
            &pass,
            "--progress-lines",
            "--json",
            "verify",
            &second,
            "--deep",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let events: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stderr)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v.get("progress").is_some())
        .collect();
    let phases: Vec<&str> = events.iter().filter_map(|e| e["phase"].as_str()).collect();
    assert!(
        phases.contains(&"decrypt") && phases.contains(&"integrity_check"),
        "{events:?}"
    );
    assert!(
        events.iter().any(|e| e["progress"] == "advance"),
        "{events:?}"
    );
    println!(
        "ssh: deep verify over SSH streamed {} progress events ({phases:?})",
        events.len()
    );

    // A restore over SSH puts the backup's content back.
    let live = inst.data.database();
    let expected = {
        let out = inst.dir.path().join("expected.db");
        gpg_decrypt_to(&passphrase, &inst.backup_path(&second), &out);
        content_digest(&out, None)
    };
    change_live(&live, "changed-after-the-backup");
    let (code, done) = laptop.json(&[
        "--profile",
        "srv",
        "--passphrase-file",
        &pass,
        "--yes",
        "restore",
        &second,
    ]);
    assert_eq!(code, 0, "{done:#}");
    assert_eq!(content_digest(&live, None), expected);
    let (code, listed) = laptop.json(&["--profile", "srv", "list"]);
    assert_eq!(code, 0);
    assert!(listed.to_string().contains("prerestore_"), "{listed:#}");

    // The fleet reads an SSH profile as it reads the others.
    let (code, fleet) = laptop.json(&["fleet"]);
    let tile = &fleet["tiles"][0];
    assert_eq!(tile["profile"], "srv", "{fleet:#}");
    assert_eq!(
        tile["location"],
        format!("ssh://sm-test{}", inst.root().display()),
        "{fleet:#}"
    );
    assert_eq!(tile["from_cache"], false, "{fleet:#}");
    assert_eq!(tile["healthy"], true, "{fleet:#}");
    assert!(tile["backup_count"].as_u64().unwrap() >= 2, "{fleet:#}");
    assert_ne!(tile["status"], "unknown", "{fleet:#}");
    assert!(code == 0 || code == 1, "{fleet:#}");
    println!(
        "ssh: the fleet reads srv over SSH: status {}",
        tile["status"]
    );

    // Nothing secret on the server's files or the laptop's config.
    for root in [inst.root(), laptop.config.path()] {
        assert_eq!(files_holding(root, &passphrase), Vec::<PathBuf>::new());
    }
}

#[test]
fn ssh_problems_are_each_a_clear_error() {
    let sshd = Sshd::start();
    let inst = Installation::demo(MIB, JournalMode::Wal);
    let engine = engine_path(&sshd);
    let trusting = Laptop::new(sshd.trusting_config());
    trusting.add("srv", "sm-test", inst.root(), &engine);
    assert_eq!(trusting.json(&["profile", "install", "srv", "--yes"]).0, 0);

    // An unknown host key: refused, with the fingerprint to check.
    let empty = sshd.dir.path().join("empty_known_hosts");
    std::fs::write(&empty, "").unwrap();
    let stranger = Laptop::new(sshd.client_config("stranger_config", &empty));
    stranger.add("srv", "sm-test", inst.root(), &engine);
    let (code, out) = stranger.json(&["--profile", "srv", "list"]);
    assert_eq!(
        (code, out["error"]["kind"].as_str()),
        (1, Some("host_key_unknown")),
        "{out:#}"
    );
    let message = out["error"]["message"].as_str().unwrap();
    assert!(message.contains(&sshd.fingerprint()), "{message}");
    assert_eq!(
        std::fs::read_to_string(&empty).unwrap(),
        "",
        "never accepted by itself"
    );

    // A changed host key: refused, the new fingerprint named.
    let other = sshd.dir.path().join("other_key");
    Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&other)
        .status()
        .unwrap();
    let wrong = sshd.dir.path().join("wrong_known_hosts");
    std::fs::write(
        &wrong,
        format!(
            "[127.0.0.1]:{} {}",
            sshd.port,
            std::fs::read_to_string(other.with_extension("pub")).unwrap()
        ),
    )
    .unwrap();
    let fooled = Laptop::new(sshd.client_config("fooled_config", &wrong));
    fooled.add("srv", "sm-test", inst.root(), &engine);
    let (code, out) = fooled.json(&["--profile", "srv", "list"]);
    assert_eq!(
        (code, out["error"]["kind"].as_str()),
        (1, Some("host_key_changed")),
        "{out:#}"
    );
    assert!(
        out["error"]["message"]
            .as_str()
            .unwrap()
            .contains(&sshd.fingerprint())
    );

    // A user the server does not know.
    trusting.add("nobody", "nobody@sm-test", inst.root(), &engine);
    let (code, out) = trusting.json(&["--profile", "nobody", "list"]);
    assert_eq!(
        (code, out["error"]["kind"].as_str()),
        (1, Some("login_failed")),
        "{out:#}"
    );

    // An engine of another version.
    let old = sshd.dir.path().join("old-backupdesk");
    std::fs::write(&old, "#!/bin/sh\necho 'backupdesk 0.0.9 (json 0)'\n").unwrap();
    std::fs::set_permissions(&old, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    trusting.add("old", "sm-test", inst.root(), &old);
    let (code, out) = trusting.json(&["--profile", "old", "list"]);
    assert_eq!(
        (code, out["error"]["kind"].as_str()),
        (1, Some("engine_incompatible")),
        "{out:#}"
    );
    assert!(out["error"]["message"].as_str().unwrap().contains("0.0.9"));

    // No keychain on the laptop and no passphrase given: said plainly.
    let (code, out) = trusting.json(&["--profile", "srv", "backup"]);
    assert_ne!(code, 0, "{out:#}");
    assert!(
        out["error"]["message"]
            .as_str()
            .unwrap()
            .contains("--passphrase-file"),
        "{out:#}"
    );
    assert!(
        std::fs::read_dir(inst.data.backups())
            .unwrap()
            .next()
            .is_none(),
        "no backup made"
    );
}

#[test]
fn ssh_a_restore_cut_off_from_this_machine_finishes_there_and_is_reported_next_time() {
    use std::os::unix::process::CommandExt;
    let Served { sshd, inst, laptop } = served(4 * MIB);
    let engine = engine_path(&sshd);
    let backup = inst.backup();
    // The same engine, its swap paused half-way (a test-hooks build).
    let paused = sshd.dir.path().join("paused-backupdesk");
    std::fs::write(
        &paused,
        format!(
            "#!/bin/sh\nBACKUPDESK_TEST_SWAP_PAUSE_MS=3000 exec '{}' \"$@\"\n",
            engine.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&paused, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    laptop.add("slow", "sm-test", inst.root(), &paused);

    let live = inst.data.database();
    let passphrase = std::fs::read_to_string(&inst.passphrase_file).unwrap();
    let expected = {
        let out = inst.dir.path().join("expected.db");
        gpg_decrypt_to(passphrase.trim(), &inst.backup_path(&backup), &out);
        content_digest(&out, None)
    };
    change_live(&live, "changed-after-the-backup");
    let before = content_digest(&live, None);
    let pass = inst.passphrase_file.display().to_string();
    let mut restore = laptop.cli(&[
        "--profile",
        "slow",
        "--passphrase-file",
        &pass,
        "--yes",
        "--json",
        "restore",
        &backup,
    ]);
    let mut restore = restore.process_group(0).spawn().unwrap();
    // The safety backup is made just before the swap: then cut the laptop
    // off (its backupdesk and its ssh client killed).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !std::fs::read_dir(inst.data.backups())
        .unwrap()
        .flatten()
        .any(|e| e.file_name().to_string_lossy().starts_with("prerestore_"))
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the restore never began"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    std::thread::sleep(std::time::Duration::from_millis(500));
    Command::new("kill")
        .args(["-KILL", "--", &format!("-{}", restore.id())])
        .status()
        .unwrap();
    let _ = restore.wait();

    // On the server the restore goes on; the database is old or new at
    // every look, never a mix, and ends new.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let mut looks = 0;
    loop {
        let now = content_digest(&live, None);
        assert!(now == before || now == expected, "a mix of old and new");
        looks += 1;
        if now == expected {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the restore never finished on the server"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(sqlite3_integrity(&live), "ok");
    println!(
        "ssh: restore finished on the server after the laptop was cut off ({looks} looks, none mixed)"
    );

    // The next call from the laptop says how it ended, once.
    std::thread::sleep(std::time::Duration::from_millis(500));
    let out = laptop
        .cli(&["--profile", "slow", "list", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let note = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        note.contains("restore") && note.contains("exit 0"),
        "{note}"
    );
    assert!(note.contains("\"target\""), "its answer is shown: {note}");
    let again = laptop
        .cli(&["--profile", "slow", "list", "--json"])
        .output()
        .unwrap();
    assert!(
        !String::from_utf8_lossy(&again.stderr).contains("note:"),
        "reported once"
    );
}

/// A restore through SSH while the server's service writes to its
/// database every 10 ms and a reader holds it open: the engine there swaps
/// inside SQLite's locking, and the live database holds the backup's
/// content (plus the samples written after the swap).
#[test]
fn ssh_a_restore_with_the_service_writing_on_the_server_puts_the_backup_back() {
    let Served {
        sshd: _server,
        inst,
        laptop,
    } = served(4 * MIB);
    let backup = inst.backup();
    let live = inst.data.database();
    let (expected, backup_max_id) = {
        let out = inst.dir.path().join("expected.db");
        gpg_decrypt_to(PASSPHRASE, &inst.backup_path(&backup), &out);
        (content_digest(&out, None), max_history_id(&out))
    };
    change_live(&live, "changed-after-the-backup");
    let reader = rusqlite::Connection::open(&live).unwrap();
    let _: i64 = reader
        .query_row("SELECT count(*) FROM tags", [], |r| r.get(0))
        .unwrap();
    let writer = start_writer(&live);

    let pass = inst.passphrase_file.display().to_string();
    let (code, out) = laptop.json(&[
        "--profile",
        "srv",
        "--passphrase-file",
        &pass,
        "--yes",
        "restore",
        &backup,
    ]);
    std::thread::sleep(std::time::Duration::from_millis(200));
    stop_writer(writer);
    assert_eq!(code, 0, "{out:#}");
    assert_eq!(
        out["report"]["swap"], "backup_api",
        "a database in use is swapped inside SQLite's locking: {out:#}"
    );
    assert_eq!(sqlite3_integrity(&live), "ok");
    assert_eq!(
        content_digest(&live, Some(backup_max_id)),
        expected,
        "the live database holds the backup's content"
    );
    let changed: i64 = reader
        .query_row(
            "SELECT count(*) FROM tags WHERE name = 'changed-after-the-backup'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(changed, 0, "the open reader sees the restored content");
    let pre = out["report"]["pre_restore_backup"].as_str().unwrap();
    assert!(inst.backup_path(pre).is_file(), "{pre}");
    println!("ssh: restore under a writer through SSH: swap backup_api, content equal, {pre} kept");
}

/// A profile with both SSH and the server's API: `login` keeps the API's
/// token in the keychain, the fleet reads health through the API, and a
/// restore goes through SSH only (the API is not asked to
/// restore, and hears nothing during it).
#[test]
fn ssh_a_profile_with_the_api_too_reads_through_the_api_and_restores_over_ssh() {
    use backupdesk_e2e::standin::{ADMIN, StandIn, StandInOptions};
    let sshd = Sshd::start();
    let inst = Installation::demo(MIB, JournalMode::Wal);
    let backup = inst.backup();
    let standin = StandIn::start(StandInOptions::new(inst.root(), PASSPHRASE));
    let engine = engine_path(&sshd);
    let password = inst.dir.path().join("password");
    std::fs::write(&password, format!("{}\n", ADMIN.1)).unwrap();
    let config = inst.dir.path().join("laptop");
    let script = format!(
        r#"set -e
export BACKUPDESK_CONFIG_DIR='{config}' BACKUPDESK_SSH_CONFIG='{ssh_config}'
"$B" profile add both --ssh sm-test --data-dir "$ROOT" --engine '{engine}' --url '{url}' --username {user}
"$B" profile list
"$B" profile install both --yes
"$B" login both --password-file '{password}'
"$B" fleet --json > "$OUT/fleet.json" || true
"$B" --profile both --passphrase-file "$PP" --yes --json restore {backup} > "$OUT/restore.json"
echo "restored"
"#,
        config = config.display(),
        ssh_config = sshd.trusting_config().display(),
        engine = engine.display(),
        url = standin.base_url,
        user = ADMIN.0,
        password = password.display(),
        backup = backup,
    );
    let (ok, text) = keyring_session(&inst, &[], &script);
    assert!(ok, "{text}");
    assert!(
        text.contains("(API http://127.0.0.1"),
        "profile list shows both: {text}"
    );
    assert_eq!(standin.login_requests(), 1, "{text}");
    let fleet: serde_json::Value =
        serde_json::from_slice(&std::fs::read(inst.dir.path().join("out/fleet.json")).unwrap())
            .unwrap();
    let tile = &fleet["tiles"][0];
    assert_eq!(tile["profile"], "both", "{fleet:#}");
    assert_eq!(tile["over_ssh"], true, "{fleet:#}");
    assert_eq!(tile["healthy"], true, "{fleet:#}");
    let through_api = standin.database_requests();
    // The fleet reads the list (over SSH: it has the verification records)
    // and health (through the API: one request).
    assert_eq!(through_api, 1, "the fleet's health through the API");
    let restored: serde_json::Value =
        serde_json::from_slice(&std::fs::read(inst.dir.path().join("out/restore.json")).unwrap())
            .unwrap();
    assert_eq!(restored["ok"], true, "{restored:#}");
    assert_eq!(
        restored["report"]["target"], "local",
        "the engine's own restore: {restored:#}"
    );
    assert_eq!(
        standin.database_requests(),
        through_api,
        "the restore never went to the API"
    );
    println!("ssh+api: fleet through the API ({through_api} requests), restore over SSH");
}

/// The verbs the first test does not cover, each through SSH against the
/// same installation run locally: the restore's and prune's dry runs,
/// drill, pin and unpin, the passphrase check, the schedule's status;
/// then a passphrase rotation through SSH (the old and the new passphrase
/// both on the channel's stdin): every backup then opens with the new one.
#[test]
fn ssh_the_other_verbs_answer_as_they_do_locally_and_rotation_works_through_ssh() {
    let Served { sshd, inst, laptop } = served(MIB);
    let first = inst.backup();
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let second = inst.backup();
    let pass = inst.passphrase_file.display().to_string();
    let over_ssh = |verb: &[&str]| {
        let mut args = vec!["--profile", "srv", "--passphrase-file", &pass];
        args.extend(verb.iter().copied());
        laptop.json(&args)
    };
    for verb in [
        vec!["restore", first.as_str(), "--dry-run"],
        vec!["prune", "--dry-run"],
        vec!["drill", first.as_str()],
        vec!["passphrase", "test"],
        vec!["schedule", "status"],
    ] {
        let (lc, local) = inst.json(&verb);
        let (rc, remote) = over_ssh(&verb);
        assert_eq!(lc, rc, "{verb:?}: {remote:#}");
        same_shape(&remote, &local, verb[0]).unwrap();
        println!("ssh: {verb:?} over SSH answers as locally (exit {rc})");
    }
    // The activity log, read there with the same filters (a search with a
    // space survives the remote command line).
    let activity = ["activity", "--search", "Backup created", "--log", "backup"];
    let (lc, local) = inst.json(&activity);
    let (rc, remote) = over_ssh(&activity);
    assert_eq!((lc, rc), (0, 0), "{remote:#}");
    assert_eq!(remote, local);
    let entries = remote["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 2, "{remote:#}");
    assert!(
        entries[0]["message"].as_str().unwrap().contains(&second),
        "{remote:#}"
    );
    let (lc, local) = inst.json(&["restore", first.as_str(), "--dry-run"]);
    let (_, remote) = over_ssh(&["restore", first.as_str(), "--dry-run"]);
    assert_eq!(lc, 0);
    assert_eq!(remote["plan"]["tables"], local["plan"]["tables"]);
    // Pin and unpin over SSH change the record there.
    let pinned = |name: &str| {
        let (_, list) = inst.json(&["list"]);
        list["backups"]
            .as_array()
            .unwrap()
            .iter()
            .find(|b| b["filename"] == name)
            .unwrap()["pinned"]
            .as_bool()
            .unwrap()
    };
    assert_eq!(over_ssh(&["pin", second.as_str()]).0, 0);
    assert!(pinned(&second));
    assert_eq!(over_ssh(&["unpin", second.as_str()]).0, 0);
    assert!(!pinned(&second));

    // Rotation through SSH.
    let new_file = inst.dir.path().join("new-passphrase");
    std::fs::write(&new_file, "the new one, rotated over SSH\n").unwrap();
    let out = laptop
        .cli(&[
            "--profile",
            "srv",
            "--passphrase-file",
            &pass,
            "--json",
            "passphrase",
            "rotate",
            "--new-passphrase-file",
            &new_file.display().to_string(),
        ])
        .output()
        .unwrap();
    let answer: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(out.status.success(), "{answer:#}");
    assert_eq!(answer["ok"], true, "{answer:#}");
    let note = String::from_utf8_lossy(&out.stderr);
    assert!(
        note.contains("passphrase set --profile srv"),
        "no keychain here, and it says how to store it: {note}"
    );
    for name in [&first, &second] {
        gpg_decrypt_to(
            "the new one, rotated over SSH",
            &inst.backup_path(name),
            &inst.dir.path().join(format!("{name}.db")),
        );
    }
    let (code, out) = inst
        .cli_with(&new_file, &["verify", "--all", "--json"])
        .output()
        .map(|o| {
            (
                o.status.code().unwrap_or(-1),
                String::from_utf8_lossy(&o.stdout).into_owned(),
            )
        })
        .unwrap();
    assert_eq!(code, 0, "{out}");
    for dir in [inst.root(), sshd.dir.path(), laptop.config.path()] {
        assert!(
            files_holding(dir, "the new one, rotated over SSH").is_empty(),
            "{}",
            dir.display()
        );
    }
}
