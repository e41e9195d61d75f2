//! Issue 31: alerts from the installation itself. A stand-in sink
//! (`support::sink`, written from ntfy's, healthchecks.io's and a
//! webhook's public docs) receives what each notifier is told: each change
//! once and its recovery once; a ping check `start`, `fail` with why, and
//! success only when the whole proof holds; a sink that hangs or answers
//! 500 neither fails nor delays a backup past the bound; no notifier
//! secret in any file (but its private one), log or output.

use std::process::{Command, Stdio};

use crate::support::*;

/// The installation's CLI with no keychain (a server's job), its
/// scheduler a stand-in crontab.
fn cli(inst: &Installation, crontab: &std::path::Path, args: &[&str]) -> Command {
    let mut cmd = inst.cli(args);
    cmd.env("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/none")
        .env("BACKUPDESK_CRONTAB", crontab)
        .stdin(Stdio::null());
    cmd
}

/// `notify add`, the URL given on stdin; `secret` (its token) is in no
/// output.
fn add(
    inst: &Installation,
    crontab: &std::path::Path,
    name: &str,
    kind: &str,
    url: &str,
    on: &str,
) {
    let secret = url.split_once("//").map(|(_, rest)| rest).unwrap_or(url);
    let secret = secret
        .split_once('/')
        .map(|(_, path)| path)
        .unwrap_or(secret);
    let mut cmd = cli(
        inst,
        crontab,
        &["--json", "notify", "add", name, kind, "--on", on],
    );
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    use std::io::Write;
    writeln!(child.stdin.take().unwrap(), "{url}").unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        !text.contains(secret),
        "the URL's path in the output: {text}"
    );
}

/// The newest request under `path`.
fn last_at(sink: &Sink, path: &str) -> Received {
    let all: Vec<Received> = sink
        .received()
        .into_iter()
        .filter(|r| r.path.starts_with(path))
        .collect();
    all.last()
        .cloned()
        .unwrap_or_else(|| panic!("nothing at {path}"))
}

/// The webhook's events at `path` (each a JSON POST): (kind, event).
fn events(sink: &Sink, path: &str) -> Vec<(String, String)> {
    sink.at(path)
        .iter()
        .map(|r| {
            assert_eq!(r.method, "POST");
            let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
            (
                v["kind"].as_str().unwrap().to_owned(),
                v["event"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[test]
fn notify_each_change_is_told_once_its_recovery_once_and_the_ping_follows_the_proof() {
    let inst = Installation::demo(MIB, backupdesk_core::local::demo::JournalMode::Wal);
    let (crontab, _) = stand_in_crontab(inst.dir.path());
    let run = |args: &[&str]| {
        let mut cmd = cli(&inst, &crontab, args);
        cmd.arg("--json");
        run_json(cmd)
    };
    let (code, out) = run(&["schedule", "install", "--at", "02:00"]);
    assert_eq!(code, 0, "{out:#}");
    let sink = Sink::start();
    let token = "tk_7f3a9c0d1e";
    add(
        &inst,
        &crontab,
        "phone",
        "--ntfy",
        &format!("{}/ops-{token}", sink.base),
        "changes",
    );
    add(
        &inst,
        &crontab,
        "hook",
        "--webhook",
        &format!("{}/hook-{token}", sink.base),
        "changes",
    );
    add(
        &inst,
        &crontab,
        "check",
        "--ping",
        &format!("{}/ping-{token}", sink.base),
        "changes",
    );
    let (ntfy, hook, ping) = (
        format!("/ops-{token}"),
        format!("/hook-{token}"),
        format!("/ping-{token}"),
    );
    let (code, listed) = run(&["notify", "list"]);
    assert_eq!(code, 0);
    assert!(!listed.to_string().contains(token), "{listed:#}");

    // A test reaches each one.
    let (code, tested) = run(&["notify", "test"]);
    assert_eq!(code, 0, "{tested:#}");
    assert_eq!(sink.at(&ntfy).len(), 1);
    assert_eq!(
        events(&sink, &hook),
        [("test".to_owned(), "test".to_owned())]
    );
    assert_eq!(sink.at(&ping)[0].body, "test from Backup Desk");

    // A backup that fails (a passphrase that opens none of the set: no
    // backup is made under it, the set is not split), then another (its
    // encryption policy edited into nonsense): told once; the ping check
    // hears start and fail each time.
    let (code, out) = run(&["backup"]);
    assert_eq!(code, 0, "{out:#}");
    let before = inst.fingerprint();
    let wrong = inst.dir.path().join("wrong");
    write_private(&wrong, "not the passphrase of this set\n");
    let mut cmd = inst.cli_with(&wrong, &["--json", "backup"]);
    cmd.env("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/none")
        .env("BACKUPDESK_CRONTAB", &crontab)
        .stdin(Stdio::null());
    let (code, out) = run_json(cmd);
    assert_eq!(
        (code, &out["error"]["kind"]),
        (1, &"wrong_passphrase".into()),
        "{out:#}"
    );
    assert!(
        out["error"]["message"]
            .as_str()
            .unwrap()
            .contains("--new-set"),
        "{out:#}"
    );
    let policy = inst.root().join("data/.backupdesk/encryption.json");
    std::fs::write(&policy, "recipients: everyone").unwrap();
    let (code, out) = run(&["backup"]);
    assert_eq!(code, 1, "{out:#}");
    std::fs::remove_file(&policy).unwrap();
    assert_eq!(
        inst.fingerprint(),
        before,
        "no backup was made, nothing changed"
    );
    assert_eq!(
        events(&sink, &hook)[1..],
        [("backup".to_owned(), "failed".to_owned())]
    );
    let ntfy_got = sink.at(&ntfy);
    assert_eq!(ntfy_got.len(), 2, "{ntfy_got:?}");
    assert_eq!(ntfy_got[1].header("Priority"), Some("high"));
    let pings: Vec<String> = sink
        .received()
        .iter()
        .filter(|r| r.path.starts_with(&ping))
        .map(|r| r.path.trim_start_matches(&ping).to_owned())
        .collect();
    // (The test's success ping; the good backup's start, which ends with
    // no ping: the day's proof completes at the verification.)
    assert_eq!(pings, ["", "/start", "/start", "/fail", "/start", "/fail"]);

    // Back to normal: the recovery, once.
    let (code, out) = run(&["backup"]);
    assert_eq!(code, 0, "{out:#}");
    assert_eq!(
        events(&sink, &hook)[2..],
        [("backup".to_owned(), "recovered".to_owned())]
    );

    // The verification passes but no drill ever did: the proof's broken
    // link goes to the ping check; after a drill, it holds.
    let (code, out) = run(&["verify", "--rolling"]);
    assert_eq!(code, 0, "{out:#}");
    let last = last_at(&sink, &ping);
    assert_eq!(last.path, format!("{ping}/fail"));
    assert!(
        last.body.contains("no restore drill passed"),
        "{}",
        last.body
    );
    let (code, out) = run(&["drill"]);
    assert_eq!(code, 0, "{out:#}");
    let last = last_at(&sink, &ping);
    assert_eq!(
        (last.path.as_str(), last.body.as_str()),
        (ping.as_str(), "the proof holds")
    );

    // The timer removed: told by the next job, once.
    let (code, _) = run(&["schedule", "remove"]);
    assert_eq!(code, 0);
    let (code, _) = run(&["verify", "--rolling"]);
    assert_eq!(code, 0);
    assert_eq!(
        events(&sink, &hook)[3..],
        [("schedule".to_owned(), "failed".to_owned())]
    );

    // Every attempt is logged, without the token; no file holds the
    // token but the private one (0600).
    let log = std::fs::read_to_string(inst.root().join("logs/notify.log")).unwrap();
    assert!(
        log.contains("webhook hook (http://127.0.0.1:") && log.contains("attempt 1 delivered"),
        "{log}"
    );
    let holding = files_holding(inst.root(), token);
    let private = inst.root().join("data/.backupdesk/notifier-secrets.json");
    assert_eq!(
        holding,
        std::slice::from_ref(&private),
        "the token outside its private file"
    );
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&private).unwrap().permissions().mode() & 0o777,
        0o600
    );
}

#[test]
fn notify_a_sink_that_hangs_or_fails_neither_fails_nor_holds_a_backup_past_the_bound() {
    let inst = Installation::demo(MIB, backupdesk_core::local::demo::JournalMode::Wal);
    let (crontab, _) = stand_in_crontab(inst.dir.path());
    let sink = Sink::start();
    add(
        &inst,
        &crontab,
        "stuck",
        "--webhook",
        &format!("{}/hang/x", sink.base),
        "all",
    );
    add(
        &inst,
        &crontab,
        "broken",
        "--ntfy",
        &format!("{}/err/y", sink.base),
        "all",
    );
    let started = std::time::Instant::now();
    let (code, out) = run_json({
        let mut cmd = cli(&inst, &crontab, &["--json", "backup"]);
        cmd.stdin(Stdio::null());
        cmd
    });
    let took = started.elapsed();
    assert_eq!(code, 0, "{out:#}");
    // The bound is 10 s per notifier, the notifiers at once; the backup of
    // 1 MiB itself takes well under a second.
    assert!(took < std::time::Duration::from_secs(14), "{took:?}");
    let errs = sink.at("/err/y").len();
    assert!(
        errs >= 3 && errs.is_multiple_of(3),
        "three attempts per message at the one that answers 500: {errs}"
    );
    assert!(!sink.at("/hang/x").is_empty());
    let log = std::fs::read_to_string(inst.root().join("logs/notify.log")).unwrap();
    assert!(
        log.contains("attempt 3 failed (HTTP 500)") && log.contains("no answer in time"),
        "{log}"
    );
}

/// One sample: its name, its labels, its value.
type Sample = (String, Vec<(String, String)>, f64);

/// A line of Prometheus' text format (0.0.4) read strictly: `# HELP name
/// text`, `# TYPE name gauge`, or `name{label="value",…} number`, every
/// sample of a family after its HELP and TYPE. Returns the samples.
fn parse_prometheus(text: &str) -> Vec<Sample> {
    let mut typed = std::collections::BTreeSet::new();
    let mut samples = Vec::new();
    let name_ok = |n: &str| {
        !n.is_empty()
            && n.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
            && !n.starts_with(|c: char| c.is_ascii_digit())
    };
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            assert!(name_ok(rest.split(' ').next().unwrap()), "{line}");
        } else if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap();
            assert!(name_ok(name) && kind == "gauge", "{line}");
            typed.insert(name.to_owned());
        } else {
            let (head, value) = line.rsplit_once(' ').unwrap_or_else(|| panic!("{line}"));
            let value: f64 = value
                .parse()
                .unwrap_or_else(|_| panic!("not a number: {line}"));
            let (name, labels) = match head.split_once('{') {
                None => (head, Vec::new()),
                Some((name, rest)) => {
                    let body = rest.strip_suffix('}').unwrap_or_else(|| panic!("{line}"));
                    let mut labels = Vec::new();
                    for pair in body.split("\",").map(|p| p.trim_end_matches('"')) {
                        let (k, v) = pair.split_once("=\"").unwrap_or_else(|| panic!("{line}"));
                        assert!(name_ok(k), "{line}");
                        labels.push((k.to_owned(), v.to_owned()));
                    }
                    (name, labels)
                }
            };
            assert!(typed.contains(name), "a sample before its TYPE: {line}");
            samples.push((name.to_owned(), labels, value));
        }
    }
    samples
}

#[test]
fn notify_each_job_writes_the_metrics_file_whole_and_the_fleet_renders_as_prometheus() {
    let inst = Installation::demo(MIB, backupdesk_core::local::demo::JournalMode::Wal);
    let (crontab, _) = stand_in_crontab(inst.dir.path());
    let run = |args: &[&str]| {
        let mut cmd = cli(&inst, &crontab, args);
        cmd.arg("--json");
        run_json(cmd)
    };
    for args in [&["backup"][..], &["verify", "--rolling"], &["drill"]] {
        let (code, out) = run(args);
        assert_eq!(code, 0, "{out:#}");
    }
    let file = inst.root().join("logs/backupdesk.prom");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
        0o644
    );
    let text = std::fs::read_to_string(&file).unwrap();
    let samples = parse_prometheus(&text);
    let value = |name: &str, job: Option<&str>| {
        samples
            .iter()
            .find(|(n, labels, _)| {
                n == name && job.is_none_or(|j| labels.iter().any(|(k, v)| k == "job" && v == j))
            })
            .map(|(_, _, v)| *v)
            .unwrap_or_else(|| panic!("no {name} {job:?} in\n{text}"))
    };
    assert_eq!(value("backupdesk_backups", None), 1.0, "{text}");
    for job in ["backup", "verification", "drill"] {
        assert_eq!(value("backupdesk_job_ok", Some(job)), 1.0, "{text}");
        assert!(value("backupdesk_job_last_success_timestamp_seconds", Some(job)) > 1.7e9);
    }
    // Never half written: only the file itself is there, no temporary.
    let names: Vec<String> = std::fs::read_dir(inst.root().join("logs"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("prom"))
        .collect();
    assert_eq!(names, ["backupdesk.prom"]);

    // The fleet from the cache, as Prometheus reads it.
    let config = inst.dir.path().join("config");
    let laptop = |args: &[&str]| {
        let out = backupdesk()
            .env("BACKUPDESK_CONFIG_DIR", &config)
            .env("BACKUPDESK_CRONTAB", &crontab)
            .env("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/none")
            .args(args)
            .output()
            .unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    let root = inst.root().display().to_string();
    assert_eq!(laptop(&["profile", "add", "here", "--local", &root]).0, 0);
    laptop(&["fleet"]);
    let (code, text) = laptop(&["fleet", "--format", "prometheus"]);
    assert_eq!(code, 0, "{text}");
    let fleet = parse_prometheus(&text);
    let status = fleet
        .iter()
        .find(|(n, labels, _)| n == "backupdesk_fleet_status" && labels[0].1 == "here")
        .unwrap_or_else(|| panic!("{text}"));
    assert!(status.2 <= 2.0, "{text}");
    assert!(
        fleet
            .iter()
            .any(|(n, _, _)| n == "backupdesk_fleet_last_proven_timestamp_seconds"),
        "{text}"
    );
}

/// The passphrase of the demo installation, for a backup made here.
struct Given;

impl backupdesk_core::service::PassphraseSource for Given {
    fn passphrase(
        &self,
        _: backupdesk_core::model::PassphraseUse,
    ) -> Result<backupdesk_core::format::crypto::Passphrase, backupdesk_core::service::ServiceError>
    {
        Ok(backupdesk_core::format::crypto::Passphrase::new(
            PASSPHRASE.to_owned(),
        ))
    }
}

#[test]
fn notify_a_backup_30_hours_old_and_a_damaged_live_database_are_each_told_once() {
    let inst = Installation::demo(MIB, backupdesk_core::local::demo::JournalMode::Wal);
    let (crontab, _) = stand_in_crontab(inst.dir.path());
    let run = |args: &[&str]| {
        let mut cmd = cli(&inst, &crontab, args);
        cmd.arg("--json");
        run_json(cmd)
    };
    assert_eq!(run(&["schedule", "install", "--at", "02:00"]).0, 0);
    // The newest backup, taken 30 hours ago (a clock set back).
    let then = chrono::Utc::now() - chrono::Duration::hours(30);
    let clock = backupdesk_core::clock::FixedClock(then.fixed_offset());
    backupdesk_core::service::backups::backup(
        &backupdesk_core::service::Selection::data_dir(inst.root()),
        &Given,
        &backupdesk_core::local::backup::BackupOptions::default(),
        &backupdesk_core::OperationContext::bare(&clock),
    )
    .unwrap();
    let sink = Sink::start();
    add(
        &inst,
        &crontab,
        "hook",
        "--webhook",
        &format!("{}/hook-k9", sink.base),
        "changes",
    );
    // The scheduled verification notices it, twice: told once.
    for _ in 0..2 {
        let (code, out) = run(&["verify", "--rolling"]);
        assert_eq!(code, 0, "{out:#}");
    }
    assert_eq!(
        events(&sink, "/hook-k9"),
        [("overdue".to_owned(), "failed".to_owned())]
    );
    let told = &sink.at("/hook-k9")[0].body;
    assert!(told.contains("older than 26 hours"), "{told}");
    // A backup now: back to normal, once.
    assert_eq!(run(&["backup"]).0, 0);
    assert_eq!(
        events(&sink, "/hook-k9")[1..],
        [("overdue".to_owned(), "recovered".to_owned())]
    );
    // The live database damaged (pages overwritten in its middle): the
    // next job says the database is unhealthy, once.
    let db = inst.root().join("data/servers.db");
    let mut bytes = std::fs::read(&db).unwrap();
    let middle = bytes.len() / 2 / 4096 * 4096;
    bytes[middle..middle + 8192].fill(0xA5);
    std::fs::write(&db, bytes).unwrap();
    for _ in 0..2 {
        run(&["verify", "--rolling"]);
    }
    assert_eq!(
        events(&sink, "/hook-k9")[2..],
        [("health".to_owned(), "failed".to_owned())]
    );
}
