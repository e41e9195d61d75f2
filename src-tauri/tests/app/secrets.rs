//! One keychain rule for both shells: a passphrase stored by the CLI (for a
//! bare `--data-dir`) is found by the app (for a profile naming that
//! folder), and the other way round; one stored before the rule under a
//! profile's name is still found, and moved on the next store. Real
//! gnome-keyring in its own D-Bus session, the real `backupdesk` binary.

use crate::common::{cli, in_keyring_session, invoke, mock_app};

use serde_json::json;

const APP_PASSPHRASE: &str = "stored by the desktop app";
const CLI_PASSPHRASE: &str = "stored by the command line";

#[test]
fn a_passphrase_stored_by_either_shell_is_found_by_the_other() {
    if in_keyring_session("secrets::a_passphrase_stored_by_either_shell_is_found_by_the_other") {
        return;
    }
    let (_app, webview) = mock_app();
    let scratch = tempfile::tempdir().unwrap();

    // The app makes an installation and stores its passphrase; the CLI,
    // given only the folder, finds it (a backup, then its test).
    let by_app = scratch.path().join("made-by-app");
    invoke(
        &webview,
        "create_demo",
        json!({"profile": "app-made", "dir": by_app, "sizeMib": 1, "passphrase": APP_PASSPHRASE, "keepIn": "keychain"}),
    )
    .unwrap();
    let dir = by_app.display().to_string();
    let (code, out) = cli(&["--data-dir", &dir, "backup"]);
    assert_eq!(
        code, 0,
        "the CLI backs up with the app's passphrase: {out:#}"
    );
    let (code, out) = cli(&["--data-dir", &format!("{dir}/"), "passphrase", "test"]);
    assert_eq!(code, 0, "a trailing slash names the same folder: {out:#}");

    // The CLI stores one for a bare folder; the app, through a profile that
    // names the folder, finds it.
    let by_cli = scratch.path().join("made-by-cli");
    let cli_dir = by_cli.display().to_string();
    assert_eq!(cli(&["demo", "init", &cli_dir, "--size", "1MiB"]).0, 0);
    let file = scratch.path().join("passphrase");
    std::fs::write(&file, format!("{CLI_PASSPHRASE}\n")).unwrap();
    let file = file.display().to_string();
    let (code, out) = cli(&[
        "--data-dir",
        &cli_dir,
        "--passphrase-file",
        &file,
        "passphrase",
        "set",
    ]);
    assert_eq!(code, 0, "{out:#}");
    assert_eq!(cli(&["--data-dir", &cli_dir, "backup"]).0, 0);
    invoke(
        &webview,
        "add_local_profile",
        json!({"name": "cli-made", "dataDir": cli_dir}),
    )
    .unwrap();
    let status = invoke(&webview, "secret_status", json!({"profile": "cli-made"})).unwrap();
    assert_eq!(status["passphrase_stored"], true, "{status:#}");
    let opened = invoke(&webview, "test_passphrase", json!({"profile": "cli-made"})).unwrap();
    assert!(
        opened.as_str().unwrap().starts_with("servers_db_"),
        "{opened}"
    );

    // A passphrase stored before the rule, under a local profile's name:
    // both shells still find it; the next store moves it to the folder.
    let keychain = backupdesk_core::keychain::Keychain::open().unwrap();
    use backupdesk_core::keychain::SecretKind;
    keychain
        .forget(&format!("dir:{cli_dir}"), SecretKind::Passphrase)
        .unwrap();
    keychain
        .set("cli-made", SecretKind::Passphrase, CLI_PASSPHRASE)
        .unwrap();
    invoke(&webview, "test_passphrase", json!({"profile": "cli-made"})).unwrap();
    let (code, out) = cli(&["--profile", "cli-made", "passphrase", "test"]);
    assert_eq!(code, 0, "{out:#}");
    invoke(
        &webview,
        "set_passphrase",
        json!({"profile": "cli-made", "passphrase": CLI_PASSPHRASE, "keepIn": "keychain"}),
    )
    .unwrap();
    assert!(
        keychain
            .get("cli-made", SecretKind::Passphrase)
            .unwrap()
            .is_none()
    );
    assert_eq!(cli(&["--data-dir", &cli_dir, "passphrase", "test"]).0, 0);

    // One policy, one kind per cause, in both shells.
    let err = invoke(
        &webview,
        "set_passphrase",
        json!({"profile": "cli-made", "passphrase": "ServerMonitorBackup2026", "keepIn": "keychain"}),
    )
    .unwrap_err();
    assert_eq!(err["kind"], "default_passphrase_refused", "{err:#}");
    let default_file = scratch.path().join("default");
    std::fs::write(&default_file, "ServerMonitorBackup2026\n").unwrap();
    let (code, out) = cli(&[
        "--data-dir",
        &cli_dir,
        "--passphrase-file",
        &default_file.display().to_string(),
        "passphrase",
        "set",
    ]);
    assert_eq!(
        (code, out["error"]["kind"].as_str()),
        (1, Some("default_passphrase_refused")),
        "{out:#}"
    );
    let err = invoke(
        &webview,
        "set_passphrase",
        json!({"profile": "cli-made", "passphrase": "", "keepIn": "keychain"}),
    )
    .unwrap_err();
    assert_eq!(err["kind"], "empty_passphrase", "{err:#}");
}
