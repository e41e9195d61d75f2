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
    pub fn from_now(total: std::time::Duration) -> Self {
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
    /// The engine could not be copied to the server (nothing replaced).
    #[error(
        "cannot install the engine at {engine} on {host}: {detail}; the engine there, if any, \
         was left as it was"
    )]
    InstallFailed {
        host: String,
        engine: String,
        detail: String,
    },
    /// No answer within the call's time limit (ssh was stopped).
    #[error("{host} did not answer over SSH within {seconds} s; the call was stopped")]
    TimedOut { host: String, seconds: u64 },
    /// A detached operation's engine died on the server without an exit
    /// code (killed, or the server shutting down); its record there was
    /// read and forgotten, so the caller forgets its pending one too.
    #[error(
        "the operation ended on {host} without an answer (its engine was killed, or the server is \
         shutting down): whether it completed is unknown; check with `backupdesk list`{}",
        if last_words.is_empty() { String::new() } else { format!("; its last words: {last_words}") }
    )]
    DiedWithoutAnswer { host: String, last_words: String },
    /// Another SSH failure.
    #[error("ssh to {host} failed: {detail}")]
    Failed { host: String, detail: String },
}

impl crate::KindedError for SshError {
    fn kind(&self) -> crate::ErrorKind {
        use crate::ErrorKind as K;
        match self {
            SshError::NoClient(_)
            | SshError::Failed { .. }
            | SshError::InstallFailed { .. }
            | SshError::DiedWithoutAnswer { .. } => K::SshFailed,
            SshError::UnknownHostKey { .. } => K::HostKeyUnknown,
            SshError::ChangedHostKey { .. } => K::HostKeyChanged,
            SshError::LoginRefused { .. } => K::LoginFailed,
            SshError::Unreachable { .. } => K::Unreachable,
            SshError::TimedOut { .. } => K::Timeout,
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

/// Makes `$d`, the server's folder of detached operations (private).
const OPS_DIR_SETUP: &str = "set -e; d=\"$HOME/.local/state/backupdesk/ssh-ops\"; \
     mkdir -p \"$d\"; chmod 700 \"$d\";";

/// The exit status of a script that found no room for an operation's
/// answer in `$d` (nothing was started).
const NO_ROOM: i32 = 203;

/// The exit status of an answer whose exit code file is not a number.
const DAMAGED_ANSWER: i32 = 204;

/// Fails with [`NO_ROOM`] unless 64 KiB can be written in `$d` (the
/// answer's files; a backup's JSON is far smaller).
const ROOM_CHECK: &str = "r=\"$d/.room.$$\"; \
     if ! head -c 65536 /dev/zero 2>/dev/null >\"$r\"; then rm -f \"$r\"; exit 203; fi; rm -f \"$r\";";

/// The exit of a detached run whose record vanished while it waited (its
/// answer read by another call).
const ANSWER_TAKEN: i32 = 205;

/// The tail of [`ANSWER`] and [`ANSWER_STREAMED`]: stdout, then the exit
/// code, the files forgotten.
macro_rules! answer_streamed {
    () => {
        "cat \"$o.out\"; c=$(cat \"$o.code\"); \
         rm -f \"$o.out\" \"$o.err\" \"$o.code\" \"$o.pid\"; \
         case \"$c\" in ''|*[!0-9]*) exit 204;; esac; exit \"$c\""
    };
}

/// Answers a finished operation `$o` as the engine would have (stderr,
/// stdout, exit code), forgetting it on the server; a code file that is
/// not a number (written on a full disk) exits [`DAMAGED_ANSWER`].
const ANSWER: &str = concat!("cat \"$o.err\" >&2; ", answer_streamed!());

/// [`ANSWER`] for an operation whose stderr was streamed already.
const ANSWER_STREAMED: &str = answer_streamed!();

/// The signal that stopped the engine, from its shell's exit code
/// (128 + the signal's number); `None` for an exit of its own.
fn stopped_by_signal(code: i32) -> Option<i32> {
    (129..=192).contains(&code).then_some(code - 128)
}

/// An operation id as a file name: letters, digits and `-` only.
fn op_id(op: &str) -> String {
    op.chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .collect()
}

/// A new operation id: the time (for the admin) and 128 random bits, so
/// two machines, containers or processes never share one.
///
/// # Panics
/// Never: without the OS's randomness the time and PID stand in.
pub fn new_op_id() -> String {
    use std::io::Read;
    let mut random = [0u8; 16];
    let read = std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut random));
    let tail = match read {
        Ok(()) => hex::encode(random),
        Err(_) => format!(
            "{}-{:x}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0)
        ),
    };
    format!("{}-{tail}", chrono::Utc::now().format("%Y%m%dT%H%M%S"))
}

/// Stops the ssh client `pid` (its pipes then close, so the readers end).
fn stop_process(pid: u32) {
    if let Some(pid) = rustix::process::Pid::from_raw(pid as i32) {
        let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
    }
}

/// The largest answer (stdout) read from the engine: 64 MiB, far beyond
/// a `list --json` of thousands of backups.
const ANSWER_LIMIT: u64 = 64 << 20;

/// The most of the engine's stderr kept for the admin: its last 64 KiB.
const STDERR_KEPT: usize = 64 * 1024;

/// The longest stderr line read as one (a progress line is far shorter).
const STDERR_LINE: u64 = 16 * 1024;

/// Reads `errors` to its end: progress lines go to `progress`, the rest
/// is kept (its last [`STDERR_KEPT`] bytes, after a mark saying how much
/// went before), so a flood of stderr costs bounded memory.
fn read_stderr(errors: impl std::io::Read, progress: &dyn crate::progress::Progress) -> String {
    use std::io::{BufRead, Read};
    let mut reader = std::io::BufReader::new(errors);
    let mut kept = String::new();
    let mut dropped = 0usize;
    let mut line = Vec::new();
    loop {
        line.clear();
        match (&mut reader).take(STDERR_LINE).read_until(b'\n', &mut line) {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
        let text = String::from_utf8_lossy(&line);
        match crate::progress::ProgressLine::parse(text.trim_end_matches(['\n', '\r'])) {
            Some(event) => event.apply(progress),
            None => {
                kept.push_str(&text);
                if !text.ends_with('\n') {
                    kept.push('\n');
                }
            }
        }
        if kept.len() > 2 * STDERR_KEPT {
            let mut cut = kept.len() - STDERR_KEPT;
            while !kept.is_char_boundary(cut) {
                cut += 1;
            }
            dropped += cut;
            kept.drain(..cut);
        }
    }
    if dropped > 0 {
        kept.insert_str(
            0,
            &format!("[{dropped} earlier bytes of stderr not kept]\n"),
        );
    }
    kept
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
    /// It ended without an exit code (the server restarted, the engine was
    /// killed): how it ended is unknown; its last stderr lines.
    Died { last_words: String },
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
    /// What was done on this machine now that its outcome is known (a
    /// rotation's keychain follow-up).
    pub follow_up: Option<String>,
}

impl CutOff {
    /// One line for the admin: how it ended, or that it still runs.
    pub fn describe(&self, host: &str) -> String {
        match &self.follow_up {
            Some(follow_up) => format!("{}; {follow_up}", self.state_line(host)),
            None => self.state_line(host),
        }
    }

    fn state_line(&self, host: &str) -> String {
        let (what, op) = (
            &crate::printable::escaped(&self.what),
            &crate::printable::escaped(&self.op),
        );
        match &self.state {
            Detached::Finished(run) => format!(
                "`backupdesk {what}` (started {op}) finished on {host} while this machine was not \
                 connected: exit {}; its answer: {}",
                run.code,
                crate::printable::escaped(String::from_utf8_lossy(&run.stdout).trim_end())
            ),
            Detached::Running => {
                format!("`backupdesk {what}` (started {op}) is still running on {host}")
            }
            Detached::Died { last_words } => format!(
                "`backupdesk {what}` (started {op}) ended on {host} without an answer (the server \
                 restarted, or the engine was killed): whether it completed is unknown; check with \
                 `backupdesk list` and `backupdesk verify`{}",
                if last_words.is_empty() {
                    String::new()
                } else {
                    format!(
                        "; its last words: {}",
                        crate::printable::escaped(last_words)
                    )
                }
            ),
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
    /// still running (asked again next time). A passphrase rotation's
    /// follow-up on this machine's keychain is done here, whoever reads
    /// the outcome ([`PendingOps::finish_rotation`]).
    ///
    /// # Errors
    /// The connection's own.
    pub fn settle(&self, pending: &PendingOps) -> Result<Vec<CutOff>, SshError> {
        let mut found = Vec::new();
        for (op, what) in pending.list() {
            if pending.attended(&op) {
                // Another call on this machine still waits for it.
                continue;
            }
            let state = self.collect(&op)?;
            let mut follow_up = None;
            if !matches!(state, Detached::Running) {
                let code = match &state {
                    Detached::Finished(run) => Some(run.code),
                    _ => None,
                };
                follow_up = pending.finish_rotation(&op, code);
                pending.end(&op);
            }
            found.push(CutOff {
                op,
                what,
                state,
                follow_up,
            });
        }
        Ok(found)
    }
}

/// The detached operations this machine started on a server and has not
/// heard the end of (a connection dropped): one file per operation in a
/// private folder, holding the command line as the admin typed it; a
/// passphrase rotation also has an `OP.rotation` mark, its new passphrase
/// waiting in the keychain until the outcome is known.
#[derive(Debug, Clone)]
pub struct PendingOps {
    dir: PathBuf,
    /// The profile's name: its keychain scope (a server's passphrase is
    /// kept under its profile's name).
    profile: String,
}

/// Why a rotation over SSH was not started: it could not be recorded for
/// its follow-up.
#[derive(Debug, thiserror::Error)]
pub enum RotationNotRecorded {
    /// The keychain cannot hold the new passphrase while it runs.
    #[error(
        "this machine's keychain cannot keep the new passphrase while the rotation runs ({0}); \
         nothing was started"
    )]
    Keychain(#[from] crate::keychain::KeychainError),
    /// The pending record cannot be written.
    #[error("the rotation cannot be recorded on this machine ({0}); nothing was started")]
    Record(#[from] std::io::Error),
}

impl crate::KindedError for RotationNotRecorded {
    fn kind(&self) -> crate::ErrorKind {
        match self {
            RotationNotRecorded::Keychain(e) => crate::KindedError::kind(e),
            RotationNotRecorded::Record(_) => crate::ErrorKind::Error,
        }
    }
}

/// The mark of a pending passphrase rotation.
const ROTATION_MARK: &str = ".rotation";

/// The suffix of an operation's owner record: the PID and start time of
/// the process on this machine still waiting for its answer.
const OWNER_MARK: &str = ".owner";

/// `PID START` of process `pid` (its start time since boot, in ticks, from
/// `/proc/PID/stat`), or `None` when it is gone or a zombie.
fn process_stamp(pid: u32) -> Option<String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // Fields from the 3rd on: state is the 3rd, the start time the 22nd.
    if matches!(fields.first(), Some(&"Z") | Some(&"X")) {
        return None;
    }
    Some(format!("{pid} {}", fields.get(19)?))
}

impl PendingOps {
    /// The pending operations of profile `profile` under `config_dir`.
    pub fn of_profile(config_dir: &Path, profile: &str) -> Self {
        // The exact name, hex-encoded: `p.x` and `px` never share a record.
        PendingOps {
            dir: config_dir
                .join("ssh-ops")
                .join(format!("p-{}", hex::encode(profile.as_bytes()))),
            profile: profile.to_owned(),
        }
    }

    /// Records `op` (what it was: `what`) before it starts.
    ///
    /// # Errors
    /// The folder cannot be written.
    pub fn begin(&self, op: &str, what: &str) -> std::io::Result<()> {
        crate::publish::ensure_private_dir(&self.dir)?;
        // Its owner first: another call never collects an answer this
        // process still waits for.
        if let Some(stamp) = process_stamp(std::process::id()) {
            crate::publish::write_atomic(
                &self.dir.join(format!("{}{OWNER_MARK}", op_id(op))),
                stamp.as_bytes(),
            )?;
        }
        crate::publish::write_atomic(&self.dir.join(op_id(op)), what.as_bytes())
    }

    /// Whether the process that started `op` on this machine still runs
    /// (it reads the answer itself: no one else may).
    pub fn attended(&self, op: &str) -> bool {
        std::fs::read_to_string(self.dir.join(format!("{}{OWNER_MARK}", op_id(op))))
            .ok()
            .and_then(|stamp| {
                let pid = stamp.split_whitespace().next()?.parse::<u32>().ok()?;
                Some(process_stamp(pid).as_deref() == Some(stamp.trim()))
            })
            .unwrap_or(false)
    }

    /// Records `op`, a passphrase rotation to `new`, before it starts: the
    /// new passphrase waits in the keychain (beside the current one, which
    /// stays) until the rotation's outcome is read, here or by a later
    /// call after a cut-off.
    ///
    /// # Errors
    /// The folder cannot be written; the keychain cannot take it (then
    /// nothing was recorded: a rotation that cannot be followed up is not
    /// started).
    pub fn begin_rotation(
        &self,
        op: &str,
        what: &str,
        keychain: &crate::keychain::Keychain,
        new: &Passphrase,
    ) -> Result<(), RotationNotRecorded> {
        use crate::keychain::SecretKind;
        keychain.set(&self.profile, SecretKind::RotationPassphrase, new.expose())?;
        self.begin(op, what)?;
        crate::publish::write_atomic(&self.dir.join(format!("{}{ROTATION_MARK}", op_id(op))), b"")?;
        Ok(())
    }

    /// The keychain's follow-up of rotation `op` (nothing when `op` was
    /// no rotation): exit `Some(0)` (every backup opens with the new
    /// passphrase) promotes the waiting passphrase to the profile's own
    /// and forgets the old; any other outcome keeps both (some backups may
    /// need either) and says so. Returns the line for the admin.
    pub fn finish_rotation(&self, op: &str, code: Option<i32>) -> Option<String> {
        use crate::keychain::{Keychain, SecretKind};
        let mark = self.dir.join(format!("{}{ROTATION_MARK}", op_id(op)));
        if !mark.exists() {
            return None;
        }
        let name = crate::printable::escaped(&self.profile);
        let note = match code {
            Some(0) => {
                let promoted = Keychain::open().map_err(|e| e.to_string()).and_then(|k| {
                    let new = k
                        .get(&self.profile, SecretKind::RotationPassphrase)
                        .map_err(|e| e.to_string())?
                        .ok_or_else(|| "its new passphrase is no longer there".to_owned())?;
                    k.set(&self.profile, SecretKind::Passphrase, &new)
                        .map_err(|e| e.to_string())?;
                    let _ = k.forget(&self.profile, SecretKind::RotationPassphrase);
                    Ok(())
                });
                match promoted {
                    Ok(()) => format!(
                        "the passphrase rotation of {name} completed: this machine's keychain now \
                         holds the new passphrase (the server keeps none)"
                    ),
                    Err(e) => format!(
                        "the passphrase rotation of {name} completed, but this machine's keychain \
                         could not take the new passphrase ({e}); store it with `backupdesk \
                         passphrase set --profile {name}` before the next backup"
                    ),
                }
            }
            _ => format!(
                "the passphrase rotation of {name} did not complete: this machine's keychain \
                 keeps the current passphrase and the new one (as `rotation-passphrase`), since \
                 some backups may open with either; run the rotation again"
            ),
        };
        let _ = std::fs::remove_file(mark);
        Some(note)
    }

    /// Forgets `op` (its answer arrived).
    pub fn end(&self, op: &str) {
        let _ = std::fs::remove_file(self.dir.join(op_id(op)));
        let _ = std::fs::remove_file(self.dir.join(format!("{}{ROTATION_MARK}", op_id(op))));
        let _ = std::fs::remove_file(self.dir.join(format!("{}{OWNER_MARK}", op_id(op))));
    }

    /// Every pending operation: its id and what it was.
    pub fn list(&self) -> Vec<(String, String)> {
        let mut ops: Vec<(String, String)> = std::fs::read_dir(&self.dir)
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| {
                let id = e.file_name().to_string_lossy().into_owned();
                if id.ends_with(ROTATION_MARK) || id.ends_with(OWNER_MARK) || id.starts_with('.') {
                    return None;
                }
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

/// The last non-empty line of a remote shell's stderr (its reason).
fn last_line(stderr: &str) -> String {
    let line = stderr.lines().rev().find(|l| !l.trim().is_empty());
    crate::printable::escaped(line.unwrap_or("it failed without saying why").trim())
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

    /// Issue 27, case 7: two operations started in the same second by the
    /// same PID (two containers' cron jobs, where the PID is 1) never
    /// share an id, so never share the server's answer files.
    #[test]
    fn operation_ids_are_unique_even_in_the_same_second_and_process() {
        let ids: std::collections::HashSet<String> = (0..2000).map(|_| new_op_id()).collect();
        assert_eq!(ids.len(), 2000);
        for id in &ids {
            assert_eq!(&op_id(id), id, "an id is a safe file name: {id}");
            assert!(id.len() > 32, "{id}");
        }
    }

    /// Issue 27, case 9: the cut-off records of profiles `p.x` and `px`
    /// (and `p_x`) are kept apart: a call on one never settles or reports
    /// the other's operation.
    #[test]
    fn pending_records_are_kept_by_the_exact_profile_name() {
        let dir = tempfile::tempdir().unwrap();
        let names = ["p.x", "px", "p_x", "p/x", "P.X"];
        for name in names {
            PendingOps::of_profile(dir.path(), name)
                .begin(&format!("op-{}", hex::encode(name)), name)
                .unwrap();
        }
        for name in names {
            let listed = PendingOps::of_profile(dir.path(), name).list();
            assert_eq!(listed.len(), 1, "{name}: {listed:?}");
            assert_eq!(listed[0].1, name);
        }
    }

    /// A flood of stderr is kept to its end, bounded; progress lines are
    /// taken out wherever they are.
    #[test]
    fn stderr_is_kept_bounded() {
        let mut flood = "x".repeat(100).repeat(10_000);
        flood.push('\n');
        let text = flood.repeat(3) + "the last words\n";
        let kept = read_stderr(text.as_bytes(), &crate::progress::NoProgress);
        assert!(kept.len() <= 2 * STDERR_KEPT + 200, "{}", kept.len());
        assert!(kept.ends_with("the last words\n"));
        assert!(kept.starts_with('['), "says what it dropped");
    }
}
