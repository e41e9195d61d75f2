//! A backup as listings show it, on either side: its kind, its
//! verification, the server's list-item fields and Backup Desk's own.

use serde::{Deserialize, Serialize};

use crate::model::ErrorKind;

/// What a file in the backup folder is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum BackupKind {
    /// `servers_db_*.db.gpg`: a regular encrypted backup.
    Encrypted,
    /// `servers_db_*.db.bak`: plaintext, written by the scripts when gpg was missing.
    LegacyPlain,
    /// `prerestore_*.db.gpg`: an encrypted safety copy made before a restore.
    PreRestoreEncrypted,
    /// `prerestore_*.db`: the scripts' plaintext safety copy.
    PreRestorePlain,
    /// `prerestore_rows_*.db.gpg`: the rows a partial restore changed or
    /// deleted, as they were, encrypted (its undo: restoring it puts them
    /// back). A small database of those rows, never a whole one.
    PreRestoreRows,
}

impl BackupKind {
    /// Whether files of this kind are OpenPGP messages.
    pub(crate) fn is_encrypted(self) -> bool {
        matches!(
            self,
            BackupKind::Encrypted | BackupKind::PreRestoreEncrypted | BackupKind::PreRestoreRows
        )
    }

    /// Whether this is a safety copy made before a restore.
    pub(crate) fn is_pre_restore(self) -> bool {
        matches!(
            self,
            BackupKind::PreRestoreEncrypted
                | BackupKind::PreRestorePlain
                | BackupKind::PreRestoreRows
        )
    }

    /// Whether this holds some rows only (a partial restore's undo), not
    /// a whole database: never restored over the live one.
    pub fn is_rows(self) -> bool {
        self == BackupKind::PreRestoreRows
    }
}

/// How thoroughly a backup was verified.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum VerifyDepth {
    /// Decrypt, size and SHA-256 against `.meta`.
    Quick,
    /// Quick, plus SQLite `integrity_check` and `foreign_key_check`.
    Deep,
}

/// Whether a backup was verified, and how that went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum VerificationStatus {
    /// Never verified (or its record was forgotten).
    Never,
    /// The latest verification passed.
    Passed,
    /// The latest verification failed: the backup is not restored.
    Failed,
}

impl VerificationStatus {
    /// `never`, `passed` or `failed`, as on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            VerificationStatus::Never => "never",
            VerificationStatus::Passed => "passed",
            VerificationStatus::Failed => "failed",
        }
    }
}

impl std::fmt::Display for VerificationStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Verification state as shown in listings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct VerifiedState {
    /// Never verified, passed or failed.
    pub state: VerificationStatus,
    /// `quick` or `deep`, when verified.
    pub depth: Option<VerifyDepth>,
    /// When, RFC 3339.
    pub at: Option<String>,
    /// The error kind of a failed verification (a kind this version does
    /// not know, recorded by a newer one, reads as none).
    pub error_kind: Option<ErrorKind>,
    /// When it last passed a deep verification.
    pub deep_passed_at: Option<String>,
    /// Who held the way in for the latest verification, when it was not
    /// the installation's own machine.
    #[serde(default)]
    pub by: Option<String>,
}

impl VerifiedState {
    /// Never verified, as for a server's backups.
    pub fn never() -> Self {
        VerifiedState {
            state: VerificationStatus::Never,
            depth: None,
            at: None,
            error_kind: None,
            deep_passed_at: None,
            by: None,
        }
    }
}

/// One item of `list --json`: the server's list-item fields
/// (`filename, path, size, size_human, created_at, encrypted, checksum,
/// timestamp`), then Backup Desk's own.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ListItem {
    pub filename: String,
    pub path: String,
    /// Backup Desk: the time in the name (the server's local time), so no
    /// screen parses names again.
    pub taken_at: chrono::NaiveDateTime,
    pub size: u64,
    pub size_human: String,
    /// File mtime, naive local ISO 8601, as the server writes it.
    pub created_at: String,
    pub encrypted: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checksum: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<String>,
    /// Backup Desk: what kind of file this is.
    pub kind: BackupKind,
    /// Backup Desk: whether a usable `.meta` exists.
    pub has_meta: bool,
    /// Backup Desk: why the `.meta` could not be used (null when fine).
    pub meta_problem: Option<String>,
    /// Backup Desk: size of the plaintext snapshot, from `.meta` (null
    /// when unknown, as for a server's backups).
    pub db_size: Option<u64>,
    /// Backup Desk: verification state.
    pub verified: VerifiedState,
    /// Backup Desk: pinned (retention never deletes it).
    pub pinned: bool,
    /// Backup Desk: its latest restore drill (null: never drilled).
    pub drill: Option<DrillRecord>,
    /// Backup Desk: all that holds for it, failure first
    /// ([`ListItem::derive_states`]; filled by the service's list).
    #[serde(default)]
    pub states: Vec<BackupState>,
}

/// One thing that holds for a backup, as every screen and `list` say it.
/// Declared worst first: [`ListItem::derive_states`] returns them in this
/// order, so the first is what a one-word view shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum BackupState {
    /// Its latest verification failed: it is not restored.
    FailedVerification,
    /// Its latest restore drill failed.
    DrillFailed,
    /// A drill passed, but it failed a verification since: the proof no
    /// longer holds (its bytes, or the passphrase that opens it, changed).
    NoLongerProven,
    /// Unencrypted on disk (the scripts' `.bak` or safety copy).
    Plaintext,
    /// Encrypted, but without a usable `.meta`: it cannot be checked
    /// against its checksum.
    NoMeta,
    /// A safety copy made before a restore.
    PreRestore,
    /// Retention never deletes it.
    Pinned,
    /// Its latest drill restored it and nothing failed since.
    ProvenRestorable,
    /// Its latest verification passed, SQLite's checks included.
    DeepVerified,
    /// Its latest verification passed (decrypt, size, SHA-256).
    QuickVerified,
    /// Never verified.
    Unverified,
}

impl BackupState {
    /// How the screens and `list` say it.
    pub fn words(self) -> &'static str {
        match self {
            BackupState::FailedVerification => "failed verification",
            BackupState::DrillFailed => "drill failed",
            BackupState::NoLongerProven => "no longer proven restorable",
            BackupState::Plaintext => "plaintext",
            BackupState::NoMeta => "no .meta",
            BackupState::PreRestore => "pre-restore",
            BackupState::Pinned => "pinned",
            BackupState::ProvenRestorable => "proven restorable",
            BackupState::DeepVerified => "verified (deep)",
            BackupState::QuickVerified => "verified (quick)",
            BackupState::Unverified => "not verified",
        }
    }
}

impl ListItem {
    /// All that holds for this backup from all its evidence (kind,
    /// `.meta`, verification, drill, pin), failure first. Exactly one of
    /// failed / deep / quick / unverified always holds; "proven
    /// restorable" only while no verification failed.
    pub(crate) fn derive_states(&self) -> Vec<BackupState> {
        let failed = self.verified.state == VerificationStatus::Failed;
        let mut states = Vec::new();
        if failed {
            states.push(BackupState::FailedVerification);
        }
        match &self.drill {
            Some(d) if !d.ok => states.push(BackupState::DrillFailed),
            Some(_) if failed => states.push(BackupState::NoLongerProven),
            Some(_) => states.push(BackupState::ProvenRestorable),
            None => {}
        }
        if !self.kind.is_encrypted() {
            states.push(BackupState::Plaintext);
        } else if !self.has_meta {
            states.push(BackupState::NoMeta);
        }
        if self.kind.is_pre_restore() {
            states.push(BackupState::PreRestore);
        }
        if self.pinned {
            states.push(BackupState::Pinned);
        }
        match (self.verified.state, self.verified.depth) {
            (VerificationStatus::Failed, _) => {}
            (VerificationStatus::Passed, Some(VerifyDepth::Deep)) => {
                states.push(BackupState::DeepVerified)
            }
            (VerificationStatus::Passed, _) => states.push(BackupState::QuickVerified),
            (VerificationStatus::Never, _) => states.push(BackupState::Unverified),
        }
        states.sort();
        states
    }

    /// The states in words, failure first ("failed verification · pinned").
    pub fn state_words(&self) -> String {
        let states = if self.states.is_empty() {
            self.derive_states()
        } else {
            self.states.clone()
        };
        states
            .iter()
            .map(|s| s.words())
            .collect::<Vec<_>>()
            .join(" · ")
    }
}

/// The outcome of the latest restore drill of one backup (kept in the
/// ledger, shown in listings and on the fleet tile).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct DrillRecord {
    /// Whether it passed.
    pub ok: bool,
    /// When it ran (RFC 3339).
    pub at: String,
    /// How long its restore took, when it passed: the restore-time
    /// estimate.
    pub restore_ms: Option<u64>,
    /// Why it failed.
    pub error_kind: Option<ErrorKind>,
    /// The machine that held the way in, when it was not the one that
    /// ran it (a laptop that handed over the session key); `None`: the
    /// installation's own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(kind: BackupKind, has_meta: bool, pinned: bool) -> ListItem {
        ListItem {
            filename: "servers_db_20261201_020000.db.gpg".into(),
            path: String::new(),
            taken_at: chrono::NaiveDate::from_ymd_opt(2026, 12, 1)
                .unwrap()
                .and_hms_opt(2, 0, 0)
                .unwrap(),
            size: 1,
            size_human: String::new(),
            created_at: String::new(),
            encrypted: kind.is_encrypted(),
            checksum: None,
            timestamp: None,
            kind,
            has_meta,
            meta_problem: None,
            db_size: None,
            verified: VerifiedState::never(),
            pinned,
            drill: None,
            states: Vec::new(),
        }
    }

    /// Every combination of the evidence: kind, `.meta`, pin, verification
    /// (never, quick, deep, failed) and drill (none, passed, failed).
    #[test]
    fn every_combination_of_evidence_says_all_that_holds_failure_first() {
        use BackupState::*;
        let kinds = [
            BackupKind::Encrypted,
            BackupKind::LegacyPlain,
            BackupKind::PreRestoreEncrypted,
            BackupKind::PreRestorePlain,
            BackupKind::PreRestoreRows,
        ];
        let verifications = [
            (VerificationStatus::Never, None),
            (VerificationStatus::Passed, Some(VerifyDepth::Quick)),
            (VerificationStatus::Passed, Some(VerifyDepth::Deep)),
            (VerificationStatus::Failed, Some(VerifyDepth::Deep)),
        ];
        let drills = [None, Some(true), Some(false)];
        let mut seen = 0;
        for kind in kinds {
            for has_meta in [true, false] {
                for pinned in [true, false] {
                    for (state, depth) in verifications {
                        for drill in drills {
                            let mut b = item(kind, has_meta, pinned);
                            b.verified.state = state;
                            b.verified.depth = depth;
                            b.drill = drill.map(|ok| DrillRecord {
                                ok,
                                at: "2026-12-01T03:00:00Z".into(),
                                restore_ms: None,
                                error_kind: None,
                                by: None,
                            });
                            let s = b.derive_states();
                            let has = |x: BackupState| s.contains(&x);
                            let failed = state == VerificationStatus::Failed;
                            // Worst first, each once.
                            assert!(s.windows(2).all(|w| w[0] < w[1]), "{s:?}");
                            // Exactly one verification word.
                            let verdicts =
                                [FailedVerification, DeepVerified, QuickVerified, Unverified];
                            assert_eq!(verdicts.iter().filter(|v| has(**v)).count(), 1, "{s:?}");
                            assert_eq!(s[0] == FailedVerification, failed, "failure first: {s:?}");
                            // Proven only while nothing failed since.
                            assert_eq!(
                                has(ProvenRestorable),
                                drill == Some(true) && !failed,
                                "{s:?}"
                            );
                            assert_eq!(has(NoLongerProven), drill == Some(true) && failed, "{s:?}");
                            assert_eq!(has(DrillFailed), drill == Some(false), "{s:?}");
                            assert_eq!(has(Pinned), pinned);
                            assert_eq!(has(PreRestore), kind.is_pre_restore());
                            assert_eq!(has(Plaintext), !kind.is_encrypted());
                            assert_eq!(has(NoMeta), kind.is_encrypted() && !has_meta);
                            seen += 1;
                        }
                    }
                }
            }
        }
        assert_eq!(seen, 5 * 2 * 2 * 4 * 3);
    }

    #[test]
    fn a_pinned_failed_backup_reads_failed_first() {
        let mut b = item(BackupKind::Encrypted, true, true);
        b.verified.state = VerificationStatus::Failed;
        assert_eq!(b.state_words(), "failed verification · pinned");
    }
}
