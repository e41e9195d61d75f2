//! Compatibility both ways with the real `gpg` and the server script's line.

use std::process::Command;

use backupdesk_core::local::demo::JournalMode;

use crate::support::*;

fn meta_of(inst: &Installation, name: &str) -> serde_json::Value {
    let meta = inst.backup_path(&name.replace(".gpg", ".meta"));
    serde_json::from_slice(&std::fs::read(meta).unwrap()).unwrap()
}

/// Backs up, decrypts with gpg, and checks the output is the snapshot byte
/// for byte (its SHA-256 and size are the ones recorded at encryption time)
/// and holds the live database's rows.
fn assert_gpg_reads_our_backup(inst: &Installation) -> (u64, String) {
    let name = inst.backup();
    let meta = meta_of(inst, &name);
    let gpg = Gpg::new();
    let out_path = inst.dir.path().join("gpg-out.db");
    let out = gpg.decrypt(PASSPHRASE, &inst.backup_path(&name), &out_path);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "gpg -d failed: {stderr}");
    assert!(
        stderr.contains("AES256"),
        "gpg reports the cipher: {stderr}"
    );
    assert_eq!(
        std::fs::metadata(&out_path).unwrap().len(),
        meta["size_bytes"].as_u64().unwrap()
    );
    assert_eq!(
        sha256_file(&out_path),
        meta["checksum_sha256"].as_str().unwrap()
    );
    if meta["size_bytes"].as_u64().unwrap() > 0 {
        assert_eq!(sqlite3_integrity(&out_path), "ok");
        assert_eq!(table_counts(&out_path), table_counts(&inst.data.database()));
    }
    (
        std::fs::metadata(inst.backup_path(&name)).unwrap().len(),
        name,
    )
}

#[test]
fn gpg_decrypts_a_backup_of_an_empty_database() {
    let inst = Installation::empty();
    std::fs::create_dir_all(inst.data.database().parent().unwrap()).unwrap();
    std::fs::File::create(inst.data.database()).unwrap();
    assert_gpg_reads_our_backup(&inst);
}

#[test]
fn gpg_decrypts_a_backup_of_a_tiny_database_and_sees_the_contract_format() {
    let inst = Installation::empty();
    std::fs::create_dir_all(inst.data.database().parent().unwrap()).unwrap();
    let conn = rusqlite::Connection::open(inst.data.database()).unwrap();
    conn.execute_batch("CREATE TABLE servers (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO servers (name) VALUES ('a'), ('b'), ('c');")
        .unwrap();
    drop(conn);
    let (_, name) = assert_gpg_reads_our_backup(&inst);

    // The packet structure gpg 2.2 expects: SKESK v4 AES-256 with iterated
    // and salted S2K, SEIPD v1 with MDC, ZIP compression, binary literal
    // named after the .db file.
    let gpg = Gpg::new();
    let listing = Command::new("gpg")
        .env("GNUPGHOME", tempfile::tempdir().unwrap().path())
        .args([
            "--batch",
            "--passphrase",
            PASSPHRASE,
            "--pinentry-mode",
            "loopback",
            "--list-packets",
        ])
        .arg(inst.backup_path(&name))
        .output()
        .unwrap();
    drop(gpg);
    let text = String::from_utf8_lossy(&listing.stdout);
    assert!(
        text.contains("symkey enc packet: version 4, cipher 9"),
        "{text}"
    );
    assert!(text.contains("s2k 3"), "iterated+salted S2K: {text}");
    assert!(
        text.contains("encrypted data packet:") && text.contains("mdc_method: 2"),
        "SEIPD v1 with MDC: {text}"
    );
    assert!(
        text.contains("compressed packet: algo=1"),
        "ZIP compression: {text}"
    );
    let db_name = name.trim_end_matches(".gpg");
    assert!(
        text.contains(&"literal data packet:\n\tmode b (62), created".to_string())
            || text.contains("mode b"),
        "{text}"
    );
    assert!(
        text.contains(&format!("name=\"{db_name}\"")),
        "literal named {db_name}: {text}"
    );
}

#[test]
fn gpg_decrypts_a_backup_of_a_100_mib_database_and_sizes_match_the_script() {
    let inst = Installation::demo(100 * MIB, JournalMode::Wal);
    let db_size = std::fs::metadata(inst.data.database()).unwrap().len();
    assert!(db_size >= 100 * MIB, "demo database is {db_size} bytes");
    let (ours, _) = assert_gpg_reads_our_backup(&inst);

    let gpg = Gpg::new();
    let theirs_path = inst.dir.path().join("script.db.gpg");
    gpg.encrypt_like_script(PASSPHRASE, &inst.data.database(), &theirs_path);
    let theirs = std::fs::metadata(&theirs_path).unwrap().len();
    eprintln!(
        "100 MiB demo db ({db_size} bytes): backupdesk {ours} bytes, gpg script line {theirs} bytes"
    );
    assert!(
        (ours as f64) <= theirs as f64 * 1.05,
        "our backup ({ours}) is more than 5% larger than gpg's ({theirs})"
    );
}

/// A backup made by the server script, in each of the forms found in the
/// wild (default or custom passphrase, with or without `.meta`), is listed
/// and verified (quick and deep) by us.
fn script_backups_are_listed_and_verified(inst: &Installation) {
    let cases = [
        (
            "default passphrase, no .meta",
            DEFAULT_PASSPHRASE,
            false,
            "servers_db_20261120_010000.db.gpg",
        ),
        (
            "default passphrase, .meta",
            DEFAULT_PASSPHRASE,
            true,
            "servers_db_20261120_020000.db.gpg",
        ),
        (
            "custom passphrase, no .meta",
            PASSPHRASE,
            false,
            "servers_db_20261120_030000.db.gpg",
        ),
        (
            "custom passphrase, .meta",
            PASSPHRASE,
            true,
            "servers_db_20261120_040000.db.gpg",
        ),
    ];
    let gpg = Gpg::new();
    // The script snapshots with `sqlite3 DB ".backup X"`, then encrypts X.
    let plaintext = inst.dir.path().join("script-snapshot.db");
    let status = Command::new("sqlite3")
        .arg(inst.data.database())
        .arg(format!(".backup '{}'", plaintext.display()))
        .status()
        .unwrap();
    assert!(status.success());
    for (_, pass, with_meta, name) in cases {
        gpg.encrypt_like_script(pass, &plaintext, &inst.backup_path(name));
        if with_meta {
            let db_name = name.trim_end_matches(".gpg");
            write_script_meta(
                &inst.backup_path(&format!("{db_name}.meta")),
                db_name,
                &plaintext,
                &inst.data.database(),
            );
        }
    }

    let (code, list) = inst.json(&["list"]);
    assert_eq!(code, 0, "{list:#}");
    assert_eq!(list["count"], 4);
    for (label, pass, with_meta, name) in cases {
        let item = list["backups"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["filename"] == name)
            .unwrap_or_else(|| panic!("{label}: {name} listed"));
        assert_eq!(item["encrypted"], true, "{label}");
        assert_eq!(item["has_meta"], with_meta, "{label}");
        assert_eq!(item["checksum"].is_string(), with_meta, "{label}");
        for depth in [&[][..], &["--deep"][..]] {
            let mut args = vec!["verify", name];
            args.extend_from_slice(depth);
            let (code, out) = inst.json(&args);
            assert_eq!(code, 0, "{label} {depth:?}: {out:#}");
            assert_eq!(out["report"]["checksum_known"], with_meta, "{label}");
            assert_eq!(
                out["report"]["opened_with_default_passphrase"],
                pass == DEFAULT_PASSPHRASE,
                "{label}"
            );
            assert_eq!(
                out["report"]["checksum_sha256"],
                sha256_file(&plaintext),
                "{label}"
            );
        }
    }
}

#[test]
fn script_backups_of_an_empty_database_are_listed_and_verified() {
    let inst = Installation::empty();
    std::fs::create_dir_all(inst.data.backups()).unwrap();
    std::fs::File::create(inst.data.database()).unwrap();
    script_backups_are_listed_and_verified(&inst);
}

#[test]
fn script_backups_of_a_tiny_database_are_listed_and_verified() {
    let inst = Installation::empty();
    std::fs::create_dir_all(inst.data.backups()).unwrap();
    let conn = rusqlite::Connection::open(inst.data.database()).unwrap();
    conn.execute_batch("CREATE TABLE users (id INTEGER PRIMARY KEY, username TEXT); INSERT INTO users (username) VALUES ('admin');")
        .unwrap();
    drop(conn);
    script_backups_are_listed_and_verified(&inst);
}

#[test]
fn script_backups_of_a_100_mib_database_are_listed_and_verified() {
    let inst = Installation::demo(100 * MIB, JournalMode::Wal);
    script_backups_are_listed_and_verified(&inst);
}
