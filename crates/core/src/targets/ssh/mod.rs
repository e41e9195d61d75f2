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

mod certificates;
mod error;
mod pending;
mod protocol;
mod session_key;
pub use error::SshError;
pub use protocol::new_op_id;
use protocol::*;
pub use session_key::BackupsRead;
mod shell;
pub use pending::{CutOff, Detached, PendingOps, RotationNotRecorded};
use shell::{classify_ssh_failure, control_dir, last_line, quote, shell_line};

/// Where `backupdesk` goes on a server when `profile install` puts it
/// there (relative to the SSH user's home).
pub(crate) const DEFAULT_ENGINE: &str = ".local/bin/backupdesk";

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
    /// When every call to this host must have ended, ssh stopped otherwise
    /// (a glance: the fleet's tile, however many calls it makes); `None`:
    /// as long as they take (a backup, a restore).
    pub time_limit: Option<TimeLimit>,
}

/// A glance's limit: `total`, counted from when it was set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeLimit {
    /// The whole limit (said in the error).
    pub total: std::time::Duration,
    /// When it runs out.
    pub ends: std::time::Instant,
}

impl TimeLimit {
    /// `total` from now.
    pub(crate) fn from_now(total: std::time::Duration) -> Self {
        TimeLimit {
            total,
            ends: std::time::Instant::now() + total,
        }
    }
}

/// What the server's engine answered.
#[derive(Debug, Clone)]
pub struct EngineRun {
    /// Its stdout (the `--json` document).
    pub stdout: Vec<u8>,
    /// Its exit code (0, 1 or 2, as locally).
    pub code: i32,
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
        // A call with a time limit has a connection of its own: a shared
        // one's master would hold its pipes open after ssh is stopped.
        let shared = if self.time_limit.is_none() {
            control_dir()
        } else {
            None
        };
        match shared {
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
    /// `progress` as they come (the rest of stderr is kept, its last
    /// [`STDERR_KEPT`] bytes). Stdin, stdout and stderr each have a thread
    /// of their own: an answer of any size never waits on the other pipe.
    fn run_streaming(
        &self,
        shell_command: &str,
        stdin: &[u8],
        progress: &dyn crate::progress::Progress,
    ) -> Result<RawRun, SshError> {
        use std::io::Read;
        let timed_out_error = |limit: &TimeLimit| SshError::TimedOut {
            host: self.destination.clone(),
            seconds: limit.total.as_secs(),
        };
        let left = match &self.time_limit {
            Some(limit) => match limit.ends.checked_duration_since(std::time::Instant::now()) {
                Some(left) if !left.is_zero() => Some(left),
                _ => return Err(timed_out_error(limit)),
            },
            None => None,
        };
        let mut child = self
            .ssh()
            .arg(shell_command)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| SshError::NoClient(e.to_string()))?;
        let mut input = child.stdin.take().expect("piped stdin");
        let mut output = child.stdout.take().expect("piped stdout");
        let errors = child.stderr.take().expect("piped stderr");
        let feed = zeroize::Zeroizing::new(stdin.to_vec());
        let pid = child.id();
        let (done, finished) = std::sync::mpsc::channel::<()>();
        let timed_out = std::sync::atomic::AtomicBool::new(false);
        let (stdout, stderr) = std::thread::scope(|scope| {
            if let Some(limit) = left {
                let timed_out = &timed_out;
                scope.spawn(move || {
                    if finished.recv_timeout(limit).is_err() {
                        timed_out.store(true, std::sync::atomic::Ordering::SeqCst);
                        stop_process(pid);
                    }
                });
            }
            scope.spawn(move || {
                let _ = input.write_all(&feed);
            });
            let answer = scope.spawn(move || {
                let mut bytes = Vec::new();
                let _ = (&mut output).take(ANSWER_LIMIT + 1).read_to_end(&mut bytes);
                // The rest is drained (never held), so the engine can end.
                let _ = std::io::copy(&mut output, &mut std::io::sink());
                bytes
            });
            let stderr = read_stderr(errors, progress);
            let stdout = answer.join().unwrap_or_default();
            let _ = done.send(());
            (stdout, stderr)
        });
        let status = child
            .wait()
            .map_err(|e| SshError::NoClient(e.to_string()))?;
        if let Some(limit) = &self.time_limit
            && timed_out.load(std::sync::atomic::Ordering::SeqCst)
        {
            return Err(timed_out_error(limit));
        }
        if stdout.len() as u64 > ANSWER_LIMIT {
            return Err(SshError::Failed {
                host: self.destination.clone(),
                detail: format!(
                    "its answer is larger than {} MiB: not read",
                    ANSWER_LIMIT >> 20
                ),
            });
        }
        Ok(RawRun {
            stdout,
            stderr,
            code: status.code().unwrap_or(255),
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
        eprint!("{}", crate::printable::escaped_lines(&run.stderr));
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
        // The inner shell records its PID first (`collect` tells a dead
        // operation from a running one by it); the outer one first checks
        // that the state folder has room for the answer, so a full disk
        // is said before anything runs.
        let script = format!(
            "{OPS_DIR_SETUP} {ROOM_CHECK} o=\"$d\"/{op}; exec 3<&0; \
             setsid sh -c 'o=$0; echo $$ >\"$o.pid\"; \"$@\" >\"$o.out\" 2>\"$o.err\"; echo $? >\"$o.code.part\"; mv \"$o.code.part\" \"$o.code\"' \"$o\" {line} <&3 & \
             tail -s 0.1 --pid=$$ -n +1 -F \"$o.err\" >&2 2>/dev/null & t=$!; \
             s=; while [ ! -f \"$o.code\" ]; do \
               p=$(cat \"$o.pid\" 2>/dev/null || true); \
               if [ -n \"$p\" ]; then s=1; elif [ -n \"$s\" ] && [ ! -f \"$o.code\" ]; then \
                 kill $t 2>/dev/null || true; exit 205; fi; \
               if [ -n \"$p\" ] && ! kill -0 \"$p\" 2>/dev/null && [ ! -f \"$o.code\" ]; then \
                 sleep 0.3; kill $t 2>/dev/null || true; exit 202; fi; \
               sleep 0.1; done; sleep 0.3; kill $t 2>/dev/null || true; \
             {ANSWER_STREAMED}",
            op = quote(&op_id(op)),
            line = shell_line(&words),
        );
        let run = self.run_streaming(&script, &stdin, progress)?;
        let run = self.judge(run)?;
        eprint!("{}", crate::printable::escaped_lines(&run.stderr));
        if run.code == ANSWER_TAKEN {
            return Err(SshError::Failed {
                host: self.destination.clone(),
                detail: "its answer was read by another call (its record on the server is gone): \
                         check the outcome with `backupdesk list`"
                    .to_owned(),
            });
        }
        if run.code == 202 {
            // The record is left on the server for whoever reads it first
            // (this call, or the next one's `settle` if this connection is
            // gone): read here, it is reported once and forgotten there.
            let last_words = match self.collect(op) {
                Ok(Detached::Died { last_words }) => last_words,
                _ => String::new(),
            };
            return Err(SshError::DiedWithoutAnswer {
                host: self.destination.clone(),
                last_words: crate::printable::escaped(&last_words),
            });
        }
        Ok(EngineRun {
            stdout: run.stdout,
            code: run.code,
        })
    }

    /// The answer of detached operation `op`, once: `Finished` (then
    /// forgotten on the server), `Running` (its shell is alive with `op` in
    /// its command line), `Died` (it left no exit code and its shell is
    /// gone: a server reboot, a kill), or `Unknown` (never started, or
    /// already collected).
    ///
    /// # Errors
    /// The connection's own.
    pub fn collect(&self, op: &str) -> Result<Detached, SshError> {
        let script = format!(
            "{OPS_DIR_SETUP} o=\"$d\"/{op}; \
             if [ -f \"$o.code\" ]; then {ANSWER}; \
             elif [ -f \"$o.out\" ] || [ -f \"$o.pid\" ]; then \
               p=$(cat \"$o.pid\" 2>/dev/null || true); \
               if [ -n \"$p\" ] && grep -qaF {op} \"/proc/$p/cmdline\" 2>/dev/null; then exit 200; fi; \
               tail -c 2000 \"$o.err\" >&2 2>/dev/null || true; \
               rm -f \"$o.out\" \"$o.err\" \"$o.pid\" \"$o.code.part\"; exit 202; \
             else exit 201; fi",
            op = quote(&op_id(op)),
        );
        let run = self.run_raw(&script, b"")?;
        if let Some(signal) = stopped_by_signal(run.code) {
            return Ok(Detached::Died {
                last_words: format!("its engine was stopped by signal {signal}"),
            });
        }
        let run = self.judge(run)?;
        Ok(match run.code {
            200 => Detached::Running,
            201 => Detached::Unknown,
            202 => Detached::Died {
                last_words: run.stderr.trim().to_owned(),
            },
            DAMAGED_ANSWER => Detached::Died {
                last_words: "its exit code on the server was unreadable (a full disk?)".to_owned(),
            },
            code => Detached::Finished(EngineRun {
                stdout: run.stdout,
                code,
            }),
        })
    }

    /// The engine's command words for `args` and what its stdin gets: the
    /// secrets (the passphrase, then a rotation's new one), each framed
    /// whole ([`crate::format::secret_frame`]: a line break inside a
    /// passphrase stays inside it), read there with `--secrets-on-stdin`.
    fn engine_call(
        &self,
        args: &[String],
        secrets: &[&Passphrase],
    ) -> (Vec<String>, zeroize::Zeroizing<Vec<u8>>) {
        let mut words = vec![self.engine().to_owned()];
        words.extend(args.iter().cloned());
        if !secrets.is_empty() {
            words.push("--secrets-on-stdin".to_owned());
        }
        let exposed: Vec<&[u8]> = secrets.iter().map(|s| s.expose().as_bytes()).collect();
        (words, crate::format::secret_frame::encode(&exposed))
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
        // A failed step (a full or read-only disk) exits non-zero and
        // removes its part file; the engine in place, if any, is untouched.
        let script = format!(
            "set -e; t={target}; trap 'rm -f \"$t.part\"' EXIT; mkdir -p \"$(dirname \"$t\")\"; \
             cat > \"$t.part\"; chmod 0755 \"$t.part\"; mv -f \"$t.part\" \"$t\""
        );
        let run = self.judge(self.run_raw(&script, &bytes)?)?;
        if run.code != 0 {
            return Err(SshError::InstallFailed {
                host: self.destination.clone(),
                engine: self.engine().to_owned(),
                detail: last_line(&run.stderr),
            });
        }
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
            NO_ROOM => Err(SshError::Failed {
                host,
                detail: "its folder for Backup Desk's answers (~/.local/state/backupdesk/ssh-ops) \
                         has no room (a full disk?): nothing was started"
                    .to_owned(),
            }),
            DAMAGED_ANSWER => Err(SshError::Failed {
                host,
                detail: "the operation ran, but its exit code on the server is unreadable (a full \
                         disk?); check its outcome with `backupdesk list`"
                    .to_owned(),
            }),
            code => match stopped_by_signal(code) {
                Some(signal) => Err(SshError::DiedWithoutAnswer {
                    host,
                    last_words: format!("its engine was stopped by signal {signal}"),
                }),
                None => Ok(run),
            },
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

struct RawRun {
    stdout: Vec<u8>,
    stderr: String,
    code: i32,
}

#[cfg(test)]
mod tests;
