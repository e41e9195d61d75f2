//! Issue 27, the SSH channel: secrets with line breaks, a laptop cut off
//! from a rotation, an install onto a full disk, answers larger than a
//! pipe, a server that hangs, an operation that died on the server, the
//! passphrase check of a server that keeps none. Each against the test
//! sshd on 127.0.0.1, with this build installed as the server's engine
//! (or a wrapper around it that misbehaves as the case needs).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::*;
use crate::ssh::{Laptop, Served, engine_path, served};

/// A shell script at `path` (mode 0755).
fn script(path: &Path, body: &str) {
    std::fs::write(path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(path, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
}

/// The server's engine behind a wrapper at `name` in the sshd's folder:
/// for engine words matching the shell pattern `case` it first runs
/// `action` (which may `exec` something else), then the engine.
fn engine_wrapper(sshd: &Sshd, name: &str, case: &str, action: &str) -> PathBuf {
    let wrapper = sshd.dir.path().join(name);
    script(
        &wrapper,
        &format!(
            "case \"$*\" in {case}) {action};; esac\nexec '{}' \"$@\"",
            engine_path(sshd).display()
        ),
    );
    wrapper
}

/// The server's folder of detached operations (the SSH user's home there).
fn server_ops() -> PathBuf {
    let out = Command::new("sh")
        .args(["-c", "getent passwd \"$(id -un)\" | cut -d: -f6"])
        .output()
        .unwrap();
    PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
        .join(".local/state/backupdesk/ssh-ops")
}

/// The one operation the laptop has pending for any profile (its id).
fn pending_op(laptop: &Laptop) -> String {
    let ops = laptop.config.path().join("ssh-ops");
    std::fs::read_dir(&ops)
        .unwrap()
        .flatten()
        .flat_map(|profile| std::fs::read_dir(profile.path()).unwrap().flatten())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .find(|n| !n.ends_with(".rotation") && !n.ends_with(".owner") && !n.starts_with('.'))
        .expect("a pending operation is recorded")
}

/// Waits up to `secs` for `done`, else fails with `what`.
fn wait_for(secs: u64, what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !done() {
        assert!(Instant::now() < deadline, "{what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Cases 1 and 18: a passphrase with a line break (`$(pass show x)`,
/// whose second line is metadata) travels whole on the SSH channel: the
/// backup made over SSH opens with the whole passphrase and not with its
/// first line (before: only the first line reached the server). And
/// `passphrase test` over SSH tests this machine's passphrase against the
/// server's newest backup (before: the server's keychain, which servers
/// do not have, so it always failed).
#[test]
fn ssh_a_passphrase_with_a_line_break_travels_whole_and_is_tested_from_here() {
    let Served {
        sshd: _sshd,
        inst,
        laptop,
    } = served(MIB);
    let whole = "correct horse battery staple\nlogin: admin@example.org";
    let mut cmd = laptop.cli(&["--profile", "srv", "--json", "backup"]);
    cmd.env("DB_BACKUP_PASSPHRASE", whole);
    let (code, made) = run_json(cmd);
    assert_eq!(code, 0, "{made:#}");
    let name = made["filename"].as_str().unwrap().to_owned();
    let verify_with = |passphrase: &str| {
        let mut cmd = backupdesk();
        cmd.arg("--data-dir")
            .arg(inst.root())
            .args(["--json", "verify", &name, "--deep"])
            .env("DB_BACKUP_PASSPHRASE", passphrase);
        run_json(cmd)
    };
    let (code, out) = verify_with(whole);
    assert_eq!(code, 0, "the whole passphrase opens it: {out:#}");
    let (code, out) = verify_with("correct horse battery staple");
    assert_eq!(code, 1, "its first line alone must not open it: {out:#}");
    assert_eq!(out["error"]["kind"], "wrong_passphrase", "{out:#}");

    let mut cmd = laptop.cli(&["--profile", "srv", "--json", "passphrase", "test"]);
    cmd.env("DB_BACKUP_PASSPHRASE", whole);
    let (code, out) = run_json(cmd);
    assert_eq!(code, 0, "{out:#}");
    assert!(out["message"].as_str().unwrap().contains(&name), "{out:#}");
}

/// Case 2: a passphrase rotation over SSH whose laptop is killed while
/// the server rotates: the rotation completes there, and the next call
/// from the laptop reads its outcome and puts the new passphrase in this
/// machine's keychain (before: the keychain kept the old one, and every
/// later backup split the set). In a real keyring session.
#[test]
fn ssh_a_rotation_cut_off_from_the_laptop_updates_its_keychain_next_time() {
    let Served { sshd, inst, laptop } = served(2 * MIB);
    inst.backup();
    std::thread::sleep(Duration::from_millis(1100));
    inst.backup();
    let mark = sshd.dir.path().join("rotation-began");
    let wrapper = engine_wrapper(
        &sshd,
        "slow-rotation",
        "*rotate*",
        &format!("touch '{}'; sleep 3", mark.display()),
    );
    let new = inst.dir.path().join("new-passphrase");
    std::fs::write(&new, "the rotated passphrase, not yet in any keychain\n").unwrap();
    let (ok, out) = keyring_session(
        &inst,
        &[
            ("SSHCFG", laptop.ssh_config.as_os_str()),
            ("WRAP", wrapper.as_os_str()),
            ("MARK", mark.as_os_str()),
            ("NEW", new.as_os_str()),
            ("OPS", server_ops().as_os_str()),
        ],
        r#"set -e
export BACKUPDESK_CONFIG_DIR="$OUT/laptop" BACKUPDESK_SSH_CONFIG="$SSHCFG"
$B profile add srv --ssh sm-test --data-dir "$ROOT" --engine "$WRAP" >/dev/null
$B --profile srv passphrase set --passphrase-file "$PP"
setsid $B --profile srv passphrase rotate --new-passphrase-file "$NEW" --json >"$OUT/rotate.out" 2>"$OUT/rotate.err" &
pid=$!
for i in $(seq 1 600); do [ -f "$MARK" ] && break; sleep 0.05; done
[ -f "$MARK" ] || { echo "the rotation never began"; exit 1; }
kill -KILL -- -$pid 2>/dev/null || kill -KILL $pid
wait $pid 2>/dev/null || true
op=$(ls "$BACKUPDESK_CONFIG_DIR"/ssh-ops/*/ | grep -v rotation | head -1)
for i in $(seq 1 1200); do [ -f "$OPS/$op.code" ] && break; sleep 0.05; done
[ -f "$OPS/$op.code" ] || { echo "the rotation never finished on the server"; exit 1; }
echo "--- the next call"
$B --profile srv list --json >/dev/null
echo "--- verify with the keychain's passphrase"
$B --profile srv verify --all --deep --json >/dev/null
echo "verified with the keychain's passphrase"
"#,
    );
    assert!(ok, "{out}");
    assert!(
        out.contains("rotation") && out.contains("keychain now holds the new passphrase"),
        "the next call says what it did: {out}"
    );
    assert!(
        out.contains("verified with the keychain's passphrase"),
        "{out}"
    );
}

/// Case 6: `profile install` onto a full disk, an older engine in place:
/// a clear error, the older engine untouched, no part file left (before:
/// "Installed backupdesk OLD_VERSION", exit 0, a partial `.part`).
#[test]
fn ssh_an_install_that_cannot_be_written_says_so_and_changes_nothing() {
    let sshd = Sshd::start();
    let inst = Installation::demo(MIB, backupdesk_core::local::demo::JournalMode::Wal);
    let laptop = Laptop::new(sshd.trusting_config());
    let full = sshd.dir.path().join("tiny");
    let _tiny = mount_tmpfs(&full, "1m");
    let engine = full.join("backupdesk");
    let schema = backupdesk_core::targets::ssh::JSON_SCHEMA;
    script(
        &engine,
        &format!("echo 'backupdesk 0.0.1-old (json {schema})'"),
    );
    let before = std::fs::read(&engine).unwrap();
    laptop.add("srv", "sm-test", inst.root(), &engine);
    let (code, out) = laptop.json(&["profile", "install", "srv", "--yes"]);
    assert_eq!(code, 1, "{out:#}");
    assert_eq!(out["error"]["kind"], "ssh_failed", "{out:#}");
    let message = out["error"]["message"].as_str().unwrap();
    assert!(message.contains("cannot install"), "{message}");
    assert!(message.contains("No space left"), "{message}");
    assert_eq!(
        std::fs::read(&engine).unwrap(),
        before,
        "the old engine is untouched"
    );
    let left: Vec<_> = std::fs::read_dir(&full)
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert_eq!(
        left,
        vec![std::ffi::OsString::from("backupdesk")],
        "no part file left"
    );
}

/// Case 10: an answer larger than a pipe's buffer (a `list --json` of a
/// server keeping many backups, with a chatty stderr) comes back whole
/// (before: the relay read stderr to its end before stdout and both sides
/// waited for ever).
#[test]
fn ssh_an_answer_larger_than_a_pipe_comes_back_whole() {
    let Served { sshd, inst, laptop } = served(MIB);
    inst.backup();
    let (code, listed) = inst.json(&["list"]);
    assert_eq!(code, 0);
    let one = listed["backups"][0].clone();
    let many: Vec<serde_json::Value> = (0..1500)
        .map(|i| {
            let mut item = one.clone();
            item["filename"] = format!("sm_backup_{i:05}.db.gpg").into();
            item
        })
        .collect();
    let mut big = listed.clone();
    big["backups"] = many.into();
    let answer = sshd.dir.path().join("big-list.json");
    std::fs::write(&answer, serde_json::to_vec(&big).unwrap()).unwrap();
    assert!(std::fs::metadata(&answer).unwrap().len() > 256 * 1024);
    let wrapper = sshd.dir.path().join("big-lister");
    script(
        &wrapper,
        &format!(
            "case \" $* \" in *' list '*) head -c 200000 /dev/zero | tr '\\0' x >&2; echo >&2; cat '{}'; exit 0;; esac\nexec '{}' \"$@\"",
            answer.display(),
            engine_path(&sshd).display()
        ),
    );
    laptop.add("big", "sm-test", inst.root(), &wrapper);
    let mut cmd = laptop.cli(&["--profile", "big", "--json", "list"]);
    cmd.stdin(Stdio::null());
    let out = output_within(60, cmd);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let back: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(back["backups"].as_array().unwrap().len(), 1500);
    assert!(
        out.stderr.len() < 200_000,
        "the flood of stderr is not all kept: {} bytes",
        out.stderr.len()
    );
}

/// Case 17: an operation that died on the server without writing its exit
/// code (a reboot, a kill) is reported as ended without an answer, once
/// (before: "still running" on every call, for ever).
#[test]
fn ssh_an_operation_that_died_on_the_server_is_reported_once() {
    use std::os::unix::process::CommandExt;
    let Served { sshd, inst, laptop } = served(MIB);
    let mark = sshd.dir.path().join("backup-began");
    let wrapper = engine_wrapper(
        &sshd,
        "stuck-backup",
        "*' backup'*",
        &format!("touch '{}'; exec sleep 60", mark.display()),
    );
    laptop.add("stuck", "sm-test", inst.root(), &wrapper);
    let pass = inst.passphrase_file.display().to_string();
    let mut backup = laptop.cli(&["--profile", "stuck", "--passphrase-file", &pass, "backup"]);
    let mut backup = backup
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .unwrap();
    wait_for(30, "the backup never began", || mark.exists());
    Command::new("kill")
        .args(["-KILL", "--", &format!("-{}", backup.id())])
        .status()
        .unwrap();
    let _ = backup.wait();
    // The server goes down under it: its operation's shell and engine die.
    let op = pending_op(&laptop);
    let pid_file = server_ops().join(format!("{op}.pid"));
    wait_for(10, "the operation's shell recorded its PID", || {
        pid_file.exists()
    });
    let pid = std::fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .to_owned();
    Command::new("kill")
        .args(["-KILL", "--", &format!("-{pid}")])
        .status()
        .unwrap();
    wait_for(10, "the operation's shell is gone", || {
        !Path::new(&format!("/proc/{pid}")).exists()
    });

    let out = laptop
        .cli(&["--profile", "stuck", "list", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let note = String::from_utf8_lossy(&out.stderr);
    assert!(note.contains("without an answer"), "{note}");
    assert!(!note.contains("still running"), "{note}");
    let again = laptop
        .cli(&["--profile", "stuck", "list", "--json"])
        .output()
        .unwrap();
    assert!(
        !String::from_utf8_lossy(&again.stderr).contains("note:"),
        "reported once: {}",
        String::from_utf8_lossy(&again.stderr)
    );
}

/// Case 17, while the laptop waits: an engine killed on the server under a
/// waiting call (by a signal: its shell says so; with its shell: no exit
/// code at all) is reported by that call (exit 1, "without an answer",
/// its last words), and not again by the next one; the server keeps no
/// record of it.
#[test]
fn ssh_an_engine_killed_while_the_laptop_waits_is_reported_by_that_call_only() {
    let Served { sshd, inst, laptop } = served(MIB);
    let pid_file = sshd.dir.path().join("engine-pid");
    let wrapper = engine_wrapper(
        &sshd,
        "killed-backup",
        "*' backup'*",
        &format!(
            "echo 'about to be killed' >&2; echo $$ >'{}.part'; mv '{0}.part' '{0}'; exec sleep 60",
            pid_file.display()
        ),
    );
    laptop.add("killed", "sm-test", inst.root(), &wrapper);
    let pass = inst.passphrase_file.display().to_string();
    // The engine alone (its shell writes 137), then its whole group.
    for (target, says) in [("", "stopped by signal 9"), ("-", "about to be killed")] {
        let _ = std::fs::remove_file(&pid_file);
        let backup = laptop
            .cli(&["--profile", "killed", "--passphrase-file", &pass, "backup"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        wait_for(30, "the engine never began", || pid_file.exists());
        let pid = std::fs::read_to_string(&pid_file)
            .unwrap()
            .trim()
            .to_owned();
        let group = Command::new("ps")
            .args(["-o", "pgid=", "-p", &pid])
            .output()
            .unwrap();
        let group = String::from_utf8_lossy(&group.stdout).trim().to_owned();
        let op = pending_op(&laptop);
        let victim = if target.is_empty() {
            pid
        } else {
            format!("-{group}")
        };
        Command::new("kill")
            .args(["-KILL", "--", &victim])
            .status()
            .unwrap();
        let out = backup.wait_with_output().unwrap();
        let said = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{said}");
        assert!(said.contains("without an answer"), "{said}");
        assert!(said.contains(says), "{said}");

        let again = laptop
            .cli(&["--profile", "killed", "list", "--json"])
            .output()
            .unwrap();
        assert!(again.status.success());
        assert!(
            !String::from_utf8_lossy(&again.stderr).contains("note:"),
            "reported once: {}",
            String::from_utf8_lossy(&again.stderr)
        );
        let left: Vec<_> = std::fs::read_dir(server_ops())
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.contains(&op))
            .collect();
        assert!(left.is_empty(), "the server forgot it: {left:?}");
    }
}

/// Case 8: a server whose folder for Backup Desk's answers has no room is
/// told before anything runs: a clear error, no backup made (before: the
/// backup was made, and the laptop got exit 2 with the engine's panic
/// text and no JSON).
#[test]
fn ssh_a_server_with_no_room_for_the_answer_is_told_before_anything_runs() {
    let home = tempfile::tempdir().unwrap();
    let _full = mount_tmpfs(home.path(), "1m");
    let ops = home.path().join(".local/state/backupdesk/ssh-ops");
    std::fs::create_dir_all(&ops).unwrap();
    // Filled up to the last few KiB.
    let _ = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "head -c 2000000 /dev/zero > '{}/filler' 2>/dev/null",
            home.path().display()
        ))
        .status();
    let sshd = Sshd::start_with_home(home.path());
    let inst = Installation::demo(MIB, backupdesk_core::local::demo::JournalMode::Wal);
    let laptop = Laptop::new(sshd.trusting_config());
    laptop.add("srv", "sm-test", inst.root(), &engine_path(&sshd));
    let (code, out) = laptop.json(&["profile", "install", "srv", "--yes"]);
    assert_eq!(code, 0, "{out:#}");
    let pass = inst.passphrase_file.display().to_string();
    let (code, out) = laptop.json(&["--profile", "srv", "--passphrase-file", &pass, "backup"]);
    assert_eq!(code, 1, "{out:#}");
    assert_eq!(out["error"]["kind"], "ssh_failed", "{out:#}");
    assert!(
        out["error"]["message"]
            .as_str()
            .unwrap()
            .contains("no room"),
        "{out:#}"
    );
    assert!(
        std::fs::read_dir(inst.data.backups())
            .map(|d| d.count() == 0)
            .unwrap_or(true),
        "no backup made"
    );
}

/// Case 11: the fleet's `--timeout` bounds an SSH server for its whole
/// tile, however many calls it takes: a server whose engine takes 3 s
/// more for every call (each within an 8 s limit, three of them past it) is
/// reported busy after about 8 s, one that hangs likewise, and the other
/// servers are read as usual (before: `backupdesk fleet` never ended). The
/// limit leaves a healthy server's three calls room on a loaded machine (a
/// CI run beside the window tests once took over 4 s for them).
#[test]
fn ssh_a_hung_server_never_holds_the_fleet_past_its_timeout() {
    let Served { sshd, inst, laptop } = served(MIB);
    let slow = sshd.dir.path().join("slow-engine");
    script(
        &slow,
        &format!("sleep 3; exec '{}' \"$@\"", engine_path(&sshd).display()),
    );
    laptop.add("slow", "sm-test", inst.root(), &slow);
    let hung = sshd.dir.path().join("hung-engine");
    script(
        &hung,
        &format!(
            "case \"$*\" in *--version*) exec '{}' \"$@\";; esac\nexec sleep 120",
            engine_path(&sshd).display()
        ),
    );
    laptop.add("hung", "sm-test", inst.root(), &hung);
    let started = Instant::now();
    let mut fleet = laptop.cli(&["fleet", "--timeout", "8", "--json"]);
    fleet.stdin(Stdio::null());
    let out = output_within(60, fleet);
    let took = started.elapsed();
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    let tile = |name: &str| {
        doc["tiles"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["profile"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("no tile {name}: {doc:#}"))
    };
    // The hung one's list never comes: its tile is the timeout. The slow
    // one's limit runs out at its second or third call (the machine's
    // speed decides which): its list, or its health, is the timeout.
    assert_eq!(tile("hung")["error_kind"], "timeout", "{doc:#}");
    let slow = tile("slow");
    let said_timeout = slow["problems"].as_array().unwrap().iter().any(|p| {
        p["message"]
            .as_str()
            .unwrap()
            .contains("did not answer over SSH within 8 s")
    });
    assert!(said_timeout, "{doc:#}");
    assert_ne!(slow["healthy"], true, "{doc:#}");
    assert_eq!(tile("srv")["healthy"], true, "{doc:#}");
    assert_eq!(out.status.code(), Some(1), "{doc:#}");
    // Had each call its own 8 s, the slow server would be read healthy
    // after three calls of about 3 s each (asserted not, above); the hung
    // one holds nobody past the limit.
    assert!(took < Duration::from_secs(12), "{took:?}");
}

/// Case 9: operations cut off from their answer are recorded by the exact
/// profile name: profiles `p.x` and `px` on one server never settle or
/// report each other's (before: `.` was dropped from the record's name,
/// so a call on `px` reported, and forgot, the operation of `p.x`).
#[test]
fn ssh_profiles_whose_names_differ_by_a_dot_keep_their_own_cut_off_operations() {
    use std::os::unix::process::CommandExt;
    let Served { sshd, inst, laptop } = served(MIB);
    let mark = sshd.dir.path().join("slow-backup-began");
    let slow = engine_wrapper(
        &sshd,
        "slow-backup",
        "*' backup'*",
        &format!("touch '{}'; sleep 3", mark.display()),
    );
    laptop.add("p.x", "sm-test", inst.root(), &slow);
    laptop.add("px", "sm-test", inst.root(), &engine_path(&sshd));
    let pass = inst.passphrase_file.display().to_string();
    let mut backup = laptop.cli(&["--profile", "p.x", "--passphrase-file", &pass, "backup"]);
    let mut backup = backup
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .unwrap();
    wait_for(30, "the backup never began", || mark.exists());
    Command::new("kill")
        .args(["-KILL", "--", &format!("-{}", backup.id())])
        .status()
        .unwrap();
    let _ = backup.wait();
    let op = pending_op(&laptop);

    let other = laptop
        .cli(&["--profile", "px", "list", "--json"])
        .output()
        .unwrap();
    assert!(other.status.success());
    let said = String::from_utf8_lossy(&other.stderr);
    assert!(
        !said.contains(&op) && !said.contains("note:"),
        "px reported p.x's: {said}"
    );
    assert_eq!(pending_op(&laptop), op, "px left p.x's record alone");

    // p.x's own call reports it (running, or finished since).
    wait_for(30, "the server's operation ended", || {
        !server_ops().join(format!("{op}.pid")).exists()
            || server_ops().join(format!("{op}.code")).exists()
    });
    let own = laptop
        .cli(&["--profile", "p.x", "list", "--json"])
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&own.stderr);
    assert!(said.contains(&op), "p.x reports its own: {said}");
}

/// Case 7: two laptops (here two processes that are each PID 1 of their
/// own PID namespace, as two containers' cron jobs are) starting detached
/// operations on one server in the same second each get their own answer
/// (before: the operation id was the time and the PID, so both shared the
/// server's answer files: one got the other's answer, the other none).
#[test]
fn ssh_two_laptops_that_are_both_pid_1_get_their_own_answers() {
    let Served {
        sshd: _sshd,
        inst,
        laptop,
    } = served(MIB);
    let pass = inst.passphrase_file.display().to_string();
    let mut names = Vec::new();
    for _ in 0..2 {
        let (code, out) = laptop.json(&["--profile", "srv", "--passphrase-file", &pass, "backup"]);
        assert_eq!(code, 0, "{out:#}");
        names.push(out["filename"].as_str().unwrap().to_owned());
        std::thread::sleep(Duration::from_millis(1100));
    }
    // Both started at once, each PID 1 in a namespace of its own.
    let as_pid_1 = |name: &str| {
        let inner = laptop.cli(&[
            "--profile",
            "srv",
            "--passphrase-file",
            &pass,
            "--json",
            "verify",
            name,
        ]);
        let mut cmd = Command::new("unshare");
        cmd.args(["--pid", "--fork", "--"])
            .arg(inner.get_program())
            .args(inner.get_args())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (key, value) in inner.get_envs() {
            match value {
                Some(value) => cmd.env(key, value),
                None => cmd.env_remove(key),
            };
        }
        cmd.spawn().unwrap()
    };
    let first = as_pid_1(&names[0]);
    let second = as_pid_1(&names[1]);
    for (child, name) in [(first, &names[0]), (second, &names[1])] {
        let out = child.wait_with_output().unwrap();
        let json: serde_json::Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{name}: {e}: {}", String::from_utf8_lossy(&out.stderr)));
        assert_eq!(out.status.code(), Some(0), "{name}: {json:#}");
        assert_eq!(
            json["report"]["filename"],
            name.as_str(),
            "its own answer: {json:#}"
        );
    }
}
