//! `schedule install|status|remove`.
//!
//! No systemd runs on the build machines and the real `crontab` edits the
//! machine's own spool, so these tests point Backup Desk at stand-ins for
//! `systemctl` and `crontab` (shell scripts that record what they are asked
//! and keep the crontab in a temp file). The unit files and the crontab text
//! themselves are the real output.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use crate::support::*;

/// The command a systemd unit's `ExecStart=` line runs, through `sh -c`
/// (stdin empty).
fn exec_start(service: &str) -> std::process::Command {
    let exec = service
        .lines()
        .find_map(|l| l.strip_prefix("ExecStart="))
        .unwrap_or_else(|| panic!("no ExecStart in {service}"));
    let mut cmd = std::process::Command::new("sh");
    cmd.arg("-c").arg(exec).stdin(std::process::Stdio::null());
    cmd
}

/// Runs a unit's job and asserts it succeeded (its output said if not).
fn runs(unit: &str, mut job: std::process::Command) {
    let out = job.output().unwrap();
    assert!(
        out.status.success(),
        "{unit}: {job:?}\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn script(path: &Path, body: &str) {
    std::fs::write(path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn systemd_timer_install_status_remove() {
    let inst = Installation::empty();
    let units = inst.dir.path().join("units");
    std::fs::create_dir_all(&units).unwrap();
    let calls = inst.dir.path().join("systemctl.calls");
    let systemctl = inst.dir.path().join("systemctl");
    script(&systemctl, &format!("echo \"$@\" >> {}", calls.display()));
    let run = |args: &[&str]| {
        let mut cmd = inst.cli(args);
        cmd.arg("--json")
            .env("BACKUPDESK_SYSTEMD_UNIT_DIR", &units)
            .env("BACKUPDESK_SYSTEMCTL", &systemctl);
        run_json(cmd)
    };

    let (code, out) = run(&["schedule", "install", "--at", "02:30"]);
    assert_eq!(code, 0, "{out:#}");
    assert_eq!(out["installed"], true);
    assert_eq!(out["definition"], "*-*-* 02:30:00");
    let service = std::fs::read_to_string(units.join("backupdesk-backup.service")).unwrap();
    let timer = std::fs::read_to_string(units.join("backupdesk-backup.timer")).unwrap();
    assert!(
        service.contains("--passphrase-file")
            && service.contains(inst.passphrase_file.to_str().unwrap()),
        "{service}"
    );
    assert!(service.contains("--yes backup") && service.contains("Type=oneshot"));
    assert!(
        timer.contains("OnCalendar=*-*-* 02:30:00") && timer.contains("Persistent=true"),
        "{timer}"
    );
    assert!(!service.contains(PASSPHRASE) && !timer.contains(PASSPHRASE));
    let recorded = std::fs::read_to_string(&calls).unwrap();
    assert!(
        recorded.contains("daemon-reload")
            && recorded.contains("enable --now backupdesk-backup.timer"),
        "{recorded}"
    );

    let (_, status) = run(&["schedule", "status"]);
    assert_eq!(status["installed"], true);
    let (code, removed) = run(&["schedule", "remove"]);
    assert_eq!(code, 0);
    assert_eq!(removed["installed"], false);
    assert!(!units.join("backupdesk-backup.timer").exists());
    assert!(
        std::fs::read_to_string(&calls)
            .unwrap()
            .contains("disable --now backupdesk-backup.timer")
    );
}

#[test]
fn crontab_install_keeps_other_lines_and_never_holds_the_passphrase() {
    let inst = Installation::demo(MIB, backupdesk_core::local::demo::JournalMode::Wal);
    let (crontab, table) = stand_in_crontab(inst.dir.path());
    std::fs::write(
        &table,
        "MAILTO=ops@example.org\n17 * * * * /usr/local/bin/other-job\n",
    )
    .unwrap();
    let run = |args: &[&str]| {
        let mut cmd = inst.cli(args);
        cmd.arg("--json")
            .env("BACKUPDESK_CRONTAB", &crontab)
            .env_remove("BACKUPDESK_SYSTEMD_UNIT_DIR");
        run_json(cmd)
    };
    if Path::new("/run/systemd/system").is_dir() {
        eprintln!(
            "systemd is running here: the cron path is not the one detected; skipping the cron half"
        );
        return;
    }
    let (code, out) = run(&["schedule", "install", "--at", "03:05"]);
    assert_eq!(code, 0, "{out:#}");
    let text = std::fs::read_to_string(&table).unwrap();
    assert!(
        text.contains("MAILTO=ops@example.org") && text.contains("/usr/local/bin/other-job"),
        "{text}"
    );
    let ours = text
        .lines()
        .find(|l| l.contains("# backupdesk-backup"))
        .unwrap();
    assert!(ours.starts_with("5 3 * * * "), "{ours}");
    assert!(
        ours.contains("--passphrase-file") && !text.contains(PASSPHRASE),
        "{ours}"
    );

    let line = |job: &str| job_line(&table, job);
    assert!(line("verify").starts_with("5 4 * * * "), "{text}");
    assert!(line("verify").contains("--yes verify --rolling"), "{text}");
    assert!(line("drill").starts_with("5 5 * * 0 "), "{text}");
    assert!(line("drill").contains("--yes drill >"), "{text}");
    // Each line's command runs the real binary: backup, verify, drill.
    for job in ["backup", "verify", "drill"] {
        let entry = line(job);
        let out = run_job_line(&entry);
        assert!(
            out.status.success(),
            "{job}: {entry}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let (_, list) = inst.json(&["list"]);
    assert_eq!(list["backups"][0]["drill"]["ok"], true, "{list:#}");

    // Installing again replaces, never duplicates.
    run(&["schedule", "install", "--at", "04:00"]);
    let text = std::fs::read_to_string(&table).unwrap();
    assert_eq!(text.matches("# backupdesk-backup").count(), 1, "{text}");
    assert_eq!(text.matches("# backupdesk-drill").count(), 1, "{text}");
    assert!(text.contains("0 4 * * * "));

    let (_, removed) = run(&["schedule", "remove"]);
    assert_eq!(removed["installed"], false);
    let text = std::fs::read_to_string(&table).unwrap();
    assert!(
        !text.contains("backupdesk") && text.contains("other-job"),
        "{text}"
    );
}

#[test]
fn a_passphrase_file_others_can_read_is_refused() {
    let inst = Installation::empty();
    std::fs::set_permissions(
        &inst.passphrase_file,
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    let units = inst.dir.path().join("units");
    std::fs::create_dir_all(&units).unwrap();
    let mut cmd = inst.cli(&["schedule", "install", "--json"]);
    cmd.env("BACKUPDESK_SYSTEMD_UNIT_DIR", &units)
        .env("BACKUPDESK_SYSTEMCTL", "/bin/false");
    let (code, out) = run_json(cmd);
    assert_eq!(
        (code, out["error"]["kind"].as_str()),
        (1, Some("passphrase_file_not_private")),
        "{out:#}"
    );
    assert_eq!(std::fs::read_dir(&units).unwrap().count(), 0);
}

/// `schedule install` also installs the daily rolling verification and the
/// weekly restore drill; their units run the real binary, which verifies
/// and drills the installation and records both.
#[test]
fn the_verification_and_drill_jobs_run_the_real_binary() {
    let inst = Installation::demo(MIB, backupdesk_core::local::demo::JournalMode::Wal);
    let name = inst.backup();
    let units = inst.dir.path().join("units");
    std::fs::create_dir_all(&units).unwrap();
    let systemctl = inst.dir.path().join("systemctl");
    script(&systemctl, "exit 0");
    let mut cmd = inst.cli(&[
        "schedule",
        "install",
        "--at",
        "01:15",
        "--drill-day",
        "wed",
        "--json",
    ]);
    cmd.env("BACKUPDESK_SYSTEMD_UNIT_DIR", &units)
        .env("BACKUPDESK_SYSTEMCTL", &systemctl);
    let (code, out) = run_json(cmd);
    assert_eq!(code, 0, "{out:#}");
    let jobs: Vec<(String, String)> = out["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| {
            (
                j["job"].as_str().unwrap().to_owned(),
                j["definition"].as_str().unwrap_or("-").to_owned(),
            )
        })
        .collect();
    assert_eq!(
        jobs,
        [
            ("backup".to_owned(), "*-*-* 01:15:00".to_owned()),
            ("verify".to_owned(), "*-*-* 02:15:00".to_owned()),
            ("drill".to_owned(), "Wed *-*-* 03:15:00".to_owned()),
        ]
    );
    for unit in ["backupdesk-verify", "backupdesk-drill"] {
        let service = std::fs::read_to_string(units.join(format!("{unit}.service"))).unwrap();
        assert!(!service.contains(PASSPHRASE), "{service}");
        let mut job = exec_start(&service);
        job.env_remove("DB_BACKUP_PASSPHRASE");
        runs(unit, job);
    }
    let (_, list) = inst.json(&["list"]);
    let item = &list["backups"][0];
    assert_eq!(item["filename"], name.as_str());
    assert_eq!(
        (
            item["verified"]["depth"].as_str(),
            item["drill"]["ok"].as_bool()
        ),
        (Some("deep"), Some(true)),
        "{item:#}"
    );
    // Without a drill: its timer goes, the others stay.
    let mut cmd = inst.cli(&["schedule", "install", "--no-drill", "--json"]);
    cmd.env("BACKUPDESK_SYSTEMD_UNIT_DIR", &units)
        .env("BACKUPDESK_SYSTEMCTL", &systemctl);
    let (code, out) = run_json(cmd);
    assert_eq!(code, 0, "{out:#}");
    assert!(!units.join("backupdesk-drill.timer").exists());
    assert!(units.join("backupdesk-verify.timer").exists());
    assert_eq!(out["jobs"][2]["installed"], false);
}

/// Issue 27 (found by reading): a scheduled job carries no `AWS_*`
/// variables, so on a server without a keychain its off-site push had no
/// keys. `schedule install` now says which locations a job could not
/// reach, and the job reads the admin's AWS credentials file (mode 600,
/// profile `[backupdesk-NAME]`); one open to others is refused by name.
#[test]
fn a_scheduled_backup_pushes_off_site_with_the_aws_credentials_file() {
    use crate::offsite::{BUCKET, KEY_ID, SECRET, add_location, on_a_machine};
    let moto = Moto::start(BUCKET);
    let inst = Installation::demo(MIB, backupdesk_core::local::demo::JournalMode::Wal);
    add_location(&inst, &moto, "cold");
    let config = inst.dir.path().join("config");
    let home = inst.dir.path().join("home");
    std::fs::create_dir_all(home.join(".aws")).unwrap();
    let units = inst.dir.path().join("units");
    std::fs::create_dir_all(&units).unwrap();
    let systemctl = inst.dir.path().join("systemctl");
    script(&systemctl, "exit 0");
    // As root at a shell without the keys, then as the job runs.
    let as_the_job = |cmd: &mut std::process::Command| {
        on_a_machine(cmd, &config);
        cmd.env("HOME", &home)
            .env_remove("AWS_ACCESS_KEY_ID")
            .env_remove("AWS_SECRET_ACCESS_KEY")
            .env_remove("AWS_SHARED_CREDENTIALS_FILE");
    };
    let install = || {
        let mut cmd = inst.cli(&["schedule", "install", "--at", "01:15", "--json"]);
        as_the_job(&mut cmd);
        cmd.env("BACKUPDESK_SYSTEMD_UNIT_DIR", &units)
            .env("BACKUPDESK_SYSTEMCTL", &systemctl);
        let out = cmd.output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let said = install();
    assert!(
        said.contains("note: the scheduled backup cannot push to cold")
            && said.contains(".aws/credentials"),
        "{said}"
    );
    let service = std::fs::read_to_string(units.join("backupdesk-backup.service")).unwrap();
    let exec = service
        .lines()
        .find_map(|l| l.strip_prefix("ExecStart="))
        .unwrap()
        .to_owned();
    let run_job = || {
        let mut cmd = std::process::Command::new("sh");
        cmd.arg("-c").arg(&exec).stdin(std::process::Stdio::null());
        as_the_job(&mut cmd);
        cmd.output().unwrap()
    };

    let credentials = home.join(".aws/credentials");
    std::fs::write(
        &credentials,
        format!(
            "[default]\naws_access_key_id = AKIAWRONG\naws_secret_access_key = wrong\n\n\
             [backupdesk-cold]\naws_access_key_id = {KEY_ID}\naws_secret_access_key = {SECRET}\n"
        ),
    )
    .unwrap();
    std::fs::set_permissions(&credentials, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = run_job();
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "the push failed: {said}");
    assert!(said.contains("chmod 600"), "{said}");
    assert!(!said.contains(SECRET), "{said}");

    std::fs::set_permissions(&credentials, std::fs::Permissions::from_mode(0o600)).unwrap();
    assert!(!install().contains("note:"), "no gap left");
    let out = run_job();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let (_, list) = inst.json(&["list"]);
    let newest = list["backups"][0]["filename"].as_str().unwrap().to_owned();
    let held = moto.boto(&format!(
        "print(s3.head_object(Bucket='{BUCKET}', Key='monitor-1/{newest}')['ContentLength'])"
    ));
    assert_eq!(
        held.trim().parse::<u64>().unwrap(),
        std::fs::metadata(inst.backup_path(&newest)).unwrap().len()
    );
}

/// Issue 30: an installation whose policy keeps no passphrase is scheduled
/// with no passphrase file. Its jobs hold no secret (not in their text, not
/// in their environment); the backup runs, the daily verification checks
/// each backup against its `.meta` without opening it (the deep one runs
/// where a key is), prune runs, and no drill job is installed (a drill
/// decrypts). Without such a policy, a passphrase file is still required.
#[test]
fn an_installation_that_keeps_no_secret_is_scheduled_without_one() {
    let inst = Installation::demo(MIB, backupdesk_core::local::demo::JournalMode::Wal);
    let units = inst.dir.path().join("units");
    std::fs::create_dir_all(&units).unwrap();
    let systemctl = inst.dir.path().join("systemctl");
    script(&systemctl, "exit 0");
    // The server's own engine: no passphrase file, no variable, no keychain.
    let there = |args: &[&str]| {
        let mut cmd = backupdesk();
        cmd.arg("--data-dir")
            .arg(inst.root())
            .arg("--json")
            .args(args)
            .env_remove("DB_BACKUP_PASSPHRASE")
            .env("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/none")
            .env("BACKUPDESK_SYSTEMD_UNIT_DIR", &units)
            .env("BACKUPDESK_SYSTEMCTL", &systemctl);
        run_json(cmd)
    };
    let (code, out) = there(&["schedule", "install", "--at", "01:15"]);
    assert_eq!(code, 1, "{out:#}");
    assert_eq!(out["error"]["kind"], "passphrase_file_required", "{out:#}");
    let certs: Vec<String> = ["a", "b"]
        .iter()
        .map(|n| public_cert(inst.dir.path(), n).0.display().to_string())
        .collect();
    let (code, out) = there(&[
        "encryption",
        "set",
        "--no-passphrase",
        "--recipient",
        &certs[0],
        "--recipient",
        &certs[1],
    ]);
    assert_eq!(code, 0, "{out:#}");
    let (code, out) = there(&["schedule", "install", "--at", "01:15"]);
    assert_eq!(code, 0, "{out:#}");
    let installed: Vec<(&str, bool)> = out["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| (j["job"].as_str().unwrap(), j["installed"] == true))
        .collect();
    assert_eq!(
        installed,
        [("backup", true), ("verify", true), ("drill", false)],
        "{out:#}"
    );
    for unit in ["backupdesk-backup", "backupdesk-verify"] {
        let service = std::fs::read_to_string(units.join(format!("{unit}.service"))).unwrap();
        assert!(!service.contains("--passphrase-file"), "{service}");
        // An empty environment: the job needs no variable holding a secret.
        let mut job = exec_start(&service);
        job.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap());
        if unit == "backupdesk-backup" {
            backup_job_shows_no_secret(&inst, job);
        } else {
            runs(unit, job);
        }
    }
    let (_, list) = there(&["list"]);
    let newest = &list["backups"][0];
    assert_eq!(newest["verified"]["depth"], "quick", "{list:#}");
    assert_eq!(newest["verified"]["state"], "passed", "{list:#}");
    let (code, pruned) = there(&["prune", "--yes"]);
    assert_eq!(code, 0, "{pruned:#}");
    // Nothing of a secret in the installation, the units, or the jobs' text.
    for root in [inst.root(), units.as_path()] {
        for secret in [PASSPHRASE, "PRIVATE KEY"] {
            assert_eq!(
                files_holding(root, secret),
                Vec::<std::path::PathBuf>::new()
            );
        }
    }
}

/// Runs the backup job held mid-backup (a test gate), and meanwhile reads
/// what `ps` shows of its processes: their command lines and their
/// environments hold neither the passphrase nor a secret key.
fn backup_job_shows_no_secret(inst: &Installation, mut job: std::process::Command) {
    let gate = inst.dir.path().join("hold-the-backup");
    std::fs::write(&gate, "").unwrap();
    let child = job
        .env("BACKUPDESK_TEST_READ_GATE", &gate)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let root = inst.root().display().to_string();
    // The job's processes: those whose command line names the installation.
    let of_job = || -> Vec<(String, String, String)> {
        std::fs::read_dir("/proc")
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().parse::<u32>().is_ok())
            .filter_map(|e| {
                let read = |f: &str| std::fs::read(e.path().join(f)).ok();
                let args = String::from_utf8_lossy(&read("cmdline")?).replace('\0', " ");
                let env = String::from_utf8_lossy(&read("environ")?).replace('\0', "\n");
                let pid = e.file_name().to_string_lossy().into_owned();
                args.contains(&root).then_some((pid, args, env))
            })
            .collect()
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let seen = loop {
        // Held by the gate while it reads the snapshot: the engine's own
        // process (not only its shell) is there to be seen.
        let procs = of_job();
        if procs
            .iter()
            .any(|(_, args, _)| !args.starts_with("sh ") && args.contains(" backup"))
        {
            break procs;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the backup job never started: {procs:?}"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    for (pid, args, env) in &seen {
        for secret in [PASSPHRASE, "PRIVATE KEY", "DB_BACKUP_PASSPHRASE"] {
            assert!(
                !args.contains(secret) && !env.contains(secret),
                "process {pid} shows {secret:?}: {args}\n{env}"
            );
        }
    }
    std::fs::remove_file(&gate).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
