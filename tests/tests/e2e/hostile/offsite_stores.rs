//! Issue 27, off-site stores: a copy replaced in the bucket, a link
//! planted at an SFTP copy's part name, plaintext of a killed deep check,
//! a listing that never ends, a body without end or at two bytes a
//! second, a hand-edited location name. Against moto, the test sshd, or a
//! hostile S3 stand-in on 127.0.0.1 written from the S3 API's documented
//! answers (ListObjectsV2, GetObject), misbehaving as each case needs.

use std::io::{BufRead, BufReader, Read, Write};

use super::*;
use crate::offsite::{BUCKET, add_location, json, on_a_machine};
use crate::offsite_sftp::{add_sftp, folder_of};

/// Case 3: a copy replaced in the bucket (a new object version, which
/// Object Lock does not prevent) never replaces the intact local backup
/// of that name, and, with the local one gone, is refused as not what was
/// pushed; nothing local changes either way (before: the store's bytes
/// were written over the local backup whenever the sizes differed, then
/// restored).
#[test]
fn offsite_a_copy_replaced_in_the_bucket_never_replaces_a_local_backup() {
    let moto = Moto::start(BUCKET);
    let inst = Installation::demo(MIB, backupdesk_core::local::demo::JournalMode::Wal);
    let first = inst.backup();
    std::thread::sleep(Duration::from_millis(1100));
    let second = inst.backup();
    add_location(&inst, &moto, "cold");
    let (code, out) = json(&inst, &["offsite", "push"]);
    assert_eq!(code, 0, "{out:#}");
    moto.boto(&format!(
        "s3.put_object(Bucket='{BUCKET}', Key='monitor-1/{first}', \
         Body=open('{}', 'rb').read() + b'x' * 100)",
        inst.backup_path(&second).display()
    ));
    let local = std::fs::read(inst.backup_path(&first)).unwrap();
    let live = content_digest(&inst.data.database(), None);

    let (code, out) = json(
        &inst,
        &["--yes", "restore", &first, "--from-offsite", "cold"],
    );
    assert_eq!(code, 1, "{out:#}");
    assert_eq!(out["error"]["kind"], "backup_exists", "{out:#}");
    assert_eq!(std::fs::read(inst.backup_path(&first)).unwrap(), local);
    assert_eq!(content_digest(&inst.data.database(), None), live);

    std::fs::remove_file(inst.backup_path(&first)).unwrap();
    let (code, out) = json(
        &inst,
        &["--yes", "restore", &first, "--from-offsite", "cold"],
    );
    assert_eq!(code, 1, "{out:#}");
    assert_eq!(out["error"]["kind"], "checksum_mismatch", "{out:#}");
    assert!(
        !inst.backup_path(&first).exists(),
        "the replaced copy was not kept"
    );
    assert_eq!(content_digest(&inst.data.database(), None), live);
    assert!(inst.leftovers().is_empty(), "{:?}", inst.leftovers());
}

/// Case 4: a link planted at an SFTP copy's part name (`.NAME.part`) is
/// removed, never written through: the file it points to is untouched and
/// the copy is a plain file equal to the backup (before: the push wrote
/// the backup over the link's target and renamed the link into place).
#[test]
fn offsite_a_link_planted_at_an_sftp_part_is_never_written_through() {
    let sshd = Sshd::start();
    let folder = folder_of(&sshd);
    let inst = Installation::demo(MIB, backupdesk_core::local::demo::JournalMode::Wal);
    let name = inst.backup();
    assert_eq!(add_sftp(&inst, &sshd, "far", &folder).0, 0);
    let precious = sshd.dir.path().join("precious");
    std::fs::write(&precious, "a file of the SFTP host's, not ours").unwrap();
    std::os::unix::fs::symlink(&precious, folder.join(format!(".{name}.part"))).unwrap();
    let (code, out) = json(&inst, &["offsite", "push"]);
    assert_eq!(code, 0, "{out:#}");
    assert_eq!(
        std::fs::read_to_string(&precious).unwrap(),
        "a file of the SFTP host's, not ours"
    );
    let copy = folder.join(&name);
    assert!(!copy.symlink_metadata().unwrap().is_symlink());
    assert_eq!(
        std::fs::read(&copy).unwrap(),
        std::fs::read(inst.backup_path(&name)).unwrap()
    );
}

/// How the hostile S3 stand-in misbehaves.
#[derive(Clone, Copy)]
enum Misbehaviour {
    /// Every listing page says it is truncated, with the same token.
    RepeatedToken,
    /// A listed 1000-byte object's body never ends.
    EndlessBody,
    /// A listed 1000-byte object's body comes at two bytes a second.
    SlowBody,
}

/// An S3 endpoint on 127.0.0.1 that lists `object` (1000 bytes) in bucket
/// `bkt` under prefix `p/` and misbehaves as told; one thread per request,
/// each answer closing its connection. Returns its URL.
fn hostile_s3(how: Misbehaviour, object: &str) -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let object = object.to_owned();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let object = object.clone();
            std::thread::spawn(move || answer(stream, how, &object));
        }
    });
    url
}

fn answer(mut stream: std::net::TcpStream, how: Misbehaviour, object: &str) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut request = String::new();
    if reader.read_line(&mut request).is_err() {
        return;
    }
    let mut length = 0usize;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
            break;
        }
        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            length = v.trim().parse().unwrap_or(0);
        }
    }
    let _ = reader
        .by_ref()
        .take(length as u64)
        .read_to_end(&mut Vec::new());
    let head = |status: &str, headers: &str| {
        format!("HTTP/1.1 {status}\r\n{headers}Connection: close\r\n\r\n")
    };
    if request.starts_with("GET /bkt?") || request.starts_with("GET /bkt/?") {
        let truncated = matches!(how, Misbehaviour::RepeatedToken);
        let body = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ListBucketResult \
             xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Name>bkt</Name><Prefix>p/</Prefix>\
             <KeyCount>1</KeyCount><MaxKeys>1000</MaxKeys><IsTruncated>{truncated}</IsTruncated>{}\
             <Contents><Key>p/{object}</Key><Size>1000</Size><StorageClass>STANDARD</StorageClass>\
             </Contents></ListBucketResult>",
            if truncated {
                "<NextContinuationToken>the-same-token-again</NextContinuationToken>"
            } else {
                ""
            }
        );
        let _ = stream.write_all(
            head(
                "200 OK",
                &format!(
                    "Content-Type: application/xml\r\nContent-Length: {}\r\n",
                    body.len()
                ),
            )
            .as_bytes(),
        );
        let _ = stream.write_all(body.as_bytes());
    } else if request.starts_with("GET /bkt/p/") {
        let _ = stream.write_all(
            head(
                "200 OK",
                "Content-Type: application/octet-stream\r\nContent-Length: 1000000000\r\n",
            )
            .as_bytes(),
        );
        let chunk = vec![b'x'; 64 * 1024];
        for _ in 0..16_000 {
            let sent = match how {
                Misbehaviour::SlowBody => {
                    std::thread::sleep(Duration::from_millis(500));
                    stream.write_all(b"x")
                }
                _ => stream.write_all(&chunk),
            };
            if sent.is_err() {
                return;
            }
        }
    } else {
        let _ = stream.write_all(head("404 Not Found", "Content-Length: 0\r\n").as_bytes());
    }
}

/// An installation with one backup and location `hostile` at `url`.
fn with_hostile_location(url: &str) -> (Installation, String) {
    let inst = Installation::demo(MIB, backupdesk_core::local::demo::JournalMode::Wal);
    let name = inst.backup();
    let (code, out) = json(
        &inst,
        &[
            "offsite",
            "add",
            "hostile",
            "--s3",
            "s3://bkt/p",
            "--endpoint",
            url,
            "--path-style",
        ],
    );
    assert_eq!(code, 0, "{out:#}");
    (inst, name)
}

/// Runs the CLI on `inst` (its machine's config and keys), bounded in time.
fn bounded(
    inst: &Installation,
    secs: u64,
    env: &[(&str, &str)],
    args: &[&str],
) -> (i32, serde_json::Value, Duration) {
    let mut cmd = crate::offsite::cli(inst, args);
    cmd.arg("--json").envs(env.iter().copied());
    let started = Instant::now();
    let out = output_within(secs, cmd);
    let value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().unwrap_or(-1), value, started.elapsed())
}

/// Case 12: a store that repeats its continuation token is given up on at
/// once with a clear error (before: every listing looped for ever while
/// memory grew).
#[test]
fn offsite_a_listing_that_repeats_its_token_is_given_up() {
    let url = hostile_s3(Misbehaviour::RepeatedToken, "sm_backup_x.db.gpg");
    let (inst, _) = with_hostile_location(&url);
    for args in [
        &["offsite", "list", "--location", "hostile"][..],
        &["offsite", "push", "--location", "hostile"],
    ] {
        let (code, out, took) = bounded(&inst, 60, &[], args);
        assert_eq!(code, 1, "{out:#}");
        assert_eq!(out["error"]["kind"], "bad_response", "{out:#}");
        assert!(
            out["error"]["message"]
                .as_str()
                .unwrap()
                .contains("repeats"),
            "{out:#}"
        );
        assert!(took < Duration::from_secs(30), "{took:?}");
    }
    tally("offsite listings", 2);
}

/// Case 13: a copy whose body never ends, or comes at two bytes a second,
/// is stopped (at its listed size, or at the time allowed for it) and
/// leaves nothing in the backups folder or the staging folder (before: an
/// endless body filled the database's filesystem under
/// `data/backups/.NAME.fetching`, a slow one was waited on for ever).
#[test]
fn offsite_a_download_without_end_or_at_a_crawl_is_stopped_and_leaves_nothing() {
    for (how, kind, env) in [
        (Misbehaviour::EndlessBody, "bad_response", vec![]),
        (
            Misbehaviour::SlowBody,
            "timeout",
            vec![("BACKUPDESK_TEST_DOWNLOAD_SECS", "3")],
        ),
    ] {
        let (inst, name) = with_hostile_location("http://127.0.0.1:9");
        let url = hostile_s3(how, &name);
        std::fs::remove_file(inst.backup_path(&name)).unwrap();
        let book = inst.dir.path().join("config/offsite.toml");
        let text = std::fs::read_to_string(&book).unwrap();
        std::fs::write(&book, text.replace("http://127.0.0.1:9", &url)).unwrap();
        let before = inst.fingerprint();
        let (code, out, took) = bounded(
            &inst,
            60,
            &env,
            &["--yes", "restore", &name, "--from-offsite", "hostile"],
        );
        assert_eq!(code, 1, "{out:#}");
        assert_eq!(out["error"]["kind"], kind, "{out:#}");
        assert!(took < Duration::from_secs(30), "{took:?}");
        assert_eq!(inst.fingerprint(), before, "nothing changed");
        assert!(inst.leftovers().is_empty(), "{:?}", inst.leftovers());
    }
    tally("offsite downloads", 2);
}

/// Case 20: a hand-edited location name with `../` is refused when the
/// book is read, so no ledger is written and nothing is removed outside
/// the config folder (before: `offsite remove` deleted there).
#[test]
fn offsite_a_hand_edited_location_name_never_reaches_a_path() {
    let moto = Moto::start(BUCKET);
    let inst = Installation::demo(MIB, backupdesk_core::local::demo::JournalMode::Wal);
    add_location(&inst, &moto, "cold");
    let config = inst.dir.path().join("config");
    let book = config.join("offsite.toml");
    let text = std::fs::read_to_string(&book).unwrap();
    std::fs::write(&book, text.replace("\"cold\"", "\"../../victim\"")).unwrap();
    std::fs::create_dir_all(config.join("offsite")).unwrap();
    let victim = inst.dir.path().join("victim.json");
    std::fs::write(&victim, "not Backup Desk's").unwrap();
    let mut cmd = inst.cli(&["offsite", "remove", "../../victim", "--yes", "--json"]);
    on_a_machine(&mut cmd, &config);
    let (code, out) = run_json(cmd);
    assert_eq!(code, 1, "{out:#}");
    assert_eq!(out["error"]["kind"], "malformed_config", "{out:#}");
    assert!(
        out["error"]["message"].as_str().unwrap().contains("victim"),
        "{out:#}"
    );
    assert_eq!(
        std::fs::read_to_string(&victim).unwrap(),
        "not Backup Desk's"
    );
    for args in [&["offsite", "list"][..], &["offsite", "push"]] {
        let (code, out) = json(&inst, args);
        assert_eq!(
            (code, out["error"]["kind"].as_str()),
            (1, Some("malformed_config")),
            "{out:#}"
        );
    }
    assert_eq!(
        std::fs::read_to_string(&victim).unwrap(),
        "not Backup Desk's"
    );
}

/// Case 16: names a store lists that were never pushed from here (a bogus
/// listing, another machine's copies, a server's own prune) do not stay
/// in the ledger once the store stops listing them: the next verify
/// reports only what is there, none failed (before: every later verify
/// reported each such name missing, for good).
#[test]
fn offsite_names_only_ever_listed_leave_the_ledger_when_the_store_drops_them() {
    let moto = Moto::start(BUCKET);
    let inst = Installation::demo(MIB, backupdesk_core::local::demo::JournalMode::Wal);
    let name = inst.backup();
    add_location(&inst, &moto, "cold");
    let (code, out) = json(&inst, &["offsite", "push"]);
    assert_eq!(code, 0, "{out:#}");
    moto.boto(&format!(
        "for i in range(40):\n    s3.put_object(Bucket='{BUCKET}', \
         Key='monitor-1/servers_db_20200101_0000%02d.db.gpg' % i, Body=b'not a backup')"
    ));
    let (_, out) = json(&inst, &["offsite", "verify"]);
    let listed = out["locations"][0]["copies"].as_array().unwrap().len();
    assert!(listed > 40, "the planted names are listed: {out:#}");

    moto.boto(&format!(
        "for i in range(40):\n    s3.delete_object(Bucket='{BUCKET}', \
         Key='monitor-1/servers_db_20200101_0000%02d.db.gpg' % i)"
    ));
    for _ in 0..2 {
        let (code, out) = json(&inst, &["offsite", "verify"]);
        assert_eq!(code, 0, "{out:#}");
        let copies = out["locations"][0]["copies"].as_array().unwrap();
        assert!(
            copies.iter().all(|c| c["ok"] == true),
            "none failed: {out:#}"
        );
        assert!(copies.iter().any(|c| c["name"] == name.as_str()), "{out:#}");
        assert!(
            !copies
                .iter()
                .any(|c| c["name"].as_str().unwrap().starts_with("servers_db_2020")),
            "the dropped names are gone: {out:#}"
        );
    }
    let ledger = std::fs::read_to_string(inst.dir.path().join("config/offsite/cold.json")).unwrap();
    assert!(!ledger.contains("servers_db_2020"), "{ledger}");
}

/// Case 5: a deep check killed mid-way (SIGKILL: no clean-up runs) leaves
/// its plaintext only in the installation's private staging folder, never
/// under `$TMPDIR`, and the next off-site run removes it (before: the
/// plaintext database stayed under `$TMPDIR` for good).
#[test]
fn offsite_a_killed_deep_check_leaves_no_plaintext_the_next_run_keeps() {
    let moto = Moto::start(BUCKET);
    let inst = Installation::demo(32 * MIB, backupdesk_core::local::demo::JournalMode::Wal);
    inst.backup();
    add_location(&inst, &moto, "cold");
    let (code, out) = json(&inst, &["offsite", "push"]);
    assert_eq!(code, 0, "{out:#}");
    let tmp = tempfile::tempdir().unwrap();
    let scratch_of = |staging: &std::path::Path| -> Vec<std::path::PathBuf> {
        std::fs::read_dir(staging)
            .map(|r| {
                r.flatten()
                    .map(|e| e.path())
                    .filter(|p| p.to_string_lossy().contains("-offsite-"))
                    .collect()
            })
            .unwrap_or_default()
    };
    let staging = inst.data.staging();
    let mut deep = crate::offsite::cli(&inst, &["offsite", "verify", "--deep", "--all"]);
    let mut deep = deep
        .env("TMPDIR", tmp.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Stopped as soon as its scratch folder exists (seconds before it
    // ends), then killed: whatever it holds there is left behind.
    let deadline = Instant::now() + Duration::from_secs(120);
    while scratch_of(&staging).is_empty() {
        assert!(Instant::now() < deadline, "the deep check never began");
        assert!(deep.try_wait().unwrap().is_none(), "it ended first");
        std::thread::sleep(Duration::from_millis(10));
    }
    let pid = deep.id().to_string();
    std::process::Command::new("kill")
        .args(["-STOP", &pid])
        .status()
        .unwrap();
    let left = scratch_of(&staging);
    assert!(!left.is_empty(), "its scratch folder is there when stopped");
    deep.kill().unwrap();
    deep.wait().unwrap();
    assert_eq!(scratch_of(&staging), left, "SIGKILL ran no clean-up");
    assert_eq!(
        std::fs::read_dir(tmp.path()).unwrap().count(),
        0,
        "nothing under $TMPDIR"
    );

    let (code, out) = json(&inst, &["offsite", "verify"]);
    assert_eq!(code, 0, "{out:#}");
    assert!(
        scratch_of(&staging).is_empty(),
        "{:?}",
        scratch_of(&staging)
    );
    assert!(inst.leftovers().is_empty(), "{:?}", inst.leftovers());
}
