//! What the OpenSSH client's own words on stderr say went wrong, for both
//! the SSH profiles and the SFTP off-site locations. Pure.

/// The reason an `ssh` run failed before the remote side answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SshFailure {
    /// The host key differs from the known one; the fingerprint it offers
    /// now, when ssh printed it.
    ChangedHostKey { fingerprint: Option<String> },
    /// The host key is not known.
    UnknownHostKey,
    /// Every key offered was refused.
    LoginRefused,
    /// Nothing answered.
    Unreachable,
    /// Something else.
    Other,
}

/// Reads `stderr` of a failed `ssh`; also returns its last non-empty line
/// (ssh's own summary, for the message).
pub(crate) fn read_failure(stderr: &str) -> (SshFailure, String) {
    let said = |needle: &str| stderr.contains(needle);
    let last_line = stderr
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .trim()
        .to_owned();
    let failure = if said("REMOTE HOST IDENTIFICATION HAS CHANGED") {
        SshFailure::ChangedHostKey {
            fingerprint: stderr
                .split_whitespace()
                .find(|w| w.starts_with("SHA256:"))
                .map(|f| f.trim_end_matches('.').to_owned()),
        }
    } else if said("Host key verification failed") || said("host key is known") {
        SshFailure::UnknownHostKey
    } else if said("Permission denied") || said("Too many authentication failures") {
        SshFailure::LoginRefused
    } else if said("Connection refused")
        || said("Could not resolve")
        || said("timed out")
        || said("No route to host")
        || said("Network is unreachable")
    {
        SshFailure::Unreachable
    } else {
        SshFailure::Other
    };
    (failure, last_line)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_are_told_apart() {
        let changed = "@@@ WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED! @@@\nThe fingerprint for the ED25519 key sent by the remote host is\nSHA256:abc.\n";
        assert_eq!(
            read_failure(changed).0,
            SshFailure::ChangedHostKey {
                fingerprint: Some("SHA256:abc".into())
            }
        );
        assert_eq!(
            read_failure("Host key verification failed.\n").0,
            SshFailure::UnknownHostKey
        );
        assert_eq!(
            read_failure("u@h: Permission denied (publickey).\n").0,
            SshFailure::LoginRefused
        );
        let (failure, line) = read_failure("ssh: connect to host h port 1: Connection refused\n");
        assert_eq!(
            (failure, line.as_str()),
            (
                SshFailure::Unreachable,
                "ssh: connect to host h port 1: Connection refused"
            )
        );
        assert_eq!(read_failure("something odd\n").0, SshFailure::Other);
    }
}
