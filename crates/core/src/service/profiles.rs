//! Operations on a saved profile, by name: what the desktop app's commands
//! call (and what the CLI shares where it works on profiles too). Each
//! composes the layers below once: the profile book, the target opened
//! with its secrets, the passphrase under the one keychain rule.

use crate::context::OperationContext;
use crate::format::crypto::Passphrase;
use crate::keychain::SecretKind;
use crate::local::layout::DataDir;
use crate::local::retention::{self, PruneOutcome, RetentionPolicy};
use crate::local::rotation::{self, RotationReport};
use crate::service::secrets::{self, PassphraseScope};
use crate::service::selection::{Selection, StoredPassphrase};
use crate::service::session::{PassphraseHome, SessionPassphrases};
use crate::targets::RestoreDone;
use crate::targets::profile::{Profile, ProfileBook, ProfileTarget, config_dir};

pub use crate::service::error::ServiceError;

type Result<T> = std::result::Result<T, ServiceError>;

/// The profile book in the config folder.
///
/// # Errors
/// A damaged book.
pub fn book() -> Result<ProfileBook> {
    Ok(ProfileBook::load(&config_dir())?)
}

/// Profile `name`.
///
/// # Errors
/// No such profile, a damaged book.
pub fn profile(name: &str) -> Result<Profile> {
    Ok(book()?.get(name)?.clone())
}

/// The data directory of local profile `name`.
///
/// # Errors
/// [`ServiceError::RemoteUnsupported`] for a server profile.
pub fn local_data(name: &str) -> Result<DataDir> {
    match profile(name)?.target {
        ProfileTarget::Local { data_dir } => Ok(DataDir::new(data_dir)),
        target @ (ProfileTarget::Remote { .. } | ProfileTarget::Ssh { .. }) => {
            Err(ServiceError::RemoteUnsupported {
                name: name.to_owned(),
                base_url: target.location(),
            })
        }
    }
}

/// Where profile `name`'s passphrase is kept.
///
/// # Errors
/// No such profile.
pub(crate) fn passphrase_scope(name: &str) -> Result<PassphraseScope> {
    Ok(PassphraseScope::for_profile(name, &profile(name)?))
}

/// The backup passphrase of profile `name`: the one `session` keeps, else
/// the keychain's.
///
/// # Errors
/// [`ServiceError::NoPassphraseStored`], keychain failures.
pub fn passphrase(
    name: &str,
    session: &SessionPassphrases,
    ctx: &OperationContext<'_>,
) -> Result<Passphrase> {
    let scope = passphrase_scope(name)?;
    if let Some(kept) = session.get(&scope) {
        return Ok(kept);
    }
    secrets::stored_passphrase(ctx.secrets(), &scope)?
        .ok_or_else(|| ServiceError::NoPassphraseStored(name.to_owned()))
}

/// Removes profile `name` and forgets its tokens, its password and a
/// passphrase stored under its name. The installation's own passphrase
/// (kept for its folder) stays: scheduled backups and other profiles of
/// that folder still need it (`passphrase forget` removes it).
///
/// # Errors
/// No such profile, the book cannot be saved.
pub fn remove_profile(name: &str, ctx: &OperationContext<'_>) -> Result<()> {
    book()?.remove(name)?;
    ctx.secrets().forget_all(name);
    Ok(())
}

/// What the demo set up.
#[derive(Debug, Clone, serde::Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct DemoCreated {
    pub profile: String,
    pub data_dir: String,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub size_bytes: u64,
    pub tables: u32,
    /// Where its passphrase is kept.
    pub kept_in: crate::service::session::KeptIn,
}

/// What a one-click demo would be: the first free profile name of `demo`,
/// `demo-2`, … and a folder of that name under Backup Desk's data folder
/// (one that does not exist yet, or is empty).
///
/// # Errors
/// A damaged profile book.
pub fn demo_defaults() -> Result<DemoDefaults> {
    let book = book()?;
    let parent = crate::targets::profile::data_dir().join("demos");
    let free = |name: &str| {
        let dir = parent.join(name);
        !book.profiles().contains_key(name)
            && std::fs::read_dir(&dir).map_or(true, |mut d| d.next().is_none())
    };
    let name = (1..)
        .map(|n| match n {
            1 => "demo".to_owned(),
            n => format!("demo-{n}"),
        })
        .find(|name| free(name))
        .unwrap_or_else(|| "demo".to_owned());
    Ok(DemoDefaults {
        data_dir: parent.join(&name).display().to_string(),
        profile: name,
    })
}

/// A demo's proposed profile name and folder.
#[derive(Debug, Clone, serde::Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct DemoDefaults {
    pub profile: String,
    pub data_dir: String,
}

/// Creates a demo installation in `dir`, local profile `name` for it, and
/// stores `passphrase` for it (checked by the policy first). All or
/// nothing: the keychain is reached before anything is made, and a later
/// step that fails (a taken name, a refused store) removes what the earlier
/// ones made, so a second try starts clean.
///
/// # Errors
/// A refused passphrase, no keychain, a folder that holds a database, a
/// taken or invalid name.
pub fn create_demo(
    name: &str,
    dir: &str,
    size_mib: u32,
    passphrase: &Passphrase,
    home: PassphraseHome<'_>,
    ctx: &OperationContext<'_>,
) -> Result<DemoCreated> {
    use crate::local::demo::{DemoOptions, create_demo};
    secrets::check_new_passphrase(passphrase)?;
    let keychain = match home {
        PassphraseHome::Keychain => {
            ctx.secrets().reachable()?;
            Some(ctx.secrets())
        }
        PassphraseHome::Session(_) => None,
    };
    let root = std::path::absolute(dir).map_err(|source| ServiceError::Io {
        what: format!("cannot use {dir}"),
        source,
    })?;
    let mut book = book()?;
    if book.profiles().contains_key(name) {
        return Err(crate::targets::profile::ProfileError::ProfileExists(name.to_owned()).into());
    }
    let data = DataDir::new(&root);
    let made = MadeFolders::before(&root);
    let options = DemoOptions {
        size_bytes: u64::from(size_mib.max(1)) << 20,
        ..Default::default()
    };
    let report = create_demo(&data, &options, ctx.now()).inspect_err(|_| made.undo())?;
    book.add(
        name,
        Profile::new(ProfileTarget::Local {
            data_dir: root.clone(),
        }),
    )
    .inspect_err(|_| made.undo())?;
    let scope = PassphraseScope::for_profile(name, book.get(name)?);
    let kept = match (&keychain, home) {
        (Some(keychain), _) => secrets::store_passphrase(*keychain, &scope, passphrase),
        (None, PassphraseHome::Session(session)) => Ok(session.keep(&scope, passphrase)?),
        (None, PassphraseHome::Keychain) => unreachable!("the keychain was opened above"),
    };
    if let Err(e) = kept {
        let _ = book.remove(name);
        made.undo();
        return Err(e.into());
    }
    Ok(DemoCreated {
        profile: name.to_owned(),
        data_dir: root.display().to_string(),
        size_bytes: report.size_bytes,
        tables: report.tables as u32,
        kept_in: home.kept_in(),
    })
}

/// What a demo will make under `root` (what did not exist), to remove
/// again when a later step fails.
struct MadeFolders(Vec<std::path::PathBuf>);

impl MadeFolders {
    fn before(root: &std::path::Path) -> Self {
        let data = DataDir::new(root);
        // The outermost folder that does not exist yet holds all we make.
        let outermost = root
            .ancestors()
            .take_while(|dir| !dir.exists())
            .last()
            .unwrap_or(root);
        let candidates = [
            outermost.to_path_buf(),
            root.to_path_buf(),
            root.join("data"),
            data.logs(),
            data.backups(),
            data.database(),
        ];
        MadeFolders(candidates.into_iter().filter(|p| !p.exists()).collect())
    }

    /// Removes what was made (the outermost folder first covers the rest;
    /// a database made in a folder that was there goes with its journal).
    fn undo(&self) {
        for made in &self.0 {
            if made.is_dir() {
                let _ = std::fs::remove_dir_all(made);
            } else {
                for suffix in ["", "-wal", "-shm", "-journal"] {
                    let mut path = made.clone().into_os_string();
                    path.push(suffix);
                    let _ = std::fs::remove_file(std::path::PathBuf::from(path));
                }
            }
        }
    }
}

/// Restores `file` on profile `name` once `confirmation` is the profile's
/// name (the app's typed confirmation), with the service's stop and start
/// commands when given; see [`crate::service::restore::restore`].
///
/// # Errors
/// [`ServiceError::ConfirmationMismatch`]; a refused or failed restore.
pub fn restore(
    name: &str,
    file: &str,
    confirmation: &str,
    service: &crate::service::restore::ServiceCommands,
    session: &SessionPassphrases,
    ctx: &OperationContext<'_>,
) -> Result<RestoreDone> {
    if confirmation != name {
        return Err(ServiceError::ConfirmationMismatch(name.to_owned()));
    }
    let selection = Selection::profile(name, ctx)?;
    crate::service::restore::restore(
        &selection,
        file,
        &StoredPassphrase::new(&selection, ctx).with_session(session),
        &service.options(),
        ctx,
    )
}

/// Restores some rows of backup `file` into profile `name` (or undoes a
/// partial restore, `file` its `prerestore_rows_` backup), after the admin
/// typed the profile name as `confirmation`; with `dry_run` only plans it
/// (no confirmation needed). See [`crate::service::surgery::restore_rows`].
///
/// # Errors
/// [`ServiceError::ConfirmationMismatch`]; the partial restore's own.
pub fn restore_rows(
    name: &str,
    file: &str,
    options: &crate::local::surgery::PartialOptions,
    dry_run: bool,
    confirmation: &str,
    session: &SessionPassphrases,
    ctx: &OperationContext<'_>,
) -> Result<crate::service::surgery::RowsOutcome> {
    if !dry_run && confirmation != name {
        return Err(ServiceError::ConfirmationMismatch(name.to_owned()));
    }
    let selection = Selection::profile(name, ctx)?;
    crate::service::surgery::restore_rows(
        &selection,
        file,
        options,
        dry_run,
        &StoredPassphrase::new(&selection, ctx).with_session(session),
        ctx,
    )
}

/// The retention policy of local profile `name`: its own, else the one
/// saved in its data folder.
///
/// # Errors
/// A server profile.
pub fn retention_policy(name: &str) -> Result<RetentionPolicy> {
    let data = local_data(name)?;
    Ok(profile(name)?
        .retention
        .unwrap_or_else(|| retention::saved_policy(&data)))
}

/// Saves `policy` for local profile `name` and prunes with it.
///
/// # Errors
/// A server profile, the policy cannot be saved, the prune did not run.
pub fn apply_retention(
    name: &str,
    policy: &RetentionPolicy,
    ctx: &OperationContext<'_>,
) -> Result<PruneOutcome> {
    let data = local_data(name)?;
    retention::save_policy(&data, policy).map_err(|source| ServiceError::Io {
        what: "cannot save the policy".to_owned(),
        source,
    })?;
    Ok(retention::prune(&data, policy, ctx)?)
}

/// Where a profile's secrets are kept.
#[derive(Debug, Clone, serde::Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SecretStatus {
    /// Whether a keychain answers at all.
    pub keychain_available: bool,
    /// Why not, when it does not (the UI branches on its kind: none
    /// running, locked, access denied).
    pub keychain_problem: Option<crate::model::KindedMessage>,
    /// A passphrase is in the keychain.
    pub passphrase_stored: bool,
    /// A passphrase is kept in memory for this session only.
    pub passphrase_in_session: bool,
    pub token_stored: bool,
    pub password_stored: bool,
    /// A local installation's unfinished passphrase rotation ("rotation in
    /// progress: N of M").
    pub rotation: Option<crate::local::rotation::RotationState>,
}

/// Which secrets profile `name` has, in the keychain and in `session`,
/// and how far an unfinished rotation of its backups got.
pub fn secret_status(
    name: &str,
    session: &SessionPassphrases,
    ctx: &OperationContext<'_>,
) -> SecretStatus {
    let rotation = local_data(name)
        .ok()
        .and_then(|data| rotation::in_progress(&data));
    let scope = passphrase_scope(name);
    let passphrase_in_session = scope.as_ref().is_ok_and(|s| session.get(s).is_some());
    let keychain = ctx.secrets();
    match keychain.reachable().and_then(|()| {
        // A locked or refusing keychain opens but fails on the first read.
        let has_passphrase = match &scope {
            Ok(scope) => secrets::stored_passphrase(keychain, scope)?.is_some(),
            Err(_) => false,
        };
        Ok((keychain, has_passphrase))
    }) {
        Ok((keychain, passphrase_stored)) => {
            let has = |kind| matches!(keychain.get(name, kind), Ok(Some(_)));
            SecretStatus {
                keychain_available: true,
                keychain_problem: None,
                passphrase_stored,
                passphrase_in_session,
                token_stored: has(SecretKind::ApiToken),
                password_stored: has(SecretKind::Password),
                rotation,
            }
        }
        Err(e) => SecretStatus {
            keychain_available: false,
            keychain_problem: Some(crate::model::KindedMessage::of(&e)),
            passphrase_stored: false,
            passphrase_in_session,
            token_stored: false,
            password_stored: false,
            rotation,
        },
    }
}

/// Keeps `passphrase` for profile `name` in `home` (the policy checks it
/// first). Kept in the keychain, it replaces one this session kept. On a
/// local installation it must open the newest backup, unless `new_set`
/// (a new set meant on purpose): a typo never becomes the stored one.
///
/// # Errors
/// A refused passphrase, [`ServiceError::OpensNoBackup`], keychain
/// failures.
pub fn set_passphrase(
    name: &str,
    passphrase: &Passphrase,
    home: PassphraseHome<'_>,
    new_set: bool,
    ctx: &OperationContext<'_>,
) -> Result<()> {
    let scope = passphrase_scope(name)?;
    // The policy first: its refusals say more than "opens no backup".
    crate::format::crypto::check_new_passphrase(passphrase)?;
    // A local installation's backups tell a typo from the set's passphrase
    // (the newest one's key packet: instant, whatever its size).
    if !new_set && let Ok(data) = local_data(name) {
        // (Opens it, no backup yet, or one that cannot be read: said by
        // verify, not here.)
        if let Err(crate::local::verify::VerifyError::Crypto(
            crate::format::crypto::CryptoError::WrongPassphrase,
        )) = crate::local::verify::test_passphrase(&data, passphrase)
        {
            let newest = crate::local::catalog::BackupCatalog::scan(&data)?
                .entries()
                .iter()
                .find(|e| e.name.kind().is_encrypted())
                .map(|e| e.name.file_name().to_owned())
                .unwrap_or_default();
            return Err(ServiceError::OpensNoBackup {
                profile: name.to_owned(),
                newest,
            });
        }
    }
    match home {
        PassphraseHome::Keychain => secrets::store_passphrase(ctx.secrets(), &scope, passphrase)?,
        PassphraseHome::Session(session) => session.keep(&scope, passphrase)?,
    }
    Ok(())
}

/// Forgets the passphrase of profile `name`, in `session` and in the
/// keychain (an unreachable keychain is no failure when the session held
/// one: there was nothing else to forget).
///
/// # Errors
/// Keychain failures.
pub fn forget_passphrase(
    name: &str,
    session: &SessionPassphrases,
    ctx: &OperationContext<'_>,
) -> Result<bool> {
    let scope = passphrase_scope(name)?;
    let in_session = session.forget(&scope);
    match secrets::forget_passphrase(ctx.secrets(), &scope).map_err(ServiceError::from) {
        Ok(in_keychain) => Ok(in_session || in_keychain),
        Err(_) if in_session => Ok(true),
        Err(e) => Err(e),
    }
}

/// Rotates the passphrase of local profile `name` to `new`; see
/// [`rotate_and_store`].
///
/// # Errors
/// As [`rotate_and_store`].
pub fn rotate(
    name: &str,
    new: &Passphrase,
    session: &SessionPassphrases,
    ctx: &OperationContext<'_>,
) -> Result<RotationReport> {
    let scope = passphrase_scope(name)?;
    // The new passphrase is kept where the old one was.
    let home = match session.get(&scope) {
        Some(_) => PassphraseHome::Session(session),
        None => PassphraseHome::Keychain,
    };
    let (report, stored) = rotate_and_store(
        &local_data(name)?,
        &scope,
        &passphrase(name, session, ctx)?,
        new,
        home,
        ctx,
    )?;
    stored?;
    Ok(report)
}

/// Rotates every backup of `data` from `old` to `new` ([`rotation::rotate`]:
/// the new passphrase added to each backup, the old one removed only once
/// every backup opens with the new one and the new one is stored). With
/// the keychain as home, the new passphrase is put there first (as
/// `rotation-passphrase`), so no backup ever opens with a passphrase
/// stored nowhere, even if the rotation is cut short; it is promoted to
/// the profile's own once every backup opens with it, and forgotten when
/// it opens none. Where there is no keychain (an engine on a server, a
/// passphrase file), the caller holds the new passphrase and the rotation
/// goes on; where the keychain is there but refuses it, the old
/// passphrase stays in every backup. The rotation's report comes back
/// even when storing failed, with that failure beside it (`Ok(false)`:
/// nothing stored, the rotation did not complete).
///
/// # Errors
/// The rotation did not run (lock, policy, same passphrase, no room, the
/// keychain refusing to keep the new passphrase while it runs).
pub fn rotate_and_store(
    data: &DataDir,
    scope: &PassphraseScope,
    old: &Passphrase,
    new: &Passphrase,
    home: PassphraseHome<'_>,
    ctx: &OperationContext<'_>,
) -> Result<(RotationReport, Result<bool>)> {
    use crate::keychain::SecretKind;
    let keychain = match home {
        PassphraseHome::Keychain => ctx.secrets().reachable().ok().map(|()| ctx.secrets()),
        PassphraseHome::Session(_) => None,
    };
    if let Some(k) = &keychain {
        k.set(scope.label(), SecretKind::RotationPassphrase, new.expose())?;
    }
    let mut stored: Option<Result<bool>> = None;
    let mut keep_new = || {
        let kept = match (home, &keychain) {
            (PassphraseHome::Session(session), _) => session.keep(scope, new).map_err(Into::into),
            (PassphraseHome::Keychain, Some(k)) => secrets::store_passphrase(*k, scope, new)
                .map_err(ServiceError::from)
                .map(|()| {
                    let _ = k.forget(scope.label(), SecretKind::RotationPassphrase);
                }),
            (PassphraseHome::Keychain, None) => {
                secrets::store_passphrase(ctx.secrets(), scope, new).map_err(ServiceError::from)
            }
        };
        // No keychain at all: the caller holds the new passphrase.
        let go_on = kept.is_ok() || keychain.is_none();
        stored = Some(kept.map(|()| true));
        go_on
    };
    let report = rotation::rotate(data, old, new, ctx, &mut keep_new);
    let report = match report {
        Ok(report) => report,
        Err(e) => {
            if let Some(k) = &keychain {
                let _ = k.forget(scope.label(), SecretKind::RotationPassphrase);
            }
            return Err(e.into());
        }
    };
    if let (Some(k), true) = (
        &keychain,
        report.rotated.is_empty() && report.already_rotated.is_empty(),
    ) {
        // The new passphrase opens no backup: nothing waits for it.
        let _ = k.forget(scope.label(), SecretKind::RotationPassphrase);
    }
    Ok((report, stored.unwrap_or(Ok(false))))
}

/// What [`install_engine`] put on an SSH profile's server.
#[derive(Debug, Clone, serde::Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct EngineInstalled {
    pub profile: String,
    /// `user@host` or the SSH config's alias.
    pub destination: String,
    /// Where it is on the server.
    pub engine: String,
    /// Its version line (`0.1.0 (json 1)`).
    pub version: String,
}

/// Copies the `backupdesk` executable at `binary` to SSH profile `name`'s
/// server (beside its place, then renamed; its version line checked),
/// after the admin typed the profile name as `confirmation`.
///
/// # Errors
/// [`ServiceError::ConfirmationMismatch`], [`ServiceError::NotAnSshProfile`],
/// the connection's and the copy's own.
pub fn install_engine(
    name: &str,
    confirmation: &str,
    binary: &std::path::Path,
) -> Result<EngineInstalled> {
    if confirmation != name {
        return Err(ServiceError::ConfirmationMismatch(name.to_owned()));
    }
    let book = book()?;
    let Some(host) = book.get(name)?.target.ssh_host() else {
        return Err(ServiceError::NotAnSshProfile(name.to_owned()));
    };
    let version = host
        .install(binary)
        .map_err(crate::targets::TargetError::from)?;
    Ok(EngineInstalled {
        profile: name.to_owned(),
        destination: host.destination.clone(),
        engine: host.engine().to_owned(),
        version,
    })
}
