//! The safe remote restore: take the way back first, send the restore once,
//! follow the server until its database has settled, judge the outcome from
//! evidence ([`super::outcome`]), and clean up after the server.
//!
//! The sequence (contract §6, "a safe restore is"):
//! 1. validate the name; the backup must be listed;
//! 2. record health and row counts (this is also the server's clock: its
//!    `last_checked`), and wait for the next server second when the newest
//!    backup is from the current one, so the safety backup can never take
//!    and replace the name of the backup being restored (§6.10);
//! 3. a fresh safety backup, confirmed in the list (the way back);
//! 4. `POST /api/database/restore`, sent once, never retried; an answer, a
//!    dropped connection (§6.3) and a timeout are all expected;
//! 5. read health about once a second until consecutive answers agree over
//!    a window longer than the restarted server answers from the old file
//!    (§6.8), bounded by the restore timeout; a restart that invalidates the
//!    token is met with one login per restart (with a kept password, at
//!    most three), never a loop;
//! 6. judge; remove the plaintext `servers_db_….db` a failed restore leaves
//!    in the server's backups folder (§6.2), and nothing else; name any
//!    plaintext `prerestore_*.db` the server's script made.

use std::time::{Duration, Instant};

use chrono::NaiveDateTime;
use reqwest::StatusCode;
use serde::Serialize;
use serde_json::Value;

use super::outcome::{
    ContentFingerprint, Evidence, RemoteRestoreOutcome, RestoreEvidence, ServerAnswer,
    SettleTracker, judge,
};
use super::{READ_TIMEOUT, RESTORE_TIMEOUT, RemoteError, RemoteServer, error_text};
use crate::format::key_packets::SERVER_RESTORE_NEEDS_A_PASSPHRASE;
use crate::format::name::{BackupKind, BackupName};
use crate::model::HealthReport;
use crate::model::ListItem;

/// How a restore is followed.
#[derive(Debug, Clone)]
pub struct FollowPolicy {
    /// How long the request may take, and then how long the database may
    /// take to settle.
    pub timeout: Duration,
    /// The pause between two health reads (the server allows 100 calls a
    /// minute per address).
    pub poll: Duration,
    /// Agreeing reads needed to call the database settled.
    pub min_reads: usize,
    /// Logins after restarts that invalidated the token (never more).
    pub max_relogins: u32,
}

impl Default for FollowPolicy {
    fn default() -> Self {
        FollowPolicy {
            timeout: RESTORE_TIMEOUT,
            poll: Duration::from_secs(1),
            min_reads: 3,
            max_relogins: 3,
        }
    }
}

/// One table before and after, and in the backup's record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct RemoteTableRows {
    pub name: String,
    /// Rows before the restore (`null`: no such table then).
    pub before: Option<u64>,
    /// Rows once settled (`null`: no such table, or never settled).
    pub after: Option<u64>,
    /// Rows the backup holds, from Backup Desk's record (`null`: unknown).
    pub backup: Option<u64>,
}

/// What a remote restore did, settled and judged.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct RemoteRestoreReport {
    pub backup: String,
    /// The server's base URL.
    pub server: String,
    /// The fresh backup taken just before (the way back).
    pub pre_restore_backup: String,
    /// The verdict, and the evidence that decided it.
    pub outcome: RemoteRestoreOutcome,
    /// What the restore request got back.
    pub server_answer: ServerAnswer,
    /// Health right before the restore.
    pub before: HealthReport,
    /// Health once settled (`null` when it never settled).
    pub after: Option<HealthReport>,
    /// Per table: rows before, after, and in the backup's record.
    pub tables: Vec<RemoteTableRows>,
    /// Plaintext copies the server's failed restore left, removed through the API.
    pub removed_from_server: Vec<String>,
    /// Plaintext safety copies the server's script made (`prerestore_*.db`).
    pub server_safety_copies: Vec<String>,
    /// How long the server was followed after the request, in milliseconds.
    pub followed_ms: u64,
    /// What else the admin should know.
    pub warnings: Vec<String>,
    /// The outcome in one paragraph, with the way back
    /// ([`RemoteRestoreReport::message`]).
    pub summary: String,
}

impl RemoteRestoreReport {
    /// Whether the server now holds the backup.
    pub fn restored(&self) -> bool {
        matches!(self.outcome, RemoteRestoreOutcome::Restored { .. })
    }

    /// The outcome in one paragraph, with the way back.
    pub fn message(&self) -> String {
        let way_back = match self.server_safety_copies.first() {
            Some(copy) => format!(
                "restore {} (the backup taken just before), or use the server's plaintext copy {copy}",
                self.pre_restore_backup
            ),
            None => format!(
                "restore {} (the backup taken just before)",
                self.pre_restore_backup
            ),
        };
        let detail = self.outcome.detail();
        match &self.outcome {
            RemoteRestoreOutcome::Restored { .. } => format!(
                "Restored {} on {}: {detail}. The database before the restore is in the backup {}.",
                self.backup, self.server, self.pre_restore_backup
            ),
            RemoteRestoreOutcome::NotRestored { .. } => format!(
                "{} was NOT restored on {}: {detail}. The live database was not changed; the safety backup {} was made.",
                self.backup, self.server, self.pre_restore_backup
            ),
            RemoteRestoreOutcome::DataAtRisk { .. } => format!(
                "The restore of {} on {} FAILED and the server's data is at risk: {detail}. Go back now: {way_back}.",
                self.backup, self.server
            ),
            RemoteRestoreOutcome::Unverified { .. } => format!(
                "The restore of {} on {} could not be confirmed: {detail}. Check the server before relying on it; the way back: {way_back}.",
                self.backup, self.server
            ),
        }
    }
}

/// How long to wait before the safety backup so that it cannot take the
/// name of the newest backup (names are by the server's second, §6.10):
/// until the second after `newest`, by the server's clock `server_now`,
/// plus a margin; zero when that second has passed. At most 3 s (a server
/// clock far behind its own backup names is not waited for).
pub(crate) fn pause_before_safety_backup(
    newest: NaiveDateTime,
    server_now: NaiveDateTime,
) -> Duration {
    let next_second = newest + chrono::Duration::seconds(1);
    match (next_second - server_now).to_std() {
        Ok(left) if left > Duration::ZERO => {
            (left + Duration::from_millis(150)).min(Duration::from_secs(3))
        }
        _ => Duration::ZERO,
    }
}

fn server_clock(health: &HealthReport) -> Option<NaiveDateTime> {
    let text = match health {
        HealthReport::Checked(h) => &h.last_checked,
        HealthReport::Failed(f) => &f.last_checked,
    };
    NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f").ok()
}

/// How following the server ended without a settled database.
enum Unsettled {
    Deadline,
    AuthLost(String),
}

impl RemoteServer {
    /// The safe remote restore (see the module): `record_of` gives what
    /// Backup Desk recorded of the listed backup's content, if anything.
    ///
    /// Once the restore was sent, the answer is always a report: read its
    /// [`RemoteRestoreReport::outcome`] (only `restored` means restored).
    ///
    /// # Errors
    /// Only before the restore is sent (nothing changed on the server): an
    /// invalid or unknown name, the safety backup not confirmed, transport
    /// or auth errors, a refused request (401/403).
    pub fn restore(
        &self,
        name: &str,
        record_of: &dyn Fn(&ListItem) -> Option<ContentFingerprint>,
        policy: &FollowPolicy,
    ) -> Result<(RemoteRestoreReport, ListItem), RemoteError> {
        BackupName::parse(name)?;
        let listed = self.list()?;
        let Some(item) = listed.iter().find(|i| i.filename == name) else {
            return Err(RemoteError::BackupNotFound(name.to_owned()));
        };
        let record = record_of(item);
        let record = record.as_ref();
        let before = self.health()?;
        wait_for_a_free_second(&listed, &before, Instant::now());
        let safety = self
            .backup_unrecorded()
            .map_err(|e| RemoteError::SafetyBackupFailed(e.to_string()))?;
        if safety.item.filename == name {
            return Err(RemoteError::SafetyBackupFailed(format!(
                "the server gave it the name of {name} itself (the same second) and replaced that file; choose the backup again"
            )));
        }
        let mut warnings = safety.warnings.clone();
        let answer = self.send_restore(name)?;
        let sent = Instant::now();
        let settled = self.follow(&before, policy);
        let followed_ms = sent.elapsed().as_millis() as u64;
        let evidence = RestoreEvidence {
            before: &before,
            answer: &answer,
            backup: record,
        };
        let outcome = verdict(&evidence, &settled, policy);
        let after = settled.ok();
        let removed_from_server = self.remove_plaintext_left(name, &mut warnings)?;
        let server_safety_copies = match self.list() {
            Ok(now) => now
                .iter()
                .filter(|i| i.kind == BackupKind::PreRestorePlain)
                .filter(|i| !listed.iter().any(|b| b.filename == i.filename))
                .map(|i| i.filename.clone())
                .collect(),
            Err(e) => {
                warnings.push(format!(
                    "the backup list after the restore could not be read: {e}"
                ));
                Vec::new()
            }
        };
        if !matches!(outcome, RemoteRestoreOutcome::Restored { .. }) {
            warnings.push(format!(
                "if {name} is encrypted to keys alone (made under an encryption policy without a passphrase), that is why: {SERVER_RESTORE_NEEDS_A_PASSPHRASE}; restore it through an SSH profile (Backup Desk's engine on the server)"
            ));
        }
        let mut report = RemoteRestoreReport {
            backup: name.to_owned(),
            server: self.base_url().to_owned(),
            pre_restore_backup: safety.item.filename.clone(),
            tables: table_changes(&before, after.as_ref(), record),
            outcome,
            server_answer: answer,
            before,
            after,
            removed_from_server,
            server_safety_copies,
            followed_ms,
            warnings,
            summary: String::new(),
        };
        report.summary = report.message();
        Ok((report, safety.item))
    }

    /// §6.2: the decrypted copy the server's restore leaves in its backups
    /// folder, removed (only that exact name; the server answers 404 when
    /// it is absent); a failure is a warning naming it.
    fn remove_plaintext_left(
        &self,
        name: &str,
        warnings: &mut Vec<String>,
    ) -> Result<Vec<String>, RemoteError> {
        let mut removed = Vec::new();
        if let Some(plain) = BackupName::parse(name)?.file_name().strip_suffix(".gpg") {
            match self.delete_file(plain) {
                Ok(true) => removed.push(plain.to_owned()),
                Ok(false) => {}
                Err(e) => warnings.push(format!(
                    "the server may have left the plaintext copy {plain} in its backups folder, and removing it failed ({e}): remove it by hand"
                )),
            }
        }
        Ok(removed)
    }

    /// Sends the restore once. A 401 or 403 means the server did not run it.
    fn send_restore(&self, name: &str) -> Result<ServerAnswer, RemoteError> {
        let url = self.url("/api/database/restore");
        let token = self.lock().token.clone();
        let mut request = self
            .restores
            .post(&url)
            .json(&serde_json::json!({ "filename": name }));
        if let Some(token) = &token {
            request = request.bearer_auth(token.as_str());
        }
        let deadline = std::time::Instant::now() + super::RESTORE_TIMEOUT;
        let response = match request.send() {
            Ok(response) => response,
            Err(e) if e.is_timeout() => return Ok(ServerAnswer::TimedOut),
            Err(_) => return Ok(ServerAnswer::Dropped),
        };
        let status = response.status();
        let value = match super::read_json(response, &url, deadline) {
            Ok(Some(value)) => value,
            Ok(None) | Err(_) if status.is_success() => return Ok(ServerAnswer::Dropped),
            Ok(None) | Err(_) => Value::Null,
        };
        match status {
            StatusCode::UNAUTHORIZED => Err(RemoteError::AuthenticationRequired),
            StatusCode::FORBIDDEN => Err(RemoteError::NotAdmin),
            s => Ok(ServerAnswer::Answered {
                status: s.as_u16(),
                message: error_text(&value, s),
            }),
        }
    }

    /// Reads health until it settles (see [`SettleTracker`]).
    fn follow(
        &self,
        before: &HealthReport,
        policy: &FollowPolicy,
    ) -> Result<HealthReport, Unsettled> {
        let logical = match before {
            HealthReport::Checked(h) => h.page_count.saturating_mul(h.page_size),
            HealthReport::Failed(_) => 0,
        };
        let mut tracker = SettleTracker::new(SettleTracker::window_for(logical), policy.min_reads);
        let started = Instant::now();
        let mut relogins = 0;
        loop {
            if started.elapsed() > policy.timeout {
                return Err(Unsettled::Deadline);
            }
            match self.call(
                &self.reads,
                reqwest::Method::GET,
                "/api/database/health",
                READ_TIMEOUT,
                false,
            ) {
                Ok((status, value)) if status.is_success() => {
                    match serde_json::from_value::<HealthReport>(value) {
                        Ok(health) => {
                            if let Some(settled) = tracker.observe(started.elapsed(), health) {
                                return Ok(settled.clone());
                            }
                        }
                        Err(_) => tracker.interrupt(),
                    }
                }
                Ok(_) => tracker.interrupt(),
                Err(RemoteError::AuthenticationRequired) => {
                    tracker.interrupt();
                    let password = self.lock().password.clone();
                    let Some(password) = password else {
                        return Err(Unsettled::AuthLost(
                            "the server restarted, which invalidated the token, and no password is kept for a login (`backupdesk login PROFILE --remember-password`), so its database could not be read".to_owned(),
                        ));
                    };
                    if relogins >= policy.max_relogins {
                        return Err(Unsettled::AuthLost(format!(
                            "the server invalidated the token {} times while it was followed; Backup Desk does not log in again",
                            relogins + 1
                        )));
                    }
                    relogins += 1;
                    match self.login(&password) {
                        Ok(_) => self.renewed(),
                        Err(e) => {
                            return Err(Unsettled::AuthLost(format!(
                                "the server restarted, which invalidated the token, and the login after it failed: {e}"
                            )));
                        }
                    }
                    continue;
                }
                Err(e @ (RemoteError::RateLimited { .. } | RemoteError::NotAdmin)) => {
                    return Err(Unsettled::AuthLost(format!(
                        "the server stopped answering health reads: {e}"
                    )));
                }
                Err(_) => tracker.interrupt(),
            }
            std::thread::sleep(policy.poll);
        }
    }
}

fn table_changes(
    before: &HealthReport,
    after: Option<&HealthReport>,
    record: Option<&ContentFingerprint>,
) -> Vec<RemoteTableRows> {
    let rows = |h: Option<&HealthReport>| match h {
        Some(HealthReport::Checked(h)) => Some(ContentFingerprint::of(h)),
        _ => None,
    };
    let (b, a) = (rows(Some(before)), rows(after));
    let mut names: Vec<String> = [b.as_ref(), a.as_ref(), record]
        .into_iter()
        .flatten()
        .flat_map(|f| f.tables.iter().map(|t| t.name.clone()))
        .collect();
    names.sort();
    names.dedup();
    names
        .into_iter()
        .map(|name| RemoteTableRows {
            before: b.as_ref().and_then(|f| f.rows(&name)),
            after: a.as_ref().and_then(|f| f.rows(&name)),
            backup: record.and_then(|f| f.rows(&name)),
            name,
        })
        .collect()
}

/// The verdict once the database settled (judged), or why it never did.
fn verdict(
    evidence: &RestoreEvidence<'_>,
    settled: &Result<HealthReport, Unsettled>,
    policy: &FollowPolicy,
) -> RemoteRestoreOutcome {
    match settled {
        Ok(after) => judge(evidence, after),
        Err(Unsettled::Deadline) => RemoteRestoreOutcome::Unverified {
            evidence: Evidence::Nothing,
            detail: format!(
                "the server's database did not settle within {} s (its answers kept changing, or it did not answer)",
                policy.timeout.as_secs()
            ),
        },
        Err(Unsettled::AuthLost(why)) => RemoteRestoreOutcome::Unverified {
            evidence: Evidence::Nothing,
            detail: why.clone(),
        },
    }
}

/// The server names backups by the second: waits (by its clock) until a
/// safety backup made now cannot take the name of the newest listed one.
fn wait_for_a_free_second(listed: &[ListItem], before: &HealthReport, read_at: Instant) {
    let newest = listed
        .iter()
        .filter(|i| i.kind == BackupKind::Encrypted)
        .filter_map(|i| BackupName::parse(&i.filename).ok())
        .map(|n| n.taken_at())
        .max();
    if let (Some(newest), Some(now)) = (newest, server_clock(before)) {
        let elapsed = chrono::Duration::from_std(read_at.elapsed()).unwrap_or_default();
        std::thread::sleep(pause_before_safety_backup(newest, now + elapsed));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f").unwrap()
    }

    #[test]
    fn the_safety_backup_waits_for_the_next_server_second_only_when_needed() {
        let newest = at("2026-12-01 10:00:00");
        assert_eq!(
            pause_before_safety_backup(newest, at("2026-12-01 10:00:00.600")),
            Duration::from_millis(550)
        );
        assert_eq!(
            pause_before_safety_backup(newest, at("2026-12-01 10:00:01.000")),
            Duration::ZERO
        );
        assert_eq!(
            pause_before_safety_backup(newest, at("2026-12-01 09:00:00")),
            Duration::from_secs(3),
            "a clock far behind is not waited for long"
        );
    }
}
