//! Settings that touch secrets: the backup passphrase, the server login,
//! the keychain. Secrets arrive from the UI and go
//! straight to the keychain, or, when none can keep them, to this
//! session's memory; they are never logged (`skip` below).

use backupdesk_core::format::crypto::Passphrase;
use backupdesk_core::local::rotation::RotationReport;
use backupdesk_core::service::backups;
use backupdesk_core::service::profile_book;
use backupdesk_core::service::profiles::{self, SecretStatus};
use backupdesk_core::service::{KeptIn, PassphraseHome, Selection, StoredPassphrase};
use tauri::State;
use zeroize::Zeroizing;

use crate::error::{CommandResult, in_context};
use crate::state::Session;

/// Which secrets profile `profile` has, in the keychain and in memory.
#[tauri::command]
pub async fn secret_status(
    profile: String,
    session: State<'_, Session>,
) -> CommandResult<SecretStatus> {
    let session = session.inner().clone();
    in_context(move |ctx| Ok(profiles::secret_status(&profile, &session.0, ctx))).await
}

/// How many passphrases this session keeps in memory (the app's banner
/// shows while any is).
#[tauri::command]
pub fn kept_in_session(session: State<'_, Session>) -> u32 {
    u32::try_from(session.0.len()).unwrap_or(u32::MAX)
}

/// Keeps the backup passphrase of `profile` in the keychain or, with
/// `keep_in` = `session`, in memory until the app ends. One that opens
/// none of a local installation's backups is refused unless `new_set`
/// (a new set meant on purpose; absent: false).
#[tauri::command]
#[tracing::instrument(skip(passphrase, session))]
pub async fn set_passphrase(
    profile: String,
    passphrase: String,
    keep_in: KeptIn,
    new_set: Option<bool>,
    session: State<'_, Session>,
) -> CommandResult<()> {
    let session = session.inner().clone();
    in_context(move |ctx| {
        Ok(profiles::set_passphrase(
            &profile,
            &Passphrase::new(passphrase),
            PassphraseHome::of(keep_in, &session.0),
            new_set.unwrap_or(false),
            ctx,
        )?)
    })
    .await
}

/// Checks the kept passphrase on the newest encrypted backup; returns
/// that backup's name.
#[tauri::command]
pub async fn test_passphrase(
    profile: String,
    session: State<'_, Session>,
) -> CommandResult<String> {
    let session = session.inner().clone();
    in_context(move |ctx| {
        let selection = Selection::profile(&profile, ctx)?;
        Ok(backups::test_passphrase(
            &selection,
            &StoredPassphrase::new(&selection, ctx).with_session(&session.0),
        )?)
    })
    .await
}

/// Forgets the passphrase of `profile` (keychain and memory).
#[tauri::command]
pub async fn forget_passphrase(
    profile: String,
    session: State<'_, Session>,
) -> CommandResult<bool> {
    let session = session.inner().clone();
    in_context(move |ctx| Ok(profiles::forget_passphrase(&profile, &session.0, ctx)?)).await
}

/// Rotates every backup of `profile` to `new_passphrase` by its key
/// packets (the encrypted body untouched) and keeps it where the old one
/// was (the old one is removed only once every backup opens with the new).
#[tauri::command]
#[tracing::instrument(skip(new_passphrase, session))]
pub async fn rotate_passphrase(
    profile: String,
    new_passphrase: String,
    session: State<'_, Session>,
) -> CommandResult<RotationReport> {
    let session = session.inner().clone();
    in_context(move |ctx| {
        Ok(profiles::rotate(
            &profile,
            &Passphrase::new(new_passphrase),
            &session.0,
            ctx,
        )?)
    })
    .await
}

/// Logs in to a remote profile; the token (and, when `remember`, the
/// password) goes to the keychain.
#[tauri::command]
#[tracing::instrument(skip(password))]
pub async fn login(profile: String, password: String, remember: bool) -> CommandResult<()> {
    in_context(move |ctx| {
        let password = Zeroizing::new(password);
        Ok(profile_book::sign_in(&profile, &password, remember, ctx)?)
    })
    .await
}

/// Forgets the token and password of a remote profile.
#[tauri::command]
pub async fn logout(profile: String) -> CommandResult<()> {
    in_context(move |ctx| Ok(profile_book::sign_out(&profile, ctx)?)).await
}

/// The recovery sheet of `profile`'s backup passphrase, once the profile's
/// name was typed as `confirmation` (the passphrase goes to the screen
/// that asked, nowhere else: not logged).
#[tauri::command]
#[tracing::instrument(skip(session))]
pub async fn recovery_sheet(
    profile: String,
    confirmation: String,
    session: State<'_, Session>,
) -> CommandResult<backupdesk_core::service::recovery::RecoverySheet> {
    let session = session.inner().clone();
    in_context(move |ctx| {
        Ok(backupdesk_core::service::recovery::recovery_sheet(
            &profile,
            &confirmation,
            &session.0,
            ctx,
        )?)
    })
    .await
}
