//! One `Target` for every place backups live, so the CLI and the app never
//! care which one they drive: [`LocalTarget`] works on a data directory,
//! [`RemoteTarget`] on a server's `/api/database/*`. Health, storage and
//! list answer with the same shapes; backup and restore report what each
//! side can say (a local backup knows its `.meta`, a remote one what the
//! server lists).

pub mod profile;
pub mod ssh;

use crate::KindedError;
use crate::clock::Clock;
use crate::format::crypto::Passphrase;
use crate::local::backup::{self, BackupError, BackupOptions, BackupReport};
use crate::local::catalog::{BackupCatalog, CatalogError, ListItem};
use crate::local::health::{self, HealthReport, StorageReport};
use crate::local::layout::DataDir;
use crate::local::ledger::Ledger;
use crate::local::lock::{LockError, OperationLock};
use crate::local::restore::{self, RestoreError, RestoreOptions, RestorePlan, RestoreReport};
use crate::progress::Progress;
use crate::remote::follow::{FollowPolicy, RemoteRestoreReport};
use crate::remote::records::ContentRecords;
use crate::remote::{RemoteBackup, RemoteError, RemoteServer};

/// What a backup produced, on either side.
#[derive(Debug, Clone)]
pub enum BackupDone {
    /// A local backup, with its `.meta`.
    Local(Box<BackupReport>),
    /// A backup the server made.
    Remote(Box<RemoteBackup>),
}

/// What a restore would do, on either side (`target` says which).
#[derive(Debug, Clone, serde::Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "target", rename_all = "snake_case")]
pub enum RestorePlanned {
    /// The local plan with row counts.
    Local(Box<RestorePlan>),
    /// The safe remote sequence.
    Remote(Box<RemoteRestorePlan>),
}

/// What a restore did, on either side (`target` says which).
#[derive(Debug, Clone, serde::Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "target", rename_all = "snake_case")]
pub enum RestoreDone {
    /// A local restore.
    Local(Box<RestoreReport>),
    /// A remote restore, followed until settled and judged: read its
    /// `outcome`, only `restored` means restored.
    Remote(Box<RemoteRestoreReport>),
}

impl RestoreDone {
    /// Whether the backup is now the live database (a local restore that
    /// returns always is; a remote one when its verdict says so).
    pub fn restored(&self) -> bool {
        match self {
            RestoreDone::Local(_) => true,
            RestoreDone::Remote(report) => report.restored(),
        }
    }
}

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

/// Why an operation on a target failed; `kind()` passes the underlying
/// module's kind through unchanged.
#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    #[error(transparent)]
    Catalog(#[from] CatalogError),
    #[error(transparent)]
    Backup(#[from] BackupError),
    #[error(transparent)]
    Restore(#[from] RestoreError),
    #[error(transparent)]
    Lock(#[from] LockError),
    /// A prune did not run.
    #[error(transparent)]
    Prune(#[from] crate::local::retention::PruneError),
    #[error(transparent)]
    Remote(#[from] RemoteError),
    #[error(transparent)]
    Keychain(#[from] crate::keychain::KeychainError),
    /// Deleting a backup failed.
    #[error("cannot delete {name}: {source}")]
    DeleteFailed {
        name: String,
        #[source]
        source: std::io::Error,
    },
    /// The connection to an SSH profile's server failed.
    #[error(transparent)]
    Ssh(#[from] crate::targets::ssh::SshError),
    /// The engine on an SSH profile's server refused (its own kind).
    #[error("{}", .0.message)]
    Engine(crate::model::KindedMessage),
    /// An SSH profile where only the CLI drives them yet.
    #[error(
        "profile {name} is {location}, reached over SSH: the command line drives SSH profiles \
         (backupdesk --profile {name} VERB); the desktop app does not yet"
    )]
    SshThroughCli { name: String, location: String },
    /// The backup's latest verification failed; it is not restored.
    #[error(
        "{0} failed its latest verification, so it is not restored; pick another backup, or verify it again once the cause is fixed"
    )]
    VerificationFailed(String),
}

impl KindedError for TargetError {
    fn kind(&self) -> crate::ErrorKind {
        match self {
            TargetError::Catalog(e) => e.kind(),
            TargetError::Backup(e) => e.kind(),
            TargetError::Restore(e) => e.kind(),
            TargetError::Lock(e) => e.kind(),
            TargetError::Prune(e) => e.kind(),
            TargetError::Remote(e) => e.kind(),
            TargetError::Keychain(e) => e.kind(),
            TargetError::DeleteFailed { .. } => crate::ErrorKind::DeleteFailed,
            TargetError::VerificationFailed(_) => crate::ErrorKind::VerificationFailed,
            TargetError::SshThroughCli { .. } => crate::ErrorKind::RemoteUnsupported,
            TargetError::Ssh(e) => e.kind(),
            TargetError::Engine(e) => e.kind,
        }
    }
}

/// The operations every target offers, with the server's JSON shapes.
pub trait Target {
    /// What this target is, for humans (`/opt/server-monitor`, `https://…`).
    fn describe(&self) -> String;
    /// `GET /api/database/health`.
    fn health(&self, clock: &dyn Clock) -> Result<HealthReport, TargetError>;
    /// `GET /api/database/storage`.
    fn storage(&self) -> Result<StorageReport, TargetError>;
    /// `GET /api/database/backups`, newest first.
    fn list(&self) -> Result<Vec<ListItem>, TargetError>;
    /// `POST /api/database/backup`.
    fn backup(
        &self,
        passphrase: &Passphrase,
        options: &BackupOptions,
        clock: &dyn Clock,
        progress: &dyn Progress,
    ) -> Result<BackupDone, TargetError>;
    /// `DELETE /api/database/backups/{name}`.
    fn delete(&self, name: &str) -> Result<(), TargetError>;
    /// What a restore of `name` would do (changes nothing).
    fn plan_restore(
        &self,
        name: &str,
        passphrase: Option<&Passphrase>,
        options: &RestoreOptions,
        clock: &dyn Clock,
        progress: &dyn Progress,
    ) -> Result<RestorePlanned, TargetError>;
    /// `POST /api/database/restore`, made safe.
    fn restore(
        &self,
        name: &str,
        passphrase: &Passphrase,
        options: &RestoreOptions,
        clock: &dyn Clock,
        progress: &dyn Progress,
    ) -> Result<RestoreDone, TargetError>;
}

/// A Server Monitor data directory on this machine.
#[derive(Debug, Clone)]
pub struct LocalTarget {
    data: DataDir,
}

impl LocalTarget {
    /// The installation at `data`.
    pub fn new(data: DataDir) -> Self {
        LocalTarget { data }
    }

    /// Its data directory (local-only operations: verify, prune, pin).
    pub fn data(&self) -> &DataDir {
        &self.data
    }
}

impl Target for LocalTarget {
    fn describe(&self) -> String {
        self.data.root().display().to_string()
    }

    fn health(&self, clock: &dyn Clock) -> Result<HealthReport, TargetError> {
        Ok(health::health(&self.data, clock))
    }

    fn storage(&self) -> Result<StorageReport, TargetError> {
        Ok(health::storage(&self.data))
    }

    fn list(&self) -> Result<Vec<ListItem>, TargetError> {
        Ok(BackupCatalog::scan(&self.data)?
            .entries()
            .iter()
            .map(|e| e.list_item())
            .collect())
    }

    fn backup(
        &self,
        passphrase: &Passphrase,
        options: &BackupOptions,
        clock: &dyn Clock,
        progress: &dyn Progress,
    ) -> Result<BackupDone, TargetError> {
        Ok(BackupDone::Local(Box::new(backup::create_backup(
            &self.data, passphrase, options, clock, progress,
        )?)))
    }

    /// Removes the backup file first, then its `.meta` (a listed backup never
    /// loses its metadata), then its ledger records.
    fn delete(&self, name: &str) -> Result<(), TargetError> {
        let _lock = OperationLock::acquire(&self.data)?;
        let catalog = BackupCatalog::scan(&self.data)?;
        let entry = catalog.find(name)?;
        std::fs::remove_file(&entry.path).map_err(|source| TargetError::DeleteFailed {
            name: name.to_owned(),
            source,
        })?;
        if let Some(meta) = entry.name.meta_name() {
            let _ = std::fs::remove_file(self.data.backup_file(&meta));
        }
        let _ = crate::publish::sync_dir(&self.data.backups());
        let _ = Ledger::forget(&self.data, &[name.to_owned()]);
        Ok(())
    }

    fn plan_restore(
        &self,
        name: &str,
        passphrase: Option<&Passphrase>,
        options: &RestoreOptions,
        clock: &dyn Clock,
        progress: &dyn Progress,
    ) -> Result<RestorePlanned, TargetError> {
        Ok(RestorePlanned::Local(Box::new(restore::plan(
            &self.data, name, passphrase, options, clock, progress,
        )?)))
    }

    fn restore(
        &self,
        name: &str,
        passphrase: &Passphrase,
        options: &RestoreOptions,
        clock: &dyn Clock,
        progress: &dyn Progress,
    ) -> Result<RestoreDone, TargetError> {
        Ok(RestoreDone::Local(Box::new(restore::restore(
            &self.data, name, passphrase, options, clock, progress,
        )?)))
    }
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

    fn health(&self, _clock: &dyn Clock) -> Result<HealthReport, TargetError> {
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
        _clock: &dyn Clock,
        _progress: &dyn Progress,
    ) -> Result<BackupDone, TargetError> {
        let made = self.server.backup()?;
        self.record(&made.item, made.content.as_ref());
        Ok(BackupDone::Remote(Box::new(made)))
    }

    fn delete(&self, name: &str) -> Result<(), TargetError> {
        Ok(self.server.delete(name)?)
    }

    fn plan_restore(
        &self,
        name: &str,
        _passphrase: Option<&Passphrase>,
        _options: &RestoreOptions,
        _clock: &dyn Clock,
        _progress: &dyn Progress,
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
        _clock: &dyn Clock,
        _progress: &dyn Progress,
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

/// The target a profile names, opened with its secrets from the keychain
/// (a remote profile's token and, if kept, password). A token renewed by a
/// re-login is stored back in the keychain when this drops.
pub enum OpenedTarget {
    /// A local installation.
    Local(LocalTarget),
    /// A remote server.
    Remote {
        /// The profile name (the keychain scope).
        profile: String,
        /// The client.
        target: Box<RemoteTarget>,
    },
    /// A server reached over SSH (its own engine answers).
    Ssh(SshTarget),
}

impl OpenedTarget {
    /// Opens the target of profile `name`.
    ///
    /// # Errors
    /// [`TargetError::Remote`] for an unusable URL or CA certificate.
    pub fn open(
        name: &str,
        profile: &crate::targets::profile::Profile,
    ) -> Result<Self, TargetError> {
        Self::open_reading_within(name, profile, crate::remote::READ_TIMEOUT)
    }

    /// [`OpenedTarget::open`] with a server's reads bounded by
    /// `read_timeout` (the fleet's glance).
    ///
    /// # Errors
    /// As [`OpenedTarget::open`].
    pub fn open_reading_within(
        name: &str,
        profile: &crate::targets::profile::Profile,
        read_timeout: std::time::Duration,
    ) -> Result<Self, TargetError> {
        use crate::keychain::{Keychain, SecretKind};
        use crate::targets::profile::ProfileTarget;
        match &profile.target {
            ProfileTarget::Local { data_dir } => Ok(OpenedTarget::Local(LocalTarget::new(
                DataDir::new(data_dir),
            ))),
            ProfileTarget::Remote {
                base_url,
                username,
                ca_cert,
            } => {
                let server = RemoteServer::with_read_timeout(
                    base_url,
                    username,
                    ca_cert.as_deref(),
                    read_timeout,
                )?;
                match Keychain::open() {
                    Ok(keychain) => {
                        if let Ok(Some(token)) = keychain.get(name, SecretKind::ApiToken) {
                            server.set_token(&token);
                        }
                        if let Ok(Some(password)) = keychain.get(name, SecretKind::Password) {
                            server.set_password(&password);
                        }
                    }
                    Err(e) => tracing::warn!("{e}; no stored token can be used"),
                }
                let mut target = RemoteTarget::new(server);
                target.records_dir = Some(crate::targets::profile::config_dir());
                if let Some(seconds) = profile.restore_timeout_secs {
                    target.follow.timeout = std::time::Duration::from_secs(seconds);
                }
                Ok(OpenedTarget::Remote {
                    profile: name.to_owned(),
                    target: Box::new(target),
                })
            }
            target @ ProfileTarget::Ssh { data_dir, .. } => Ok(OpenedTarget::Ssh(SshTarget {
                name: name.to_owned(),
                host: target.ssh_host().expect("an SSH profile has a host"),
                data_dir: data_dir.clone(),
                location: target.location(),
                checked: std::sync::OnceLock::new(),
            })),
        }
    }

    /// The target, whichever side it is on.
    pub fn get(&self) -> &dyn Target {
        match self {
            OpenedTarget::Local(t) => t,
            OpenedTarget::Remote { target, .. } => target.as_ref(),
            OpenedTarget::Ssh(target) => target,
        }
    }

    /// Whether it is a remote server.
    pub fn is_remote(&self) -> bool {
        matches!(self, OpenedTarget::Remote { .. })
    }

    /// The local installation, for local-only operations.
    pub fn local(&self) -> Option<&LocalTarget> {
        match self {
            OpenedTarget::Local(t) => Some(t),
            OpenedTarget::Remote { .. } | OpenedTarget::Ssh(_) => None,
        }
    }
}

/// Refuses to restore `file` when its latest recorded verification failed
/// (a wrong checksum, a flipped bit, a failed `integrity_check`): the guard
/// both the CLI and the app put before a restore. A backup never verified,
/// or one verified again successfully since, passes.
///
/// `items` is the target's [`Target::list`].
///
/// # Errors
/// [`TargetError::VerificationFailed`].
pub fn refuse_failed_verification(
    items: &[crate::local::catalog::ListItem],
    file: &str,
) -> Result<(), TargetError> {
    let failed = items.iter().any(|b| {
        b.filename == file && b.verified.state == crate::local::catalog::VerificationStatus::Failed
    });
    if failed {
        return Err(TargetError::VerificationFailed(file.to_owned()));
    }
    Ok(())
}

/// Logs in to the remote profile `name` with `password` and keeps the token
/// in the keychain (and the password too when `remember`, for one automatic
/// re-login when the token expires; otherwise a kept password is forgotten).
///
/// # Errors
/// A local profile; a refused login; an unusable keychain.
pub fn sign_in(
    name: &str,
    profile: &crate::targets::profile::Profile,
    password: &str,
    remember: bool,
) -> Result<(), TargetError> {
    use crate::keychain::{Keychain, SecretKind};
    let opened = OpenedTarget::open(name, profile)?;
    let OpenedTarget::Remote { target, .. } = &opened else {
        return Err(RemoteError::NotRemote(name.to_owned()).into());
    };
    let token = target.server().login(password)?;
    let keychain = Keychain::open()?;
    keychain.set(name, SecretKind::ApiToken, &token)?;
    if remember {
        keychain.set(name, SecretKind::Password, password)?;
    } else {
        keychain.forget(name, SecretKind::Password)?;
    }
    Ok(())
}

impl Drop for OpenedTarget {
    fn drop(&mut self) {
        use crate::keychain::{Keychain, SecretKind};
        if let OpenedTarget::Remote { profile, target } = self
            && let Some(token) = target.server().renewed_token()
            && let Ok(keychain) = Keychain::open()
        {
            let _ = keychain.set(profile, SecretKind::ApiToken, &token);
        }
    }
}

/// A Server Monitor reached over SSH, for the reads the fleet and the
/// app's screens make (health, storage, list): the server's own engine
/// answers with the same JSON as a local installation. What changes things
/// runs through the CLI for now (`SshThroughCli`).
#[derive(Debug, Clone)]
pub struct SshTarget {
    name: String,
    host: crate::targets::ssh::SshHost,
    data_dir: std::path::PathBuf,
    location: String,
    /// The engine's version, checked once per opened target (the fleet
    /// reads three answers from it).
    checked: std::sync::OnceLock<String>,
}

impl SshTarget {
    /// The engine's `--json` answer to `verb`; a status verb's "needs
    /// attention" (exit 1 with its document) is still its answer.
    fn answer<T: serde::de::DeserializeOwned>(&self, verb: &[&str]) -> Result<T, TargetError> {
        let mut args = vec![
            "--data-dir".to_owned(),
            self.data_dir.display().to_string(),
            "--json".to_owned(),
        ];
        args.extend(verb.iter().map(|w| (*w).to_owned()));
        if self.checked.get().is_none() {
            let _ = self.checked.set(self.host.handshake()?);
        }
        let run = self
            .host
            .run_engine(&args, None, &crate::progress::NoProgress)?;
        if let Ok(answer) = serde_json::from_slice::<T>(&run.stdout) {
            return Ok(answer);
        }
        #[derive(serde::Deserialize)]
        struct Failed {
            error: crate::model::KindedMessage,
        }
        match serde_json::from_slice::<Failed>(&run.stdout) {
            Ok(failed) => Err(TargetError::Engine(failed.error)),
            Err(e) => Err(TargetError::Engine(crate::model::KindedMessage {
                kind: crate::ErrorKind::BadResponse,
                message: format!(
                    "the engine on {} answered `{}` with something unreadable (exit {}): {e}",
                    self.location,
                    verb.join(" "),
                    run.code
                ),
            })),
        }
    }

    fn through_cli(&self) -> TargetError {
        TargetError::SshThroughCli {
            name: self.name.clone(),
            location: self.location.clone(),
        }
    }
}

impl Target for SshTarget {
    fn describe(&self) -> String {
        self.location.clone()
    }

    fn health(&self, _clock: &dyn Clock) -> Result<HealthReport, TargetError> {
        self.answer(&["health"])
    }

    fn storage(&self) -> Result<StorageReport, TargetError> {
        self.answer(&["storage"])
    }

    fn list(&self) -> Result<Vec<ListItem>, TargetError> {
        #[derive(serde::Deserialize)]
        struct Listed {
            backups: Vec<ListItem>,
        }
        Ok(self.answer::<Listed>(&["list"])?.backups)
    }

    fn backup(
        &self,
        _passphrase: &Passphrase,
        _options: &BackupOptions,
        _clock: &dyn Clock,
        _progress: &dyn Progress,
    ) -> Result<BackupDone, TargetError> {
        Err(self.through_cli())
    }

    fn delete(&self, _name: &str) -> Result<(), TargetError> {
        Err(self.through_cli())
    }

    fn plan_restore(
        &self,
        _name: &str,
        _passphrase: Option<&Passphrase>,
        _options: &RestoreOptions,
        _clock: &dyn Clock,
        _progress: &dyn Progress,
    ) -> Result<RestorePlanned, TargetError> {
        Err(self.through_cli())
    }

    fn restore(
        &self,
        _name: &str,
        _passphrase: &Passphrase,
        _options: &RestoreOptions,
        _clock: &dyn Clock,
        _progress: &dyn Progress,
    ) -> Result<RestoreDone, TargetError> {
        Err(self.through_cli())
    }
}
