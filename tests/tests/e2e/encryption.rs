//! Public-key encryption policies (issue 30) with the real `gpg` and the
//! real keychain (gnome-keyring in its own D-Bus session): a backup sealed
//! to recipients and a passphrase opens with `gpg -d` by each way in; an
//! installation that keeps no passphrase backs up with public keys only and
//! is read here with the keychain's key; a backup `gpg -e -r` made is read
//! by us; a policy with one way in, or edited into nonsense, is refused and
//! no weaker backup is made.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use backupdesk_core::local::demo::JournalMode;

use crate::support::*;

fn json_file(inst: &Installation, name: &str) -> serde_json::Value {
    let path = inst.dir.path().join("out").join(name);
    let bytes = std::fs::read(&path).unwrap_or_else(|_| panic!("{name} written"));
    serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn text_file(inst: &Installation, name: &str) -> String {
    std::fs::read_to_string(inst.dir.path().join("out").join(name)).unwrap_or_default()
}

/// Throwaway GnuPG homes (0700) under the installation's folder.
fn gnupg_homes(inst: &Installation, names: &[&str]) {
    for name in names {
        let home = inst.dir.path().join(name);
        std::fs::create_dir_all(&home).unwrap();
        std::fs::set_permissions(&home, std::fs::Permissions::from_mode(0o700)).unwrap();
    }
}

/// The plaintext's SHA-256 recorded in the newest backup's `.meta`.
fn meta_checksum(backup: &serde_json::Value) -> String {
    backup["meta"]["checksum_sha256"]
        .as_str()
        .or_else(|| backup["checksum"].as_str())
        .unwrap_or_else(|| panic!("a checksum in {backup:#}"))
        .to_owned()
}

#[test]
fn a_backup_sealed_to_two_keys_and_a_passphrase_opens_with_gpg_by_each_way_in() {
    let inst = Installation::demo(2 * MIB, JournalMode::Wal);
    gnupg_homes(&inst, &["admin-gnupg", "empty-gnupg", "sheet-gnupg"]);
    let config = inst.dir.path().join("config");
    let (ok, text) = keyring_session(
        &inst,
        &[("BACKUPDESK_CONFIG_DIR", config.as_os_str())],
        r#"set -e
        A="$ROOT/../admin-gnupg"
        GNUPGHOME="$A" gpg --batch --pinentry-mode loopback --passphrase '' \
            --quick-gen-key "Admin <admin@example.org>" default default never 2>/dev/null
        FPR=$(GNUPGHOME="$A" gpg --batch --with-colons --list-keys admin@example.org | awk -F: '/^fpr/{print $10; exit}')
        $B --json key create "Recovery" --out "$OUT" > "$OUT/key.json"
        # The admin's key by fingerprint from GnuPG, the recovery key from its file.
        GNUPGHOME="$A" $B --data-dir "$ROOT" --json encryption set \
            --recipient "$FPR" --recipient "$OUT/Recovery.pub.asc" > "$OUT/set.json"
        $B --data-dir "$ROOT" --json encryption show > "$OUT/show.json"
        $B --data-dir "$ROOT" --passphrase-file "$PP" --json backup > "$OUT/backup.json"
        G=$(ls "$ROOT"/data/backups/*.db.gpg | head -1)
        GNUPGHOME="$A" gpg --batch -o "$OUT/by-admin.db" -d "$G" 2> "$OUT/by-admin.err"
        GNUPGHOME="$ROOT/../empty-gnupg" gpg --batch --passphrase-file "$PP" \
            -o "$OUT/by-passphrase.db" -d "$G" 2> "$OUT/by-passphrase.err"
        GNUPGHOME="$ROOT/../sheet-gnupg" gpg --batch --import "$OUT/Recovery.recovery.txt" 2>/dev/null
        GNUPGHOME="$ROOT/../sheet-gnupg" gpg --batch -o "$OUT/by-sheet.db" -d "$G" 2> "$OUT/by-sheet.err"
        echo "$FPR" > "$OUT/fpr"
        "#,
    );
    assert!(ok, "{text}");
    let key = json_file(&inst, "key.json");
    let sheet = Path::new(key["recovery_sheet"].as_str().unwrap());
    let mode = std::fs::metadata(sheet).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "the recovery sheet is private");
    let set = json_file(&inst, "set.json");
    assert_eq!(set["ways_in"], 3, "{set:#}");
    assert_eq!(
        set["recipients"][0]["fingerprint"],
        text_file(&inst, "fpr").trim()
    );
    assert_eq!(set["recipients"][1]["fingerprint"], key["fingerprint"]);
    assert_eq!(
        json_file(&inst, "show.json")["recipients"],
        set["recipients"]
    );
    // The policy file holds public certificates only.
    let policy =
        std::fs::read_to_string(inst.root().join("data/.backupdesk/encryption.json")).unwrap();
    assert!(!policy.contains("PRIVATE KEY"), "{policy}");
    let backup = json_file(&inst, "backup.json");
    let expected = meta_checksum(&backup);
    for way in ["by-admin", "by-passphrase", "by-sheet"] {
        let plain = inst.dir.path().join("out").join(format!("{way}.db"));
        assert!(
            plain.exists(),
            "{way}: {}",
            text_file(&inst, &format!("{way}.err"))
        );
        assert_eq!(
            sha256_file(&plain),
            expected,
            "{way} gives the snapshot back"
        );
    }
    // gpg saw both public-key packets (v3, for gpg 2.2) and read SEIPD v1.
    let by_sheet = text_file(&inst, "by-sheet.err");
    assert!(by_sheet.contains("encrypted with"), "{by_sheet}");
}

#[test]
fn an_installation_that_keeps_no_passphrase_backs_up_and_is_read_with_the_keychains_key() {
    let inst = Installation::demo(2 * MIB, JournalMode::Wal);
    gnupg_homes(&inst, &["gnupg"]);
    let config = inst.dir.path().join("config");
    let (ok, text) = keyring_session(
        &inst,
        &[("BACKUPDESK_CONFIG_DIR", config.as_os_str())],
        r#"set -e
        unset DB_BACKUP_PASSPHRASE
        $B --json key create "Laptop" --out "$OUT" > "$OUT/laptop.json"
        $B --json key create "Safe" --out "$OUT" > "$OUT/safe.json"
        set +e
        # One way in is refused, and nothing is written.
        $B --data-dir "$ROOT" --json encryption set --no-passphrase \
            --recipient "$OUT/Laptop.pub.asc" > "$OUT/one.json"; echo $? > "$OUT/one.code"
        set -e
        $B --data-dir "$ROOT" --json encryption set --no-passphrase \
            --recipient "$OUT/Laptop.pub.asc" --recipient "$OUT/Safe.pub.asc" > "$OUT/set.json"
        # No passphrase anywhere: not in a file, not in the environment.
        $B --data-dir "$ROOT" --json backup < /dev/null > "$OUT/backup.json"
        $B --data-dir "$ROOT" --json verify --all --deep < /dev/null > "$OUT/verify.json"
        # Looking inside, with the keychain's key.
        N=$(cd "$ROOT/data/backups" && ls servers_db_*.db.gpg | sort | tail -1)
        $B --data-dir "$ROOT" --json query "$N" "SELECT count(*) AS n FROM tags" < /dev/null > "$OUT/query.json"
        # A backup gpg -e -r made to the laptop's key, as the server's own tool would.
        export GNUPGHOME="$ROOT/../gnupg"
        gpg --batch --import "$OUT/Laptop.pub.asc" 2>/dev/null
        sqlite3 "$ROOT/data/servers.db" ".backup '$OUT/plain.db'" 2>/dev/null || cp "$ROOT/data/servers.db" "$OUT/plain.db"
        gpg --batch --trust-model always -r Laptop -o "$ROOT/data/backups/servers_db_20260101_020000.db.gpg" \
            -e "$OUT/plain.db"
        $B --data-dir "$ROOT" --json verify servers_db_20260101_020000.db.gpg --deep < /dev/null > "$OUT/gpg-made.json"
        "#,
    );
    assert!(ok, "{text}");
    assert_eq!(text_file(&inst, "one.code").trim(), "1");
    let one = json_file(&inst, "one.json");
    assert_eq!(one["error"]["kind"], "encryption_policy_invalid", "{one:#}");
    let set = json_file(&inst, "set.json");
    assert_eq!(set["server_holds_a_secret"], false);
    assert_eq!(set["ways_in"], 2);
    let backup = json_file(&inst, "backup.json");
    assert_eq!(backup["ok"], true, "{backup:#}");
    let verify = json_file(&inst, "verify.json");
    assert_eq!(verify["passed"], 1, "{verify:#}");
    let query = json_file(&inst, "query.json");
    assert_eq!(query["ok"], true, "{query:#}");
    // Outside the keychain's session no key opens it: a quick verification
    // compares the encrypted file with its .meta and says so; a deep one
    // says which keys would open it, and records no fault of the backup.
    let name = backup["path"]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_owned();
    let (code, quick) = inst.json(&["verify", &name]);
    assert_eq!(code, 0, "{quick:#}");
    let warnings = quick["report"]["warnings"].to_string();
    assert!(warnings.contains("not decrypted here"), "{quick:#}");
    let (code, deep) = inst.json(&["verify", &name, "--deep"]);
    assert_eq!(code, 1, "{deep:#}");
    assert_eq!(deep["error"]["kind"], "no_decryption_key", "{deep:#}");
    // The server's own restore cannot read it: the policy and the restore
    // plan say so (§6.9: it would leave an empty database).
    let note = set["server_restore_note"].as_str().unwrap_or_default();
    assert!(
        note.contains("reads only backups with a passphrase")
            && note.contains("never with the server's own restore"),
        "{set:#}"
    );
    let (code, plan) = inst.json(&["restore", &name, "--dry-run"]);
    assert_eq!(code, 0, "{plan:#}");
    let warnings = plan["plan"]["warnings"].to_string();
    assert!(
        warnings.contains(
            "no passphrase (it is encrypted to keys alone): only Backup Desk restores it"
        ) && warnings.contains("§6.9"),
        "{plan:#}"
    );
    let shown = inst.cli(&["encryption", "show"]).output().unwrap();
    let text = String::from_utf8_lossy(&shown.stdout);
    assert!(
        text.contains("reads only backups with a passphrase"),
        "{text}"
    );
    let gpg_made = json_file(&inst, "gpg-made.json");
    assert_eq!(gpg_made["ok"], true, "{gpg_made:#}");
    assert_eq!(
        gpg_made["report"]["checksum_sha256"],
        sha256_file(&inst.dir.path().join("out/plain.db"))
    );
}

#[test]
fn a_policy_edited_into_nonsense_stops_backups_instead_of_weakening_them() {
    let inst = Installation::demo(2 * MIB, JournalMode::Wal);
    let before = inst.fingerprint();
    let policy = inst.root().join("data/.backupdesk/encryption.json");
    std::fs::create_dir_all(policy.parent().unwrap()).unwrap();
    std::fs::write(
        &policy,
        r#"{"version": 1, "passphrase": false, "recipients": []}"#,
    )
    .unwrap();
    let (code, out) = inst.json(&["backup"]);
    assert_eq!(code, 1, "{out:#}");
    assert_eq!(out["error"]["kind"], "encryption_policy_invalid", "{out:#}");
    std::fs::write(&policy, "recipients: everyone").unwrap();
    let (code, out) = inst.json(&["backup"]);
    assert_eq!(code, 1, "{out:#}");
    assert_eq!(out["error"]["kind"], "encryption_policy_invalid", "{out:#}");
    let message = out["error"]["message"].as_str().unwrap();
    assert!(message.contains("encryption.json"), "{message}");
    let (code, show) = inst.json(&["encryption", "show"]);
    assert_eq!(code, 1, "{show:#}");
    assert_eq!(inst.fingerprint(), before, "no backup was made");
}

#[test]
fn a_recovery_passphrase_is_a_way_in_the_server_never_holds() {
    let inst = Installation::demo(2 * MIB, JournalMode::Wal);
    gnupg_homes(&inst, &["admin-gnupg", "sheet-gnupg"]);
    let out = inst.dir.path().join("out");
    std::fs::create_dir_all(&out).unwrap();
    let recovery = inst.dir.path().join("recovery-passphrase");
    write_private(&recovery, "the recovery passphrase of 2026\n");
    let admin_home = inst.dir.path().join("admin-gnupg");
    let admin_cert = out.join("admin.asc");
    let made = std::process::Command::new("bash")
        .arg("-c")
        .arg(format!(
            "export GNUPGHOME='{h}'; gpg --batch --pinentry-mode loopback --passphrase '' \
             --quick-gen-key 'Admin <admin@example.org>' default default never 2>/dev/null && \
             gpg --batch --armor --export admin@example.org > '{c}'",
            h = admin_home.display(),
            c = admin_cert.display()
        ))
        .status()
        .unwrap();
    assert!(made.success());
    let set = |args: &[&str]| {
        let mut cmd = inst.cli(&["encryption", "set", "--no-passphrase"]);
        cmd.args(args)
            .arg("--json")
            .env_remove("DB_BACKUP_PASSPHRASE");
        run_json(cmd)
    };
    let recovery_arg = recovery.display().to_string();
    let out_arg = out.display().to_string();

    // The recovery passphrase alone is one way in: refused, no sheet made.
    let (code, alone) = set(&[
        "--recovery-passphrase-file",
        &recovery_arg,
        "--out",
        &out_arg,
    ]);
    assert_eq!(code, 1, "{alone:#}");
    assert_eq!(
        alone["error"]["kind"], "encryption_policy_invalid",
        "{alone:#}"
    );
    let sheets = || -> Vec<std::path::PathBuf> {
        std::fs::read_dir(&out)
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.to_string_lossy().ends_with(".recovery.txt"))
            .collect()
    };
    assert!(sheets().is_empty(), "{:?}", sheets());

    // A recipient and the recovery passphrase: two ways in, none on the server.
    let admin_arg = admin_cert.display().to_string();
    let (code, view) = set(&[
        "--recipient",
        &admin_arg,
        "--recovery-passphrase-file",
        &recovery_arg,
        "--out",
        &out_arg,
    ]);
    assert_eq!(code, 0, "{view:#}");
    assert_eq!(view["ways_in"], 2, "{view:#}");
    assert_eq!(view["server_holds_a_secret"], false, "{view:#}");
    let sheet = Path::new(view["recovery_sheet"].as_str().unwrap()).to_owned();
    assert_eq!(sheets(), vec![sheet.clone()]);
    let mode = std::fs::metadata(&sheet).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "the recovery sheet is private");
    // Its secret key is encrypted by the passphrase: useless without it.
    let text = std::fs::read_to_string(&sheet).unwrap();
    let block = &text[text.find("-----BEGIN PGP PRIVATE KEY BLOCK-----").unwrap()..];
    let cert = {
        use sequoia_openpgp::parse::Parse;
        sequoia_openpgp::Cert::from_bytes(block.as_bytes()).unwrap()
    };
    assert!(cert.is_tsk());
    assert!(
        cert.keys()
            .secret()
            .all(|k| k.key().optional_secret().is_some_and(|s| s.is_encrypted())),
        "every secret part is encrypted"
    );
    let policy =
        std::fs::read_to_string(inst.root().join("data/.backupdesk/encryption.json")).unwrap();
    assert!(!policy.contains("PRIVATE KEY"), "{policy}");

    // A backup made under it (the passphrase file given is not used: the
    // policy keeps none) opens with gpg by the sheet and the recovery
    // passphrase.
    let mut backup = inst.cli(&["--json", "backup"]);
    backup.env_remove("DB_BACKUP_PASSPHRASE");
    let (code, made) = run_json(backup);
    assert_eq!(code, 0, "{made:#}");
    let expected = meta_checksum(&made);
    let file = made["path"].as_str().unwrap();
    let plain = out.join("by-recovery.db");
    let read = std::process::Command::new("bash")
        .arg("-c")
        .arg(format!(
            "export GNUPGHOME='{h}'; g='gpg --batch --pinentry-mode loopback --passphrase-file {p}'; \
             $g --import '{s}' 2>/dev/null; $g -o '{o}' -d '{f}'",
            h = inst.dir.path().join("sheet-gnupg").display(),
            p = recovery.display(),
            s = sheet.display(),
            o = plain.display(),
            f = file,
        ))
        .output()
        .unwrap();
    assert!(
        read.status.success(),
        "{}",
        String::from_utf8_lossy(&read.stderr)
    );
    assert_eq!(
        sha256_file(&plain),
        expected,
        "the recovery way in gives the snapshot"
    );
}

/// Issue 30, point 2: the admin's own GnuPG key (here a software key in a
/// throwaway GNUPGHOME; a smartcard's works the same way, its PIN asked by
/// gpg-agent's pinentry) opens a backup sealed to it: `gpg` is handed the
/// backup's public-key packets and reports the session key, Backup Desk
/// never reads the secret key. Without that GnuPG home, no key here opens
/// it.
#[test]
fn a_key_held_by_gpg_agent_opens_backups_through_the_agent() {
    let inst = Installation::demo(2 * MIB, JournalMode::Wal);
    let admin = Gpg::new();
    let admin_cert = inst.dir.path().join("admin.asc");
    admin.generate_key("admin", &admin_cert);
    let (safe_cert, _) = public_cert(inst.dir.path(), "safe");
    let empty = Gpg::new();
    let run = |gnupg: &Path, args: &[&str]| {
        let mut cmd = inst.cli(args);
        cmd.arg("--json")
            .env("GNUPGHOME", gnupg)
            .env("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/none")
            .env_remove("DB_BACKUP_PASSPHRASE");
        run_json(cmd)
    };
    let (code, set) = run(
        empty.home(),
        &[
            "encryption",
            "set",
            "--no-passphrase",
            "--recipient",
            &admin_cert.display().to_string(),
            "--recipient",
            &safe_cert.display().to_string(),
        ],
    );
    assert_eq!(code, 0, "{set:#}");
    let (code, backup) = run(empty.home(), &["backup"]);
    assert_eq!(code, 0, "{backup:#}");
    let name = backup["filename"].as_str().unwrap().to_owned();
    let (code, refused) = run(empty.home(), &["verify", &name, "--deep"]);
    assert_eq!(code, 1, "{refused:#}");
    assert_eq!(refused["error"]["kind"], "no_decryption_key", "{refused:#}");
    let (code, verified) = run(admin.home(), &["verify", &name, "--deep"]);
    assert_eq!(code, 0, "{verified:#}");
    assert_eq!(
        verified["report"]["checksum_sha256"],
        meta_checksum(&backup),
        "opened through the agent, the whole body checked: {verified:#}"
    );
    let (code, drill) = run(admin.home(), &["drill", &name]);
    assert_eq!(code, 0, "{drill:#}");
}
