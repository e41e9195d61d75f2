//! What commands share: the profile book, opened targets, secrets from the
//! keychain, and the registry of running operations (for cancellation).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use backupdesk_core::crypto::Passphrase;
use backupdesk_core::keychain::{Keychain, SecretKind};
use backupdesk_core::layout::DataDir;
use backupdesk_core::profile::{Profile, ProfileBook, config_dir};
use backupdesk_core::service::secrets::{self, PassphraseScope};
use backupdesk_core::target::OpenedTarget;

use crate::error::{CommandResult, IpcError};

/// Running operations by the id the UI gave them.
#[derive(Default)]
pub struct Operations {
    running: Mutex<HashMap<String, Arc<AtomicBool>>>,
}

impl Operations {
    /// Registers `id`; the flag turns true when the UI cancels it.
    pub fn begin(&self, id: &str) -> Arc<AtomicBool> {
        let flag = Arc::new(AtomicBool::new(false));
        self.lock().insert(id.to_owned(), flag.clone());
        flag
    }

    /// Forgets `id` (the operation ended).
    pub fn end(&self, id: &str) {
        self.lock().remove(id);
    }

    /// Asks `id` to stop; false when no such operation runs.
    pub fn cancel(&self, id: &str) -> bool {
        match self.lock().get(id) {
            Some(flag) => {
                flag.store(true, Ordering::SeqCst);
                true
            }
            None => false,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<AtomicBool>>> {
        self.running.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The profile book in the config folder.
pub fn book() -> CommandResult<ProfileBook> {
    Ok(ProfileBook::load(&config_dir())?)
}

/// Profile `name`.
pub fn profile(name: &str) -> CommandResult<Profile> {
    Ok(book()?.get(name)?.clone())
}

/// The target of profile `name`.
pub fn open(name: &str) -> CommandResult<OpenedTarget> {
    Ok(OpenedTarget::open(name, &profile(name)?)?)
}

/// The data directory of local profile `name`.
pub fn local_data(name: &str) -> CommandResult<DataDir> {
    match profile(name)?.target {
        backupdesk_core::profile::ProfileTarget::Local { data_dir } => Ok(DataDir::new(data_dir)),
        backupdesk_core::profile::ProfileTarget::Remote { base_url, .. } => Err(IpcError::new(
            backupdesk_core::ErrorKind::RemoteUnsupported,
            format!(
                "{name} is the remote server {base_url}: this works on local installations only"
            ),
        )),
    }
}

/// The passphrase a backup on `target` needs: none for a server (it
/// encrypts with its own), the stored one otherwise.
pub fn backup_passphrase(name: &str, target: &OpenedTarget) -> CommandResult<Passphrase> {
    match target {
        OpenedTarget::Remote { .. } => Ok(Passphrase::new(String::new())),
        OpenedTarget::Local(_) => passphrase(name),
    }
}

/// The backup passphrase of profile `name`, from the keychain.
pub fn passphrase(name: &str) -> CommandResult<Passphrase> {
    let scope = passphrase_scope(name)?;
    match secrets::stored_passphrase(&Keychain::open()?, &scope)? {
        Some(passphrase) => Ok(passphrase),
        None => Err(IpcError::new(
            backupdesk_core::ErrorKind::NoPassphraseStored,
            format!("no backup passphrase is stored for {name}: set one in Settings"),
        )),
    }
}

/// Removes profile `name` and forgets its secrets.
pub fn remove_profile(name: &str) -> CommandResult<()> {
    book()?.remove(name)?;
    if let Ok(keychain) = Keychain::open() {
        keychain.forget_all(name);
    }
    Ok(())
}

/// Backup options for profile `name`: its retention policy for the
/// automatic prune, the defaults otherwise.
pub fn backup_options(name: &str) -> CommandResult<backupdesk_core::backup::BackupOptions> {
    Ok(backupdesk_core::backup::BackupOptions {
        retention: profile(name)?.retention,
        ..Default::default()
    })
}

/// Pins or unpins backup `file` of local profile `name`.
pub fn pin(name: &str, file: &str, pinned: bool) -> CommandResult<()> {
    Ok(backupdesk_core::catalog::BackupCatalog::set_pinned(
        &local_data(name)?,
        file,
        pinned,
    )?)
}

/// Creates a demo installation in `dir` with profile `name` and stores
/// `passphrase` for it.
pub fn create_demo(
    name: &str,
    dir: &str,
    size_mib: u32,
    passphrase: zeroize::Zeroizing<String>,
) -> CommandResult<crate::commands::demo::DemoCreated> {
    use backupdesk_core::demo::{DemoOptions, create_demo};
    secrets::check_new_passphrase(&Passphrase::new(passphrase.to_string()))?;
    let root = std::path::absolute(dir)
        .map_err(|e| IpcError::new(backupdesk_core::ErrorKind::Io, e.to_string()))?;
    let data = DataDir::new(&root);
    let options = DemoOptions {
        size_bytes: u64::from(size_mib.max(1)) << 20,
        ..Default::default()
    };
    let clock = backupdesk_core::clock::SystemClock;
    let report = create_demo(&data, &options, backupdesk_core::clock::Clock::now(&clock))?;
    book()?.add(
        name,
        Profile::new(backupdesk_core::profile::ProfileTarget::Local {
            data_dir: root.clone(),
        }),
    )?;
    secrets::store_passphrase(
        &Keychain::open()?,
        &passphrase_scope(name)?,
        &Passphrase::new(passphrase.to_string()),
    )?;
    Ok(crate::commands::demo::DemoCreated {
        profile: name.to_owned(),
        data_dir: root.display().to_string(),
        size_bytes: report.size_bytes,
        tables: report.tables as u32,
    })
}

/// Restores `file` on profile `name` once `confirmation` is the profile
/// name and the backup has not failed its latest verification.
pub fn restore(
    name: &str,
    file: &str,
    confirmation: &str,
    progress: &dyn backupdesk_core::progress::Progress,
) -> CommandResult<backupdesk_core::target::RestoreDone> {
    if confirmation != name {
        return Err(IpcError::new(
            backupdesk_core::ErrorKind::ConfirmationMismatch,
            format!("type the profile name ({name}) to confirm the restore"),
        ));
    }
    let target = open(name)?;
    backupdesk_core::target::refuse_failed_verification(&target.get().list()?, file)?;
    // A server restores with its own passphrase: none is needed here.
    let passphrase = backup_passphrase(name, &target)?;
    Ok(target.get().restore(
        file,
        &passphrase,
        &backupdesk_core::restore::RestoreOptions::default(),
        &backupdesk_core::clock::SystemClock,
        progress,
    )?)
}

/// The retention policy of local profile `name`: its own, else the one
/// saved in its data folder.
pub fn retention_policy(name: &str) -> CommandResult<backupdesk_core::retention::RetentionPolicy> {
    let data = local_data(name)?;
    Ok(profile(name)?
        .retention
        .unwrap_or_else(|| backupdesk_core::retention::saved_policy(&data)))
}

/// Saves `policy` for local profile `name` and prunes with it.
pub fn apply_retention(
    name: &str,
    policy: &backupdesk_core::retention::RetentionPolicy,
) -> CommandResult<backupdesk_core::retention::PruneOutcome> {
    let data = local_data(name)?;
    backupdesk_core::retention::save_policy(&data, policy).map_err(|e| {
        IpcError::new(
            backupdesk_core::ErrorKind::Io,
            format!("cannot save the policy: {e}"),
        )
    })?;
    Ok(backupdesk_core::retention::prune(
        &data,
        policy,
        &backupdesk_core::clock::SystemClock,
    )?)
}

/// Which secrets profile `name` has in the keychain.
pub fn secret_status(name: &str) -> crate::commands::secrets::SecretStatus {
    use crate::commands::secrets::SecretStatus;
    match Keychain::open() {
        Ok(keychain) => {
            let has = |kind| matches!(keychain.get(name, kind), Ok(Some(_)));
            let passphrase_stored = passphrase_scope(name).is_ok_and(|scope| {
                matches!(secrets::stored_passphrase(&keychain, &scope), Ok(Some(_)))
            });
            SecretStatus {
                keychain_available: true,
                keychain_error: None,
                passphrase_stored,
                token_stored: has(SecretKind::ApiToken),
                password_stored: has(SecretKind::Password),
            }
        }
        Err(e) => SecretStatus {
            keychain_available: false,
            keychain_error: Some(e.to_string()),
            passphrase_stored: false,
            token_stored: false,
            password_stored: false,
        },
    }
}

/// Stores `secret` as the passphrase of `name` (refusing the scripts'
/// well-known default and an empty one).
pub fn set_passphrase(name: &str, secret: &str) -> CommandResult<()> {
    Ok(secrets::store_passphrase(
        &Keychain::open()?,
        &passphrase_scope(name)?,
        &Passphrase::new(secret.to_owned()),
    )?)
}

/// Forgets the stored passphrase of profile `name`.
pub fn forget_passphrase(name: &str) -> CommandResult<bool> {
    Ok(secrets::forget_passphrase(
        &Keychain::open()?,
        &passphrase_scope(name)?,
    )?)
}

/// Where profile `name`'s passphrase is kept (core's one rule, shared with
/// the CLI: a local installation's folder, a remote profile's name).
fn passphrase_scope(name: &str) -> CommandResult<PassphraseScope> {
    Ok(PassphraseScope::for_profile(name, &profile(name)?))
}

/// Rotates the passphrase of local profile `name` to `secret` and stores
/// the new one once every backup was re-encrypted.
pub fn rotate(
    name: &str,
    secret: &str,
) -> CommandResult<backupdesk_core::rotation::RotationReport> {
    let new = Passphrase::new(secret.to_owned());
    let report = backupdesk_core::rotation::rotate(
        &local_data(name)?,
        &passphrase(name)?,
        &new,
        &backupdesk_core::clock::SystemClock,
        &backupdesk_core::progress::NoProgress,
    )?;
    if report.complete() {
        secrets::store_passphrase(&Keychain::open()?, &passphrase_scope(name)?, &new)?;
    }
    Ok(report)
}
