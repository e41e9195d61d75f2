//! First-run actions are all or nothing: a demo whose keychain step fails
//! (here: no Secret Service at all), or whose name is taken, leaves no
//! folder, profile or secret behind, so a second try starts clean.

mod common;
use common::{in_keyring_session, invoke, mock_app, without_keychain};

use serde_json::json;

#[test]
fn a_demo_without_a_keychain_leaves_nothing_behind() {
    if without_keychain("a_demo_without_a_keychain_leaves_nothing_behind") {
        return;
    }
    let (_app, webview) = mock_app();
    let scratch = tempfile::tempdir().unwrap();
    let root = scratch.path().join("demo");
    let err = invoke(
        &webview,
        "create_demo",
        json!({"profile": "demo", "dir": root, "sizeMib": 1, "passphrase": "a demo passphrase"}),
    )
    .unwrap_err();
    assert_eq!(err["kind"], "keychain_unavailable", "{err}");
    assert!(!root.exists(), "the demo folder was made anyway");
    let profiles = invoke(&webview, "list_profiles", json!({})).unwrap();
    assert_eq!(profiles, json!([]), "a profile was saved anyway");
}

#[test]
fn a_taken_name_removes_the_demo_it_made_and_keeps_the_first() {
    if in_keyring_session("a_taken_name_removes_the_demo_it_made_and_keeps_the_first") {
        return;
    }
    let (_app, webview) = mock_app();
    let scratch = tempfile::tempdir().unwrap();
    let first = scratch.path().join("first");
    invoke(
        &webview,
        "create_demo",
        json!({"profile": "demo", "dir": first, "sizeMib": 1, "passphrase": "a demo passphrase"}),
    )
    .unwrap();
    // A folder that exists already keeps what it held.
    let second = scratch.path().join("second");
    std::fs::create_dir_all(&second).unwrap();
    std::fs::write(second.join("notes.txt"), "mine").unwrap();
    let err = invoke(
        &webview,
        "create_demo",
        json!({"profile": "demo", "dir": second, "sizeMib": 1, "passphrase": "a demo passphrase"}),
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
        json!({"profile": "no/slashes", "dir": third, "sizeMib": 1, "passphrase": "a demo passphrase"}),
    )
    .unwrap_err();
    assert_eq!(err["kind"], "invalid_profile_name", "{err}");
    assert!(!third.exists(), "the refused demo's folder is left");
    let status = invoke(&webview, "secret_status", json!({"profile": "demo"})).unwrap();
    assert_eq!(status["passphrase_stored"], true, "{status}");
}
