//! Seeded randomness and a real keyring session for CLI scripts.

use std::path::Path;
use std::process::{Command, Stdio};

#[allow(unused_imports)]
use super::*;

/// A tiny deterministic generator, so seeded tests kill at the same points.
pub struct Lcg(pub u64);

impl Lcg {
    /// The next number in `[0, 1)`.
    pub fn next_unit(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Runs `script` (bash) in a fresh D-Bus session with a real, unlocked
/// gnome-keyring (`tests/scripts/with-keyring.sh`). The script sees `$B`
/// (the CLI), `$ROOT` (the installation), `$PP` (its passphrase file),
/// `$OUT` (a folder for outputs) and `env`. Returns success and the
/// combined output.
pub fn keyring_session(
    inst: &Installation,
    env: &[(&str, &std::ffi::OsStr)],
    script: &str,
) -> (bool, String) {
    let out_dir = inst.dir.path().join("out");
    std::fs::create_dir_all(&out_dir).unwrap();
    let with_keyring = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/with-keyring.sh");
    let output = Command::new("dbus-run-session")
        .arg("--")
        .arg(with_keyring)
        .args(["bash", "-c", script])
        .env("B", assert_cmd::cargo::cargo_bin("backupdesk"))
        .env("ROOT", inst.root())
        .env("PP", &inst.passphrase_file)
        .env("OUT", &out_dir)
        .envs(env.iter().copied())
        .env_remove("DB_BACKUP_PASSPHRASE")
        .stdin(Stdio::null())
        .output()
        .expect("dbus-run-session (package dbus-daemon) and gnome-keyring");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}
