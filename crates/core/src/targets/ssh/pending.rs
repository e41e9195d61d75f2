//! Detached operations over SSH: what a call cut off from its answer
//! left on the server and here ([`PendingOps`]), settled by whoever next
//! reads it, with a rotation's keychain follow-up.

use super::*;

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
#[derive(Clone)]
pub struct PendingOps {
    dir: PathBuf,
    /// The profile's name: its keychain scope (a server's passphrase is
    /// kept under its profile's name).
    profile: String,
    /// Where a rotation's new passphrase waits and is promoted.
    secrets: crate::context::SharedSecrets,
}

impl std::fmt::Debug for PendingOps {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PendingOps")
            .field("dir", &self.dir)
            .field("profile", &self.profile)
            .finish_non_exhaustive()
    }
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
    /// The pending operations of profile `profile` under `config_dir`,
    /// a rotation's passphrases kept in `secrets`.
    pub fn of_profile(
        config_dir: &Path,
        profile: &str,
        secrets: crate::context::SharedSecrets,
    ) -> Self {
        // The exact name, hex-encoded: `p.x` and `px` never share a record.
        PendingOps {
            dir: config_dir
                .join("ssh-ops")
                .join(format!("p-{}", hex::encode(profile.as_bytes()))),
            profile: profile.to_owned(),
            secrets,
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
    pub(crate) fn attended(&self, op: &str) -> bool {
        std::fs::read_to_string(self.dir.join(format!("{}{OWNER_MARK}", op_id(op))))
            .ok()
            .and_then(|stamp| {
                let pid = stamp.split_whitespace().next()?.parse::<u32>().ok()?;
                Some(process_stamp(pid).as_deref() == Some(stamp.trim()))
            })
            .unwrap_or(false)
    }

    /// Records `op`, a passphrase rotation to `new`, before it starts: the
    /// new passphrase waits in the secret store (beside the current one,
    /// which stays) until the rotation's outcome is read, here or by a
    /// later call after a cut-off.
    ///
    /// # Errors
    /// The folder cannot be written; the store cannot take it (then
    /// nothing was recorded: a rotation that cannot be followed up is not
    /// started).
    pub fn begin_rotation(
        &self,
        op: &str,
        what: &str,
        new: &Passphrase,
    ) -> Result<(), RotationNotRecorded> {
        use crate::keychain::SecretKind;
        self.secrets
            .set(&self.profile, SecretKind::RotationPassphrase, new.expose())?;
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
        let mark = self.dir.join(format!("{}{ROTATION_MARK}", op_id(op)));
        if !mark.exists() {
            return None;
        }
        let name = crate::printable::escaped(&self.profile);
        let note = match code {
            Some(0) => {
                let promoted = self.promote_rotation();
                match promoted {
                    Ok(true) => format!(
                        "the passphrase rotation of {name} completed: this machine's keychain now \
                         holds the new passphrase (the server keeps none)"
                    ),
                    Ok(false) => format!(
                        "the passphrase rotation of {name} completed, but this machine's keychain \
                         could not take the new passphrase (its new passphrase is no longer \
                         there); store it with `backupdesk passphrase set --profile {name}` \
                         before the next backup"
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

    /// The waiting rotation passphrase made the profile's own (the
    /// waiting entry forgotten); `Ok(false)` when it is no longer there.
    fn promote_rotation(&self) -> Result<bool, crate::keychain::KeychainError> {
        use crate::keychain::SecretKind;
        let k = &self.secrets;
        let Some(new) = k.get(&self.profile, SecretKind::RotationPassphrase)? else {
            return Ok(false);
        };
        k.set(&self.profile, SecretKind::Passphrase, &new)?;
        let _ = k.forget(&self.profile, SecretKind::RotationPassphrase);
        Ok(true)
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
