//! Off-site copies against a real S3 peer (moto's server on 127.0.0.1):
//! a location added with keys from the environment (none in the config),
//! its probe test, a push whose copies the store confirms and `gpg -d`
//! reads after download, the listing from the bucket alone, a push killed
//! half-way and resumed from the store's parts, and the clear errors.

use std::process::Command;

use backupdesk_core::local::demo::JournalMode;

use crate::support::*;

pub(crate) const BUCKET: &str = "offsite";
pub(crate) const KEY_ID: &str = "AKIAMOTOTESTKEY";
pub(crate) const SECRET: &str = "moto-secret-never-in-a-file";

/// The CLI on `inst` with its own config folder, no keychain, and the
/// location's keys in the environment.
pub(crate) fn cli(inst: &Installation, args: &[&str]) -> Command {
    let mut cmd = inst.cli(args);
    on_a_machine(&mut cmd, &inst.dir.path().join("config"));
    cmd
}

/// A machine whose config folder is `config`, with no keychain and the
/// location's keys in the environment.
pub(crate) fn on_a_machine(cmd: &mut Command, config: &std::path::Path) {
    cmd.env("BACKUPDESK_CONFIG_DIR", config)
        .env(
            "DBUS_SESSION_BUS_ADDRESS",
            "unix:path=/nonexistent/no-keychain",
        )
        .env("AWS_ACCESS_KEY_ID", KEY_ID)
        .env("AWS_SECRET_ACCESS_KEY", SECRET)
        .env_remove("AWS_CA_BUNDLE");
}

/// `offsite add NAME` for the bucket of `moto`, under the `monitor-1` prefix.
fn add_args(moto: &Moto, name: &str) -> Vec<String> {
    [
        "offsite",
        "add",
        name,
        "--s3",
        &format!("s3://{BUCKET}/monitor-1"),
        "--endpoint",
        &moto.endpoint,
        "--path-style",
    ]
    .map(str::to_owned)
    .to_vec()
}

fn strs(args: &[String]) -> Vec<&str> {
    args.iter().map(String::as_str).collect()
}

pub(crate) fn json(inst: &Installation, args: &[&str]) -> (i32, serde_json::Value) {
    let mut cmd = cli(inst, args);
    cmd.arg("--json");
    run_json(cmd)
}

/// Another machine: its own config folder, no keychain, the keys in the
/// environment, and an installation folder that does not exist yet.
pub(crate) struct Machine {
    _dir: tempfile::TempDir,
    pub root: std::path::PathBuf,
    config: std::path::PathBuf,
    passphrase_file: std::path::PathBuf,
}

impl Machine {
    /// A new machine that knows the passphrase in `passphrase_file`.
    pub(crate) fn new(passphrase_file: &std::path::Path) -> Machine {
        let dir = tempfile::tempdir().unwrap();
        Machine {
            root: dir.path().join("opt/server-monitor"),
            config: dir.path().join("config"),
            passphrase_file: passphrase_file.to_owned(),
            _dir: dir,
        }
    }

    /// `backupdesk --data-dir ROOT --passphrase-file F ARGS…` there.
    pub(crate) fn command(&self, args: &[&str]) -> Command {
        let mut cmd = backupdesk();
        cmd.arg("--data-dir")
            .arg(&self.root)
            .arg("--passphrase-file")
            .arg(&self.passphrase_file)
            .args(args);
        on_a_machine(&mut cmd, &self.config);
        cmd
    }

    /// The same with `--json`: the exit code and the document.
    pub(crate) fn json(&self, args: &[&str]) -> (i32, serde_json::Value) {
        let mut cmd = self.command(args);
        cmd.arg("--json");
        run_json(cmd)
    }
}

/// The entry called `name` in `list` (`copies` of a verify or prune,
/// `copied` of a push) of a report's first location.
pub(crate) fn named(out: &serde_json::Value, list: &str, name: &str) -> serde_json::Value {
    out["locations"][0][list]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .cloned()
        .unwrap_or_else(|| panic!("no {name} in {list} of {out:#}"))
}

pub(crate) fn add_location(inst: &Installation, moto: &Moto, name: &str) {
    let (code, out) = json(inst, &strs(&add_args(moto, name)));
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
    // Every push on record in the activity log, by name.
    let (_, pushes) = json(&inst, &["activity", "--search", "Pushed off-site to cold"]);
    let said: Vec<&str> = pushes["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["message"].as_str().unwrap())
        .collect();
    assert_eq!(said.len(), 3, "{pushes:#}");
    assert!(
        said[0].contains("0 file(s) copied, 4 already there"),
        "{said:?}"
    );
    assert!(
        said[1].ends_with("(after a backup)") && said[1].contains("2 file(s) copied"),
        "{said:?}"
    );
    assert!(said[2].contains(&first), "{said:?}");

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
    // Uncompressed: a backup file of at least 64 MiB.
    let (code, made) = inst.json(&["backup", "--compression", "none"]);
    assert_eq!(code, 0, "{made:#}");
    let backup = made["filename"].as_str().unwrap().to_owned();
    add_location(&inst, &moto, "cold");
    let size = std::fs::metadata(inst.backup_path(&backup)).unwrap().len();
    assert!(size >= 64 * MIB, "{size} bytes");
    const PART: u64 = 8 * 1024 * 1024;
    let parts = size.div_ceil(PART) as u32;

    // Killed once half of the parts reached the store.
    let mut push = cli(&inst, &["offsite", "push"]);
    push.process_group(0);
    let mut child = push.spawn().unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while Moto::parts_uploaded(&moto.requests(), &backup).len() < (parts / 2) as usize {
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
    let (code, out) = run_json(cli(&inst, &["offsite", "push", "--json"]));
    assert_eq!(code, 0, "{out:#}");
    let second_run = moto.requests()[first_run.len()..].to_vec();
    let sent_after = Moto::parts_uploaded(&second_run, &backup);
    let resent: Vec<u32> = sent_after
        .iter()
        .filter(|p| sent_before.contains(p))
        .copied()
        .collect();
    assert!(resent.len() <= 1, "re-sent {resent:?} of {sent_before:?}");
    let copy = named(&out, "copied", &backup);
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
    // A backup with failing locations is made all the same, and says so,
    // with exit 1: it needs the admin (a cron job's failure is mailed).
    let (code, made) = json(&inst, &["backup"]);
    assert_eq!(code, 1, "{made:#}");
    assert_eq!(made["ok"], true, "{made:#}");
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
    // And on record in the backup log.
    let log = std::fs::read_to_string(inst.data.logs().join("backup.log")).unwrap();
    assert!(
        log.contains("[ERROR] Off-site push to down failed (after a backup): ")
            && log.contains("[ERROR] Off-site push to nobucket failed (after a backup): ")
            && log.contains("[ERROR] Off-site push to down failed: "),
        "{log}"
    );
    // Issue 26: the fleet tile is not green while a location's latest push
    // failed, and says which and why.
    let root = inst.root().display().to_string();
    let (code, out) = json(&inst, &["profile", "add", "office", "--local", &root]);
    assert_eq!(code, 0, "{out:#}");
    let (code, fleet) = json(&inst, &["fleet", "--timeout", "5"]);
    assert_eq!(code, 1, "{fleet:#}");
    let tile = &fleet["tiles"][0];
    assert_ne!(tile["status"], "ok", "{tile:#}");
    let offsite: Vec<&str> = tile["problems"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["condition"] == "offsite_failed")
        .map(|p| p["message"].as_str().unwrap())
        .collect();
    assert_eq!(offsite.len(), 2, "{tile:#}");
    assert!(
        offsite[0].contains("off-site down: the latest push")
            && offsite[1].contains("off-site nobucket: the latest push"),
        "{offsite:?}"
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
    let newest_copy = named(&pushed, "copied", &newest);
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
    let fresh = Machine::new(&lost.passphrase_file);
    let root = fresh.root.clone();
    let run = |args: &[&str]| fresh.json(args);
    let (code, out) = run(&strs(&add_args(&moto, "cold")));
    assert_eq!(code, 0, "{out:#}");
    let (code, listed) = run(&["offsite", "list", "--location", "cold"]);
    assert_eq!(code, 0, "{listed:#}");
    assert_eq!(listed["copies"].as_array().unwrap().len(), 4, "{listed:#}");
    assert!(!root.exists());

    // (In words this time: what an admin reads after a disaster.)
    let out = fresh
        .command(&["--yes", "restore", "--from-offsite", "cold"])
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

/// `offsite verify` against the bytes in the store: a copy altered there
/// (same size) and one cut short are each found by the quick check, by
/// this machine's ledger and, on a machine with no record of the push, by
/// the copies' `.meta` in the store; the deep check downloads, decrypts
/// and checks on a rolling plan that reaches every copy; nothing local
/// changes.
#[test]
fn offsite_verify_finds_copies_altered_or_cut_short_in_the_store() {
    let moto = Moto::start(BUCKET);
    let inst = Installation::demo(4 * MIB, JournalMode::Wal);
    let backups: Vec<String> = (0..3)
        .map(|_| {
            std::thread::sleep(std::time::Duration::from_millis(1100));
            inst.backup()
        })
        .collect();
    add_location(&inst, &moto, "cold");
    let (code, out) = json(&inst, &["offsite", "push"]);
    assert_eq!(code, 0, "{out:#}");

    // Quick: every copy as pushed, one HEAD each.
    let before = moto.requests().len();
    let (code, out) = json(&inst, &["offsite", "verify"]);
    assert_eq!(code, 0, "{out:#}");
    let copies = out["locations"][0]["copies"].as_array().unwrap();
    assert_eq!(copies.len(), 3, "{out:#}");
    assert!(
        copies
            .iter()
            .all(|c| c["ok"] == true && c["depth"] == "quick" && c.get("note").is_none()),
        "{out:#}"
    );
    assert_eq!(
        moto.requests().len() - before,
        1 + 3,
        "{:?}",
        &moto.requests()[before..]
    );

    // Deep on the rolling plan: the newest and 1/30 of the rest (one) per
    // run, never-checked first: two runs reach all three.
    let mut deep_checked = std::collections::BTreeSet::new();
    for _ in 0..2 {
        let (code, out) = json(&inst, &["offsite", "verify", "--deep"]);
        assert_eq!(code, 0, "{out:#}");
        let deep: Vec<String> = out["locations"][0]["copies"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["depth"] == "deep")
            .inspect(|c| {
                assert_eq!(c["ok"], true, "{c:#}");
                assert!(
                    c["note"].as_str().unwrap().contains("integrity ok"),
                    "{c:#}"
                );
            })
            .map(|c| c["name"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(deep.len(), 2, "{out:#}");
        assert!(deep.contains(&backups[2]), "the newest every run: {out:#}");
        deep_checked.extend(deep);
    }
    assert_eq!(deep_checked.len(), 3, "{deep_checked:?}");
    let (_, listed) = json(&inst, &["offsite", "list", "--location", "cold"]);
    for name in &backups {
        let copy = listed["copies"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name.as_str())
            .unwrap();
        assert_eq!(copy["record"]["deep"]["ok"], true, "{copy:#}");
        assert!(copy["record"]["store_checksum"].is_string(), "{copy:#}");
    }

    // In the store: the oldest altered (one byte, same size), the middle
    // one cut short; moto's own client writes them.
    let local_before = inst.fingerprint();
    let key = |name: &str| format!("monitor-1/{name}");
    moto.boto(&format!(
        "o = s3.get_object(Bucket='{BUCKET}', Key='{k}')['Body'].read()\n\
         s3.put_object(Bucket='{BUCKET}', Key='{k}', Body=o[:1000] + bytes([o[1000] ^ 1]) + o[1001:])",
        k = key(&backups[0])
    ));
    moto.boto(&format!(
        "o = s3.get_object(Bucket='{BUCKET}', Key='{k}')['Body'].read()\n\
         s3.put_object(Bucket='{BUCKET}', Key='{k}', Body=o[:len(o) // 2])",
        k = key(&backups[1])
    ));
    let kinds = |out: &serde_json::Value| -> Vec<(String, String)> {
        out["locations"][0]["copies"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["ok"] == false)
            .map(|c| {
                (
                    c["name"].as_str().unwrap().to_owned(),
                    c["problem"]["kind"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    };
    let expected = vec![
        (backups[1].clone(), "truncated_backup".to_owned()),
        (backups[0].clone(), "checksum_mismatch".to_owned()),
    ];
    let (code, out) = json(&inst, &["offsite", "verify"]);
    assert_eq!(code, 1, "{out:#}");
    assert_eq!(kinds(&out), expected, "{out:#}");
    assert_eq!(out["locations"][0]["failed"], 2);
    let mut human = cli(&inst, &["offsite", "verify"]);
    let human = human.output().unwrap();
    let text = String::from_utf8_lossy(&human.stdout);
    assert!(
        text.contains(&format!("FAILED cold/{}", backups[0]))
            && text.contains("altered in the store"),
        "{text}"
    );

    // A machine with no record of the push: the store's .meta files tell.
    let other = Machine::new(&inst.passphrase_file);
    let (code, out) = other.json(&strs(&add_args(&moto, "cold")));
    assert_eq!(code, 0, "{out:#}");
    let (code, out) = other.json(&["offsite", "verify"]);
    assert_eq!(code, 1, "{out:#}");
    assert_eq!(kinds(&out), expected, "{out:#}");

    assert_eq!(inst.fingerprint(), local_before, "nothing local changed");
}

/// Daily backups as tiny files, dated `days_ago` at `time` (local), each
/// with a `.meta`: push and prune read names, not contents.
fn dated_backups(inst: &Installation, dated: &[(i64, &str)]) -> Vec<String> {
    std::fs::create_dir_all(inst.data.backups()).unwrap();
    dated
        .iter()
        .map(|(days_ago, time)| {
            let day = chrono::Local::now().date_naive() - chrono::Duration::days(*days_ago);
            let stem = format!("servers_db_{}_{time}.db", day.format("%Y%m%d"));
            std::fs::write(
                inst.backup_path(&format!("{stem}.gpg")),
                format!("backup {stem}"),
            )
            .unwrap();
            std::fs::write(inst.backup_path(&format!("{stem}.meta")), "{}").unwrap();
            format!("{stem}.gpg")
        })
        .collect()
}

pub(crate) fn save_policy(inst: &Installation, daily: u32) {
    let state = inst.root().join("data/.backupdesk");
    std::fs::create_dir_all(&state).unwrap();
    std::fs::write(
        state.join("retention.json"),
        format!(r#"{{"keep_last":1,"daily":{daily},"weekly":0,"monthly":0,"pre_restore":3}}"#),
    )
    .unwrap();
}

/// The lock moto holds for `name`, as an RFC 3339 UTC instant.
fn lock_of(moto: &Moto, name: &str) -> String {
    moto.boto(&format!(
        "h = s3.head_object(Bucket='{BUCKET}', Key='monitor-1/{name}')\n\
         d = h.get('ObjectLockRetainUntilDate')\n\
         print(d.astimezone(__import__('datetime').timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ') if d else 'none')"
    ))
    .trim()
    .to_owned()
}

/// Midnight (local) `days` from today, in UTC as the store writes it.
fn local_midnight_in(days: i64) -> String {
    use chrono::TimeZone;
    let day = chrono::Local::now().date_naive() + chrono::Duration::days(days);
    chrono::Local
        .from_local_datetime(&day.and_hms_opt(0, 0, 0).unwrap())
        .earliest()
        .unwrap()
        .with_timezone(&chrono::Utc)
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

/// Each copy is locked until its daily rule may let it go, extended when
/// the rule grows; prune applies the policy to the store, deletes what no
/// rule keeps for good (no version left), and never asks to delete a
/// locked copy: it reports it with its date.
#[test]
fn offsite_copies_are_locked_for_their_retention_and_prune_spares_locked_ones() {
    let moto = Moto::start(BUCKET);
    let inst = Installation::empty();
    // 40 days ago, yesterday, today at 00:00:01.
    let names = dated_backups(&inst, &[(40, "020000"), (1, "020000"), (0, "000001")]);
    let (old, yesterday, today) = (&names[0], &names[1], &names[2]);
    save_policy(&inst, 7);
    add_location(&inst, &moto, "cold");

    let (code, out) = json(&inst, &["offsite", "push"]);
    assert_eq!(code, 0, "{out:#}");
    // Daily for 7 days: yesterday's until 6 days from now, today's until 7;
    // the 40-day-old one's rule let it go long ago: no lock.
    assert_eq!(lock_of(&moto, yesterday), local_midnight_in(6));
    assert_eq!(
        lock_of(&moto, &yesterday.replace(".gpg", ".meta")),
        local_midnight_in(6)
    );
    assert_eq!(lock_of(&moto, today), local_midnight_in(7));
    assert_eq!(lock_of(&moto, old), "none");
    let locked: Vec<&str> = out["locations"][0]["locked"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["name"].as_str().unwrap())
        .collect();
    assert_eq!(locked.len(), 4, "{out:#}");

    // The daily rule grows to 30 days: the locks grow with it, nothing else is sent.
    save_policy(&inst, 30);
    let before = moto.requests().len();
    let (code, out) = json(&inst, &["offsite", "push"]);
    assert_eq!(code, 0, "{out:#}");
    assert_eq!(
        moto.requests().len() - before,
        1 + 4,
        "a listing and four retention changes"
    );
    assert_eq!(lock_of(&moto, yesterday), local_midnight_in(29));
    assert_eq!(
        out["locations"][0]["locked"].as_array().unwrap().len(),
        4,
        "{out:#}"
    );
    // Shrinking it never shortens a lock (and costs no request).
    save_policy(&inst, 7);
    let before = moto.requests().len();
    assert_eq!(json(&inst, &["offsite", "push"]).0, 0);
    assert_eq!(moto.requests().len() - before, 1);
    assert_eq!(lock_of(&moto, yesterday), local_midnight_in(29));

    // Keep only the newest: the old copy goes, yesterday's stays locked.
    save_policy(&inst, 0);
    let held = |moto: &Moto| {
        moto.boto(&format!(
        "print(sorted(v['Key'].split('/')[-1] for v in s3.list_object_versions(Bucket='{BUCKET}').get('Versions', [])))"
    ))
    };
    let all_before = held(&moto);
    let (code, dry) = json(&inst, &["offsite", "prune", "--dry-run"]);
    assert_eq!(code, 0, "{dry:#}");
    assert_eq!(held(&moto), all_before, "a dry run deletes nothing");
    let fate = |out: &serde_json::Value, name: &str| named(out, "copies", name);
    assert_eq!(fate(&dry, old)["action"], "delete", "{dry:#}");
    assert_eq!(fate(&dry, today)["action"], "keep", "{dry:#}");
    let before = moto.requests().len();
    let (code, out) = json(&inst, &["offsite", "prune", "--yes"]);
    assert_eq!(code, 0, "{out:#}");
    let spared = fate(&out, yesterday);
    assert_eq!(spared["action"], "retained_until", "{out:#}");
    assert_eq!(spared["until"], local_midnight_in(29), "{out:#}");
    assert_eq!(fate(&out, old)["action"], "delete", "{out:#}");
    assert_eq!(
        (
            out["locations"][0]["deleted"].as_u64(),
            out["locations"][0]["retained"].as_u64()
        ),
        (Some(1), Some(1))
    );
    let requests = moto.requests()[before..].to_vec();
    assert!(
        !requests
            .iter()
            .any(|r| r.contains("DELETE") && r.contains(&yesterday.replace(".db.gpg", ""))),
        "no delete asked for the locked copy: {requests:?}"
    );
    // Gone for good (no version left), the others untouched; local files too.
    let now_held = held(&moto);
    assert!(
        !now_held.contains(&old.replace(".db.gpg", "")),
        "{now_held}"
    );
    assert!(
        now_held.contains(yesterday.as_str()) && now_held.contains(today.as_str()),
        "{now_held}"
    );
    for name in &names {
        assert!(inst.backup_path(name).is_file());
    }
    let mut human = cli(&inst, &["offsite", "prune", "--dry-run"]);
    let text = String::from_utf8_lossy(&human.output().unwrap().stdout).to_string();
    assert!(
        text.contains(&format!(
            "locked   {yesterday}: retained until {}",
            local_midnight_in(29)
        )),
        "{text}"
    );
}

/// The push-only bucket policy of the README: what a server's key needs,
/// and no delete.
const PUSH_ONLY: &str = r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["s3:ListBucket", "s3:GetObject", "s3:PutObject", "s3:PutObjectRetention", "s3:GetBucketObjectLockConfiguration", "s3:ListBucketMultipartUploads", "s3:ListMultipartUploadParts", "s3:AbortMultipartUpload"], "Resource": ["arn:aws:s3:::offsite", "arn:aws:s3:::offsite/*"]}]}"#;

/// With moto's IAM on: a wrong secret and a revoked key are each refused
/// with the store's own code, a push-only key pushes but may not delete
/// (its probe is left and named, prune reports the refusal and keeps the
/// copy), and nothing local changes.
#[test]
fn offsite_a_wrong_revoked_or_push_only_key_is_a_clear_error() {
    let (moto, key) = Moto::start_with_iam(BUCKET, PUSH_ONLY);
    let inst = Installation::demo(4 * MIB, JournalMode::Wal);
    let older = inst.backup();
    std::thread::sleep(std::time::Duration::from_millis(1100));
    inst.backup();
    // At the bucket's root: moto's IAM check re-signs the query it received
    // as it came (`prefix=monitor-1/`), where SigV4 (and aws-sdk-s3) sign
    // `prefix=monitor-1%2F`, so any prefix would be refused by moto alone.
    let (code, out) = json(
        &inst,
        &[
            "offsite",
            "add",
            "cold",
            "--s3",
            &format!("s3://{BUCKET}"),
            "--endpoint",
            &moto.endpoint,
            "--path-style",
        ],
    );
    assert_eq!(code, 0, "{out:#}");
    let as_key = |id: &str, secret: &str, args: &[&str]| {
        let mut cmd = cli(&inst, args);
        cmd.arg("--json")
            .env("AWS_ACCESS_KEY_ID", id)
            .env("AWS_SECRET_ACCESS_KEY", secret);
        run_json(cmd)
    };
    let local_before = inst.fingerprint();

    let (code, out) = as_key(&key.id, "not-the-secret", &["offsite", "push"]);
    assert_eq!(code, 1, "{out:#}");
    assert_eq!(out["error"]["kind"], "offsite_denied", "{out:#}");
    assert!(
        out["error"]["message"]
            .as_str()
            .unwrap()
            .contains("SignatureDoesNotMatch"),
        "{out:#}"
    );

    let (code, out) = as_key(&key.id, &key.secret, &["offsite", "push"]);
    assert_eq!(code, 0, "{out:#}");
    assert_eq!(
        out["locations"][0]["copied"].as_array().unwrap().len(),
        4,
        "{out:#}"
    );
    let (code, out) = as_key(&key.id, &key.secret, &["offsite", "test", "cold"]);
    assert_eq!(code, 0, "{out:#}");
    assert_eq!(out["deleted"], false, "{out:#}");
    assert!(
        out["probe_left"]
            .as_str()
            .unwrap()
            .starts_with(".backupdesk-probe-"),
        "{out:#}"
    );
    save_policy(&inst, 0);
    let (code, out) = as_key(&key.id, &key.secret, &["offsite", "prune", "--yes"]);
    assert_eq!(code, 1, "{out:#}");
    let refused = named(&out, "copies", &older);
    assert_eq!(refused["action"], "failed", "{out:#}");
    assert_eq!(refused["error"]["kind"], "offsite_denied", "{out:#}");
    let still = moto.boto(&format!(
        "print(s3.head_object(Bucket='{BUCKET}', Key='{older}')['ContentLength'])"
    ));
    assert!(still.trim().parse::<u64>().unwrap() > 0);

    moto.revoke(&key);
    for args in [&["offsite", "push"][..], &["offsite", "verify"][..]] {
        let (code, out) = as_key(&key.id, &key.secret, args);
        assert_eq!(code, 1, "{args:?}: {out:#}");
        assert_eq!(out["error"]["kind"], "offsite_denied", "{out:#}");
        assert!(
            out["error"]["message"]
                .as_str()
                .unwrap()
                .contains("InvalidAccessKeyId"),
            "{out:#}"
        );
    }
    assert_eq!(inst.fingerprint(), local_before, "nothing local changed");
}

/// A server pushes its backups to a bucket; the laptop's profile of that
/// server (its API) names the same location, and deep-verifies the copies
/// with the passphrase here: the proof that the server's backups decrypt,
/// which its API cannot give. Pushing stays the server's own job.
#[test]
fn offsite_the_laptop_deep_verifies_the_copies_its_server_pushes() {
    let moto = Moto::start(BUCKET);
    let server = Installation::demo(4 * MIB, JournalMode::Wal);
    let backup = server.backup();
    add_location(&server, &moto, "cold");
    assert_eq!(json(&server, &["offsite", "push"]).0, 0);
    let api = crate::remote::serve(&server);

    let laptop = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        let mut cmd = backupdesk();
        cmd.args(args).arg("--json");
        on_a_machine(&mut cmd, &laptop.path().join("config"));
        run_json(cmd)
    };
    let (code, out) = run(&[
        "profile",
        "add",
        "srv",
        "--url",
        &api.base_url,
        "--username",
        "admin",
    ]);
    assert_eq!(code, 0, "{out:#}");
    let mut add = vec!["--profile".to_owned(), "srv".to_owned()];
    add.extend(add_args(&moto, "cold"));
    let (code, out) = run(&strs(&add));
    assert_eq!(code, 0, "{out:#}");
    assert_eq!(out["location"]["installation"], "srv", "{out:#}");
    let (code, out) = run(&["--profile", "srv", "offsite", "list"]);
    assert_eq!(code, 0, "{out:#}");
    assert_eq!(out["locations"][0]["name"], "cold", "{out:#}");

    let pp = server.passphrase_file.display().to_string();
    let (code, out) = run(&[
        "--profile",
        "srv",
        "--passphrase-file",
        &pp,
        "offsite",
        "verify",
        "--deep",
        "--all",
    ]);
    assert_eq!(code, 0, "{out:#}");
    let copy = &out["locations"][0]["copies"][0];
    assert_eq!(
        (
            copy["name"].as_str(),
            copy["depth"].as_str(),
            copy["ok"].as_bool()
        ),
        (Some(backup.as_str()), Some("deep"), Some(true)),
        "{out:#}"
    );
    assert!(
        copy["note"].as_str().unwrap().contains("integrity ok"),
        "{out:#}"
    );

    // A wrong passphrase here is no fault of the copy.
    let wrong = laptop.path().join("wrong");
    write_private(&wrong, "not the passphrase");
    let (code, out) = run(&[
        "--profile",
        "srv",
        "--passphrase-file",
        &wrong.display().to_string(),
        "offsite",
        "verify",
        "--deep",
        "--all",
    ]);
    assert_eq!(code, 1, "{out:#}");
    assert_eq!(out["error"]["kind"], "wrong_passphrase", "{out:#}");

    let (code, out) = run(&["--profile", "srv", "offsite", "push"]);
    assert_eq!(code, 1, "{out:#}");
    println!("push from the laptop: {out}");
    assert!(
        out["error"]["message"].as_str().unwrap().contains("srv"),
        "{out:#}"
    );
}

/// Issue 30, point 4: after a rewrap, the next push sends the rewrapped
/// backup again as a new object (a new version of its key); the copy
/// pushed before stays in the store under its lock, untouched, until the
/// lock ends; the new copy is the one a check reads.
#[test]
fn offsite_a_rewrapped_backup_is_pushed_again_and_the_locked_old_copy_stays() {
    let moto = Moto::start(BUCKET);
    let inst = Installation::demo(MIB, backupdesk_core::local::demo::JournalMode::Wal);
    let name = inst.backup();
    save_policy(&inst, 7);
    add_location(&inst, &moto, "cold");
    let (code, first) = json(&inst, &["offsite", "push"]);
    assert_eq!(code, 0, "{first:#}");
    named(&first, "copied", &name);
    let locked_before = lock_of(&moto, &name);
    assert_ne!(locked_before, "none");
    let old_size = std::fs::metadata(inst.backup_path(&name)).unwrap().len();

    let certs: Vec<String> = ["ops", "safe"]
        .iter()
        .map(|n| public_cert(inst.dir.path(), n).0.display().to_string())
        .collect();
    let (code, set) = json(
        &inst,
        &[
            "encryption",
            "set",
            "--recipient",
            &certs[0],
            "--recipient",
            &certs[1],
        ],
    );
    assert_eq!(code, 0, "{set:#}");
    let (code, rewrap) = json(&inst, &["encryption", "rewrap", "--all"]);
    assert_eq!(code, 0, "{rewrap:#}");
    let local_size = std::fs::metadata(inst.backup_path(&name)).unwrap().len();

    let (code, second) = json(&inst, &["offsite", "push"]);
    assert_eq!(code, 0, "{second:#}");
    assert_eq!(
        named(&second, "copied", &name)["size"],
        local_size,
        "{second:#}"
    );
    // (Both versions may bear the same second: the store's IsLatest says
    // which is current.)
    let versions = moto.boto(&format!(
        "vs = [v for v in s3.list_object_versions(Bucket='{BUCKET}', Prefix='monitor-1/{name}').get('Versions', []) if v['Key'].endswith('{name}')]\n\
         for v in sorted(vs, key=lambda v: not v['IsLatest']):\n\
         \x20   h = s3.head_object(Bucket='{BUCKET}', Key=v['Key'], VersionId=v['VersionId'])\n\
         \x20   print('latest' if v['IsLatest'] else 'older', v['Size'], 'locked' if h.get('ObjectLockRetainUntilDate') else 'open')"
    ));
    let lines: Vec<&str> = versions.lines().collect();
    assert_eq!(
        lines,
        [
            format!("latest {local_size} locked"),
            format!("older {old_size} locked")
        ],
        "the rewrapped copy is current, the one pushed before keeps its lock: {versions}"
    );
    let (code, checked) = json(&inst, &["offsite", "verify"]);
    assert_eq!(code, 0, "{checked:#}");
    let kept = named(&second, "superseded", &name);
    assert_eq!(kept["retain_until"], locked_before, "{second:#}");

    // A key removed from the policy: the copy made before still needs it
    // while its lock holds it, and `encryption show` says so.
    let (newer, _) = public_cert(inst.dir.path(), "newer");
    let newer = newer.display().to_string();
    let (code, set) = json(
        &inst,
        &[
            "encryption",
            "set",
            "--recipient",
            &certs[1],
            "--recipient",
            &newer,
        ],
    );
    assert_eq!(code, 0, "{set:#}");
    let (code, again) = json(&inst, &["encryption", "rewrap", "--all"]);
    assert_eq!(code, 0, "{again:#}");
    let ids = |report: &serde_json::Value| -> Vec<String> {
        report["report"]["key_ids"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_owned())
            .collect()
    };
    let retired: Vec<String> = ids(&rewrap)
        .into_iter()
        .filter(|id| !ids(&again).contains(id))
        .collect();
    assert!(!retired.is_empty(), "{rewrap:#}\n{again:#}");
    let (code, third) = json(&inst, &["offsite", "push"]);
    assert_eq!(code, 0, "{third:#}");
    let kept = named(&third, "superseded", &name);
    assert_eq!(
        kept["retired"]["key_ids"],
        serde_json::json!(retired),
        "{third:#}"
    );
    let (code, show) = json(&inst, &["encryption", "show"]);
    assert_eq!(code, 0, "{show:#}");
    let needed = &show["still_needed"][0];
    assert_eq!(needed["location"], "cold", "{show:#}");
    assert_eq!(needed["copy"]["name"], name.as_str(), "{show:#}");
    assert_eq!(
        needed["copy"]["retired"]["key_ids"],
        serde_json::json!(retired)
    );
    let words = needed["words"].as_str().unwrap();
    assert!(
        words.contains(&format!("key {}", retired[0])) && words.contains("still needed until"),
        "{words}"
    );
}

/// Issue 30: an installation that keeps no passphrase pushes its backups
/// with public keys only, and its copies are deep-checked by a key the
/// admin holds (here in gpg-agent): no passphrase is asked for first.
#[test]
fn offsite_copies_of_an_installation_that_keeps_no_passphrase_are_deep_checked_by_a_key() {
    let moto = Moto::start(BUCKET);
    let inst = Installation::demo(MIB, JournalMode::Wal);
    let gpg = Gpg::new();
    let admin = inst.dir.path().join("admin.asc");
    gpg.generate_key("admin", &admin);
    let (safe, _) = public_cert(inst.dir.path(), "safe");
    let no_passphrase = |args: &[&str]| {
        let mut cmd = backupdesk();
        cmd.arg("--data-dir")
            .arg(inst.root())
            .arg("--json")
            .args(args);
        on_a_machine(&mut cmd, &inst.dir.path().join("config"));
        cmd.env_remove("DB_BACKUP_PASSPHRASE")
            .env("GNUPGHOME", gpg.home())
            .stdin(std::process::Stdio::null());
        run_json(cmd)
    };
    let (code, set) = json(
        &inst,
        &[
            "encryption",
            "set",
            "--no-passphrase",
            "--recipient",
            &admin.display().to_string(),
            "--recipient",
            &safe.display().to_string(),
        ],
    );
    assert_eq!(code, 0, "{set:#}");
    let (code, made) = no_passphrase(&["backup"]);
    assert_eq!(code, 0, "{made:#}");
    add_location(&inst, &moto, "cold");
    let (code, pushed) = no_passphrase(&["offsite", "push"]);
    assert_eq!(code, 0, "{pushed:#}");
    let (code, out) = no_passphrase(&["offsite", "verify", "--deep", "--all"]);
    assert_eq!(code, 0, "{out:#}");
    let copies = out["locations"][0]["copies"].as_array().unwrap();
    assert!(!copies.is_empty(), "{out:#}");
    for copy in copies {
        assert_eq!(
            (&copy["depth"], &copy["ok"]),
            (&"deep".into(), &true.into()),
            "{out:#}"
        );
        assert!(
            copy["note"].as_str().unwrap().contains("integrity ok"),
            "{copy:#}"
        );
    }
}
