//! The installation's encryption policy in Settings: shown (its keys'
//! fingerprints, its ways in, what the server's own restore cannot read),
//! and existing backups given its ways in by their key packets alone.

use backupdesk_core::local::rotation::{RewrapReport, RewrapRequest};
use backupdesk_core::service::encryption::{self, KeyCreated, PolicySetting, PolicyView};
use backupdesk_core::service::{Selection, StoredPassphrase};
use tauri::State;
use tauri::ipc::Channel;

use crate::error::{CommandResult, in_context, operation};
use crate::progress::ProgressEvent;
use crate::state::{Operations, Session};

/// The encryption policy of a local profile's installation.
#[tauri::command]
pub async fn encryption_policy(profile: String) -> CommandResult<PolicyView> {
    in_context(move |ctx| Ok(encryption::show(&Selection::profile(&profile, ctx)?, ctx)?)).await
}

/// Gives every backup of `profile` the policy's ways in (operation `op`):
/// new key packets, the encrypted body untouched.
#[tauri::command]
pub async fn rewrap_backups(
    profile: String,
    op: String,
    on_progress: Channel<ProgressEvent>,
    operations: State<'_, Operations>,
    session: State<'_, Session>,
) -> CommandResult<RewrapReport> {
    let session = session.inner().clone();
    operation(&operations, op, on_progress, move |ctx| {
        let selection = Selection::profile(&profile, ctx)?;
        let request = RewrapRequest {
            backups: Vec::new(),
            all: true,
            dry_run: false,
        };
        Ok(encryption::rewrap(
            &selection,
            &request,
            &StoredPassphrase::new(&selection, ctx).with_session(&session.0),
            ctx,
        )?)
    })
    .await
}

/// Sets the encryption policy of `profile`'s installation from the form:
/// refused, with nothing changed, when it has fewer than two ways in or a
/// recipient cannot be read.
#[tauri::command]
#[tracing::instrument(skip(setting))]
pub async fn set_encryption_policy(
    profile: String,
    setting: PolicySetting,
) -> CommandResult<PolicyView> {
    in_context(move |ctx| {
        Ok(encryption::set(
            &Selection::profile(&profile, ctx)?,
            &setting.request(),
        )?)
    })
    .await
}

/// Makes a key for the admin: its secret part in the keychain, its
/// certificate and recovery sheet (0600) in `folder`.
#[tauri::command]
pub async fn create_key(name: String, folder: String) -> CommandResult<KeyCreated> {
    in_context(move |ctx| {
        Ok(encryption::create_key(
            &name,
            std::path::Path::new(&folder),
            ctx,
        )?)
    })
    .await
}
