//! Settings that touch secrets: the backup passphrase, the server login,
//! the keychain and the schedule. Secrets arrive from the UI and go
//! straight to the keychain; they are never logged (`skip` below).

use backupdesk_core::keychain::{Keychain, SecretKind};
use backupdesk_core::rotation::RotationReport;
use backupdesk_core::schedule::{self, ScheduleStatus, Scheduler};
use backupdesk_core::verify;
use serde::Serialize;
use zeroize::Zeroizing;

use crate::error::CommandResult;
use crate::state;

/// What the keychain holds for a profile.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct SecretStatus {
    /// Whether a keychain answers at all.
    pub keychain_available: bool,
    /// Why not, when it does not.
    pub keychain_error: Option<String>,
    pub passphrase_stored: bool,
    pub token_stored: bool,
    pub password_stored: bool,
}

/// Which secrets profile `profile` has in the keychain.
#[tauri::command(async)]
pub fn secret_status(profile: String) -> SecretStatus {
    state::secret_status(&profile)
}

/// Stores the backup passphrase of `profile`.
#[tauri::command(async)]
#[tracing::instrument(skip(passphrase))]
pub fn set_passphrase(profile: String, passphrase: String) -> CommandResult<()> {
    state::set_passphrase(&profile, &Zeroizing::new(passphrase))
}

/// Checks the stored passphrase on the newest encrypted backup; returns
/// that backup's name.
#[tauri::command(async)]
pub fn test_passphrase(profile: String) -> CommandResult<String> {
    Ok(verify::test_passphrase(
        &state::local_data(&profile)?,
        &state::passphrase(&profile)?,
    )?)
}

/// Forgets the stored passphrase of `profile`.
#[tauri::command(async)]
pub fn forget_passphrase(profile: String) -> CommandResult<bool> {
    Ok(Keychain::open()?.forget(&profile, SecretKind::Passphrase)?)
}

/// Re-encrypts every backup of `profile` with `new_passphrase` and stores
/// it (a backup is only replaced once its new copy verified).
#[tauri::command(async)]
#[tracing::instrument(skip(new_passphrase))]
pub fn rotate_passphrase(profile: String, new_passphrase: String) -> CommandResult<RotationReport> {
    state::rotate(&profile, &Zeroizing::new(new_passphrase))
}

/// Logs in to a remote profile; the token (and, when `remember`, the
/// password) goes to the keychain.
#[tauri::command(async)]
#[tracing::instrument(skip(password))]
pub fn login(profile: String, password: String, remember: bool) -> CommandResult<()> {
    let password = Zeroizing::new(password);
    Ok(backupdesk_core::target::sign_in(
        &profile,
        &state::profile(&profile)?,
        &password,
        remember,
    )?)
}

/// Forgets the token and password of a remote profile.
#[tauri::command(async)]
pub fn logout(profile: String) -> CommandResult<()> {
    let keychain = Keychain::open()?;
    keychain.forget(&profile, SecretKind::ApiToken)?;
    keychain.forget(&profile, SecretKind::Password)?;
    Ok(())
}

/// Whether the scheduled backup job is installed on this machine.
#[tauri::command(async)]
pub fn schedule_status() -> CommandResult<ScheduleStatus> {
    Ok(schedule::status(&Scheduler::detect())?)
}
