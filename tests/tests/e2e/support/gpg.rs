//! The real `gpg`, with a private home, and files the way Server Monitor's
//! scripts write them.

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use tempfile::TempDir;

#[allow(unused_imports)]
use super::*;

/// The real `gpg`, with a private temporary home.
pub struct Gpg {
    home: TempDir,
}

impl Drop for Gpg {
    /// The agent a key operation started for this home goes with it.
    fn drop(&mut self) {
        let _ = Command::new("gpgconf")
            .env("GNUPGHOME", self.home.path())
            .args(["--kill", "gpg-agent"])
            .output();
    }
}

impl Gpg {
    pub fn new() -> Self {
        let home = tempfile::Builder::new()
            .prefix("bd-gnupg-")
            .tempdir()
            .unwrap();
        std::fs::set_permissions(home.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
        Gpg { home }
    }

    /// The GnuPG home (GNUPGHOME) of this throwaway keyring.
    pub fn home(&self) -> &Path {
        self.home.path()
    }

    fn command(&self) -> Command {
        let mut cmd = Command::new("gpg");
        cmd.env("GNUPGHOME", self.home.path());
        cmd
    }

    /// The server script's exact line:
    /// `echo "$PASS" | gpg --batch --yes --passphrase-fd 0 --symmetric --cipher-algo AES256 -o OUT IN`
    pub fn encrypt_like_script(&self, passphrase: &str, input: &Path, output: &Path) {
        let out = self.piped(
            self.command()
                .args([
                    "--batch",
                    "--yes",
                    "--passphrase-fd",
                    "0",
                    "--symmetric",
                    "--cipher-algo",
                    "AES256",
                    "-o",
                ])
                .arg(output)
                .arg(input),
            &format!("{passphrase}\n"),
        );
        assert!(
            out.status.success(),
            "gpg encrypt failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// `gpg --batch --passphrase-fd 0 -d IN > OUT`; returns gpg's output.
    pub fn decrypt(&self, passphrase: &str, input: &Path, output: &Path) -> Output {
        self.piped(
            self.command()
                .args(["--batch", "--yes", "--passphrase-fd", "0", "-o"])
                .arg(output)
                .arg("-d")
                .arg(input),
            &format!("{passphrase}\n"),
        )
    }

    /// Makes a key (Cv25519, no passphrase) for `name` in this home and
    /// writes its public certificate to `cert`.
    pub fn generate_key(&self, name: &str, cert: &Path) {
        let made = self
            .command()
            .args(["--batch", "--pinentry-mode", "loopback", "--passphrase", ""])
            .args(["--quick-gen-key", &format!("{name} <{name}@example.org>")])
            .args(["future-default", "default", "never"])
            .output()
            .unwrap();
        assert!(
            made.status.success(),
            "{}",
            String::from_utf8_lossy(&made.stderr)
        );
        let exported = self
            .command()
            .args(["--batch", "--armor", "--export", name])
            .output()
            .unwrap();
        assert!(exported.status.success() && !exported.stdout.is_empty());
        std::fs::write(cert, exported.stdout).unwrap();
    }

    /// `gpg -d` with the secret keys of this home only (no passphrase).
    pub fn decrypt_with_keys(&self, input: &Path, output: &Path) -> Output {
        self.command()
            .args(["--batch", "--yes", "--pinentry-mode", "loopback"])
            .args(["--passphrase", "", "-o"])
            .arg(output)
            .arg("-d")
            .arg(input)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    }

    fn piped(&self, cmd: &mut Command, stdin: &str) -> Output {
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("gpg is installed");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    }
}

/// Writes a `.meta` the way Server Monitor's script does (six fields,
/// checksum of the plaintext).
pub fn write_script_meta(meta_path: &Path, db_name: &str, plaintext: &Path, database_path: &Path) {
    let size = std::fs::metadata(plaintext).unwrap().len();
    let meta = serde_json::json!({
        "backup_name": db_name,
        "timestamp": "2026-11-20T01:00:00+00:00",
        "size_bytes": size,
        "checksum_sha256": sha256_file(plaintext),
        "database_path": database_path.display().to_string(),
        "encrypted": true,
    });
    std::fs::write(meta_path, serde_json::to_string_pretty(&meta).unwrap()).unwrap();
}

/// Decrypts a backup with the real gpg into `out`.
pub fn gpg_decrypt_to(passphrase: &str, backup: &Path, out: &Path) {
    let result = Gpg::new().decrypt(passphrase, backup, out);
    assert!(
        result.status.success(),
        "gpg -d {}: {}",
        backup.display(),
        String::from_utf8_lossy(&result.stderr)
    );
}

/// A new key's public certificate written to `dir/NAME.asc` (its secret
/// part is dropped: a recipient nothing here opens with), and its
/// fingerprint.
pub fn public_cert(dir: &Path, name: &str) -> (PathBuf, String) {
    use backupdesk_core::format::crypto::{Recipient, armored_secret, generate_key};
    let public =
        Recipient::from_bytes(armored_secret(&generate_key(name).unwrap()).as_bytes()).unwrap();
    let path = dir.join(format!("{name}.asc"));
    std::fs::write(&path, public.armored()).unwrap();
    (path, public.fingerprint())
}
