//! Settings that touch secrets: the backup passphrase, the server login,
//! the keychain and the schedule. Secrets arrive from the UI and go
//! straight to the keychain; they are never logged (`skip` below).

use backupdesk_core::clock::SystemClock;
use backupdesk_core::crypto::Passphrase;
use backupdesk_core::keychain::{Keychain, SecretKind};
use backupdesk_core::progress::NoProgress;
use backupdesk_core::rotation::RotationReport;
use backupdesk_core::schedule::{self, ScheduleStatus, Scheduler};
use backupdesk_core::service::backups;
use backupdesk_core::service::profiles::{self, SecretStatus};
use backupdesk_core::service::{Selection, StoredPassphrase};
use zeroize::Zeroizing;

use crate::error::{CommandResult, blocking};

/// Which secrets profile `profile` has in the keychain.
#[tauri::command]
pub async fn secret_status(profile: String) -> CommandResult<SecretStatus> {
    blocking(move || Ok(profiles::secret_status(&profile))).await
}

/// Stores the backup passphrase of `profile`.
#[tauri::command]
#[tracing::instrument(skip(passphrase))]
pub async fn set_passphrase(profile: String, passphrase: String) -> CommandResult<()> {
    blocking(move || {
        Ok(profiles::set_passphrase(
            &profile,
            &Passphrase::new(passphrase),
        )?)
    })
    .await
}

/// Checks the stored passphrase on the newest encrypted backup; returns
/// that backup's name.
#[tauri::command]
pub async fn test_passphrase(profile: String) -> CommandResult<String> {
    blocking(move || {
        let selection = Selection::profile(&profile)?;
        Ok(backups::test_passphrase(
            &selection,
            &StoredPassphrase(&selection),
        )?)
    })
    .await
}

/// Forgets the stored passphrase of `profile`.
#[tauri::command]
pub async fn forget_passphrase(profile: String) -> CommandResult<bool> {
    blocking(move || Ok(profiles::forget_passphrase(&profile)?)).await
}

/// Re-encrypts every backup of `profile` with `new_passphrase` and stores
/// it (a backup is only replaced once its new copy verified).
#[tauri::command]
#[tracing::instrument(skip(new_passphrase))]
pub async fn rotate_passphrase(
    profile: String,
    new_passphrase: String,
) -> CommandResult<RotationReport> {
    blocking(move || {
        Ok(profiles::rotate(
            &profile,
            &Passphrase::new(new_passphrase),
            &SystemClock,
            &NoProgress,
        )?)
    })
    .await
}

/// Logs in to a remote profile; the token (and, when `remember`, the
/// password) goes to the keychain.
#[tauri::command]
#[tracing::instrument(skip(password))]
pub async fn login(profile: String, password: String, remember: bool) -> CommandResult<()> {
    blocking(move || {
        let password = Zeroizing::new(password);
        Ok(backupdesk_core::target::sign_in(
            &profile,
            &profiles::profile(&profile)?,
            &password,
            remember,
        )?)
    })
    .await
}

/// Forgets the token and password of a remote profile.
#[tauri::command]
pub async fn logout(profile: String) -> CommandResult<()> {
    blocking(move || {
        let keychain = Keychain::open()?;
        keychain.forget(&profile, SecretKind::ApiToken)?;
        keychain.forget(&profile, SecretKind::Password)?;
        Ok(())
    })
    .await
}

/// Whether the scheduled backup job is installed on this machine.
#[tauri::command]
pub async fn schedule_status() -> CommandResult<ScheduleStatus> {
    blocking(move || Ok(schedule::status(&Scheduler::detect())?)).await
}
