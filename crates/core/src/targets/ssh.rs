//! A Server Monitor on another machine, reached over SSH: Backup Desk's own
//! engine (the `backupdesk` CLI) runs there, driven from here with `--json`,
//! so every local feature works on it with the same shapes and exit codes.
//!
//! The system OpenSSH client does the connecting: it honours the admin's
//! `~/.ssh/config`, agent, `known_hosts` and jump hosts, shares one
//! connection between calls (`ControlMaster`), and host-key checking stays
//! strict (`BatchMode`, `StrictHostKeyChecking=yes`): an unknown or changed
//! key is an error that names the fingerprint, never a silent accept. The
//! passphrase travels on the channel's stdin (`--passphrase-file
//! /dev/stdin` on the server), never on a command line or into a file.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::format::crypto::Passphrase;

/// Where `backupdesk` goes on a server when `profile install` puts it
/// there (relative to the SSH user's home).
pub const DEFAULT_ENGINE: &str = ".local/bin/backupdesk";

/// The `--json` shapes this build reads and writes; a server whose engine
/// speaks another version is refused with both versions named.
pub const JSON_SCHEMA: u32 = 1;

/// This build's `--version` line: the release and the JSON schema.
pub const VERSION_LINE: &str = concat!(env!("CARGO_PKG_VERSION"), " (json 1)");

/// An SSH destination as a profile names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SshHost {
    /// `user@host` or a `Host` alias of `~/.ssh/config`.
    pub destination: String,
    /// A port other than the config's.
    pub port: Option<u16>,
    /// A private key other than the agent's and the config's.
    pub identity: Option<PathBuf>,
    /// The `backupdesk` on the server (default [`DEFAULT_ENGINE`]).
    pub engine: Option<String>,
}

/// What the server's engine answered.
#[derive(Debug, Clone)]
pub struct EngineRun {
    /// Its stdout (the `--json` document).
    pub stdout: Vec<u8>,
    /// Its exit code (0, 1 or 2, as locally).
    pub code: i32,
}

/// Why the server's engine could not be run.
#[derive(Debug, thiserror::Error)]
pub enum SshError {
    /// No `ssh` client on this machine.
    #[error("cannot run ssh ({0}); install the OpenSSH client (apt install openssh-client)")]
    NoClient(String),
    /// The server's host key is not in `known_hosts`.
    #[error(
        "the host key of {host} is not known{fingerprint}; check it against the server's own \
         (ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub there), then accept it once with \
         `ssh {host}`; Backup Desk never accepts a host key by itself"
    )]
    UnknownHostKey { host: String, fingerprint: String },
    /// The server's host key differs from the one in `known_hosts`.
    #[error(
        "the host key of {host} CHANGED{fingerprint}: this may be an attack, or the server was \
         reinstalled; nothing was run. Find out which before removing the old key \
         (ssh-keygen -R {host})"
    )]
    ChangedHostKey { host: String, fingerprint: String },
    /// The server refused every key offered (wrong user, key not authorized).
    #[error(
        "{host} refused the login ({detail}); check the user name and that your key is in its \
         authorized_keys"
    )]
    LoginRefused { host: String, detail: String },
    /// The server cannot be reached.
    #[error("cannot reach {host} over SSH: {detail}")]
    Unreachable { host: String, detail: String },
    /// No `backupdesk` where the profile looks for it.
    #[error(
        "{host} has no Backup Desk engine at {engine}; install it with `backupdesk profile \
         install PROFILE` (or the backupdesk-cli .deb)"
    )]
    EngineMissing { host: String, engine: String },
    /// The server's engine speaks other JSON shapes.
    #[error(
        "{host} runs backupdesk {remote}, this one is {local}: their --json shapes differ; \
         update the server with `backupdesk profile install PROFILE`"
    )]
    IncompatibleEngine {
        host: String,
        remote: String,
        local: String,
    },
    /// Another SSH failure.
    #[error("ssh to {host} failed: {detail}")]
    Failed { host: String, detail: String },
}

impl crate::KindedError for SshError {
    fn kind(&self) -> crate::ErrorKind {
        use crate::ErrorKind as K;
        match self {
            SshError::NoClient(_) | SshError::Failed { .. } => K::SshFailed,
            SshError::UnknownHostKey { .. } => K::HostKeyUnknown,
            SshError::ChangedHostKey { .. } => K::HostKeyChanged,
            SshError::LoginRefused { .. } => K::LoginFailed,
            SshError::Unreachable { .. } => K::Unreachable,
            SshError::EngineMissing { .. } => K::EngineMissing,
            SshError::IncompatibleEngine { .. } => K::EngineIncompatible,
        }
    }
}

impl SshHost {
    /// The engine's path on the server, as the remote shell will read it.
    pub fn engine(&self) -> &str {
        self.engine.as_deref().unwrap_or(DEFAULT_ENGINE)
    }

    /// `ssh` with the SSH config to read (`$BACKUPDESK_SSH_CONFIG`, else
    /// the user's) and the profile's port.
    fn ssh_command(&self) -> Command {
        let mut cmd = Command::new("ssh");
        if let Some(config) = std::env::var_os("BACKUPDESK_SSH_CONFIG") {
            cmd.arg("-F").arg(config);
        }
        if let Some(port) = self.port {
            cmd.arg("-p").arg(port.to_string());
        }
        cmd
    }

    /// `ssh` with Backup Desk's fixed options, ready for a remote command.
    /// `$BACKUPDESK_SSH_CONFIG` names a config file to use instead of
    /// `~/.ssh/config` (a separate set-up, the tests).
    fn ssh(&self) -> Command {
        let mut cmd = self.ssh_command();
        cmd.args([
            "-T",
            "-o",
            "BatchMode=yes",
            "-o",
            "StrictHostKeyChecking=yes",
            "-o",
            "ConnectTimeout=10",
        ]);
        match control_dir() {
            Some(dir) => cmd
                .args(["-o", "ControlMaster=auto", "-o", "ControlPersist=60", "-o"])
                .arg(format!("ControlPath={}", dir.join("bd-%C").display())),
            None => cmd.args(["-o", "ControlMaster=no", "-o", "ControlPath=none"]),
        };
        if let Some(identity) = &self.identity {
            cmd.arg("-i")
                .arg(identity)
                .args(["-o", "IdentitiesOnly=yes"]);
        }
        cmd.arg("--").arg(&self.destination);
        cmd
    }

    /// Runs `shell_command` on the server, `stdin` fed to it.
    fn run_raw(&self, shell_command: &str, stdin: &[u8]) -> Result<RawRun, SshError> {
        self.run_streaming(shell_command, stdin, &crate::progress::NoProgress)
    }

    /// [`SshHost::run_raw`], the progress lines of its stderr handed to
    /// `progress` as they come (the rest of stderr is kept).
    fn run_streaming(
        &self,
        shell_command: &str,
        stdin: &[u8],
        progress: &dyn crate::progress::Progress,
    ) -> Result<RawRun, SshError> {
        use std::io::BufRead;
        let mut child = self
            .ssh()
            .arg(shell_command)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| SshError::NoClient(e.to_string()))?;
        let mut input = child.stdin.take().expect("piped stdin");
        let feed = stdin.to_vec();
        let writer = std::thread::spawn(move || {
            let _ = input.write_all(&feed);
        });
        let errors = child.stderr.take().expect("piped stderr");
        let stderr = std::thread::scope(|scope| {
            let reader = scope.spawn(|| {
                let mut kept = String::new();
                for line in std::io::BufReader::new(errors)
                    .lines()
                    .map_while(Result::ok)
                {
                    match crate::progress::ProgressLine::parse(&line) {
                        Some(event) => event.apply(progress),
                        None => {
                            kept.push_str(&line);
                            kept.push('\n');
                        }
                    }
                }
                kept
            });
            reader.join().unwrap_or_default()
        });
        let out = child
            .wait_with_output()
            .map_err(|e| SshError::NoClient(e.to_string()))?;
        let _ = writer.join();
        Ok(RawRun {
            stdout: out.stdout,
            stderr,
            code: out.status.code().unwrap_or(255),
        })
    }

    /// Runs the server's engine with `args` (a `--json` verb), the
    /// passphrase, if any, on its stdin (`--passphrase-file /dev/stdin`
    /// is added). Its stderr goes to ours.
    ///
    /// # Errors
    /// [`SshError`] when the engine could not run; the engine's own
    /// failures are its exit code and JSON.
    pub fn run_engine(
        &self,
        args: &[String],
        passphrase: Option<&Passphrase>,
        progress: &dyn crate::progress::Progress,
    ) -> Result<EngineRun, SshError> {
        let (words, stdin) = self.engine_call(args, passphrase.as_slice());
        let run = self.run_streaming(&shell_line(&words), &stdin, progress)?;
        let run = self.judge(run)?;
        eprint!("{}", run.stderr);
        Ok(EngineRun {
            stdout: run.stdout,
            code: run.code,
        })
    }

    /// [`SshHost::run_engine`], detached on the server (with `secrets`: the
    /// passphrase, and a rotation's new one): the engine runs in
    /// its own session with its answer kept in files under
    /// `~/.local/state/backupdesk/ssh-ops/OP` there, so a dropped
    /// connection never stops it half-way; [`SshHost::collect`] fetches
    /// the answer later. `op` is this operation's id (letters, digits, `-`).
    ///
    /// # Errors
    /// As [`SshHost::run_engine`].
    pub fn run_engine_detached(
        &self,
        args: &[String],
        secrets: &[&Passphrase],
        op: &str,
        progress: &dyn crate::progress::Progress,
    ) -> Result<EngineRun, SshError> {
        let (words, stdin) = self.engine_call(args, secrets);
        // The inner shell, in a session of its own, outlives the channel
        // (its stdin, the passphrase, passed as fd 3: a background job's
        // own stdin would be /dev/null); it writes the exit code last
        // (renamed into place), so a code file means a finished operation.
        // The outer one streams its stderr (the progress lines) with a tail
        // that ends with it, waits for the code, and answers.
        let script = format!(
            "{OPS_DIR_SETUP} o=\"$d\"/{op}; exec 3<&0; \
             setsid sh -c 'o=$0; \"$@\" >\"$o.out\" 2>\"$o.err\"; echo $? >\"$o.code.part\"; mv \"$o.code.part\" \"$o.code\"' \"$o\" {line} <&3 & \
             tail -s 0.1 --pid=$$ -n +1 -F \"$o.err\" >&2 2>/dev/null & t=$!; \
             while [ ! -f \"$o.code\" ]; do sleep 0.1; done; sleep 0.3; kill $t 2>/dev/null || true; \
             {ANSWER_STREAMED}",
            op = quote(&op_id(op)),
            line = shell_line(&words),
        );
        let run = self.run_streaming(&script, &stdin, progress)?;
        let run = self.judge(run)?;
        eprint!("{}", run.stderr);
        Ok(EngineRun {
            stdout: run.stdout,
            code: run.code,
        })
    }

    /// The answer of detached operation `op`, once: `Finished` (then
    /// forgotten on the server), `Running`, or `Unknown` (never started, or
    /// already collected).
    ///
    /// # Errors
    /// The connection's own.
    pub fn collect(&self, op: &str) -> Result<Detached, SshError> {
        let script = format!(
            "{OPS_DIR_SETUP} o=\"$d\"/{op}; \
             if [ -f \"$o.code\" ]; then {ANSWER}; elif [ -f \"$o.out\" ]; then exit 200; else exit 201; fi",
            op = quote(&op_id(op)),
        );
        let run = self.run_raw(&script, b"")?;
        let run = self.judge(run)?;
        Ok(match run.code {
            200 => Detached::Running,
            201 => Detached::Unknown,
            code => Detached::Finished(EngineRun {
                stdout: run.stdout,
                code,
            }),
        })
    }

    /// The engine's command words for `args` and what its stdin gets: the
    /// passphrases, one line each, the first read there with
    /// `--passphrase-file /dev/stdin` (a rotation's new one with
    /// `--new-passphrase-file /dev/stdin`, in `args`).
    fn engine_call(&self, args: &[String], secrets: &[&Passphrase]) -> (Vec<String>, Vec<u8>) {
        let mut words = vec![self.engine().to_owned()];
        words.extend(args.iter().cloned());
        let mut stdin = Vec::new();
        if !secrets.is_empty() {
            words.extend(["--passphrase-file".to_owned(), "/dev/stdin".to_owned()]);
        }
        for secret in secrets {
            stdin.extend_from_slice(secret.expose().as_bytes());
            stdin.push(b'\n');
        }
        (words, stdin)
    }

    /// Checks that the server's engine runs and speaks this build's JSON.
    ///
    /// # Errors
    /// [`SshError::EngineMissing`], [`SshError::IncompatibleEngine`], and
    /// the connection's own.
    pub fn handshake(&self) -> Result<String, SshError> {
        let run = self.run_raw(
            &shell_line(&[self.engine().to_owned(), "--version".into()]),
            b"",
        )?;
        let run = self.judge(run)?;
        let line = String::from_utf8_lossy(&run.stdout).trim().to_owned();
        let remote = line.strip_prefix("backupdesk ").unwrap_or(&line).to_owned();
        if remote.ends_with(&format!("(json {JSON_SCHEMA})")) {
            Ok(remote)
        } else {
            Err(SshError::IncompatibleEngine {
                host: self.destination.clone(),
                remote,
                local: VERSION_LINE.to_owned(),
            })
        }
    }

    /// Copies the executable at `engine` to the server at [`SshHost::engine`]
    /// (written beside it first, then renamed: a half-copied engine never
    /// runs), and checks it answers.
    ///
    /// # Errors
    /// The engine cannot be read; as [`SshHost::handshake`].
    pub fn install(&self, engine: &Path) -> Result<String, SshError> {
        let bytes = std::fs::read(engine).map_err(|e| SshError::Failed {
            host: self.destination.clone(),
            detail: format!("cannot read {}: {e}", engine.display()),
        })?;
        let target = quote(self.engine());
        let script = format!(
            "set -e; t={target}; mkdir -p \"$(dirname \"$t\")\"; cat > \"$t.part\"; \
             chmod 0755 \"$t.part\"; mv -f \"$t.part\" \"$t\""
        );
        let run = self.run_raw(&script, &bytes)?;
        self.judge(run)?;
        self.handshake()
    }

    /// Turns ssh's own failures (exit 255) and a missing engine (127) into
    /// errors; anything else is the engine's answer.
    fn judge(&self, run: RawRun) -> Result<RawRun, SshError> {
        let host = self.destination.clone();
        match run.code {
            255 => Err(classify_ssh_failure(&host, &run.stderr, || {
                self.scanned_fingerprint()
            })),
            126 | 127 => Err(SshError::EngineMissing {
                host,
                engine: self.engine().to_owned(),
            }),
            _ => Ok(run),
        }
    }

    /// The fingerprint the server offers now (ssh-keyscan), for an
    /// unknown-key error; empty when it cannot be had.
    fn scanned_fingerprint(&self) -> String {
        // The host and port the SSH config resolves the destination to.
        let Ok(resolved) = self.ssh_command().arg("-G").arg(&self.destination).output() else {
            return String::new();
        };
        let resolved = String::from_utf8_lossy(&resolved.stdout).into_owned();
        let setting = |key: &str| {
            resolved
                .lines()
                .find_map(|l| l.strip_prefix(key)?.strip_prefix(' ').map(str::to_owned))
        };
        let (Some(host), Some(port)) = (setting("hostname"), setting("port")) else {
            return String::new();
        };
        let Ok(keys) = Command::new("ssh-keyscan")
            .args(["-T", "5", "-t", "ed25519", "-p", &port, &host])
            .stderr(Stdio::null())
            .output()
        else {
            return String::new();
        };
        let Ok(mut keygen) = Command::new("ssh-keygen")
            .args(["-l", "-f", "-"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
        else {
            return String::new();
        };
        if let Some(mut input) = keygen.stdin.take() {
            let _ = input.write_all(&keys.stdout);
        }
        keygen
            .wait_with_output()
            .ok()
            .and_then(|o| {
                String::from_utf8_lossy(&o.stdout)
                    .split_whitespace()
                    .find(|w| w.starts_with("SHA256:"))
                    .map(str::to_owned)
            })
            .unwrap_or_default()
    }
}

/// Makes `$d`, the server's folder of detached operations (private).
const OPS_DIR_SETUP: &str = "set -e; d=\"$HOME/.local/state/backupdesk/ssh-ops\"; \
     mkdir -p \"$d\"; chmod 700 \"$d\";";

/// Answers a finished operation `$o` as the engine would have (stderr,
/// stdout, exit code), forgetting it on the server.
const ANSWER: &str = "cat \"$o.err\" >&2; cat \"$o.out\"; c=$(cat \"$o.code\"); \
     rm -f \"$o.out\" \"$o.err\" \"$o.code\"; exit \"$c\"";

/// [`ANSWER`] for an operation whose stderr was streamed already.
const ANSWER_STREAMED: &str = "cat \"$o.out\"; c=$(cat \"$o.code\"); \
     rm -f \"$o.out\" \"$o.err\" \"$o.code\"; exit \"$c\"";

/// An operation id as a file name: letters, digits and `-` only.
fn op_id(op: &str) -> String {
    op.chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .collect()
}

/// Where a detached operation is.
#[derive(Debug, Clone)]
pub enum Detached {
    /// It ended; its answer, as the engine gave it.
    Finished(EngineRun),
    /// It still runs.
    Running,
    /// The server knows nothing of it (collected already, or never began).
    Unknown,
}

/// An operation this machine started on a server and was cut off from
/// (a dropped connection, a killed terminal or app), as found there.
#[derive(Debug, Clone)]
pub struct CutOff {
    /// Its id.
    pub op: String,
    /// What it was, as recorded when it began (`restore NAME`, …).
    pub what: String,
    /// Where it is now.
    pub state: Detached,
}

impl CutOff {
    /// One line for the admin: how it ended, or that it still runs.
    pub fn describe(&self, host: &str) -> String {
        let (what, op) = (&self.what, &self.op);
        match &self.state {
            Detached::Finished(run) => format!(
                "`backupdesk {what}` (started {op}) finished on {host} while this machine was not \
                 connected: exit {}; its answer: {}",
                run.code,
                String::from_utf8_lossy(&run.stdout).trim_end()
            ),
            Detached::Running => {
                format!("`backupdesk {what}` (started {op}) is still running on {host}")
            }
            Detached::Unknown => format!(
                "{host} has no record of `backupdesk {what}` (started {op}): it never began (the \
                 connection dropped first), or its answer was already read"
            ),
        }
    }
}

impl SshHost {
    /// Asks the server how every pending operation of `pending` ended;
    /// forgets those that ended (or that it does not know), keeps those
    /// still running (asked again next time).
    ///
    /// # Errors
    /// The connection's own.
    pub fn settle(&self, pending: &PendingOps) -> Result<Vec<CutOff>, SshError> {
        let mut found = Vec::new();
        for (op, what) in pending.list() {
            let state = self.collect(&op)?;
            if !matches!(state, Detached::Running) {
                pending.end(&op);
            }
            found.push(CutOff { op, what, state });
        }
        Ok(found)
    }
}

/// The detached operations this machine started on a server and has not
/// heard the end of (a connection dropped): one file per operation in a
/// private folder, holding the command line as the admin typed it.
#[derive(Debug, Clone)]
pub struct PendingOps {
    dir: PathBuf,
}

impl PendingOps {
    /// The pending operations of profile `profile` under `config_dir`.
    pub fn of_profile(config_dir: &Path, profile: &str) -> Self {
        PendingOps {
            dir: config_dir.join("ssh-ops").join(op_id(profile)),
        }
    }

    /// Records `op` (what it was: `what`) before it starts.
    ///
    /// # Errors
    /// The folder cannot be written.
    pub fn begin(&self, op: &str, what: &str) -> std::io::Result<()> {
        crate::publish::ensure_private_dir(&self.dir)?;
        std::fs::write(self.dir.join(op_id(op)), what)
    }

    /// Forgets `op` (its answer arrived).
    pub fn end(&self, op: &str) {
        let _ = std::fs::remove_file(self.dir.join(op_id(op)));
    }

    /// Every pending operation: its id and what it was.
    pub fn list(&self) -> Vec<(String, String)> {
        let mut ops: Vec<(String, String)> = std::fs::read_dir(&self.dir)
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| {
                let id = e.file_name().to_string_lossy().into_owned();
                let what = std::fs::read_to_string(e.path()).ok()?;
                Some((id, what))
            })
            .collect();
        ops.sort();
        ops
    }
}

struct RawRun {
    stdout: Vec<u8>,
    stderr: String,
    code: i32,
}

/// What ssh's stderr says went wrong (exit status 255).
fn classify_ssh_failure(host: &str, stderr: &str, scanned: impl FnOnce() -> String) -> SshError {
    use crate::ssh_words::{SshFailure, read_failure};
    let host = host.to_owned();
    let (failure, detail) = read_failure(stderr);
    match failure {
        SshFailure::ChangedHostKey { fingerprint } => SshError::ChangedHostKey {
            host,
            fingerprint: fingerprint
                .map(|f| format!(" (it now offers {f})"))
                .unwrap_or_default(),
        },
        SshFailure::UnknownHostKey => {
            let f = scanned();
            let fingerprint = if f.is_empty() {
                String::new()
            } else {
                format!(" (it offers {f})")
            };
            SshError::UnknownHostKey { host, fingerprint }
        }
        SshFailure::LoginRefused => SshError::LoginRefused { host, detail },
        SshFailure::Unreachable => SshError::Unreachable { host, detail },
        SshFailure::Other => SshError::Failed { host, detail },
    }
}

/// A private folder for the shared connections' sockets: one per user
/// (a socket is a login) and per Backup Desk config folder (another set of
/// profiles, with its own SSH config, never rides on these connections).
/// In `$XDG_RUNTIME_DIR` when a socket path there fits the 107 bytes a Unix
/// socket allows (ssh adds `bd-` + 40 hex digits + a 17-byte temporary
/// suffix), else in the temporary folder; `None` (no sharing) when no such
/// folder is ours alone.
fn control_dir() -> Option<PathBuf> {
    use std::hash::{Hash, Hasher};
    const SOCKET_NAME: usize = 1 + 3 + 40 + 17;
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    // The config folder's override (the default is one per user anyway).
    std::env::var_os("BACKUPDESK_CONFIG_DIR").hash(&mut hasher);
    std::env::var_os("BACKUPDESK_SSH_CONFIG").hash(&mut hasher);
    let uid = rustix::process::getuid().as_raw();
    let name = format!("bd-ssh-{uid}-{:08x}", hasher.finish() as u32);
    let candidates = std::env::var_os("XDG_RUNTIME_DIR")
        .map(PathBuf::from)
        .into_iter()
        .chain([std::env::temp_dir(), PathBuf::from("/tmp")]);
    candidates
        .map(|base| base.join(&name))
        .filter(|dir| dir.as_os_str().len() + SOCKET_NAME <= 107)
        .find(|dir| private_dir(dir, uid))
}

/// Makes `dir` (mode 0700) or accepts it when it exists, is a folder (not
/// a link), is owned by `uid` and nobody else may enter it.
fn private_dir(dir: &Path, uid: u32) -> bool {
    use std::os::unix::fs::{DirBuilderExt, MetadataExt};
    let _ = std::fs::DirBuilder::new().mode(0o700).create(dir);
    match std::fs::symlink_metadata(dir) {
        Ok(meta) => meta.is_dir() && meta.uid() == uid && meta.mode() & 0o077 == 0,
        Err(_) => false,
    }
}

/// One word for a POSIX shell; `~/` at the start stays expandable.
fn quote(word: &str) -> String {
    if let Some(rest) = word.strip_prefix("~/") {
        return format!("~/{}", quote(rest));
    }
    if !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:@%+,".contains(c))
    {
        return word.to_owned();
    }
    format!("'{}'", word.replace('\'', r"'\''"))
}

/// The words as one line the remote shell splits back into them.
fn shell_line(words: &[String]) -> String {
    words.iter().map(|w| quote(w)).collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::KindedError;

    #[test]
    fn words_reach_the_remote_shell_unchanged() {
        assert_eq!(quote("list"), "list");
        assert_eq!(quote("a b"), "'a b'");
        assert_eq!(quote("it's"), r"'it'\''s'");
        assert_eq!(quote("~/.local/bin/backupdesk"), "~/.local/bin/backupdesk");
        assert_eq!(quote("$(rm -rf /)"), "'$(rm -rf /)'");
        assert_eq!(quote(""), "''");
        assert_eq!(
            shell_line(&[
                "backupdesk".into(),
                "--data-dir".into(),
                "/srv/my sm".into()
            ]),
            "backupdesk --data-dir '/srv/my sm'"
        );
    }

    #[test]
    fn ssh_failures_are_told_apart() {
        let unknown = classify_ssh_failure(
            "root@h",
            "No ED25519 host key is known for [127.0.0.1]:2222 and you have requested strict checking.\r\nHost key verification failed.\r\n",
            || "SHA256:abc".into(),
        );
        assert_eq!(unknown.kind(), crate::ErrorKind::HostKeyUnknown);
        assert!(unknown.to_string().contains("SHA256:abc"));
        let changed = classify_ssh_failure(
            "root@h",
            "@@@ WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED! @@@\nThe fingerprint for the ED25519 key sent by the remote host is\nSHA256:xyz.\nHost key verification failed.",
            || unreachable!("the changed key's fingerprint is in ssh's own text"),
        );
        assert_eq!(changed.kind(), crate::ErrorKind::HostKeyChanged);
        assert!(changed.to_string().contains("SHA256:xyz"));
        let refused = classify_ssh_failure(
            "nobody@h",
            "nobody@127.0.0.1: Permission denied (publickey).",
            String::new,
        );
        assert_eq!(refused.kind(), crate::ErrorKind::LoginFailed);
        let down = classify_ssh_failure(
            "root@h",
            "ssh: connect to host 127.0.0.1 port 1: Connection refused",
            String::new,
        );
        assert_eq!(down.kind(), crate::ErrorKind::Unreachable);
    }
}
