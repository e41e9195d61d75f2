//! [`RemoteTarget`]: a Server Monitor server reached over its HTTP API,
//! with the safe remote restore (followed until settled, judged from
//! evidence) and its plan in words.

use crate::context::OperationContext;
use crate::format::crypto::Passphrase;
use crate::format::key_packets::SERVER_RESTORE_NEEDS_A_PASSPHRASE;
use crate::local::backup::BackupOptions;
use crate::local::catalog::ListItem;
use crate::local::drill::DrillReport;
use crate::local::health::{HealthReport, StorageReport};
use crate::local::ledger::VerifyDepth;
use crate::local::restore::RestoreOptions;
use crate::local::verify::VerifyReport;
use crate::remote::follow::FollowPolicy;
use crate::remote::records::ContentRecords;
use crate::remote::{RemoteError, RemoteServer};
use crate::targets::{BackupDone, RestoreDone, RestorePlanned, Target, TargetError};

/// The safe remote restore, in words, with what the server has now.
#[derive(Debug, Clone, serde::Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct RemoteRestorePlan {
    pub backup: String,
    pub server: String,
    pub steps: Vec<String>,
    pub current: HealthReport,
    /// Which evidence will decide the outcome for this backup.
    pub evidence: String,
    /// Whether Backup Desk has a record of what the backup holds.
    pub has_record: bool,
    /// What the server's own restore is known to do.
    pub warnings: Vec<String>,
}

/// A Server Monitor server reached over its HTTP API.
#[derive(Debug)]
pub struct RemoteTarget {
    server: RemoteServer,
    /// How a restore is followed until the server's database settles.
    pub follow: FollowPolicy,
    /// Where the records of what its backups hold are kept (`None`: no
    /// records are read or written).
    pub records_dir: Option<std::path::PathBuf>,
}

impl RemoteTarget {
    /// Drives `server`, keeping no records.
    pub fn new(server: RemoteServer) -> Self {
        RemoteTarget {
            server,
            follow: FollowPolicy::default(),
            records_dir: None,
        }
    }

    /// The client (login, token renewal).
    pub fn server(&self) -> &RemoteServer {
        &self.server
    }

    fn record(
        &self,
        item: &ListItem,
        content: Option<&crate::remote::outcome::ContentFingerprint>,
    ) {
        if let (Some(dir), Some(content)) = (&self.records_dir, content)
            && let Err(e) =
                ContentRecords::load(dir).put(self.server.base_url(), item, content.clone())
        {
            tracing::warn!("the record of {} could not be saved: {e}", item.filename);
        }
    }
}

impl Target for RemoteTarget {
    fn describe(&self) -> String {
        self.server.base_url().to_owned()
    }

    fn health(&self, _ctx: &OperationContext<'_>) -> Result<HealthReport, TargetError> {
        Ok(self.server.health()?)
    }

    fn storage(&self) -> Result<StorageReport, TargetError> {
        Ok(self.server.storage()?)
    }

    fn list(&self) -> Result<Vec<ListItem>, TargetError> {
        Ok(self.server.list()?)
    }

    /// The server encrypts with its own passphrase; ours is not sent.
    fn backup(
        &self,
        _passphrase: &Passphrase,
        _options: &BackupOptions,
        _ctx: &OperationContext<'_>,
    ) -> Result<BackupDone, TargetError> {
        let made = self.server.backup()?;
        self.record(&made.item, made.content.as_ref());
        Ok(BackupDone::Remote(Box::new(made)))
    }

    fn delete(&self, name: &str) -> Result<(), TargetError> {
        Ok(self.server.delete(name)?)
    }

    /// The API has no download: nothing here can decrypt its backups.
    fn verify(
        &self,
        _name: &str,
        _passphrase: &Passphrase,
        _depth: VerifyDepth,
        _ctx: &OperationContext<'_>,
    ) -> Result<VerifyReport, TargetError> {
        Err(TargetError::NotThroughApi {
            location: self.server.base_url().to_owned(),
            what: "hand out a backup to verify",
        })
    }

    /// The API has no download: no drill can restore its backups here.
    fn drill(
        &self,
        _name: Option<&str>,
        _passphrase: &Passphrase,
        _ctx: &OperationContext<'_>,
    ) -> Result<DrillReport, TargetError> {
        Err(TargetError::NotThroughApi {
            location: self.server.base_url().to_owned(),
            what: "hand out a backup for a restore drill",
        })
    }

    /// The API has no logs to read.
    fn rotation(&self) -> Option<crate::local::rotation::RotationState> {
        None
    }

    fn activity(
        &self,
        _query: &crate::model::ActivityQuery,
    ) -> Result<crate::model::ActivityPage, TargetError> {
        Err(TargetError::NotThroughApi {
            location: self.server.base_url().to_owned(),
            what: "show the installation's logs",
        })
    }

    fn unattended(&self) -> Option<crate::local::schedule::Unattended> {
        None
    }

    fn schedule(
        &self,
        _change: &crate::local::schedule::ScheduleChange,
    ) -> Result<crate::local::schedule::ScheduleView, TargetError> {
        Err(TargetError::NotThroughApi {
            location: self.server.base_url().to_owned(),
            what: "read or change its schedule (its own scripts run it)",
        })
    }

    fn set_pinned(&self, _name: &str, _pinned: bool) -> Result<(), TargetError> {
        Err(TargetError::NotThroughApi {
            location: self.server.base_url().to_owned(),
            what: "pin a backup",
        })
    }

    fn plan_restore(
        &self,
        name: &str,
        _passphrase: Option<&Passphrase>,
        _options: &RestoreOptions,
        _ctx: &OperationContext<'_>,
    ) -> Result<RestorePlanned, TargetError> {
        crate::format::name::BackupName::parse(name).map_err(RemoteError::from)?;
        let listed = self.server.list()?;
        let Some(item) = listed.iter().find(|i| i.filename == name) else {
            return Err(RemoteError::BackupNotFound(name.to_owned()).into());
        };
        let current = self.server.health()?;
        let record = self
            .records_dir
            .as_deref()
            .map(ContentRecords::load)
            .and_then(|r| r.get(self.server.base_url(), item).cloned());
        let evidence = match &record {
            Some(r) => format!(
                "Backup Desk recorded what {name} holds when it made it ({} tables, {} rows): the restore counts only when the server's database settles on that",
                r.tables.len(),
                r.total_rows()
            ),
            None => format!(
                "there is no record of what {name} holds (it was not made by Backup Desk): the restore counts only when the database changes from what it holds now and keeps its tables and data"
            ),
        };
        let seconds = self.follow.timeout.as_secs();
        let mut warnings = vec![
            "Server Monitor 2.4.0's own restore fails for every valid backup: it answers 500 and leaves a plaintext copy of the backup in its backups folder (contract §6.2); Backup Desk then reports \"not restored\" and removes that copy".to_owned(),
            "for a file it cannot decrypt (another passphrase, not a backup) the server's restore leaves a 0-byte database and may say it succeeded; after its next start it recreates the tables empty (§6.1, §6.9): Backup Desk reports that as failed, data at risk, and names the way back".to_owned(),
            "the restore restarts the server's API: other clients' tokens stop working".to_owned(),
            format!("{SERVER_RESTORE_NEEDS_A_PASSPHRASE}. A backup made under an encryption policy without a passphrase (backupdesk encryption set --no-passphrase) is such a file to this server: restore it through an SSH profile (Backup Desk's engine on the server), not through its API"),
        ];
        if !self.server.has_password() {
            warnings.push("no password is kept for this server: when its restart invalidates the token, the outcome cannot be checked and is reported as unverified (log in with \"keep the password\" first)".to_owned());
        }
        Ok(RestorePlanned::Remote(Box::new(RemoteRestorePlan {
            backup: name.to_owned(),
            server: self.server.base_url().to_owned(),
            steps: vec![
                "record the server's health and row counts".to_owned(),
                "take a fresh backup on the server and confirm it appears in the list (the way back); wait for the next second first if the newest backup is from this one".to_owned(),
                format!("ask the server to restore {name} (sent once, never retried)"),
                format!("follow the server until its database has settled: the same answer for several reads over at least 5 s (the restarted server first answers from the old file), at most {seconds} s"),
                "judge from evidence: restored, not restored, failed with data at risk, or unverified; a 500 is never success".to_owned(),
                format!("remove the plaintext copy {} that a failed restore of the server leaves in its backups folder (nothing else)", name.trim_end_matches(".gpg")),
            ],
            current,
            evidence,
            has_record: record.is_some(),
            warnings,
        })))
    }

    fn restore(
        &self,
        name: &str,
        _passphrase: &Passphrase,
        _options: &RestoreOptions,
        _ctx: &OperationContext<'_>,
    ) -> Result<RestoreDone, TargetError> {
        let records = self.records_dir.as_deref().map(ContentRecords::load);
        let record_of = |item: &ListItem| {
            records
                .as_ref()
                .and_then(|r| r.get(self.server.base_url(), item).cloned())
        };
        let (report, safety) = self.server.restore(name, &record_of, &self.follow)?;
        if let HealthReport::Checked(h) = &report.before {
            self.record(
                &safety,
                Some(&crate::remote::outcome::ContentFingerprint::of(h)),
            );
        }
        Ok(RestoreDone::Remote(Box::new(report)))
    }
}
