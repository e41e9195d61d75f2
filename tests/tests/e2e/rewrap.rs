//! `encryption rewrap` (issue 30, point 4) with the real `gpg`: backups are
//! given their installation's policy by their key packets alone. The body
//! of every backup stays byte for byte the same; a recipient taken out of
//! the policy can no longer read them, the one put in can, and so can the
//! passphrase; a rewrap killed before or after a backup's rename leaves
//! every backup readable under its old ways in or the new, says so in
//! `list`, blocks a passphrase rotation until it is finished, and is
//! finished by the next run.

use std::path::{Path, PathBuf};

use backupdesk_core::format::key_packets::KeyPackets;
use backupdesk_core::local::demo::JournalMode;

use crate::support::*;

/// A GnuPG home with one key, and its certificate's file.
struct Keyholder {
    gpg: Gpg,
    cert: PathBuf,
    key_ids: Vec<String>,
}

fn keyholder(inst: &Installation, name: &str) -> Keyholder {
    let gpg = Gpg::new();
    let cert = inst.dir.path().join(format!("{name}.pub.asc"));
    gpg.generate_key(name, &cert);
    let recipient =
        backupdesk_core::format::crypto::Recipient::from_bytes(&std::fs::read(&cert).unwrap())
            .unwrap();
    Keyholder {
        gpg,
        cert,
        key_ids: recipient.encryption_key_ids(),
    }
}

/// SHA-256 of a backup's body (everything after its key packets).
fn body_sha(path: &Path) -> String {
    let head = KeyPackets::read(path).unwrap();
    let bytes = std::fs::read(path).unwrap();
    sha256_bytes(&bytes[head.body_offset() as usize..])
}

/// The key ids a backup's public-key packets name, sorted.
fn named_keys(path: &Path) -> Vec<String> {
    let mut ids = KeyPackets::read(path).unwrap().recipient_key_ids().unwrap();
    ids.sort();
    ids
}

fn sorted(sets: &[&Keyholder]) -> Vec<String> {
    let mut ids: Vec<String> = sets.iter().flat_map(|k| k.key_ids.clone()).collect();
    ids.sort();
    ids
}

/// The plaintext's SHA-256 recorded in a backup's `.meta`.
fn meta_checksum(inst: &Installation, name: &str) -> String {
    let meta: serde_json::Value = serde_json::from_slice(
        &std::fs::read(inst.backup_path(&name.replace(".gpg", ".meta"))).unwrap(),
    )
    .unwrap();
    meta["checksum_sha256"].as_str().unwrap().to_owned()
}

/// Whether `gpg -d` with `holder`'s key gives the backup's content back.
fn key_opens(inst: &Installation, holder: &Keyholder, name: &str) -> bool {
    let plain = inst.dir.path().join("by-key.db");
    let _ = std::fs::remove_file(&plain);
    holder
        .gpg
        .decrypt_with_keys(&inst.backup_path(name), &plain)
        .status
        .success()
        && sha256_file(&plain) == meta_checksum(inst, name)
}

fn passphrase_opens(inst: &Installation, name: &str) -> bool {
    let plain = inst.dir.path().join("by-passphrase.db");
    let _ = std::fs::remove_file(&plain);
    Gpg::new()
        .decrypt(PASSPHRASE, &inst.backup_path(name), &plain)
        .status
        .success()
        && sha256_file(&plain) == meta_checksum(inst, name)
}

fn file_hashes(inst: &Installation, names: &[String]) -> Vec<String> {
    names
        .iter()
        .map(|n| sha256_file(&inst.backup_path(n)))
        .collect()
}

fn rewrap(inst: &Installation, extra: &[&str]) -> (i32, serde_json::Value) {
    let mut args = vec!["encryption", "rewrap", "--all"];
    args.extend_from_slice(extra);
    inst.json(&args)
}

fn set_policy(inst: &Installation, recipients: &[&Keyholder]) {
    let mut args = vec!["encryption".to_owned(), "set".to_owned()];
    for r in recipients {
        args.push("--recipient".to_owned());
        args.push(r.cert.display().to_string());
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (code, out) = inst.json(&args);
    assert_eq!(code, 0, "{out:#}");
}

#[test]
fn a_rewrap_changes_only_the_key_packets_and_a_killed_one_leaves_every_backup_readable() {
    let inst = Installation::demo(MIB, JournalMode::Wal);
    let names: Vec<String> = (0..3)
        .map(|_| {
            let (code, out) = inst.json(&["backup", "--no-prune"]);
            assert_eq!(code, 0, "{out:#}");
            out["filename"].as_str().unwrap().to_owned()
        })
        .collect();
    let bodies: Vec<String> = names
        .iter()
        .map(|n| body_sha(&inst.backup_path(n)))
        .collect();
    let (old, spare, new) = (
        keyholder(&inst, "old"),
        keyholder(&inst, "spare"),
        keyholder(&inst, "new"),
    );

    // The policy: old and spare, the passphrase kept. A dry run says all
    // three would be rewrapped and changes nothing.
    set_policy(&inst, &[&old, &spare]);
    let before = file_hashes(&inst, &names);
    let (code, dry) = rewrap(&inst, &["--dry-run"]);
    assert_eq!(code, 0, "{dry:#}");
    assert_eq!(
        dry["report"]["rewrapped"].as_array().unwrap().len(),
        3,
        "{dry:#}"
    );
    assert_eq!(
        file_hashes(&inst, &names),
        before,
        "a dry run changes nothing"
    );
    let (code, first) = rewrap(&inst, &[]);
    assert_eq!(code, 0, "{first:#}");
    assert_eq!(
        first["report"]["rewrapped"].as_array().unwrap().len(),
        3,
        "{first:#}"
    );
    for (name, body) in names.iter().zip(&bodies) {
        let path = inst.backup_path(name);
        assert_eq!(body_sha(&path), *body, "{name}: the body is unchanged");
        assert_eq!(named_keys(&path), sorted(&[&old, &spare]));
        assert!(key_opens(&inst, &old, name), "{name} opens with old's key");
        assert!(
            passphrase_opens(&inst, name),
            "{name} opens with the passphrase"
        );
    }
    let (code, again) = rewrap(&inst, &[]);
    assert_eq!(code, 0, "{again:#}");
    assert_eq!(
        again["report"]["already"].as_array().unwrap().len(),
        3,
        "{again:#}"
    );

    // Old out, new in. Killed after the first rename (its .meta not yet
    // updated), then before the second rename: every backup opens with the
    // passphrase and has the old set of keys or the new.
    set_policy(&inst, &[&new, &spare]);
    for (variable, runs) in [
        ("BACKUPDESK_TEST_ROTATION_KILL_AFTER", 1),
        ("BACKUPDESK_TEST_ROTATION_KILL_BEFORE", 1),
    ] {
        let mut cmd = inst.cli(&["encryption", "rewrap", "--all", "--json"]);
        let killed = cmd.env(variable, runs.to_string()).output().unwrap();
        assert!(!killed.status.success(), "{variable}: the run was killed");
        for (name, body) in names.iter().zip(&bodies) {
            let path = inst.backup_path(name);
            assert_eq!(body_sha(&path), *body, "{name}: the body is unchanged");
            let keys = named_keys(&path);
            assert!(
                keys == sorted(&[&old, &spare]) || keys == sorted(&[&new, &spare]),
                "{name}: {keys:?}"
            );
            assert!(
                passphrase_opens(&inst, name),
                "{name} opens with the passphrase"
            );
        }
        let listed = inst.cli(&["list"]).output().unwrap();
        let said = String::from_utf8_lossy(&listed.stdout);
        assert!(said.contains("rewrap in progress"), "{said}");
    }
    let new_file = inst.dir.path().join("new-passphrase");
    write_private(&new_file, "another passphrase for 2027");
    let mut rotate = inst.cli(&["passphrase", "rotate", "--json", "--new-passphrase-file"]);
    rotate
        .arg(&new_file)
        .env("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent");
    let (code, refused) = run_json(rotate);
    assert_eq!(code, 1, "{refused:#}");
    assert_eq!(refused["error"]["kind"], "busy", "{refused:#}");

    let (code, last) = rewrap(&inst, &[]);
    assert_eq!(code, 0, "{last:#}");
    assert!(last["report"]["in_progress"].is_null(), "{last:#}");
    let done = last["report"]["rewrapped"].as_array().unwrap().len()
        + last["report"]["already"].as_array().unwrap().len();
    assert_eq!(done, 3, "{last:#}");
    assert!(inst.leftovers().is_empty(), "{:?}", inst.leftovers());
    let (code, verified) = inst.json(&["verify", "--all"]);
    assert_eq!(code, 0, "every .meta matches its file: {verified:#}");
    for (name, body) in names.iter().zip(&bodies) {
        let path = inst.backup_path(name);
        assert_eq!(body_sha(&path), *body, "{name}: the body is unchanged");
        assert_eq!(named_keys(&path), sorted(&[&new, &spare]));
        assert!(
            !key_opens(&inst, &old, name),
            "{name}: old's key is refused"
        );
        assert!(key_opens(&inst, &new, name), "{name} opens with new's key");
        assert!(
            key_opens(&inst, &spare, name),
            "{name} opens with spare's key"
        );
        assert!(
            passphrase_opens(&inst, name),
            "{name} opens with the passphrase"
        );
    }
    let listed = inst.cli(&["list"]).output().unwrap();
    assert!(!String::from_utf8_lossy(&listed.stdout).contains("in progress"));
}
