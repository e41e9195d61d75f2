//! "Try a demo": a demo data directory with a profile and a passphrase.

use serde::Serialize;

use crate::error::{CommandResult, blocking};
use crate::state;

/// What the demo set up.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct DemoCreated {
    pub profile: String,
    pub data_dir: String,
    #[ts(type = "number")]
    pub size_bytes: u64,
    pub tables: u32,
}

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
        state::create_demo(
            &profile,
            &dir,
            size_mib,
            zeroize::Zeroizing::new(passphrase),
        )
    })
    .await
}
