//! Off-site copies against a real S3 peer (moto's server on 127.0.0.1):
//! a location added with keys from the environment (none in the config),
//! its probe test, a push whose copies the store confirms and `gpg -d`
//! reads after download, the listing from the bucket alone, a push killed
//! half-way and resumed from the store's parts, and the clear errors.

use std::process::Command;

use backupdesk_core::demo::JournalMode;

use crate::support::*;

const BUCKET: &str = "offsite";
const KEY_ID: &str = "AKIAMOTOTESTKEY";
const SECRET: &str = "moto-secret-never-in-a-file";

/// The CLI on `inst` with its own config folder, no keychain, and the
/// location's keys in the environment.
fn cli(inst: &Installation, args: &[&str]) -> Command {
    let mut cmd = inst.cli(args);
    on_a_machine(&mut cmd, &inst.dir.path().join("config"));
    cmd
}

/// A machine whose config folder is `config`, with no keychain and the
/// location's keys in the environment.
fn on_a_machine(cmd: &mut Command, config: &std::path::Path) {
    cmd.env("BACKUPDESK_CONFIG_DIR", config)
        .env(
            "DBUS_SESSION_BUS_ADDRESS",
            "unix:path=/nonexistent/no-keychain",
        )
        .env("AWS_ACCESS_KEY_ID", KEY_ID)
        .env("AWS_SECRET_ACCESS_KEY", SECRET)
        .env_remove("AWS_CA_BUNDLE");
}

fn json(inst: &Installation, args: &[&str]) -> (i32, serde_json::Value) {
    let mut cmd = cli(inst, args);
    cmd.arg("--json");
    run_json(cmd)
}

fn add_location(inst: &Installation, moto: &Moto, name: &str) {
    let (code, out) = json(
        inst,
        &[
            "offsite",
            "add",
            name,
            "--s3",
            &format!("s3://{BUCKET}/monitor-1"),
            "--endpoint",
            &moto.endpoint,
            "--path-style",
        ],
    );
    assert_eq!(code, 0, "{out:#}");
    assert_eq!(out["keys"], "environment", "{out:#}");
}

#[test]
fn offsite_push_is_confirmed_and_gpg_reads_the_copy_listed_from_the_bucket() {
    let moto = Moto::start(BUCKET);
    let inst = Installation::demo(4 * MIB, JournalMode::Wal);
    let first = inst.backup();
    add_location(&inst, &moto, "cold");

    let (code, out) = json(&inst, &["offsite", "test", "cold"]);
    assert_eq!(code, 0, "{out:#}");
    assert_eq!(
        (
            &out["listed"],
            &out["wrote"],
            &out["read_back"],
            &out["deleted"]
        ),
        (&true.into(), &true.into(), &true.into(), &true.into())
    );

    let (code, out) = json(&inst, &["offsite", "push"]);
    assert_eq!(code, 0, "{out:#}");
    let copied = out["locations"][0]["copied"].as_array().unwrap();
    let names: Vec<&str> = copied.iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert!(names.contains(&first.as_str()), "{out:#}");
    assert!(
        names.contains(&first.replace(".gpg", ".meta").as_str()),
        "{out:#}"
    );
    // A backup now is pushed by itself.
    let (code, made) = json(&inst, &["backup"]);
    assert_eq!(code, 0, "{made:#}");
    assert_eq!(made["offsite"][0]["location"], "cold", "{made:#}");
    assert_eq!(made["offsite"][0]["ok"], true, "{made:#}");
    assert_eq!(made["offsite"][0]["copied"], 2, "{made:#}");
    // Pushed again: nothing to send, one listing.
    let before = moto.requests().len();
    let (code, out) = json(&inst, &["offsite", "push"]);
    assert_eq!(code, 0, "{out:#}");
    assert!(out["locations"][0]["copied"].as_array().unwrap().is_empty());
    assert_eq!(out["locations"][0]["present"].as_array().unwrap().len(), 4);
    let requests = &moto.requests()[before..];
    assert_eq!(
        requests.len(),
        1,
        "one listing when all is there: {requests:?}"
    );

    // The bucket alone tells what it holds (a machine with no data folder).
    let (code, listed) = json(&inst, &["offsite", "list", "--location", "cold"]);
    assert_eq!(code, 0, "{listed:#}");
    let size = std::fs::metadata(inst.backup_path(&first)).unwrap().len();
    assert!(
        listed["copies"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["name"] == first.as_str() && c["size"] == size),
        "{listed:#}"
    );
    // Downloaded with moto's own client: byte for byte, and gpg reads it.
    let copy = inst.dir.path().join("copy.gpg");
    moto.boto(&format!(
        "s3.download_file('{BUCKET}', 'monitor-1/{first}', '{}')",
        copy.display()
    ));
    assert_eq!(
        std::fs::read(&copy).unwrap(),
        std::fs::read(inst.backup_path(&first)).unwrap()
    );
    let plain = inst.dir.path().join("copy.db");
    gpg_decrypt_to(PASSPHRASE, &copy, &plain);
    assert_eq!(sqlite3_integrity(&plain), "ok");

    // The keys are in no file here.
    assert!(files_holding(&inst.dir.path().join("config"), SECRET).is_empty());
    let book = std::fs::read_to_string(inst.dir.path().join("config/offsite.toml")).unwrap();
    assert!(
        book.contains("bucket = \"offsite\"") && !book.contains(KEY_ID),
        "{book}"
    );
}

#[test]
fn offsite_a_push_killed_half_way_resumes_from_the_stores_parts() {
    use std::os::unix::process::CommandExt;
    let moto = Moto::start(BUCKET);
    let inst = Installation::demo(64 * MIB, JournalMode::Wal);
    let backup = inst.backup();
    add_location(&inst, &moto, "cold");
    let size = std::fs::metadata(inst.backup_path(&backup)).unwrap().len();
    const PART: u64 = 5 * 1024 * 1024;
    let parts = size.div_ceil(PART) as u32;
    assert!(parts >= 3, "{size} bytes make {parts} parts");

    // Killed once two parts reached the store.
    let mut push = cli(&inst, &["offsite", "push"]);
    push.env("BACKUPDESK_TEST_PART_SIZE", PART.to_string())
        .process_group(0);
    let mut child = push.spawn().unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while Moto::parts_uploaded(&moto.requests(), &backup).len() < 2 {
        assert!(std::time::Instant::now() < deadline, "no parts arrived");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    Command::new("kill")
        .args(["-KILL", "--", &format!("-{}", child.id())])
        .status()
        .unwrap();
    let _ = child.wait();
    let first_run = moto.requests();
    let sent_before = Moto::parts_uploaded(&first_run, &backup);

    // Again: completes; at most one part sent twice (the one in flight).
    let mut again = cli(&inst, &["offsite", "push", "--json"]);
    again.env("BACKUPDESK_TEST_PART_SIZE", PART.to_string());
    let (code, out) = run_json(again);
    assert_eq!(code, 0, "{out:#}");
    let second_run = moto.requests()[first_run.len()..].to_vec();
    let sent_after = Moto::parts_uploaded(&second_run, &backup);
    let resent: Vec<u32> = sent_after
        .iter()
        .filter(|p| sent_before.contains(p))
        .copied()
        .collect();
    assert!(resent.len() <= 1, "re-sent {resent:?} of {sent_before:?}");
    let copy = out["locations"][0]["copied"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == backup.as_str())
        .cloned()
        .unwrap();
    assert!(copy["parts_kept"].as_u64().unwrap() >= 1, "{copy:#}");
    println!(
        "offsite: {size} bytes in {parts} parts; killed after {} parts, resumed: {} kept, {} sent, {} re-sent",
        sent_before.len(),
        copy["parts_kept"],
        copy["parts_sent"],
        resent.len()
    );
    // No orphan upload is left, and the copy is the backup.
    let uploads = moto.boto(&format!(
        "print(len(s3.list_multipart_uploads(Bucket='{BUCKET}').get('Uploads', [])))"
    ));
    assert_eq!(uploads.trim(), "0", "orphan multipart uploads");
    let copy_path = inst.dir.path().join("copy.gpg");
    moto.boto(&format!(
        "s3.download_file('{BUCKET}', 'monitor-1/{backup}', '{}')",
        copy_path.display()
    ));
    assert_eq!(
        std::fs::read(&copy_path).unwrap(),
        std::fs::read(inst.backup_path(&backup)).unwrap()
    );
}

#[test]
fn offsite_problems_are_each_a_clear_error_and_touch_nothing_local() {
    let moto = Moto::start(BUCKET);
    let inst = Installation::demo(MIB, JournalMode::Wal);
    inst.backup();
    // Not an S3 URL; a bad name.
    let (code, out) = json(&inst, &["offsite", "add", "x", "--s3", "https://bucket/x"]);
    assert_eq!(
        (code, out["error"]["kind"].as_str()),
        (1, Some("invalid_url")),
        "{out:#}"
    );
    let (code, out) = json(&inst, &["offsite", "add", "../x", "--s3", "s3://offsite/x"]);
    assert_eq!(
        (code, out["error"]["kind"].as_str()),
        (1, Some("invalid_name")),
        "{out:#}"
    );
    // No keys anywhere, no terminal.
    let mut cmd = cli(
        &inst,
        &["offsite", "add", "k", "--s3", "s3://offsite/x", "--json"],
    );
    cmd.env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY");
    let (code, out) = run_json(cmd);
    assert_eq!(
        (code, out["error"]["kind"].as_str()),
        (2, Some("offsite_credentials_missing")),
        "{out:#}"
    );
    // A bucket that does not exist; a store that does not answer.
    let (code, out) = json(
        &inst,
        &[
            "offsite",
            "add",
            "nobucket",
            "--s3",
            "s3://no-such-bucket/x",
            "--endpoint",
            &moto.endpoint,
            "--path-style",
        ],
    );
    assert_eq!(code, 0, "{out:#}");
    let (code, out) = json(&inst, &["offsite", "test", "nobucket"]);
    assert_eq!(
        (code, out["error"]["kind"].as_str()),
        (1, Some("offsite_failed")),
        "{out:#}"
    );
    assert!(
        out["error"]["message"]
            .as_str()
            .unwrap()
            .contains("NoSuchBucket"),
        "{out:#}"
    );
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let (code, out) = json(
        &inst,
        &[
            "offsite",
            "add",
            "down",
            "--s3",
            "s3://offsite/x",
            "--endpoint",
            &format!("http://127.0.0.1:{closed}"),
            "--path-style",
        ],
    );
    assert_eq!(code, 0, "{out:#}");
    let listing = std::fs::read_dir(inst.data.backups()).unwrap().count();
    let (code, out) = json(&inst, &["offsite", "push", "--location", "down"]);
    assert_eq!(
        (code, out["error"]["kind"].as_str()),
        (1, Some("unreachable")),
        "{out:#}"
    );
    assert_eq!(
        std::fs::read_dir(inst.data.backups()).unwrap().count(),
        listing
    );
    // A backup with failing locations is made all the same, and says so.
    let (code, made) = json(&inst, &["backup"]);
    assert_eq!(code, 0, "{made:#}");
    assert!(
        inst.backup_path(made["filename"].as_str().unwrap())
            .is_file()
    );
    let failed: Vec<&str> = made["offsite"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["ok"] == false)
        .map(|p| p["location"].as_str().unwrap())
        .collect();
    assert_eq!(failed, ["down", "nobucket"], "{made:#}");
    assert!(
        made["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w.as_str().unwrap().contains("offsite push")),
        "{made:#}"
    );
    let (code, out) = json(&inst, &["offsite", "test", "nowhere"]);
    assert_eq!(
        (code, out["error"]["kind"].as_str()),
        (1, Some("offsite_not_found")),
        "{out:#}"
    );
}

/// Disaster recovery: a machine with nothing of the installation, only the
/// bucket's address, its keys and the passphrase, restores the newest
/// backup from off-site: the folders are made, the backup (a multipart
/// copy) and its `.meta` fetched and checked, the database's content is
/// the backup's.
#[test]
fn offsite_a_machine_that_lost_everything_restores_from_the_bucket_alone() {
    let moto = Moto::start(BUCKET);
    let lost = Installation::demo(24 * MIB, JournalMode::Wal);
    lost.backup();
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let newest = lost.backup();
    add_location(&lost, &moto, "cold");
    let mut push = cli(&lost, &["offsite", "push", "--json"]);
    push.env("BACKUPDESK_TEST_PART_SIZE", (5 * MIB).to_string());
    let (code, pushed) = run_json(push);
    assert_eq!(code, 0, "{pushed:#}");
    let newest_copy = pushed["locations"][0]["copied"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == newest.as_str())
        .cloned()
        .unwrap();
    assert!(
        newest_copy["parts_sent"].as_u64().unwrap() >= 2,
        "{newest_copy:#}"
    );
    let expected = {
        let out = lost.dir.path().join("expected.db");
        gpg_decrypt_to(PASSPHRASE, &lost.backup_path(&newest), &out);
        content_digest(&out, None)
    };

    // The new machine: another config folder, no installation folder.
    let fresh = tempfile::tempdir().unwrap();
    let root = fresh.path().join("opt/server-monitor");
    let config = fresh.path().join("config");
    let machine = |args: &[&str]| {
        let mut cmd = backupdesk();
        cmd.arg("--data-dir")
            .arg(&root)
            .arg("--passphrase-file")
            .arg(&lost.passphrase_file)
            .args(args);
        on_a_machine(&mut cmd, &config);
        cmd
    };
    let run = |args: &[&str]| {
        let mut cmd = machine(args);
        cmd.arg("--json");
        run_json(cmd)
    };
    let (code, out) = run(&[
        "offsite",
        "add",
        "cold",
        "--s3",
        &format!("s3://{BUCKET}/monitor-1"),
        "--endpoint",
        &moto.endpoint,
        "--path-style",
    ]);
    assert_eq!(code, 0, "{out:#}");
    let (code, listed) = run(&["offsite", "list", "--location", "cold"]);
    assert_eq!(code, 0, "{listed:#}");
    assert_eq!(listed["copies"].as_array().unwrap().len(), 4, "{listed:#}");
    assert!(!root.exists());

    // (In words this time: what an admin reads after a disaster.)
    let out = machine(&["--yes", "restore", "--from-offsite", "cold"])
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        said.contains(&format!("Fetched {newest} from the off-site location cold")),
        "{said}"
    );
    assert!(
        said.contains(&format!("Restored {newest} into"))
            && said.contains("as a new database: there was none")
            && !said.contains("in use"),
        "{said}"
    );
    let live = root.join("data/servers.db");
    assert_eq!(sqlite3_integrity(&live), "ok");
    assert_eq!(
        content_digest(&live, None),
        expected,
        "the backup's content"
    );
    assert!(root.join(format!("data/backups/{newest}")).is_file());
    assert!(
        root.join(format!("data/backups/{}", newest.replace(".gpg", ".meta")))
            .is_file()
    );
    println!("offsite: disaster recovery from the bucket alone restored {newest}");
}
