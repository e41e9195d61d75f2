//! [`SshTarget`]: a Server Monitor on another machine, driven through
//! Backup Desk's own engine there (`targets::ssh` runs it). Every answer
//! is the engine's `--json` document, read back into the same types a
//! local installation gives; what changes things runs detached on the
//! server and is recorded here until its answer arrived, so a dropped
//! connection never leaves an operation half-done or unreported.
//!
//! A profile that also names the server's HTTP API reads health and
//! storage through it (no SSH login and no process on the server for the
//! fleet's glances; it also says whether the service answers), falling
//! back to SSH when the API fails. Everything that decrypts or changes
//! goes through SSH: the API cannot verify, and its restore cannot be
//! trusted (contract §6.2, §6.9).

use std::sync::OnceLock;

use serde::de::DeserializeOwned;

use crate::context::OperationContext;
use crate::format::crypto::Passphrase;
use crate::local::backup::BackupOptions;
use crate::local::catalog::ListItem;
use crate::local::drill::DrillReport;
use crate::local::health::{HealthReport, StorageReport};
use crate::local::ledger::VerifyDepth;
use crate::local::restore::{RestoreOptions, RestorePlan, RestoreReport};
use crate::local::verify::VerifyReport;
use crate::model::{Effect, KindedMessage, VerbKind};
use crate::progress::{NoProgress, Progress};
use crate::targets::remote::RemoteTarget;
use crate::targets::ssh::{PendingOps, SshHost};
use crate::targets::{
    BackupDone, BackupSummary, RestoreDone, RestorePlanned, SshRestorePlan, Target, TargetError,
};

/// Why a server with both an API and SSH restores through SSH (shown in
/// the restore plan).
pub(crate) const WHY_SSH_RESTORE: &str = "Server Monitor's own restore fails for every valid backup \
     and, for one it cannot decrypt, can leave an empty database while saying it succeeded \
     (contract §6.2, §6.9); Backup Desk's engine stages and checks the copy, keeps an encrypted \
     safety backup, swaps atomically and rolls back on any failure";

/// A Server Monitor reached over SSH.
#[derive(Debug)]
pub struct SshTarget {
    name: String,
    host: SshHost,
    data_dir: std::path::PathBuf,
    location: String,
    /// The same server's HTTP API, when the profile names it too.
    api: Option<Box<RemoteTarget>>,
    /// Where operations cut off from their answer are recorded.
    pending: PendingOps,
    /// The engine's version, checked once per opened target (the fleet
    /// reads three answers from it).
    checked: OnceLock<String>,
    /// The unfinished rotation the engine's latest `list` answer named.
    rotation: std::sync::Mutex<Option<crate::local::rotation::RotationState>>,
    /// The schedule and latest backup attempt that answer carried.
    unattended: std::sync::Mutex<Option<crate::local::schedule::Unattended>>,
}

/// The secret an engine reading backups gets on stdin: the session keys
/// of the backups it reads when the operation's context carries them
/// (recovered on this machine: no passphrase crosses), else the
/// passphrase.
enum Secret<'p> {
    Passphrase(&'p Passphrase),
    /// The session keys as text, framed like a passphrase.
    SessionKeys(Passphrase),
}

impl<'p> Secret<'p> {
    /// The secret for `ctx`, with the flag that tells the engine which it
    /// is added to `verb`.
    fn of(passphrase: &'p Passphrase, ctx: &OperationContext<'_>, verb: &mut Vec<&str>) -> Self {
        match ctx.session_keys() {
            Some(keys) => {
                verb.push("--session-key-on-stdin");
                Secret::SessionKeys(Passphrase::new(keys.to_text().to_string()))
            }
            None => Secret::Passphrase(passphrase),
        }
    }

    fn passphrase(&self) -> &Passphrase {
        match self {
            Secret::Passphrase(p) => p,
            Secret::SessionKeys(text) => text,
        }
    }
}

/// What the engine answers for a failure (`--json`).
#[derive(serde::Deserialize)]
struct Failed {
    error: KindedMessage,
}

/// `{"ok": true, "report": …}`.
#[derive(serde::Deserialize)]
struct Report<T> {
    report: T,
}

/// `{"ok": true, "dry_run": true, "plan": …}`.
#[derive(serde::Deserialize)]
struct Plan<T> {
    plan: T,
}

/// `{"ok": true, "backups": […]}`.
#[derive(serde::Deserialize)]
struct Listed {
    backups: Vec<ListItem>,
    #[serde(default)]
    rotation: Option<crate::local::rotation::RotationState>,
    #[serde(default)]
    unattended: Option<crate::local::schedule::Unattended>,
}

impl SshTarget {
    /// Profile `name`'s server at `host`, installation `data_dir`; `api`
    /// when the profile names the server's API too. Pending operations
    /// are recorded under `config_dir`.
    pub fn new(
        name: &str,
        host: SshHost,
        data_dir: std::path::PathBuf,
        location: String,
        api: Option<RemoteTarget>,
        config_dir: &std::path::Path,
        secrets: crate::context::SharedSecrets,
    ) -> Self {
        SshTarget {
            name: name.to_owned(),
            pending: PendingOps::of_profile(config_dir, name, secrets),
            host,
            data_dir,
            location,
            api: api.map(Box::new),
            checked: OnceLock::new(),
            rotation: std::sync::Mutex::new(None),
            unattended: std::sync::Mutex::new(None),
        }
    }

    /// The profile's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The server, as this target reaches it.
    pub fn host(&self) -> &SshHost {
        &self.host
    }

    /// The same server's API client, when the profile names it.
    pub fn api(&self) -> Option<&RemoteTarget> {
        self.api.as_deref()
    }

    /// The engine's words for `verb` on this installation, `--json`.
    fn words(&self, verb: &[&str]) -> Vec<String> {
        let mut args = vec![
            "--data-dir".to_owned(),
            self.data_dir.display().to_string(),
            "--json".to_owned(),
            "--progress-lines".to_owned(),
        ];
        args.extend(verb.iter().map(|w| (*w).to_owned()));
        args
    }

    fn handshake(&self) -> Result<(), TargetError> {
        if self.checked.get().is_none() {
            let _ = self.checked.set(self.host.handshake()?);
        }
        Ok(())
    }

    /// The engine's `--json` answer to `verb` of `kind`, run as core's
    /// verb table says: a read attached, a change detached and recorded
    /// (with the notes of earlier cut-off operations), what destroys with
    /// `--yes` (the shell confirmed it). A passphrase goes only to a verb
    /// that needs one.
    fn run<T: DeserializeOwned>(
        &self,
        kind: VerbKind,
        verb: &[&str],
        passphrase: Option<&Passphrase>,
        progress: &dyn Progress,
    ) -> Result<(T, Vec<String>), TargetError> {
        self.run_with(kind, verb, passphrase.as_slice(), progress)
    }

    /// [`SshTarget::run`] with `secrets` framed on the engine's stdin in
    /// order (a change may take two: session keys, then the passphrase).
    fn run_with<T: DeserializeOwned>(
        &self,
        kind: VerbKind,
        verb: &[&str],
        secrets: &[&Passphrase],
        progress: &dyn Progress,
    ) -> Result<(T, Vec<String>), TargetError> {
        let traits = kind.traits();
        debug_assert!(
            secrets.is_empty() || traits.passphrase.is_some(),
            "{kind:?} takes no passphrase"
        );
        let mut words = Vec::with_capacity(verb.len() + 1);
        if traits.effect == Effect::Destroys {
            words.push("--yes");
        }
        words.extend_from_slice(verb);
        if traits.effect.runs_detached() {
            self.change(&words, secrets, progress)
        } else {
            Ok((
                self.read(&words, secrets.first().copied(), progress)?,
                Vec::new(),
            ))
        }
    }

    /// [`SshTarget::run`]'s answer alone (a read has no notes).
    fn answer<T: DeserializeOwned>(
        &self,
        kind: VerbKind,
        verb: &[&str],
        passphrase: Option<&Passphrase>,
        progress: &dyn Progress,
    ) -> Result<T, TargetError> {
        Ok(self.run(kind, verb, passphrase, progress)?.0)
    }

    /// Where the installation is: `ssh://DEST/DATA_DIR`.
    pub fn location(&self) -> &str {
        &self.location
    }

    /// The engine's `encryption show` (read as `T`: the service's view).
    pub(crate) fn encryption_show<T: DeserializeOwned>(&self) -> Result<T, TargetError> {
        self.answer(
            VerbKind::EncryptionShow,
            &["encryption", "show"],
            None,
            &NoProgress,
        )
    }

    /// The engine's `encryption set` with `words` (`encryption set
    /// --recipient PATH-THERE …`), its answer read as `T`.
    pub(crate) fn encryption_set<T: DeserializeOwned>(
        &self,
        words: &[&str],
    ) -> Result<T, TargetError> {
        Ok(self
            .run(VerbKind::EncryptionSet, words, None, &NoProgress)?
            .0)
    }

    /// The engine's `encryption rewrap` of `request`'s backups (all when it
    /// names none), read by the session keys `ctx` carries or `passphrase`.
    pub(crate) fn encryption_rewrap(
        &self,
        request: &crate::local::rotation::RewrapRequest,
        passphrase: &Passphrase,
        ctx: &OperationContext<'_>,
    ) -> Result<crate::local::rotation::RewrapReport, TargetError> {
        let mut verb = vec!["encryption", "rewrap"];
        match request.backups.is_empty() {
            true => verb.push("--all"),
            false => verb.extend(request.backups.iter().map(String::as_str)),
        }
        if request.dry_run {
            verb.push("--dry-run");
        }
        let secret = Secret::of(passphrase, ctx, &mut verb);
        let (Report { report }, _): (Report<crate::local::rotation::RewrapReport>, _) = self.run(
            VerbKind::EncryptionRewrap,
            &verb,
            Some(secret.passphrase()),
            ctx,
        )?;
        Ok(report)
    }

    /// Puts the public certificate `armored` of `fingerprint` on the
    /// server, where the engine's `encryption set` reads it; its path there.
    pub(crate) fn put_certificate(
        &self,
        fingerprint: &str,
        armored: &[u8],
    ) -> Result<String, TargetError> {
        self.handshake()?;
        Ok(self.host.put_certificate(fingerprint, armored)?)
    }

    /// The session keys of the backups `which` names, recovered with a key
    /// held here from their heads read over SSH
    /// ([`SshHost::session_keys_here`]).
    pub(crate) fn session_keys_here(
        &self,
        which: crate::targets::ssh::BackupsRead<'_>,
        ctx: &OperationContext<'_>,
    ) -> Option<crate::format::crypto::SessionKeys> {
        self.host.session_keys_here(&self.data_dir, which, ctx)
    }

    /// The engine's `--json` answer to `verb`, run attached (reads); a
    /// status verb's "needs attention" (exit 1 with its document) is still
    /// its answer.
    fn read<T: DeserializeOwned>(
        &self,
        verb: &[&str],
        passphrase: Option<&Passphrase>,
        progress: &dyn Progress,
    ) -> Result<T, TargetError> {
        self.handshake()?;
        let run = self
            .host
            .run_engine(&self.words(verb), passphrase, progress)?;
        answer_of(&self.location, verb, &run.stdout, run.code)
    }

    /// The engine's answer to `verb`, run detached on the server and
    /// recorded here until it arrived; first, how earlier operations cut
    /// off from this machine ended (returned as lines for the report).
    fn change<T: DeserializeOwned>(
        &self,
        verb: &[&str],
        secrets: &[&Passphrase],
        progress: &dyn Progress,
    ) -> Result<(T, Vec<String>), TargetError> {
        self.handshake()?;
        let notes = self
            .host
            .settle(&self.pending)?
            .iter()
            .map(|c| c.describe(&self.host.destination))
            .collect::<Vec<_>>();
        for note in &notes {
            tracing::warn!("{}: {note}", self.name);
        }
        let op = crate::targets::ssh::new_op_id();
        let recorded = self.pending.begin(&op, &verb.join(" "));
        if let Err(e) = &recorded {
            tracing::warn!("the pending record of {op} could not be written: {e}");
        }
        let run = self
            .host
            .run_engine_detached(&self.words(verb), secrets, &op, progress);
        if matches!(
            run,
            Ok(_) | Err(crate::targets::ssh::SshError::DiedWithoutAnswer { .. })
        ) {
            self.pending.end(&op);
        }
        let run = run?;
        Ok((
            answer_of(&self.location, verb, &run.stdout, run.code)?,
            notes,
        ))
    }
}

impl Target for SshTarget {
    fn describe(&self) -> String {
        self.location.clone()
    }

    fn health(&self, ctx: &OperationContext<'_>) -> Result<HealthReport, TargetError> {
        if let Some(api) = &self.api {
            match api.health(ctx) {
                Ok(health) => return Ok(health),
                Err(e) => tracing::warn!(
                    "{}: the API's health failed ({e}); asking over SSH",
                    self.name
                ),
            }
        }
        self.answer(VerbKind::Health, &["health"], None, &NoProgress)
    }

    fn storage(&self) -> Result<StorageReport, TargetError> {
        if let Some(api) = &self.api {
            match api.storage() {
                Ok(storage) => return Ok(storage),
                Err(e) => tracing::warn!(
                    "{}: the API's storage failed ({e}); asking over SSH",
                    self.name
                ),
            }
        }
        self.answer(VerbKind::Storage, &["storage"], None, &NoProgress)
    }

    /// Through SSH even beside an API: the engine's list carries the
    /// verification, drill and pin records the API's lacks.
    /// An engine of this very version also sends the tile's evidence (the
    /// schedule, the latest backup attempt; an older one would refuse the
    /// flag): `--tile-evidence`.
    fn list(&self) -> Result<Vec<ListItem>, TargetError> {
        self.handshake()?;
        let same_version = self
            .checked
            .get()
            .is_some_and(|v| v == crate::targets::ssh::VERSION_LINE);
        let verb: &[&str] = if same_version {
            &["list", "--tile-evidence"]
        } else {
            &["list"]
        };
        let listed: Listed = self.answer(VerbKind::List, verb, None, &NoProgress)?;
        *self.rotation.lock().unwrap_or_else(|e| e.into_inner()) = listed.rotation;
        *self.unattended.lock().unwrap_or_else(|e| e.into_inner()) = listed.unattended;
        Ok(listed.backups)
    }

    fn rotation(&self) -> Option<crate::local::rotation::RotationState> {
        self.rotation
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The engine's `activity`, with the query as its flags.
    fn activity(
        &self,
        query: &crate::model::ActivityQuery,
    ) -> Result<crate::model::ActivityPage, TargetError> {
        let words = activity_words(query);
        let verb: Vec<&str> = words.iter().map(String::as_str).collect();
        self.answer(VerbKind::Activity, &verb, None, &NoProgress)
    }

    /// The engine's `schedule` verb on the server: the jobs run there, as
    /// its account, with its own executable and the server's passphrase
    /// file (checked there).
    fn unattended(&self) -> Option<crate::local::schedule::Unattended> {
        self.unattended
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn schedule(
        &self,
        change: &crate::local::schedule::ScheduleChange,
    ) -> Result<crate::local::schedule::ScheduleView, TargetError> {
        use crate::local::schedule::ScheduleChange;
        let (kind, words): (_, Vec<String>) = match change {
            ScheduleChange::Read => (
                VerbKind::ScheduleStatus,
                vec!["schedule".into(), "status".into()],
            ),
            ScheduleChange::Install { choice, .. } => {
                (VerbKind::ScheduleInstall, choice.install_words())
            }
            ScheduleChange::Remove => (
                VerbKind::ScheduleRemove,
                vec!["schedule".into(), "remove".into()],
            ),
        };
        let verb: Vec<&str> = words.iter().map(String::as_str).collect();
        let (view, notes): (crate::local::schedule::ScheduleView, _) =
            self.run(kind, &verb, None, &NoProgress)?;
        for note in notes {
            tracing::warn!("{}: {note}", self.name);
        }
        Ok(view)
    }

    fn backup(
        &self,
        passphrase: &Passphrase,
        options: &BackupOptions,
        ctx: &OperationContext<'_>,
    ) -> Result<BackupDone, TargetError> {
        let compression = serde_json::to_value(options.compression)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_else(|| "default".to_owned());
        let mut verb = vec!["backup", "--compression", &compression];
        if !options.prune_after {
            verb.push("--no-prune");
        }
        if options.allow_default_passphrase {
            verb.push("--allow-default-passphrase");
        }
        let (mut summary, notes): (BackupSummary, _) =
            self.run(VerbKind::Backup, &verb, Some(passphrase), ctx)?;
        summary.warnings.extend(notes);
        Ok(BackupDone::Ssh(Box::new(summary)))
    }

    fn delete(&self, name: &str) -> Result<(), TargetError> {
        #[derive(serde::Deserialize)]
        struct Deleted {}
        let (Deleted {}, _) = self.run(VerbKind::Delete, &["delete", name], None, &NoProgress)?;
        Ok(())
    }

    fn verify(
        &self,
        name: &str,
        passphrase: &Passphrase,
        depth: VerifyDepth,
        ctx: &OperationContext<'_>,
    ) -> Result<VerifyReport, TargetError> {
        let mut verb = vec!["verify", name];
        if depth == VerifyDepth::Deep {
            verb.push("--deep");
        }
        let secret = Secret::of(passphrase, ctx, &mut verb);
        let (Report { mut report }, notes): (Report<VerifyReport>, _) =
            self.run(VerbKind::Verify, &verb, Some(secret.passphrase()), ctx)?;
        report.warnings.extend(notes);
        Ok(report)
    }

    fn drill(
        &self,
        name: Option<&str>,
        passphrase: &Passphrase,
        ctx: &OperationContext<'_>,
    ) -> Result<DrillReport, TargetError> {
        let mut verb = vec!["drill"];
        verb.extend(name);
        let secret = Secret::of(passphrase, ctx, &mut verb);
        // (Cut-off operations' notes are logged by `change`; a drill
        // report has no warnings to carry them.)
        let (Report { report }, _): (Report<DrillReport>, _) =
            self.run(VerbKind::Drill, &verb, Some(secret.passphrase()), ctx)?;
        Ok(report)
    }

    fn set_pinned(&self, name: &str, pinned: bool) -> Result<(), TargetError> {
        #[derive(serde::Deserialize)]
        struct Pinned {}
        let (kind, verb) = if pinned {
            (VerbKind::Pin, "pin")
        } else {
            (VerbKind::Unpin, "unpin")
        };
        let (Pinned {}, _) = self.run(kind, &[verb, name], None, &NoProgress)?;
        Ok(())
    }

    fn plan_restore(
        &self,
        name: &str,
        passphrase: Option<&Passphrase>,
        options: &RestoreOptions,
        ctx: &OperationContext<'_>,
    ) -> Result<RestorePlanned, TargetError> {
        let mut verb = vec!["restore", name, "--dry-run"];
        push_commands(&mut verb, options);
        let Plan { plan }: Plan<RestorePlan> =
            self.answer(VerbKind::RestorePlan, &verb, passphrase, ctx)?;
        Ok(RestorePlanned::Ssh(Box::new(SshRestorePlan {
            plan,
            location: self.location.clone(),
            why_ssh: self.api.as_ref().map(|_| WHY_SSH_RESTORE.to_owned()),
        })))
    }

    fn restore(
        &self,
        name: &str,
        passphrase: &Passphrase,
        options: &RestoreOptions,
        ctx: &OperationContext<'_>,
    ) -> Result<RestoreDone, TargetError> {
        let mut verb = vec!["restore", name];
        push_commands(&mut verb, options);
        // Read by its session key, the passphrase this machine has (if
        // any) follows: the safety backup of a policy that keeps one.
        let secret = Secret::of(passphrase, ctx, &mut verb);
        let mut secrets = vec![secret.passphrase()];
        if matches!(secret, Secret::SessionKeys(_)) && !passphrase.expose().is_empty() {
            secrets.push(passphrase);
        }
        let (Report { mut report }, notes): (Report<RestoreReport>, _) =
            self.run_with(VerbKind::Restore, &verb, &secrets, ctx)?;
        report.warnings.extend(notes);
        Ok(RestoreDone::Local(Box::new(report)))
    }
}

/// The restore's `--stop-cmd`/`--start-cmd`, as given.
fn push_commands<'a>(verb: &mut Vec<&'a str>, options: &'a RestoreOptions) {
    if let Some(stop) = &options.stop_cmd {
        verb.extend(["--stop-cmd", stop]);
    }
    if let Some(start) = &options.start_cmd {
        verb.extend(["--start-cmd", start]);
    }
}

/// The engine's `--json` document for `verb` on `location` read as `T`, or
/// its failure with the engine's own kind.
fn answer_of<T: DeserializeOwned>(
    location: &str,
    verb: &[&str],
    stdout: &[u8],
    code: i32,
) -> Result<T, TargetError> {
    // A failure first: `{"ok": false, "error": {kind, message}}` (an
    // answer with no fields of its own would read any document).
    if let Ok(failed) = serde_json::from_slice::<Failed>(stdout) {
        return Err(TargetError::Engine(failed.error));
    }
    serde_json::from_slice::<T>(stdout).map_err(|e| {
        TargetError::Engine(KindedMessage {
            kind: crate::ErrorKind::BadResponse,
            message: format!(
                "the engine on {location} answered `{}` with something unreadable (exit {code}): {e}",
                verb.join(" "),
            ),
        })
    })
}

/// `activity` and the flags that ask the engine for `query`.
fn activity_words(query: &crate::model::ActivityQuery) -> Vec<String> {
    let mut words = vec![
        "activity".to_owned(),
        "--limit".to_owned(),
        query.limit.to_string(),
    ];
    if let Some(since) = query.since {
        words.push("--since".to_owned());
        words.push(since.format("%Y-%m-%d %H:%M:%S").to_string());
    }
    if !query.search.trim().is_empty() {
        words.push("--search".to_owned());
        words.push(query.search.clone());
    }
    if let Some(level) = query.min_level {
        words.push("--level".to_owned());
        words.push(level.as_str().to_owned());
    }
    for log in &query.logs {
        words.push("--log".to_owned());
        words.push(log.as_str().to_owned());
    }
    words
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::KindedError;

    #[derive(serde::Deserialize, Debug)]
    struct Nothing {}

    #[test]
    fn a_failure_is_never_read_as_an_answer() {
        let failed =
            br#"{"ok": false, "error": {"kind": "backup_not_found", "message": "no such backup"}}"#;
        let err = answer_of::<Nothing>("ssh://h/x", &["pin", "b"], failed, 1).unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::BackupNotFound);
        assert_eq!(err.to_string(), "no such backup");
        assert!(
            answer_of::<Nothing>(
                "ssh://h/x",
                &["pin", "b"],
                br#"{"ok": true, "name": "b"}"#,
                0
            )
            .is_ok()
        );
        let garbage = answer_of::<Nothing>("ssh://h/x", &["pin", "b"], b"Segmentation fault", 139)
            .unwrap_err();
        assert_eq!(garbage.kind(), crate::ErrorKind::BadResponse);
        assert!(garbage.to_string().contains("exit 139"), "{garbage}");
    }
}
