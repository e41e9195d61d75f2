//! A real OpenSSH server on 127.0.0.1 (Debian's `openssh-server`), with a
//! generated host key and user key, for the SSH profile tests; and the
//! client config (`BACKUPDESK_SSH_CONFIG`) that reaches it as `sm-test`
//! without touching the user's own `~/.ssh`.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

#[allow(unused_imports)]
use super::*;

/// A running `sshd -D` and the keys and client config to reach it.
pub struct Sshd {
    child: Child,
    pub dir: tempfile::TempDir,
    pub port: u16,
    /// The login name (the user running the tests).
    pub user: String,
}

fn keygen(path: &Path) {
    let out = Command::new("ssh-keygen")
        .args([
            "-q",
            "-t",
            "ed25519",
            "-N",
            "",
            "-C",
            "backupdesk-test",
            "-f",
        ])
        .arg(path)
        .output()
        .expect("ssh-keygen (package openssh-client)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

impl Sshd {
    /// Starts the server; its host key is trusted by [`Sshd::client_config`].
    pub fn start() -> Sshd {
        Self::start_with("")
    }

    /// The same with `internal-sftp`'s own flags (`-R`: read-only).
    pub fn start_with(sftp_flags: &str) -> Sshd {
        Self::launch(sftp_flags, None, &[])
    }

    /// The same with `env` in the login's environment (its key's
    /// `environment=` options): stand-ins for the server's programs.
    pub fn start_with_env(env: &[(&str, &str)]) -> Sshd {
        Self::launch("", None, env)
    }

    /// The same with the login's `$HOME` at `home` (its key's
    /// `environment=` option): a server whose home is full, read-only…
    pub fn start_with_home(home: &Path) -> Sshd {
        Self::launch("", Some(home), &[])
    }

    fn launch(sftp_flags: &str, home: Option<&Path>, env: &[(&str, &str)]) -> Sshd {
        let dir = tempfile::Builder::new()
            .prefix("bd-sshd-")
            .tempdir()
            .unwrap();
        keygen(&dir.path().join("host_key"));
        keygen(&dir.path().join("user_key"));
        let user_key = std::fs::read_to_string(dir.path().join("user_key.pub")).unwrap();
        let home_var = home.map(|h| format!("HOME={}", h.display()));
        let options: Vec<String> = home_var
            .into_iter()
            .chain(env.iter().map(|(k, v)| format!("{k}={v}")))
            .map(|var| format!("environment=\"{var}\""))
            .collect();
        let user_environment = !options.is_empty();
        let options = if options.is_empty() {
            String::new()
        } else {
            format!("{} ", options.join(","))
        };
        std::fs::write(
            dir.path().join("authorized_keys"),
            format!("{options}{user_key}"),
        )
        .unwrap();
        let id = |flag: &str| {
            String::from_utf8(Command::new("id").arg(flag).output().unwrap().stdout)
                .unwrap()
                .trim()
                .to_owned()
        };
        if id("-u") == "0" {
            // sshd's privilege separation folder (root only).
            std::fs::create_dir_all("/run/sshd").unwrap();
        }
        let user = id("-un");
        let port = free_port();
        let d = dir.path().display();
        let config = dir.path().join("sshd_config");
        std::fs::write(
            &config,
            format!(
                "ListenAddress 127.0.0.1\nPort {port}\nHostKey {d}/host_key\nPidFile {d}/sshd.pid\n\
                 AuthorizedKeysFile {d}/authorized_keys\nStrictModes no\nPasswordAuthentication no\n\
                 KbdInteractiveAuthentication no\nPubkeyAuthentication yes\nUsePAM no\n\
                 PermitRootLogin prohibit-password\nAllowUsers {user}\nLogLevel ERROR\n\
                 PermitUserEnvironment {}\nSubsystem sftp internal-sftp {sftp_flags}\n",
                if user_environment { "yes" } else { "no" }
            ),
        )
        .unwrap();
        let child = Command::new("/usr/sbin/sshd")
            .args(["-D", "-e", "-f"])
            .arg(&config)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("sshd (package openssh-server)");
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "sshd did not listen on {port}");
            std::thread::sleep(Duration::from_millis(50));
        }
        let sshd = Sshd {
            child,
            dir,
            port,
            user,
        };
        let host_key = std::fs::read_to_string(sshd.dir.path().join("host_key.pub")).unwrap();
        std::fs::write(
            sshd.dir.path().join("known_hosts"),
            format!("[127.0.0.1]:{port} {host_key}"),
        )
        .unwrap();
        sshd
    }

    /// A client config reaching this server as `sm-test`, trusting
    /// `known_hosts` (a file in the server's folder unless given).
    pub fn client_config(&self, name: &str, known_hosts: &Path) -> PathBuf {
        let d = self.dir.path().display();
        let path = self.dir.path().join(name);
        std::fs::write(
            &path,
            format!(
                "Host sm-test\n  HostName 127.0.0.1\n  Port {}\n  User {}\n  IdentityFile {d}/user_key\n  \
                 IdentitiesOnly yes\n  UserKnownHostsFile {}\n  GlobalKnownHostsFile /dev/null\n  LogLevel ERROR\n",
                self.port,
                self.user,
                known_hosts.display()
            ),
        )
        .unwrap();
        path
    }

    /// The client config that trusts this server's real host key.
    pub fn trusting_config(&self) -> PathBuf {
        self.client_config("ssh_config", &self.dir.path().join("known_hosts"))
    }

    /// The user key's path (for `--identity`).
    pub fn user_key(&self) -> PathBuf {
        self.dir.path().join("user_key")
    }

    /// The host key's fingerprint (`SHA256:…`).
    pub fn fingerprint(&self) -> String {
        let out = Command::new("ssh-keygen")
            .arg("-lf")
            .arg(self.dir.path().join("host_key.pub"))
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .nth(1)
            .unwrap()
            .to_owned()
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
