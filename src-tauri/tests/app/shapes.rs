//! The CLI's `--json` and the app's commands serialise the same core types:
//! for one installation, a backup, the list, a verification, a restore,
//! health and storage have the same shape in both (keys, recursively, and
//! JSON types). The CLI wraps them in its envelope (`ok` beside a backup's
//! fields, `backups`, `report`).

use crate::common::{cli, in_keyring_session, invoke, mock_app};

use serde_json::{Value, json};

/// The shape of a JSON value: object keys (recursively), array element
/// shapes (of the first element), the type of anything else.
fn shape(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            Value::Object(map.iter().map(|(k, v)| (k.clone(), shape(v))).collect())
        }
        Value::Array(items) => Value::Array(items.iter().take(1).map(shape).collect()),
        Value::Null => json!("null"),
        Value::Bool(_) => json!("bool"),
        Value::Number(_) => json!("number"),
        Value::String(_) => json!("string"),
    }
}

#[test]
fn the_cli_and_the_app_answer_in_the_same_shapes() {
    if in_keyring_session("shapes::the_cli_and_the_app_answer_in_the_same_shapes") {
        return;
    }
    let (_app, webview) = mock_app();
    let scratch = tempfile::tempdir().unwrap();
    let root = scratch.path().join("sm");
    invoke(
        &webview,
        "create_demo",
        json!({"profile": "p", "dir": root, "sizeMib": 1, "passphrase": "the shapes passphrase", "keepIn": "keychain"}),
    )
    .unwrap();
    let dir = root.display().to_string();
    let (code, made) = cli(&["--data-dir", &dir, "backup"]);
    assert_eq!(code, 0, "{made:#}");
    let name = made["filename"].as_str().unwrap().to_owned();
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let app_made = invoke(
        &webview,
        "backup_now",
        json!({"profile": "p", "op": "b", "onProgress": "__CHANNEL__:0"}),
    )
    .unwrap();
    let mut cli_made = made.clone();
    assert_eq!(cli_made["ok"], true);
    cli_made.as_object_mut().unwrap().remove("ok");
    assert_eq!(shape(&cli_made), shape(&app_made), "backup");
    assert_eq!(app_made["target"], "local");

    let (_, list) = cli(&["--data-dir", &dir, "list"]);
    let app_list = invoke(&webview, "list_backups", json!({"profile": "p"})).unwrap();
    assert_eq!(shape(&list["backups"]), shape(&app_list), "list");

    let (_, verified) = cli(&["--data-dir", &dir, "verify", "--deep", &name]);
    let app_verified = invoke(
        &webview,
        "verify_backup",
        json!({"profile": "p", "name": name, "deep": true, "op": "v", "onProgress": "__CHANNEL__:1"}),
    )
    .unwrap();
    assert_eq!(shape(&verified["report"]), shape(&app_verified), "verify");

    for (verb, command) in [("health", "database_health"), ("storage", "storage_report")] {
        let (_, ours) = cli(&["--data-dir", &dir, verb]);
        let app = invoke(&webview, command, json!({"profile": "p"})).unwrap();
        assert_eq!(shape(&ours), shape(&app), "{verb}");
    }

    let (code, restored) = cli(&["--data-dir", &dir, "restore", &name, "--yes"]);
    assert_eq!(code, 0, "{restored:#}");
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let app_restored = invoke(
        &webview,
        "restore_backup",
        json!({"profile": "p", "name": name, "confirmation": "p", "op": "r", "onProgress": "__CHANNEL__:2"}),
    )
    .unwrap();
    assert_eq!(shape(&restored["report"]), shape(&app_restored), "restore");
    assert_eq!(app_restored["target"], "local");
}
