//! The admin's stop and start commands around a restore: run with `sh -c`,
//! bounded in time, without the passphrase, unable to hold the restore.

use std::process::Command;
use std::time::Duration;

use crate::context::OperationContext;
use crate::local::activity_log::{ActivityLog, Level};

use super::RestoreOptions;

/// Why a stop or start command failed.
#[derive(Debug, thiserror::Error)]
pub enum ServiceCommandError {
    /// It could not be started.
    #[error("cannot run it: {0}")]
    CannotRun(#[source] std::io::Error),
    /// It ran past the limit and was killed with its process group.
    #[error("it did not finish within {0} s and was killed")]
    TimedOut(u64),
    /// It exited with a failure; `stderr` is the start of what it said.
    #[error("{status}; {stderr}")]
    Failed {
        status: std::process::ExitStatus,
        stderr: String,
    },
    /// A failure a test forced.
    #[error("start command failed (injected fault)")]
    Injected,
}

/// Runs the start command after a failure, so the service is not left
/// stopped; its own failure is logged.
pub(super) fn restart_service(
    options: &RestoreOptions,
    ctx: &OperationContext<'_>,
    log: &ActivityLog,
) {
    if let Some(cmd) = &options.start_cmd {
        match run_shell(cmd) {
            Ok(()) => log.append(ctx, Level::Info, "Service started again"),
            Err(e) => log.append(
                ctx,
                Level::Error,
                &format!("The start command failed too: {e}"),
            ),
        }
    }
}

/// How long a stop or start command may run before it is killed.
pub const SERVICE_COMMAND_TIMEOUT: Duration = Duration::from_secs(120);

/// Runs `cmd` with `sh -c`, in its own process group, with no passphrase in
/// its environment (`DB_BACKUP_PASSPHRASE` is removed), stdin and stdout
/// closed and stderr in a file (so a daemon it forks, which keeps them,
/// cannot hold the restore), killed with its whole group after
/// [`SERVICE_COMMAND_TIMEOUT`]. The error says how it failed.
pub(super) fn run_shell(cmd: &str) -> Result<(), ServiceCommandError> {
    run_shell_within(cmd, SERVICE_COMMAND_TIMEOUT)
}

fn run_shell_within(cmd: &str, timeout: Duration) -> Result<(), ServiceCommandError> {
    use std::io::{Read, Seek};
    use std::os::unix::process::CommandExt;
    let mut stderr = tempfile::tempfile().map_err(ServiceCommandError::CannotRun)?;
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(cmd)
        .env_remove("DB_BACKUP_PASSPHRASE")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(stderr.try_clone().map_err(ServiceCommandError::CannotRun)?)
        .process_group(0)
        .spawn()
        .map_err(ServiceCommandError::CannotRun)?;
    let started = std::time::Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if started.elapsed() < timeout => {
                std::thread::sleep(Duration::from_millis(50))
            }
            Ok(None) | Err(_) => {
                let group = rustix::process::Pid::from_raw(child.id() as i32);
                if let Some(group) = group {
                    let _ =
                        rustix::process::kill_process_group(group, rustix::process::Signal::KILL);
                }
                let _ = child.kill();
                let _ = child.wait();
                return Err(ServiceCommandError::TimedOut(timeout.as_secs()));
            }
        }
    };
    if status.success() {
        Ok(())
    } else {
        let mut text = String::new();
        let _ = stderr.rewind();
        let _ = stderr.take(4096).read_to_string(&mut text);
        Err(ServiceCommandError::Failed {
            status,
            stderr: text.trim().to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_service_command_cannot_hang_the_restore() {
        // A daemon keeping stdout and stderr open does not block the command.
        let started = std::time::Instant::now();
        run_shell_within("sleep 30 & echo started", Duration::from_secs(10)).unwrap();
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{:?}",
            started.elapsed()
        );
        // A command that never ends is killed at the timeout.
        let err = run_shell_within("sleep 30", Duration::from_millis(300)).unwrap_err();
        assert!(matches!(err, ServiceCommandError::TimedOut(0)), "{err}");
        assert!(err.to_string().contains("killed"), "{err}");
        let err = run_shell_within("echo nope >&2; exit 3", Duration::from_secs(10)).unwrap_err();
        assert!(
            matches!(&err, ServiceCommandError::Failed { stderr, .. } if stderr == "nope"),
            "{err}"
        );
    }
}
