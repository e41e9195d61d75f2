//! The commands through Tauri's IPC on the mock runtime: arguments by
//! their camelCase names, results as JSON, errors as `{kind, message}`.
//! (The mock runtime stands in for WebKit here; the real window is driven
//! by the end-to-end tests in `tests/`.)

use crate::common::{in_own_config, invoke, mock_app};

use serde_json::json;

#[test]
fn commands_answer_over_ipc_with_typed_results_and_kinded_errors() {
    // The config folder comes from the environment: run this test again in
    // a child process that has its own (setting it here would be `unsafe`).
    if in_own_config("commands::commands_answer_over_ipc_with_typed_results_and_kinded_errors") {
        return;
    }
    let config = std::env::var_os("BACKUPDESK_CONFIG_DIR").unwrap();
    let scratch = tempfile::tempdir().unwrap();
    assert!(std::path::Path::new(&config).parent().unwrap().exists());
    let (_app, webview) = mock_app();

    assert_eq!(invoke(&webview, "list_profiles", json!({})), Ok(json!([])));

    let err = invoke(
        &webview,
        "add_local_profile",
        json!({"name": "bad name!", "dataDir": "/x"}),
    )
    .unwrap_err();
    assert_eq!(err["kind"], "invalid_profile_name", "{err}");
    assert!(
        err["message"].as_str().unwrap().contains("bad name!"),
        "{err}"
    );

    // Issue 26: a folder that is no installation is refused, with why.
    for (dir, why) in [
        (
            scratch.path().to_path_buf(),
            "not a Server Monitor installation",
        ),
        (scratch.path().join("nowhere"), "no such folder"),
    ] {
        let err = invoke(
            &webview,
            "add_local_profile",
            json!({"name": "office", "dataDir": dir}),
        )
        .unwrap_err();
        assert_eq!(err["kind"], "not_an_installation", "{err}");
        assert!(err["message"].as_str().unwrap().contains(why), "{err}");
    }
    assert_eq!(invoke(&webview, "list_profiles", json!({})), Ok(json!([])));

    let root = scratch.path().join("sm");
    backupdesk_core::local::demo::create_demo(
        &backupdesk_core::local::layout::DataDir::new(&root),
        &backupdesk_core::local::demo::DemoOptions {
            size_bytes: 1 << 20,
            ..Default::default()
        },
        backupdesk_core::clock::Clock::now(&backupdesk_core::clock::SystemClock),
    )
    .unwrap();
    invoke(
        &webview,
        "add_local_profile",
        json!({"name": "office", "dataDir": root}),
    )
    .unwrap();
    let profiles = invoke(&webview, "list_profiles", json!({})).unwrap();
    assert_eq!(profiles[0]["name"], "office");
    assert_eq!(profiles[0]["profile"]["kind"], "local");

    let health = invoke(&webview, "database_health", json!({"profile": "office"})).unwrap();
    assert_eq!(health["healthy"], true, "{health}");
    assert_eq!(health["integrity_check"], "passed");

    // Before any refresh: the profile is known, never read.
    let cached = invoke(&webview, "fleet_cached", json!({})).unwrap();
    assert_eq!(cached[0]["profile"], "office");
    assert_eq!(
        (
            cached[0]["from_cache"].as_bool(),
            cached[0]["read_at"].as_str()
        ),
        (Some(true), None)
    );
    let fleet = invoke(
        &webview,
        "fleet_refresh",
        json!({"onTile": "__CHANNEL__:9"}),
    )
    .unwrap();
    assert_eq!(fleet[0]["profile"], "office");
    assert_eq!(
        fleet[0]["status"], "error",
        "no backup yet is a problem: {fleet}"
    );
    assert_eq!(fleet[0]["problems"][0]["condition"], "no_backup");
    assert_eq!(fleet[0]["problems"][0]["message"], "no backup yet");
    // Now it is known: the cache paints it at once, marked as such.
    let cached = invoke(&webview, "fleet_cached", json!({})).unwrap();
    assert_eq!(cached[0]["problems"][0]["condition"], "no_backup");
    assert_eq!(cached[0]["from_cache"], true);
    assert_eq!(cached[0]["read_at"], fleet[0]["read_at"]);
    let one = invoke(
        &webview,
        "fleet_refresh_profile",
        json!({"profile": "office"}),
    )
    .unwrap();
    assert_eq!(
        (one["profile"].as_str(), one["from_cache"].as_bool()),
        (Some("office"), Some(false))
    );

    let err = invoke(
        &webview,
        "restore_backup",
        json!({"profile": "office", "name": "servers_db_20261126_020000.db.gpg", "confirmation": "offic",
               "op": "op-1", "onProgress": "__CHANNEL__:1"}),
    )
    .unwrap_err();
    assert_eq!(err["kind"], "confirmation_mismatch", "{err}");

    let err = invoke(&webview, "list_backups", json!({"profile": "nobody"})).unwrap_err();
    assert_eq!(err["kind"], "profile_not_found", "{err}");

    assert_eq!(
        invoke(&webview, "cancel_operation", json!({"id": "not-running"})),
        Ok(json!(false))
    );

    let policy = invoke(&webview, "retention_policy", json!({"profile": "office"})).unwrap();
    assert_eq!(policy["keep_last"], 3);
    let plan = invoke(
        &webview,
        "preview_retention",
        json!({"profile": "office", "policy": policy}),
    )
    .unwrap();
    assert_eq!(plan["delete_count"], 0);
}

#[test]
fn an_ssh_profile_is_saved_and_read_over_ssh() {
    if in_own_config("commands::an_ssh_profile_is_saved_and_read_over_ssh") {
        return;
    }
    let (_app, webview) = mock_app();
    // A port where nothing listens: the reads fail as unreachable.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    invoke(
        &webview,
        "add_ssh_profile",
        json!({"name": "edge", "destination": "root@127.0.0.1", "port": port,
               "dataDir": "/opt/server-monitor", "identity": "/home/me/.ssh/id_ed25519"}),
    )
    .unwrap();
    let profiles = invoke(&webview, "list_profiles", json!({})).unwrap();
    assert_eq!(profiles[0]["profile"]["kind"], "ssh", "{profiles}");
    assert_eq!(profiles[0]["profile"]["port"], port);
    assert_eq!(
        profiles[0]["profile"]["identity"],
        "/home/me/.ssh/id_ed25519"
    );
    let err = invoke(&webview, "list_backups", json!({"profile": "edge"})).unwrap_err();
    assert_eq!(err["kind"], "unreachable", "{err}");
    let tile = invoke(
        &webview,
        "fleet_refresh_profile",
        json!({"profile": "edge"}),
    )
    .unwrap();
    assert_eq!(
        tile["location"],
        format!("ssh://root@127.0.0.1:{port}/opt/server-monitor")
    );
    assert_eq!(tile["status"], "error", "{tile}");
    assert_eq!(tile["over_ssh"], true, "{tile}");

    // Beside the same server's API: both kept in the profile book.
    invoke(
        &webview,
        "add_ssh_profile",
        json!({"name": "edge-api", "destination": "root@127.0.0.1", "port": port,
               "dataDir": "/opt/server-monitor", "identity": null,
               "api": {"base_url": "https://127.0.0.1:9083", "username": "admin", "ca_cert": null}}),
    )
    .unwrap();
    let profiles = invoke(&webview, "list_profiles", json!({})).unwrap();
    let both = profiles
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "edge-api")
        .unwrap();
    assert_eq!(
        both["profile"]["api"]["base_url"], "https://127.0.0.1:9083",
        "{both}"
    );
    assert_eq!(both["profile"]["api"]["username"], "admin", "{both}");
}
