//! Profiles: list, add (local folder or remote server), remove.

use backupdesk_core::profile::{Profile, ProfileTarget};
use serde::Serialize;

use crate::error::CommandResult;
use crate::state;

/// A profile with its name.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct ProfileEntry {
    pub name: String,
    pub profile: Profile,
}

/// Every profile, by name.
#[tauri::command(async)]
pub fn list_profiles() -> CommandResult<Vec<ProfileEntry>> {
    Ok(state::book()?
        .profiles()
        .iter()
        .map(|(name, profile)| ProfileEntry {
            name: name.clone(),
            profile: profile.clone(),
        })
        .collect())
}

/// Adds a profile for a Server Monitor folder on this machine.
#[tauri::command(async)]
pub fn add_local_profile(name: String, data_dir: String) -> CommandResult<()> {
    Ok(state::book()?.add(
        &name,
        Profile::new(ProfileTarget::Local {
            data_dir: data_dir.into(),
        }),
    )?)
}

/// Adds a profile for a remote Server Monitor.
#[tauri::command(async)]
pub fn add_remote_profile(
    name: String,
    base_url: String,
    username: String,
    ca_cert: Option<String>,
) -> CommandResult<()> {
    Ok(state::book()?.add(
        &name,
        Profile::new(ProfileTarget::Remote {
            base_url,
            username,
            ca_cert: ca_cert.filter(|c| !c.is_empty()).map(Into::into),
        }),
    )?)
}

/// Removes a profile and forgets its secrets (its backups stay).
#[tauri::command(async)]
pub fn remove_profile(name: String) -> CommandResult<()> {
    state::remove_profile(&name)
}
