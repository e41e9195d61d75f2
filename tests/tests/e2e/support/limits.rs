//! Small filesystems and bounded runs: a full disk on demand (a tmpfs, the
//! tests run as root) and a command that must end in time (a hang fails
//! the test instead of holding the suite).

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

/// A tmpfs mounted at a folder, unmounted when dropped.
pub struct Tmpfs(PathBuf);

/// Mounts a tmpfs of `size` (`1m`) at `dir` (made if needed).
pub fn mount_tmpfs(dir: &Path, size: &str) -> Tmpfs {
    std::fs::create_dir_all(dir).unwrap();
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
        .arg(dir)
        .output()
        .unwrap();
    assert!(
        mounted.status.success(),
        "mount a {size} tmpfs (the tests run as root): {}",
        String::from_utf8_lossy(&mounted.stderr)
    );
    Tmpfs(dir.to_owned())
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

/// Runs `cmd` (stdout and stderr captured); fails the test, after killing
/// it, when it has not ended within `secs` (it hangs).
pub fn output_within(secs: u64, mut cmd: Command) -> Output {
    let child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let id = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(Duration::from_secs(secs)) {
        Ok(out) => out.unwrap(),
        Err(_) => {
            let _ = Command::new("kill")
                .args(["-KILL", &id.to_string()])
                .status();
            panic!("{cmd:?} did not end within {secs} s: it hangs");
        }
    }
}
