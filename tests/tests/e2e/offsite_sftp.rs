//! Off-site copies in an SFTP folder on a real OpenSSH server on
//! 127.0.0.1 (`internal-sftp`, generated host and user keys): the host key
//! pinned when the location is added, every copy read back and hashed
//! before it counts, quick and deep verify, prune, a disaster recovery
//! from the folder alone, a push killed mid-copy resumed from the verified
//! prefix under a bandwidth limit, and the clear errors (changed host key,
//! read-only and full folders).

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use backupdesk_core::local::demo::JournalMode;

use crate::offsite::{Machine, cli, json, named, save_policy};
use crate::support::*;

/// `offsite add NAME --sftp USER@127.0.0.1:FOLDER` with the server's port
/// and user key.
fn sftp_add_args(sshd: &Sshd, name: &str, folder: &Path) -> Vec<String> {
    vec![
        "offsite".into(),
        "add".into(),
        name.into(),
        "--sftp".into(),
        format!("{}@127.0.0.1:{}", sshd.user, folder.display()),
        "--port".into(),
        sshd.port.to_string(),
        "--identity".into(),
        sshd.user_key().display().to_string(),
    ]
}

/// [`sftp_add_args`] run on `inst`'s machine.
pub(crate) fn add_sftp(
    inst: &Installation,
    sshd: &Sshd,
    name: &str,
    folder: &Path,
) -> (i32, serde_json::Value) {
    let args = sftp_add_args(sshd, name, folder);
    json(inst, &args.iter().map(String::as_str).collect::<Vec<_>>())
}

pub(crate) fn folder_of(sshd: &Sshd) -> PathBuf {
    let folder = sshd.dir.path().join("offsite-copies");
    std::fs::create_dir_all(&folder).unwrap();
    folder
}

fn names_in(folder: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(folder)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn verdicts(out: &serde_json::Value) -> Vec<(String, String, bool)> {
    out["locations"][0]["copies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["name"].as_str().unwrap().to_owned(),
                c["depth"].as_str().unwrap().to_owned(),
                c["ok"].as_bool().unwrap(),
            )
        })
        .collect()
}

#[test]
fn offsite_an_sftp_folder_is_pushed_verified_pruned_and_restored_from() {
    let sshd = Sshd::start();
    let folder = folder_of(&sshd);
    let inst = Installation::demo(4 * MIB, JournalMode::Wal);
    let older = inst.backup();
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let newest = inst.backup();

    // Added: the host key pinned in Backup Desk's own known_hosts.
    let (code, out) = add_sftp(&inst, &sshd, "far", &folder);
    assert_eq!(code, 0, "{out:#}");
    assert_eq!(out["keys"], "ssh_key", "{out:#}");
    let pinned =
        std::fs::read_to_string(inst.dir.path().join("config/offsite/known_hosts")).unwrap();
    let host_key = std::fs::read_to_string(sshd.dir.path().join("host_key.pub")).unwrap();
    let key_body = host_key.split_whitespace().nth(1).unwrap();
    assert!(pinned.contains(key_body), "{pinned}");
    let (code, out) = json(&inst, &["offsite", "test", "far"]);
    assert_eq!(code, 0, "{out:#}");
    assert_eq!(out["deleted"], true, "{out:#}");

    // Pushed: byte for byte, read back before it counts, no temporary left.
    let (code, out) = json(&inst, &["offsite", "push"]);
    assert_eq!(code, 0, "{out:#}");
    assert_eq!(
        out["locations"][0]["copied"].as_array().unwrap().len(),
        4,
        "{out:#}"
    );
    let mut expected = vec![
        older.clone(),
        older.replace(".gpg", ".meta"),
        newest.clone(),
        newest.replace(".gpg", ".meta"),
    ];
    expected.sort();
    assert_eq!(names_in(&folder), expected);
    for name in &expected {
        assert_eq!(
            std::fs::read(folder.join(name)).unwrap(),
            std::fs::read(inst.backup_path(name)).unwrap()
        );
    }
    let plain = inst.dir.path().join("far.db");
    gpg_decrypt_to(PASSPHRASE, &folder.join(&newest), &plain);
    assert_eq!(sqlite3_integrity(&plain), "ok");
    let (code, out) = json(&inst, &["offsite", "push"]);
    assert_eq!(code, 0, "{out:#}");
    assert!(
        out["locations"][0]["copied"].as_array().unwrap().is_empty(),
        "{out:#}"
    );

    // Quick (sizes), deep (read back, decrypted, checked).
    let (code, out) = json(&inst, &["offsite", "verify"]);
    assert_eq!(code, 0, "{out:#}");
    assert_eq!(
        verdicts(&out),
        vec![
            (newest.clone(), "quick".into(), true),
            (older.clone(), "quick".into(), true)
        ]
    );
    let (code, out) = json(&inst, &["offsite", "verify", "--deep", "--all"]);
    assert_eq!(code, 0, "{out:#}");
    assert_eq!(
        verdicts(&out),
        vec![
            (newest.clone(), "deep".into(), true),
            (older.clone(), "deep".into(), true)
        ]
    );

    // Altered there (same size): only the deep check can tell, and does;
    // cut short: the quick one does.
    let local_before = inst.fingerprint();
    let mut bytes = std::fs::read(folder.join(&older)).unwrap();
    bytes[2000] ^= 1;
    std::fs::write(folder.join(&older), &bytes).unwrap();
    let (code, out) = json(&inst, &["offsite", "verify", "--deep", "--all"]);
    assert_eq!(code, 1, "{out:#}");
    let bad = named(&out, "copies", &older);
    assert_eq!(bad["ok"], false, "{bad:#}");
    assert_eq!(bad["depth"], "deep", "{bad:#}");
    assert!(
        ["backup_altered", "tampered_backup", "corrupt_backup"]
            .contains(&bad["problem"]["kind"].as_str().unwrap()),
        "{bad:#}"
    );
    std::fs::write(folder.join(&older), &bytes[..bytes.len() / 2]).unwrap();
    let (code, out) = json(&inst, &["offsite", "verify"]);
    assert_eq!(code, 1, "{out:#}");
    let bad = named(&out, "copies", &older);
    assert_eq!(bad["problem"]["kind"], "truncated_backup", "{bad:#}");
    assert_eq!(inst.fingerprint(), local_before, "nothing local changed");

    // Pruned by the installation's policy (keep the newest): no lock on SFTP.
    save_policy(&inst, 0);
    let (code, out) = json(&inst, &["offsite", "prune", "--yes"]);
    assert_eq!(code, 0, "{out:#}");
    assert_eq!(out["locations"][0]["deleted"], 1, "{out:#}");
    assert_eq!(
        names_in(&folder),
        vec![newest.clone(), newest.replace(".gpg", ".meta")]
    );
    assert!(
        inst.backup_path(&older).is_file(),
        "local backups untouched"
    );

    // A machine that lost everything: the folder, the key and the passphrase.
    let expected_digest = {
        let out = inst.dir.path().join("expected.db");
        gpg_decrypt_to(PASSPHRASE, &inst.backup_path(&newest), &out);
        content_digest(&out, None)
    };
    let fresh = Machine::new(&inst.passphrase_file);
    let machine = |args: &[&str]| fresh.json(args);
    let args = sftp_add_args(&sshd, "far", &folder);
    let (code, out) = machine(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(code, 0, "{out:#}");
    let (code, out) = machine(&["offsite", "list", "--location", "far"]);
    assert_eq!(code, 0, "{out:#}");
    assert_eq!(out["copies"].as_array().unwrap().len(), 2, "{out:#}");
    let (code, out) = machine(&["--yes", "restore", "--from-offsite", "far"]);
    assert_eq!(code, 0, "{out:#}");
    assert_eq!(
        content_digest(&fresh.root.join("data/servers.db"), None),
        expected_digest
    );
}

#[test]
fn offsite_an_sftp_push_killed_mid_copy_resumes_from_the_verified_prefix() {
    let sshd = Sshd::start();
    let folder = folder_of(&sshd);
    let inst = Installation::demo(24 * MIB, JournalMode::Wal);
    let (code, made) = inst.json(&["backup", "--compression", "none"]);
    assert_eq!(code, 0, "{made:#}");
    let backup = made["filename"].as_str().unwrap().to_owned();
    let size = std::fs::metadata(inst.backup_path(&backup)).unwrap().len();
    assert_eq!(add_sftp(&inst, &sshd, "far", &folder).0, 0);

    // Limited to 8 MiB/s, killed once a third has arrived.
    let part = folder.join(format!(".{backup}.part"));
    let started = std::time::Instant::now();
    let mut push = cli(&inst, &["offsite", "push", "--limit", "8MiB/s"]);
    push.process_group(0);
    let mut child = push.spawn().unwrap();
    while std::fs::metadata(&part).map(|m| m.len()).unwrap_or(0) < size / 3 {
        assert!(started.elapsed().as_secs() < 60, "the copy did not start");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let rate = (size / 3) as f64 / started.elapsed().as_secs_f64();
    Command::new("kill")
        .args(["-KILL", "--", &format!("-{}", child.id())])
        .status()
        .unwrap();
    let _ = child.wait();
    assert!(
        !folder.join(&backup).exists(),
        "a cut-off copy is never listed"
    );
    let arrived = std::fs::metadata(&part).unwrap().len();
    assert!(
        rate < 10.0 * MIB as f64,
        "the limit held: {rate:.0} bytes/s"
    );

    let (code, out) = json(&inst, &["offsite", "push"]);
    assert_eq!(code, 0, "{out:#}");
    let copy = named(&out, "copied", &backup);
    let (kept, sent) = (
        copy["bytes_kept"].as_u64().unwrap(),
        copy["bytes_sent"].as_u64().unwrap(),
    );
    println!("sftp: {size} bytes; killed with {arrived} there; resumed: {kept} kept, {sent} sent");
    assert!(kept >= size / 3 && kept <= arrived, "{copy:#}");
    assert_eq!(kept + sent, size, "{copy:#}");
    assert!(!part.exists());
    assert_eq!(
        std::fs::read(folder.join(&backup)).unwrap(),
        std::fs::read(inst.backup_path(&backup)).unwrap()
    );

    // A temporary whose bytes are not the file's is not trusted.
    let other = inst.backup();
    let bogus = folder.join(format!(".{other}.part"));
    std::fs::write(&bogus, vec![7u8; 4096]).unwrap();
    let (code, out) = json(&inst, &["offsite", "push"]);
    assert_eq!(code, 0, "{out:#}");
    let copy = named(&out, "copied", &other);
    assert_eq!(copy["bytes_kept"], 0, "{copy:#}");
    assert_eq!(
        std::fs::read(folder.join(&other)).unwrap(),
        std::fs::read(inst.backup_path(&other)).unwrap()
    );
}

#[test]
fn offsite_sftp_problems_are_each_a_clear_error_and_touch_nothing_local() {
    let inst = Installation::demo(4 * MIB, JournalMode::Wal);
    let backup = inst.backup();
    let local_before = inst.fingerprint();

    // A changed host key: refused before anything is sent.
    let sshd = Sshd::start();
    let folder = folder_of(&sshd);
    assert_eq!(add_sftp(&inst, &sshd, "far", &folder).0, 0);
    let pinned = inst.dir.path().join("config/offsite/known_hosts");
    let other_key = sshd.dir.path().join("impostor_key");
    let out = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&other_key)
        .output()
        .unwrap();
    assert!(out.status.success());
    let impostor = std::fs::read_to_string(other_key.with_extension("pub")).unwrap();
    std::fs::write(&pinned, format!("[127.0.0.1]:{} {impostor}", sshd.port)).unwrap();
    let (code, out) = json(&inst, &["offsite", "push"]);
    assert_eq!(code, 1, "{out:#}");
    assert_eq!(out["error"]["kind"], "host_key_changed", "{out:#}");
    assert!(
        out["error"]["message"]
            .as_str()
            .unwrap()
            .contains(&sshd.fingerprint()),
        "{out:#}"
    );
    assert!(names_in(&folder).is_empty(), "nothing was sent");

    // A read-only SFTP server (internal-sftp -R).
    let read_only = Sshd::start_with("-R");
    let ro_folder = folder_of(&read_only);
    assert_eq!(add_sftp(&inst, &read_only, "ro", &ro_folder).0, 0);
    let (code, out) = json(&inst, &["offsite", "push", "--location", "ro"]);
    assert_eq!(code, 1, "{out:#}");
    assert_eq!(out["error"]["kind"], "offsite_read_only", "{out:#}");
    assert!(names_in(&ro_folder).is_empty());

    // A full folder: a 1 MiB filesystem for a bigger backup.
    let small = Sshd::start();
    let full = small.dir.path().join("full");
    let _full = mount_tmpfs(&full, "1m");
    assert_eq!(add_sftp(&inst, &small, "tiny", &full).0, 0);
    let (code, out) = json(&inst, &["offsite", "push", "--location", "tiny"]);
    assert_eq!(code, 1, "{out:#}");
    assert_eq!(out["error"]["kind"], "offsite_full", "{out:#}");
    assert!(
        out["error"]["message"].as_str().unwrap().contains("full"),
        "{out:#}"
    );

    assert!(inst.backup_path(&backup).is_file());
    assert_eq!(inst.fingerprint(), local_before, "nothing local changed");
}

/// An SFTP location whose SSH key has a passphrase, and no agent: the
/// passphrase goes to the real keychain when the location is added, ssh
/// gets it from Backup Desk as its askpass helper, and it is in no file,
/// log or output; without it in the keychain, the login is refused.
#[test]
fn offsite_an_sftp_key_with_a_passphrase_is_unlocked_from_the_keychain() {
    const KEY_PASSPHRASE: &str = "sftp-key-passphrase-in-the-keychain";
    let sshd = Sshd::start();
    let folder = folder_of(&sshd);
    let inst = Installation::demo(2 * MIB, JournalMode::Wal);
    let backup = inst.backup();
    let key = inst.dir.path().join("locked_key");
    let made = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", KEY_PASSPHRASE, "-f"])
        .arg(&key)
        .output()
        .unwrap();
    assert!(made.status.success());
    let public = std::fs::read_to_string(key.with_extension("pub")).unwrap();
    let authorized = sshd.dir.path().join("authorized_keys");
    let mut keys = std::fs::read_to_string(&authorized).unwrap();
    keys.push_str(&public);
    std::fs::write(&authorized, keys).unwrap();
    let kpf = inst.dir.path().join("key-passphrase");
    write_private(&kpf, KEY_PASSPHRASE);
    let config = inst.dir.path().join("config");
    let target = format!("{}@127.0.0.1:{}", sshd.user, folder.display());
    let (ok, text) = keyring_session(
        &inst,
        &[("BACKUPDESK_CONFIG_DIR", config.as_os_str())],
        &format!(
            r#"set -e
            unset SSH_AUTH_SOCK
            $B --data-dir "$ROOT" --json offsite add far --sftp {target} --port {port} --identity {key} --key-passphrase-file {kpf} > "$OUT/added.json"
            $B --data-dir "$ROOT" offsite push
            $B --data-dir "$ROOT" offsite verify
            $B --data-dir "$ROOT" --json offsite show far
            set +e
            $B --data-dir "$ROOT" --json offsite remove far > /dev/null
            $B --data-dir "$ROOT" --json offsite add again --sftp {target} --port {port} --identity {key} > "$OUT/without.json"
            echo $? > "$OUT/without.code"
            "#,
            port = sshd.port,
            key = key.display(),
            kpf = kpf.display(),
        ),
    );
    assert!(ok, "{text}");
    let read = |name: &str| -> serde_json::Value {
        serde_json::from_slice(&std::fs::read(inst.dir.path().join("out").join(name)).unwrap())
            .unwrap()
    };
    assert_eq!(read("added.json")["keys"], "ssh_key", "{text}");
    assert_eq!(
        std::fs::read(folder.join(&backup)).unwrap(),
        std::fs::read(inst.backup_path(&backup)).unwrap(),
        "{text}"
    );
    // Forgotten with its location: the key cannot be opened any more.
    let code = std::fs::read_to_string(inst.dir.path().join("out/without.code")).unwrap();
    assert_eq!(code.trim(), "1", "{text}");
    assert_eq!(
        read("without.json")["error"]["kind"],
        "offsite_denied",
        "{text}"
    );

    let mut haystack = text.clone();
    for file in crate::keychain::walk(&config)
        .into_iter()
        .chain(crate::keychain::walk(&inst.data.logs()))
    {
        haystack.push_str(&String::from_utf8_lossy(&std::fs::read(file).unwrap()));
    }
    assert!(haystack.contains("far"), "outputs captured");
    assert!(
        !haystack.contains(KEY_PASSPHRASE),
        "the key passphrase leaked"
    );
}
