//! What can go wrong reaching a server over SSH, each with its kind.

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
