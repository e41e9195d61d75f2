//! The app's `restore_backup` command against the stand-in of a supervised
//! Server Monitor (real HTTP on 127.0.0.1, a real gnome-keyring in its own
//! D-Bus session for the token): every outcome of a remote restore reaches
//! the UI as the settled, judged report, never as "restored" unless it is.

use crate::common::{in_keyring_session, invoke, mock_app};

use backupdesk_e2e::standin::{ADMIN, RestoreBehaviour, StandIn, StandInOptions};
use serde_json::json;

const SERVER_PASSPHRASE: &str = "the server's own passphrase";

struct Server {
    _dir: tempfile::TempDir,
    root: std::path::PathBuf,
    standin: StandIn,
}

fn server(behaviour: RestoreBehaviour, recreate_schema: bool) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("sm");
    backupdesk_core::local::demo::create_demo(
        &backupdesk_core::local::layout::DataDir::new(&root),
        &backupdesk_core::local::demo::DemoOptions {
            size_bytes: 2 << 20,
            ..Default::default()
        },
        backupdesk_core::clock::Clock::now(&backupdesk_core::clock::SystemClock),
    )
    .unwrap();
    let mut options = StandInOptions::new(&root, SERVER_PASSPHRASE);
    options.restore = behaviour;
    options.recreate_schema = recreate_schema;
    let standin = StandIn::start(options);
    Server {
        _dir: dir,
        root,
        standin,
    }
}

/// Deletes a third of the monitoring samples and every alert on the
/// server's live database (with the real sqlite3).
fn change(root: &std::path::Path) {
    let out = std::process::Command::new("sqlite3")
        .arg(root.join("data/servers.db"))
        .arg("DELETE FROM alerts; DELETE FROM monitoring_history WHERE id % 3 = 0;")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn every_remote_restore_outcome_reaches_the_ui_as_the_settled_report() {
    if in_keyring_session(
        "remote_restore::every_remote_restore_outcome_reaches_the_ui_as_the_settled_report",
    ) {
        return;
    }
    let (_app, webview) = mock_app();
    let cases = [
        ("works", RestoreBehaviour::Works, false, "restored"),
        (
            "never",
            RestoreBehaviour::NeverRestores,
            false,
            "not_restored",
        ),
        (
            "empties",
            RestoreBehaviour::EmptiesDatabase,
            false,
            "data_at_risk",
        ),
        (
            "recreates",
            RestoreBehaviour::EmptiesDatabase,
            true,
            "data_at_risk",
        ),
        ("flaps", RestoreBehaviour::NeverSettles, false, "unverified"),
    ];
    for (profile, behaviour, recreate, expected) in cases {
        let s = server(behaviour, recreate);
        invoke(
            &webview,
            "add_remote_profile",
            json!({"name": profile, "baseUrl": s.standin.base_url, "username": ADMIN.0, "caCert": null}),
        )
        .unwrap();
        // Never settling is only found out at the timeout: keep it short.
        let config = backupdesk_core::targets::profile::config_dir();
        let mut book = backupdesk_core::targets::profile::ProfileBook::load(&config).unwrap();
        let mut p = book.get(profile).unwrap().clone();
        book.remove(profile).unwrap();
        p.restore_timeout_secs = Some(15);
        book.add(profile, p).unwrap();
        invoke(
            &webview,
            "login",
            json!({"profile": profile, "password": ADMIN.1, "remember": true}),
        )
        .unwrap();
        let made = invoke(
            &webview,
            "backup_now",
            json!({"profile": profile, "op": format!("b-{profile}"), "onProgress": "__CHANNEL__:2"}),
        )
        .unwrap();
        let name = made["filename"].as_str().unwrap().to_owned();
        change(&s.root);
        let done = invoke(
            &webview,
            "restore_backup",
            json!({"profile": profile, "name": name, "confirmation": profile,
                   "op": format!("r-{profile}"), "onProgress": "__CHANNEL__:3"}),
        )
        .unwrap_or_else(|e| panic!("{profile}: {e}"));
        assert_eq!(done["outcome"]["kind"], expected, "{profile}: {done:#}");
        assert!(
            done["pre_restore_backup"]
                .as_str()
                .unwrap()
                .starts_with("servers_db_")
        );
        assert!(
            done["summary"]
                .as_str()
                .unwrap()
                .contains(done["pre_restore_backup"].as_str().unwrap())
        );
        assert!(
            done["tables"].as_array().unwrap().len() >= 23,
            "{profile}: {done:#}"
        );
        match expected {
            "restored" => assert_eq!(done["outcome"]["evidence"], "backup_record", "{done:#}"),
            "not_restored" => assert_eq!(done["server_answer"]["status"], 500, "{done:#}"),
            "data_at_risk" if recreate => {
                assert!(
                    done["outcome"]["detail"]
                        .as_str()
                        .unwrap()
                        .contains("data gone"),
                    "{done:#}"
                )
            }
            "data_at_risk" => {
                assert!(
                    done["outcome"]["detail"]
                        .as_str()
                        .unwrap()
                        .contains("0-byte"),
                    "{done:#}"
                )
            }
            _ => assert!(done["after"].is_null(), "{done:#}"),
        }
    }
}
