//! What the command tests share: one IPC call on the mock runtime, and a
//! re-run of a test inside its own keyring session.

use serde_json::Value;
use tauri::ipc::{CallbackFn, InvokeBody};
use tauri::test::{INVOKE_KEY, MockRuntime};
use tauri::webview::InvokeRequest;

/// Invokes `cmd` with `args` (camelCase names) as the webview would; the
/// result or the `{kind, message}` error as JSON.
pub fn invoke(
    webview: &tauri::WebviewWindow<MockRuntime>,
    cmd: &str,
    args: Value,
) -> Result<Value, Value> {
    tauri::test::get_ipc_response(
        webview,
        InvokeRequest {
            cmd: cmd.into(),
            callback: CallbackFn(0),
            error: CallbackFn(1),
            url: "tauri://localhost".parse().unwrap(),
            body: InvokeBody::Json(args),
            headers: Default::default(),
            invoke_key: INVOKE_KEY.to_string(),
        },
    )
    .map(|body| body.deserialize::<Value>().unwrap())
}

/// Re-runs this test in a D-Bus session with a fresh, unlocked keyring and
/// its own config folder (the environment can only be set for a child).
pub fn in_keyring_session(test: &str) -> bool {
    if std::env::var_os("BACKUPDESK_APP_KEYRING_SESSION").is_some() {
        return false;
    }
    let scratch = tempfile::tempdir().unwrap();
    let with_keyring =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/scripts/with-keyring.sh");
    let out = std::process::Command::new("dbus-run-session")
        .arg("--")
        .arg(with_keyring)
        .arg(std::env::current_exe().unwrap())
        .args(["--exact", test, "--nocapture"])
        .env("BACKUPDESK_APP_KEYRING_SESSION", "1")
        .env("BACKUPDESK_CONFIG_DIR", scratch.path().join("config"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    true
}

/// `backupdesk ARGS --json` next to this test binary (target/debug).
pub fn cli(args: &[&str]) -> (i32, Value) {
    let exe = std::env::current_exe().unwrap();
    let bin = exe.parent().unwrap().parent().unwrap().join("backupdesk");
    let out = std::process::Command::new(&bin)
        .args(args)
        .arg("--json")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("{}: {e} (build the CLI first)", bin.display()));
    let json = serde_json::from_slice(&out.stdout).unwrap_or_else(|_| {
        panic!(
            "{args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().unwrap(), json)
}

/// The app on the mock runtime, with its main window (keep the app alive
/// as long as the window is used).
pub fn mock_app() -> (
    tauri::App<tauri::test::MockRuntime>,
    tauri::WebviewWindow<tauri::test::MockRuntime>,
) {
    let app = backupdesk_app::app(tauri::test::mock_builder())
        .build(tauri::generate_context!())
        .unwrap();
    let webview = tauri::WebviewWindowBuilder::new(&app, "main", Default::default())
        .build()
        .unwrap();
    (app, webview)
}
