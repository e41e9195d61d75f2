//! "Try a demo": a demo data directory with a profile and a passphrase, in
//! one click (every field has a default) or customised.

use backupdesk_core::format::crypto::Passphrase;
use backupdesk_core::service::profiles::{self, DemoCreated, DemoDefaults};
use backupdesk_core::service::{KeptIn, PassphraseHome};
use tauri::State;

use crate::error::{CommandResult, IpcError, blocking, in_context};
use crate::state::Session;

/// The profile name and folder a one-click demo would use.
#[tauri::command]
pub async fn demo_defaults() -> CommandResult<DemoDefaults> {
    blocking(move || Ok(profiles::demo_defaults()?)).await
}

/// Creates a demo installation, a local profile for it and keeps its
/// passphrase in `keep_in`. Whatever is left out takes its default: the
/// name and folder of [`demo_defaults`], a random passphrase (the demo
/// needs no typing). All or nothing.
#[tauri::command]
#[tracing::instrument(skip(passphrase, session))]
pub async fn create_demo(
    profile: Option<String>,
    dir: Option<String>,
    size_mib: u32,
    passphrase: Option<String>,
    keep_in: KeptIn,
    session: State<'_, Session>,
) -> CommandResult<DemoCreated> {
    let session = session.inner().clone();
    in_context(move |ctx| {
        let defaults = profiles::demo_defaults()?;
        let passphrase = match passphrase.filter(|p| !p.is_empty()) {
            Some(given) => Passphrase::new(given),
            None => Passphrase::generate().map_err(|e| {
                IpcError::new(
                    backupdesk_core::ErrorKind::Internal,
                    format!("cannot make a passphrase: {e}"),
                )
            })?,
        };
        Ok(profiles::create_demo(
            profile.as_deref().unwrap_or(&defaults.profile),
            dir.as_deref().unwrap_or(&defaults.data_dir),
            size_mib,
            &passphrase,
            PassphraseHome::of(keep_in, &session.0),
            ctx,
        )?)
    })
    .await
}
