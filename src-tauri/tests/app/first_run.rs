//! First-run actions are all or nothing: a demo whose keychain step fails
//! (here: no Secret Service at all), or whose name is taken, leaves no
//! folder, profile or secret behind, so a second try starts clean.

use crate::common::{in_keyring_session, invoke, mock_app, without_keychain};

use backupdesk_e2e::scan::files_holding;
use serde_json::json;

#[test]
fn a_demo_without_a_keychain_leaves_nothing_behind() {
    if without_keychain("first_run::a_demo_without_a_keychain_leaves_nothing_behind") {
        return;
    }
    let (_app, webview) = mock_app();
    let scratch = tempfile::tempdir().unwrap();
    let root = scratch.path().join("demo");
    let err = invoke(
        &webview,
        "create_demo",
        json!({"profile": "demo", "dir": root, "sizeMib": 1, "passphrase": "a demo passphrase", "keepIn": "keychain"}),
    )
    .unwrap_err();
    assert_eq!(err["kind"], "keychain_unavailable", "{err}");
    assert!(!root.exists(), "the demo folder was made anyway");
    let profiles = invoke(&webview, "list_profiles", json!({})).unwrap();
    assert_eq!(profiles, json!([]), "a profile was saved anyway");
}

#[test]
fn a_taken_name_removes_the_demo_it_made_and_keeps_the_first() {
    if in_keyring_session("first_run::a_taken_name_removes_the_demo_it_made_and_keeps_the_first") {
        return;
    }
    let (_app, webview) = mock_app();
    let scratch = tempfile::tempdir().unwrap();
    let first = scratch.path().join("first");
    invoke(
        &webview,
        "create_demo",
        json!({"profile": "demo", "dir": first, "sizeMib": 1, "passphrase": "a demo passphrase", "keepIn": "keychain"}),
    )
    .unwrap();
    // A folder that exists already keeps what it held.
    let second = scratch.path().join("second");
    std::fs::create_dir_all(&second).unwrap();
    std::fs::write(second.join("notes.txt"), "mine").unwrap();
    let err = invoke(
        &webview,
        "create_demo",
        json!({"profile": "demo", "dir": second, "sizeMib": 1, "passphrase": "a demo passphrase", "keepIn": "keychain"}),
    )
    .unwrap_err();
    assert_eq!(err["kind"], "profile_exists", "{err}");
    let left: Vec<String> = std::fs::read_dir(&second)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(left, ["notes.txt"]);
    assert!(
        first.join("data/servers.db").is_file(),
        "the first demo is kept"
    );
    // A name the book refuses after the demo was made: the demo goes again.
    let third = scratch.path().join("third");
    let err = invoke(
        &webview,
        "create_demo",
        json!({"profile": "no/slashes", "dir": third, "sizeMib": 1, "passphrase": "a demo passphrase", "keepIn": "keychain"}),
    )
    .unwrap_err();
    assert_eq!(err["kind"], "invalid_profile_name", "{err}");
    assert!(!third.exists(), "the refused demo's folder is left");
    let status = invoke(&webview, "secret_status", json!({"profile": "demo"})).unwrap();
    assert_eq!(status["passphrase_stored"], true, "{status}");
}

#[test]
fn without_a_secret_service_the_session_keeps_the_passphrase_and_everything_works() {
    if crate::common::without_secret_service(
        "first_run::without_a_secret_service_the_session_keeps_the_passphrase_and_everything_works",
    ) {
        return;
    }
    const SECRET: &str = "kept only in memory 4711";
    let (_app, webview) = mock_app();
    let config = std::path::PathBuf::from(std::env::var_os("BACKUPDESK_CONFIG_DIR").unwrap());

    // The precise reason, never the library's text; nothing made.
    let defaults = invoke(&webview, "demo_defaults", json!({})).unwrap();
    assert_eq!(defaults["profile"], "demo");
    let dir = std::path::PathBuf::from(defaults["data_dir"].as_str().unwrap());
    assert!(
        dir.starts_with(&config),
        "{dir:?} is under the app's data folder"
    );
    let err = invoke(
        &webview,
        "create_demo",
        json!({"profile": null, "dir": null, "sizeMib": 1, "passphrase": SECRET, "keepIn": "keychain"}),
    )
    .unwrap_err();
    assert_eq!(err["kind"], "keychain_unavailable", "{err}");
    let message = err["message"].as_str().unwrap();
    assert!(message.contains("no Secret Service"), "{message}");
    assert!(
        !message.contains("zbus") && !message.contains("SS "),
        "{message}"
    );
    assert!(
        !dir.exists() && !dir.parent().unwrap().exists(),
        "nothing made"
    );

    // The same demo, its passphrase kept for this session only.
    let made = invoke(
        &webview,
        "create_demo",
        json!({"profile": null, "dir": null, "sizeMib": 1, "passphrase": SECRET, "keepIn": "session"}),
    )
    .unwrap();
    assert_eq!(
        (made["profile"].as_str(), made["kept_in"].as_str()),
        (Some("demo"), Some("session"))
    );
    assert_eq!(invoke(&webview, "kept_in_session", json!({})).unwrap(), 1);
    let status = invoke(&webview, "secret_status", json!({"profile": "demo"})).unwrap();
    assert_eq!(status["keychain_available"], false, "{status}");
    assert_eq!(
        status["keychain_problem"]["kind"], "keychain_unavailable",
        "{status}"
    );
    assert_eq!(status["passphrase_in_session"], true, "{status}");

    // A backup, its deep verification and a restore work as with a keychain.
    let backup = invoke(
        &webview,
        "backup_now",
        json!({"profile": "demo", "op": "b", "onProgress": "__CHANNEL__:1"}),
    )
    .unwrap();
    let name = backup["filename"].as_str().unwrap().to_owned();
    let verified = invoke(
        &webview,
        "verify_backup",
        json!({"profile": "demo", "name": name, "deep": true, "op": "v", "onProgress": "__CHANNEL__:2"}),
    )
    .unwrap();
    assert_eq!(
        verified["database"]["integrity"],
        json!(["ok"]),
        "{verified}"
    );
    let done = invoke(
        &webview,
        "restore_backup",
        json!({"profile": "demo", "name": name, "confirmation": "demo", "op": "r", "onProgress": "__CHANNEL__:3"}),
    )
    .unwrap();
    assert!(done["pre_restore_backup"].is_string(), "{done}");
    invoke(&webview, "test_passphrase", json!({"profile": "demo"})).unwrap();

    // Nothing secret was written: not the profile book, the demo, its logs.
    assert_eq!(
        files_holding(&config, SECRET),
        Vec::<std::path::PathBuf>::new()
    );

    // Forgotten, it is gone; the next backup says what is missing.
    assert_eq!(
        invoke(&webview, "forget_passphrase", json!({"profile": "demo"})).unwrap(),
        true
    );
    assert_eq!(invoke(&webview, "kept_in_session", json!({})).unwrap(), 0);
    let err = invoke(
        &webview,
        "backup_now",
        json!({"profile": "demo", "op": "b2", "onProgress": "__CHANNEL__:4"}),
    )
    .unwrap_err();
    assert_eq!(err["kind"], "keychain_unavailable", "{err}");
}

#[test]
fn without_a_session_bus_the_reason_is_the_missing_bus() {
    if without_keychain("first_run::without_a_session_bus_the_reason_is_the_missing_bus") {
        return;
    }
    let (_app, webview) = mock_app();
    let status = invoke(&webview, "secret_status", json!({"profile": "none"})).unwrap();
    assert_eq!(
        status["keychain_problem"]["kind"], "keychain_unavailable",
        "{status}"
    );
    let message = status["keychain_problem"]["message"].as_str().unwrap();
    assert!(message.contains("no D-Bus session bus"), "{message}");
}
