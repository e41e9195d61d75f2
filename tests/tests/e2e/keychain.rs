//! Profiles and the passphrase in the OS keychain, against a real
//! gnome-keyring Secret Service started in its own D-Bus session
//! (`dbus-run-session` + `tests/scripts/with-keyring.sh`).

use std::path::Path;

use backupdesk_core::local::demo::JournalMode;

use crate::support::*;

/// Runs `script` in a keyring session with the config folder `config`.
fn in_keyring_session(inst: &Installation, config: &Path, script: &str) -> (bool, String) {
    keyring_session(
        inst,
        &[("BACKUPDESK_CONFIG_DIR", config.as_os_str())],
        script,
    )
}

fn json_file(inst: &Installation, name: &str) -> serde_json::Value {
    let path = inst.dir.path().join("out").join(name);
    serde_json::from_slice(&std::fs::read(&path).unwrap_or_else(|_| panic!("{name} written")))
        .unwrap()
}

#[test]
fn the_passphrase_round_trips_through_the_real_keychain() {
    let inst = Installation::demo(2 * MIB, JournalMode::Wal);
    let config = inst.dir.path().join("config");
    let (ok, text) = in_keyring_session(
        &inst,
        &config,
        r#"set -e
        $B profile add prod --local "$ROOT"
        $B --profile prod passphrase set --passphrase-file "$PP"
        $B --profile prod --json backup > "$OUT/backup.json"
        $B --profile prod --json passphrase test > "$OUT/test.json"
        $B --profile prod --json verify --all > "$OUT/verify.json"
        $B --profile prod --json profile show prod > "$OUT/show.json"
        $B --profile prod passphrase forget
        set +e
        $B --profile prod --json verify --all > "$OUT/after-forget.json" 2> "$OUT/after-forget.err"
        echo $? > "$OUT/after-forget.code"
        "#,
    );
    assert!(ok, "{text}");
    assert_eq!(json_file(&inst, "backup.json")["ok"], true);
    assert_eq!(json_file(&inst, "test.json")["ok"], true);
    assert_eq!(json_file(&inst, "verify.json")["passed"], 1);
    assert_eq!(json_file(&inst, "show.json")["passphrase"], "stored");
    let code = std::fs::read_to_string(inst.dir.path().join("out/after-forget.code")).unwrap();
    assert_eq!(
        code.trim(),
        "2",
        "without the stored passphrase and no terminal: a usage error"
    );
    assert_eq!(
        json_file(&inst, "after-forget.json")["error"]["kind"],
        "passphrase_required"
    );
}

#[test]
fn a_wrong_stored_passphrase_is_reported_as_wrong() {
    let inst = Installation::demo(2 * MIB, JournalMode::Wal);
    inst.backup();
    let wrong = inst.dir.path().join("wrong");
    write_private(&wrong, "not it");
    let config = inst.dir.path().join("config");
    let (ok, text) = in_keyring_session(
        &inst,
        &config,
        &format!(
            r#"$B --data-dir "$ROOT" passphrase set --passphrase-file {}
            $B --data-dir "$ROOT" --json passphrase test > "$OUT/test.json"; echo $? > "$OUT/code""#,
            wrong.display()
        ),
    );
    assert!(ok, "{text}");
    assert_eq!(
        json_file(&inst, "test.json")["error"]["kind"],
        "wrong_passphrase"
    );
    let code = std::fs::read_to_string(inst.dir.path().join("out/code")).unwrap();
    assert_eq!(code.trim(), "1");
}

/// No Secret Service at all: a plain "no keychain" error, never a wrong
/// passphrase, and never a fallback to a file.
#[test]
fn without_a_keychain_the_error_says_so() {
    let inst = Installation::demo(2 * MIB, JournalMode::Wal);
    inst.backup();
    let config = inst.dir.path().join("config");
    let nowhere = format!("unix:path={}", inst.dir.path().join("no-bus").display());
    let mut set = inst.cli(&["--json", "passphrase", "set"]);
    set.env("DBUS_SESSION_BUS_ADDRESS", &nowhere)
        .env("BACKUPDESK_CONFIG_DIR", &config);
    let (code, out) = run_json(set);
    assert_eq!(
        (code, out["error"]["kind"].as_str()),
        (1, Some("keychain_unavailable")),
        "{out:#}"
    );

    let mut verify = backupdesk();
    verify
        .args(["--json", "--data-dir"])
        .arg(inst.root())
        .args(["verify", "--all"])
        .env("DBUS_SESSION_BUS_ADDRESS", &nowhere)
        .env("BACKUPDESK_CONFIG_DIR", &config);
    let output = verify.output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr.contains("no D-Bus session bus"), "{stderr}");
    assert!(
        !stderr.to_lowercase().contains("wrong passphrase"),
        "{stderr}"
    );
    assert!(
        !config.exists() || std::fs::read_dir(&config).unwrap().count() == 0,
        "nothing written as a fallback"
    );
}

#[test]
fn no_secret_reaches_the_config_the_logs_or_the_output() {
    const OFFSITE_SECRET: &str = "off-site-secret-kept-in-the-keychain";
    let moto = Moto::start("offsite");
    let inst = Installation::demo(2 * MIB, JournalMode::Wal);
    let config = inst.dir.path().join("config");
    let (ok, text) = in_keyring_session(
        &inst,
        &config,
        &(format!(
            r#"set -e
        unset AWS_CA_BUNDLE
        AWS_ACCESS_KEY_ID=AKIAKEYCHAINTEST AWS_SECRET_ACCESS_KEY={OFFSITE_SECRET} \
          $B --data-dir "$ROOT" --json offsite add cold --s3 s3://offsite/monitor-1 --endpoint {} --path-style > "$OUT/added.json"
        unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY
        $B --data-dir "$ROOT" --passphrase-file "$PP" backup
        $B --data-dir "$ROOT" offsite push
        $B --data-dir "$ROOT" --json offsite list --location cold
        $B --data-dir "$ROOT" --passphrase-file "$PP" offsite verify --deep --all
        $B --data-dir "$ROOT" --json offsite show cold
        $B --data-dir "$ROOT" offsite test cold
        "#,
            moto.endpoint
        ) + r#"
        $B profile add prod --local "$ROOT"
        $B --profile prod passphrase set --passphrase-file "$PP"
        $B --profile prod backup
        $B --profile prod --json backup
        $B --profile prod list
        $B --profile prod --json list
        $B --profile prod verify --all --deep
        $B --profile prod --json verify --all
        N=$($B --profile prod list | awk '/^servers_db_/ {print $1; exit}')
        $B --profile prod restore "$N" --dry-run
        $B --profile prod --json restore "$N" --yes
        $B --profile prod passphrase test
        $B --profile prod profile show prod
        "#),
    );
    assert!(ok, "{text}");
    assert_eq!(json_file(&inst, "added.json")["keys"], "keychain");
    assert!(text.contains("deep"), "the off-site commands ran: {text}");
    let mut haystack = text.clone();
    for dir in [config.clone(), inst.data.logs(), inst.data.state()] {
        for entry in walk(&dir) {
            haystack.push_str(&String::from_utf8_lossy(&std::fs::read(entry).unwrap()));
        }
    }
    assert!(
        haystack.contains("servers_db_"),
        "the outputs were captured"
    );
    assert!(!haystack.contains(PASSPHRASE), "the passphrase leaked");
    assert!(
        !haystack.contains(OFFSITE_SECRET),
        "the off-site secret leaked"
    );
    assert!(
        !haystack.contains("AKIAKEYCHAINTEST"),
        "the off-site key id is in a file or the output"
    );
    assert!(
        !haystack.contains("horse battery"),
        "part of the passphrase leaked"
    );
}

/// Every file below `dir`.
pub(crate) fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    if let Ok(read) = std::fs::read_dir(dir) {
        for entry in read.flatten() {
            let path = entry.path();
            if path.is_dir() {
                files.extend(walk(&path));
            } else {
                files.push(path);
            }
        }
    }
    files
}

#[test]
fn profiles_are_validated_and_kept_without_secrets() {
    let inst = Installation::demo(MIB, JournalMode::Wal);
    let config = inst.dir.path().join("config");
    let run = |args: &[&str]| {
        let mut cmd = backupdesk();
        cmd.arg("--json")
            .args(args)
            .env("BACKUPDESK_CONFIG_DIR", &config);
        run_json(cmd)
    };
    let root = inst.root().to_str().unwrap();
    assert_eq!(run(&["profile", "add", "prod", "--local", root]).0, 0);
    assert_eq!(
        run(&["profile", "add", "prod", "--local", root]).1["error"]["kind"],
        "profile_exists"
    );
    assert_eq!(
        run(&["profile", "add", "../evil", "--local", root]).1["error"]["kind"],
        "invalid_profile_name"
    );
    assert_eq!(
        run(&[
            "profile",
            "add",
            "ftp",
            "--url",
            "ftp://x",
            "--username",
            "a"
        ])
        .1["error"]["kind"],
        "invalid_url"
    );
    let mut remote = backupdesk();
    remote
        .args([
            "profile",
            "add",
            "edge",
            "--url",
            "http://monitor.example.org:9083",
            "--username",
            "admin",
        ])
        .env("BACKUPDESK_CONFIG_DIR", &config);
    let out = remote.output().unwrap();
    assert!(out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("plain http://"),
        "a token over plain http to a non-loopback host is warned about"
    );
    let (_, list) = run(&["profile", "list"]);
    assert_eq!(list["profiles"]["prod"]["kind"], "local");
    assert_eq!(
        list["profiles"]["edge"]["base_url"],
        "http://monitor.example.org:9083"
    );
    let (code, test) = run(&["profile", "test", "prod"]);
    assert_eq!(
        (code, &test["health"]["healthy"]),
        (0, &serde_json::json!(true)),
        "{test:#}"
    );
    // A local-only verb on a remote profile is refused before any request
    // (and this host is never contacted: tests send traffic to loopback only).
    let (code, out) = run(&["--profile", "edge", "verify", "--all"]);
    assert_eq!(
        (code, out["error"]["kind"].as_str()),
        (1, Some("remote_unsupported"))
    );
    assert_eq!(
        run(&["--profile", "nope", "list"]).1["error"]["kind"],
        "profile_not_found"
    );
    let text = std::fs::read_to_string(config.join("profiles.toml")).unwrap();
    assert!(
        text.contains("[profiles.prod]")
            && !text.to_lowercase().contains("passphrase")
            && !text.contains("token"),
        "{text}"
    );
    assert_eq!(run(&["profile", "remove", "edge"]).0, 0);
    assert!(
        run(&["profile", "list"]).1["profiles"]
            .get("edge")
            .is_none()
    );
}
