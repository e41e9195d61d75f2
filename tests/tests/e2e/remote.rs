//! The remote client against the stand-in server (real HTTP on 127.0.0.1),
//! each server quirk with the client's behaviour asserted, and the CLI
//! against a remote profile and a local directory giving the same JSON.

use std::path::Path;
use std::time::Duration;

use backupdesk_core::KindedError;
use backupdesk_core::OperationContext;
use backupdesk_core::clock::SystemClock;
use backupdesk_core::local::demo::JournalMode;
use backupdesk_core::local::health::HealthReport;
use backupdesk_core::remote::{RemoteError, RemoteServer, insecure_url};
use backupdesk_core::targets::{LocalTarget, RemoteTarget, Target};
use backupdesk_e2e::standin::{ADMIN, StandIn, StandInOptions, VIEWER};

use crate::support::*;

pub(crate) const SERVER_PASSPHRASE: &str = "the server's own passphrase";

pub(crate) fn serve(inst: &Installation) -> StandIn {
    StandIn::start(StandInOptions::new(inst.root(), SERVER_PASSPHRASE))
}

fn client(server: &StandIn, user: (&str, &str)) -> RemoteServer {
    let client = RemoteServer::new(&server.base_url, user.0, None).unwrap();
    client.login(user.1).unwrap();
    client
}

#[test]
fn health_storage_and_list_have_the_same_shapes_locally_and_remotely() {
    let inst = Installation::demo(2 * MIB, JournalMode::Wal);
    let server = serve(&inst);
    let remote = RemoteTarget::new(client(&server, ADMIN));
    let local = LocalTarget::new(inst.data.clone());
    remote
        .backup(
            &backupdesk_core::format::crypto::Passphrase::new(String::new()),
            &Default::default(),
            &OperationContext::bare(&SystemClock),
        )
        .unwrap();
    let json = serde_json::to_value::<HealthReport>;
    let pairs = [
        (
            json(
                remote
                    .health(&OperationContext::bare(&SystemClock))
                    .unwrap(),
            )
            .unwrap(),
            json(local.health(&OperationContext::bare(&SystemClock)).unwrap()).unwrap(),
            "health.json",
        ),
        (
            serde_json::to_value(remote.storage().unwrap()).unwrap(),
            serde_json::to_value(local.storage().unwrap()).unwrap(),
            "storage.json",
        ),
    ];
    for (r, l, fixture) in pairs {
        same_shape(&r, &contract(fixture), fixture).unwrap();
        same_shape(&r, &l, fixture).unwrap();
    }
    let r = serde_json::to_value(remote.list().unwrap()).unwrap();
    let l = serde_json::to_value(local.list().unwrap()).unwrap();
    assert_eq!(r.as_array().unwrap().len(), 1);
    same_shape(&r, &l, "list").unwrap();
    assert_eq!(r[0]["filename"], l[0]["filename"]);
    assert_eq!(r[0]["checksum"], l[0]["checksum"]);
}

#[test]
fn an_expired_token_is_renewed_by_exactly_one_login() {
    let inst = Installation::demo(MIB, JournalMode::Wal);
    let server = serve(&inst);
    let expired = server.expired_token(ADMIN.0);

    let without_password = RemoteServer::new(&server.base_url, ADMIN.0, None).unwrap();
    without_password.set_token(&expired);
    let err = without_password.list().unwrap_err();
    assert_eq!(err.kind(), "authentication_required", "{err}");
    assert_eq!(server.login_requests(), 0, "no password, no login");

    let with_password = RemoteServer::new(&server.base_url, ADMIN.0, None).unwrap();
    with_password.set_token(&expired);
    with_password.set_password(ADMIN.1);
    let kept = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let keeper = std::sync::Arc::clone(&kept);
    with_password.set_token_keeper(Box::new(move |token| {
        keeper.lock().unwrap().push(token.to_owned())
    }));
    assert!(with_password.list().is_ok());
    assert_eq!(server.login_requests(), 1, "one re-login");
    assert!(
        with_password.renewed_token().is_some(),
        "the new token is handed back to be stored"
    );
    // It was handed to the keeper at the renewal itself, once.
    assert_eq!(
        kept.lock().unwrap().as_slice(),
        [with_password.renewed_token().unwrap().to_string()].as_slice(),
        "the renewed token is kept as it arrives"
    );

    let wrong = RemoteServer::new(&server.base_url, ADMIN.0, None).unwrap();
    wrong.set_token(&expired);
    wrong.set_password("not the password");
    let err = wrong.list().unwrap_err();
    assert_eq!(err.kind(), "login_failed", "{err}");
    assert_eq!(
        server.login_requests(),
        2,
        "exactly one more login, never a loop"
    );
}

#[test]
fn the_login_rate_limit_is_reported_with_its_wait_and_never_retried() {
    let inst = Installation::demo(MIB, JournalMode::Wal);
    let server = serve(&inst);
    let admin = client(&server, ADMIN);
    let c = RemoteServer::new(&server.base_url, ADMIN.0, None).unwrap();
    for attempt in 2..=5 {
        let err = c.login("wrong").unwrap_err();
        assert_eq!(err.kind(), "login_failed", "attempt {attempt}");
    }
    let err = c.login("wrong").unwrap_err();
    assert!(
        matches!(
            err,
            RemoteError::RateLimited {
                retry_after_seconds: 900
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("15 min"), "{err}");
    assert_eq!(server.login_requests(), 6, "one request per login call");
    // The address is blocked for every call now, with the wait shown.
    let err = admin.list().unwrap_err();
    assert_eq!(err.kind(), "rate_limited", "{err}");
    assert_eq!(server.login_requests(), 6);
}

#[test]
fn a_non_admin_account_is_told_so() {
    let inst = Installation::demo(MIB, JournalMode::Wal);
    let server = serve(&inst);
    let viewer = client(&server, VIEWER);
    let err = viewer.health().unwrap_err();
    assert_eq!(err.kind(), "not_admin");
    assert!(err.to_string().contains("not an admin"));
}

#[test]
fn a_backup_answered_with_500_after_the_servers_prune_is_recognised() {
    let inst = Installation::demo(2 * MIB, JournalMode::Wal);
    let server = serve(&inst);
    let admin = client(&server, ADMIN);
    let first = admin.backup().unwrap();
    assert!(first.server_reported.is_none());
    // An old backup the server's "older than 7 days" retention will remove.
    let old = "servers_db_20200101_020000.db.gpg";
    std::fs::copy(
        inst.backup_path(&first.item.filename),
        inst.backup_path(old),
    )
    .unwrap();
    std::thread::sleep(Duration::from_millis(1100));
    let second = admin.backup().unwrap();
    assert!(second.server_reported.is_some(), "the server answered 500");
    assert_ne!(second.item.filename, first.item.filename);
    assert!(
        inst.backup_path(&second.item.filename).exists(),
        "the new backup exists"
    );
    assert!(
        !inst.backup_path(old).exists(),
        "the server pruned the old one"
    );
}

#[test]
fn names_are_validated_before_any_request() {
    let inst = Installation::demo(MIB, JournalMode::Wal);
    let server = serve(&inst);
    let admin = client(&server, ADMIN);
    let before = server.database_requests();
    for bad in [
        "../servers.db",
        "..%2F..%2Fdata%2Fservers.db",
        "/etc/passwd",
    ] {
        let err = admin.delete(bad).unwrap_err();
        assert!(
            ["invalid_name", "not_a_backup_name"].contains(&err.kind().as_str()),
            "{bad}: {err}"
        );
        let err = admin
            .restore(bad, &|_| None, &Default::default())
            .unwrap_err();
        assert!(
            ["invalid_name", "not_a_backup_name"].contains(&err.kind().as_str()),
            "{bad}: {err}"
        );
    }
    assert_eq!(server.database_requests(), before, "nothing was sent");
    assert!(inst.data.database().exists());
}

#[test]
fn plain_http_to_another_host_is_flagged() {
    assert!(insecure_url("http://monitor.example.org:9083"));
    assert!(!insecure_url("http://127.0.0.1:9083"));
    assert!(!insecure_url("http://localhost:9083"));
    assert!(!insecure_url("https://monitor.example.org"));
}

/// Runs `script` in a D-Bus session with a real gnome-keyring, with `$B`,
/// `$URL`, `$LOCAL` (a local data dir), `$PW` (admin password file), `$PP`
/// and `$OUT` set.
pub(crate) fn cli_session(
    inst: &Installation,
    server: &StandIn,
    local: &Path,
    script: &str,
) -> String {
    let pw = inst.dir.path().join("admin-password");
    write_private(&pw, ADMIN.1);
    let config = inst.dir.path().join("config");
    let (ok, text) = keyring_session(
        inst,
        &[
            ("URL", server.base_url.as_ref()),
            ("LOCAL", local.as_os_str()),
            ("PW", pw.as_os_str()),
            ("BACKUPDESK_CONFIG_DIR", config.as_os_str()),
        ],
        script,
    );
    assert!(ok, "{text}");
    text
}

#[test]
fn the_cli_drives_a_remote_profile_like_a_local_one() {
    let inst = Installation::demo(2 * MIB, JournalMode::Wal);
    let server = serve(&inst);
    let local_inst = Installation::demo(2 * MIB, JournalMode::Wal);
    let text = cli_session(
        &inst,
        &server,
        local_inst.root(),
        r#"set -e
        $B profile add lab --url "$URL" --username admin
        $B profile add here --local "$LOCAL"
        $B login lab --password-file "$PW" --remember-password
        $B --profile lab --json backup > "$OUT/remote-backup.json"
        $B --profile here --passphrase-file "$PP" --json backup > "$OUT/local-backup.json"
        for verb in list health storage; do
          $B --profile lab --json $verb > "$OUT/remote-$verb.json"
          $B --profile here --json $verb > "$OUT/local-$verb.json"
        done
        N=$($B --profile lab list | awk '/^servers_db_/ {print $1; exit}')
        M=$($B --profile here list | awk '/^servers_db_/ {print $1; exit}')
        $B --profile lab restore "$N" --dry-run
        $B --profile lab --json restore "$N" --dry-run > "$OUT/remote-dry.json"
        $B --profile here --passphrase-file "$PP" --json restore "$M" --dry-run > "$OUT/local-dry.json"
        $B --profile lab --json restore "$N" --yes > "$OUT/remote-restore.json"
        $B --profile here --passphrase-file "$PP" --json restore "$M" --yes > "$OUT/local-restore.json"
        $B --profile lab --json delete "$N" --yes > "$OUT/remote-delete.json"
        $B --profile here --json delete "$M" --yes > "$OUT/local-delete.json"
        $B --profile lab --json list > "$OUT/remote-after-delete.json"
        $B --profile lab --json profile test lab > "$OUT/test.json"
        $B profile show lab
        set +e
        $B --profile lab verify --all > /dev/null 2> "$OUT/verify.err"; echo $? > "$OUT/verify.code"
        $B --profile lab --json tables "$N" > "$OUT/remote-tables.json"
        $B --profile lab --json diff "$N" --live > "$OUT/remote-diff.json" || true
        "#,
    );
    assert!(
        text.contains("Restore plan for") && text.contains("take a fresh backup on the server"),
        "{text}"
    );
    assert!(
        text.contains("API login in keychain: token stored, password stored"),
        "profile show says which secrets of the login are kept: {text}"
    );
    let outputs = inst.dir.path().join("out");
    for verb in ["tables", "diff"] {
        let answer: serde_json::Value = serde_json::from_slice(
            &std::fs::read(outputs.join(format!("remote-{verb}.json"))).unwrap(),
        )
        .unwrap();
        assert_eq!(
            answer["error"]["kind"], "remote_no_content",
            "{verb} through the API is refused by name: {answer:#}"
        );
    }
    let read = |name: &str| -> serde_json::Value {
        serde_json::from_slice(&std::fs::read(inst.dir.path().join("out").join(name)).unwrap())
            .unwrap()
    };
    for verb in ["list", "health", "storage"] {
        same_shape(
            &read(&format!("remote-{verb}.json")),
            &read(&format!("local-{verb}.json")),
            verb,
        )
        .unwrap();
    }
    let (remote, local) = (read("remote-backup.json"), read("local-backup.json"));
    for key in [
        "ok",
        "filename",
        "path",
        "size",
        "size_human",
        "checksum",
        "timestamp",
        "warnings",
    ] {
        assert!(
            remote.get(key).is_some() && local.get(key).is_some(),
            "backup --json has {key} on both sides"
        );
    }
    assert_eq!(read("test.json")["ok"], true);
    for (r, l) in [
        ("remote-dry.json", "local-dry.json"),
        ("remote-delete.json", "local-delete.json"),
    ] {
        let (r, l) = (read(r), read(l));
        let keys =
            |v: &serde_json::Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
        assert_eq!(keys(&r), keys(&l), "same top-level shape");
    }
    assert_eq!(
        read("remote-dry.json")["plan"]["steps"]
            .as_array()
            .unwrap()
            .len(),
        6
    );
    assert_eq!(read("remote-restore.json")["ok"], true);
    assert!(read("remote-restore.json")["report"]["pre_restore_backup"].is_string());
    let after = read("remote-after-delete.json");
    let kinds: Vec<&str> = after["backups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        ["encrypted", "pre_restore_plain"],
        "the restored backup was deleted; the fresh safety backup and the server script's plaintext safety copy remain: {after:#}"
    );
    let code = std::fs::read_to_string(inst.dir.path().join("out/verify.code")).unwrap();
    assert_eq!(code.trim(), "1");
    let err = std::fs::read_to_string(inst.dir.path().join("out/verify.err")).unwrap();
    assert!(err.contains("local installations only"), "{err}");

    // No token (a JWT starts with "eyJ"), password or passphrase in the
    // output, the JSON files, the config or the logs.
    let mut haystack = text.clone();
    for dir in [
        inst.dir.path().join("out"),
        inst.dir.path().join("config"),
        inst.data.logs(),
        local_inst.data.logs(),
    ] {
        if let Ok(read) = std::fs::read_dir(&dir) {
            for entry in read.flatten() {
                haystack.push_str(&String::from_utf8_lossy(
                    &std::fs::read(entry.path()).unwrap_or_default(),
                ));
            }
        }
    }
    assert!(haystack.contains("servers_db_"), "outputs were captured");
    for secret in ["eyJ", ADMIN.1, PASSPHRASE, SERVER_PASSPHRASE] {
        assert!(!haystack.contains(secret), "{secret:?} leaked");
    }
}

#[test]
fn an_unhealthy_server_answers_200_and_is_reported_unhealthy() {
    let inst = Installation::demo(MIB, JournalMode::Wal);
    let server = serve(&inst);
    let admin = client(&server, ADMIN);
    std::fs::write(inst.data.database(), "not a database at all").unwrap();
    let report = admin.health().unwrap();
    let HealthReport::Failed(failure) = &report else {
        panic!("expected the error shape, got {report:?}");
    };
    assert!(
        !failure.healthy && failure.error.contains("not a SQLite database"),
        "{failure:?}"
    );
    same_shape(
        &serde_json::to_value(&report).unwrap(),
        &contract("health_error.json"),
        "health",
    )
    .unwrap();
}

/// A self-signed server: trusted with the profile's CA certificate, refused
/// without it (never "accept invalid certificates").
#[test]
fn a_self_signed_server_is_trusted_only_with_its_ca_certificate() {
    let inst = Installation::demo(MIB, JournalMode::Wal);
    let server = serve(&inst);
    let pki = inst.dir.path().join("pki");
    std::fs::create_dir_all(&pki).unwrap();
    let openssl = |args: &[&str]| {
        let out = std::process::Command::new("openssl")
            .args(args)
            .current_dir(&pki)
            .output()
            .expect("openssl");
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    openssl(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=Backup Desk test CA",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
    ]);
    openssl(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        "-subj",
        "/CN=127.0.0.1",
    ]);
    std::fs::write(
        pki.join("ext.cnf"),
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    openssl(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.pem",
        "-days",
        "2",
        "-extfile",
        "ext.cnf",
    ]);
    let front = backupdesk_e2e::standin::TlsFront::start(
        &pki.join("server.pem"),
        &pki.join("server.key"),
        &server.base_url,
    );

    let trusted = RemoteServer::new(&front.base_url, ADMIN.0, Some(&pki.join("ca.pem"))).unwrap();
    trusted.login(ADMIN.1).unwrap();
    assert!(matches!(
        trusted.health().unwrap(),
        HealthReport::Checked(_)
    ));

    let untrusted = RemoteServer::new(&front.base_url, ADMIN.0, None).unwrap();
    let err = untrusted.login(ADMIN.1).unwrap_err();
    assert_eq!(err.kind(), "unreachable", "{err}");
    assert!(
        err.to_string().to_lowercase().contains("certificate"),
        "{err}"
    );

    let bad_ca = pki.join("not-a-cert.pem");
    std::fs::write(&bad_ca, "garbage").unwrap();
    let err = RemoteServer::new(&front.base_url, ADMIN.0, Some(&bad_ca))
        .map(|_| ())
        .unwrap_err();
    assert_eq!(err.kind(), "bad_ca_certificate", "{err}");
}

/// The stand-in answers like the real server: HTTP/1.0, `Connection: close`.
#[test]
fn the_stand_in_speaks_http_1_0_without_keep_alive() {
    use std::io::{Read, Write};
    let inst = Installation::demo(MIB, JournalMode::Wal);
    let server = serve(&inst);
    let addr = server.base_url.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    stream
        .write_all(b"GET /api/database/health HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.0 401"), "{answer}");
    assert!(
        answer.to_lowercase().contains("connection: close"),
        "{answer}"
    );
    assert!(
        answer.contains(r#"{"error":"Authentication required"}"#),
        "{answer}"
    );
}
