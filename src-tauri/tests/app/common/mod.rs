//! What the command tests share: one IPC call on the mock runtime, and a
//! re-run of a test inside its own keyring session.

// Each test file uses a part of these helpers.
#![allow(dead_code)]

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
/// True in the parent (which then has nothing more to do).
pub fn in_keyring_session(test: &str) -> bool {
    rerun(test, Session::FreshKeyring, &[])
}

/// Re-runs this test with its own config folder (no keyring).
pub fn in_own_config(test: &str) -> bool {
    rerun(test, Session::AsIs, &[])
}

/// Re-runs this test with its own config folder and a session bus address
/// where nothing answers: no Secret Service at all, whatever the machine has.
pub fn without_keychain(test: &str) -> bool {
    rerun(
        test,
        Session::AsIs,
        &[(
            "DBUS_SESSION_BUS_ADDRESS",
            "unix:path=/nonexistent/backupdesk-test-bus",
        )],
    )
}

/// Re-runs this test with its own config folder on a D-Bus session bus
/// where nothing provides a Secret Service (no keyring daemon, nothing to
/// activate).
pub fn without_secret_service(test: &str) -> bool {
    rerun(test, Session::BusWithoutSecretService, &[])
}

/// The D-Bus session a re-run test gets.
enum Session {
    /// This process's (or none).
    AsIs,
    /// A new bus with a fresh, unlocked gnome-keyring.
    FreshKeyring,
    /// A new bus on which nothing provides a Secret Service.
    BusWithoutSecretService,
}

fn rerun(test: &str, session: Session, env: &[(&str, &str)]) -> bool {
    if std::env::var_os("BACKUPDESK_APP_TEST_CHILD").is_some() {
        return false;
    }
    let scratch = tempfile::tempdir().unwrap();
    let exe = std::env::current_exe().unwrap();
    let scripts = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/scripts");
    let mut child = match session {
        Session::AsIs => std::process::Command::new(exe),
        Session::FreshKeyring => {
            let mut cmd = std::process::Command::new("dbus-run-session");
            cmd.arg("--").arg(scripts.join("with-keyring.sh")).arg(exe);
            cmd
        }
        Session::BusWithoutSecretService => {
            let mut cmd = std::process::Command::new("dbus-run-session");
            cmd.arg(format!(
                "--config-file={}",
                scripts.join("bus-without-secret-service.conf").display()
            ))
            .arg("--")
            .arg(exe);
            cmd
        }
    };
    let out = child
        .args(["--exact", test, "--nocapture"])
        .envs(env.iter().copied())
        .env("BACKUPDESK_APP_TEST_CHILD", "1")
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
