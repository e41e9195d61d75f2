//! "Try a demo": a demo data directory with a profile and a passphrase.

use backupdesk_core::clock::SystemClock;
use backupdesk_core::crypto::Passphrase;
use backupdesk_core::service::profiles::{self, DemoCreated};

use crate::error::{CommandResult, blocking};

/// Creates a demo installation in `dir`, a local profile `profile` for
/// it, and stores `passphrase` for it in the keychain.
#[tauri::command]
#[tracing::instrument(skip(passphrase))]
pub async fn create_demo(
    profile: String,
    dir: String,
    size_mib: u32,
    passphrase: String,
) -> CommandResult<DemoCreated> {
    blocking(move || {
        Ok(profiles::create_demo(
            &profile,
            &dir,
            size_mib,
            &Passphrase::new(passphrase),
            &SystemClock,
        )?)
    })
    .await
}
