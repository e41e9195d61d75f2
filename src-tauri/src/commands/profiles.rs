//! Profiles: list, add (local folder or remote server), remove.

use backupdesk_core::service::profiles;
use backupdesk_core::targets::profile::{ApiEndpoint, Profile, ProfileTarget};
use serde::Serialize;

use crate::error::{CommandResult, IpcError, blocking, in_context};

/// A profile with its name.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct ProfileEntry {
    pub name: String,
    pub profile: Profile,
}

/// Every profile, by name.
#[tauri::command]
pub async fn list_profiles() -> CommandResult<Vec<ProfileEntry>> {
    blocking(move || {
        Ok(profiles::book()?
            .profiles()
            .iter()
            .map(|(name, profile)| ProfileEntry {
                name: name.clone(),
                profile: profile.clone(),
            })
            .collect())
    })
    .await
}

/// Adds a profile for a Server Monitor folder on this machine.
#[tauri::command]
pub async fn add_local_profile(name: String, data_dir: String) -> CommandResult<()> {
    blocking(move || {
        Ok(profiles::book()?.add(
            &name,
            Profile::new(ProfileTarget::Local {
                data_dir: data_dir.into(),
            }),
        )?)
    })
    .await
}

/// Adds a profile for a remote Server Monitor.
#[tauri::command]
pub async fn add_remote_profile(
    name: String,
    base_url: String,
    username: String,
    ca_cert: Option<String>,
) -> CommandResult<()> {
    blocking(move || {
        Ok(profiles::book()?.add(
            &name,
            Profile::new(ProfileTarget::Remote {
                base_url,
                username,
                ca_cert: ca_cert.filter(|c| !c.is_empty()).map(Into::into),
            }),
        )?)
    })
    .await
}

/// Adds a profile for a Server Monitor reached over SSH (its engine is
/// put there by `backupdesk profile install`), with the same server's API
/// beside it when `api` names one.
#[tauri::command]
pub async fn add_ssh_profile(
    name: String,
    destination: String,
    port: Option<u16>,
    data_dir: String,
    identity: Option<String>,
    api: Option<ApiEndpoint>,
) -> CommandResult<()> {
    blocking(move || {
        Ok(profiles::book()?.add(
            &name,
            Profile::new(ProfileTarget::Ssh {
                destination,
                port,
                identity: identity.filter(|i| !i.is_empty()).map(Into::into),
                data_dir: data_dir.into(),
                engine: None,
                api: api.filter(|a| !a.base_url.is_empty()),
            }),
        )?)
    })
    .await
}

/// Copies Backup Desk's engine (the `backupdesk` command line installed
/// with this app, or built beside it) to SSH profile `profile`'s server,
/// after the admin typed the profile name as `confirmation`.
#[tauri::command]
pub async fn install_engine(
    profile: String,
    confirmation: String,
) -> CommandResult<profiles::EngineInstalled> {
    blocking(move || {
        let engine = engine_binary("nothing to copy to the server")?;
        Ok(profiles::install_engine(&profile, &confirmation, &engine)?)
    })
    .await
}

/// The `backupdesk` executable (to put on servers, for this machine's
/// scheduled jobs to run): beside this app's own (a build folder,
/// `/usr/bin` of the package), else `/usr/bin/backupdesk`; when there is
/// none, the error says so and what it means (`without_it`).
pub(crate) fn engine_binary(without_it: &str) -> CommandResult<std::path::PathBuf> {
    let beside = std::env::current_exe()
        .ok()
        .and_then(|exe| Some(exe.parent()?.join("backupdesk")));
    beside
        .into_iter()
        .chain([std::path::PathBuf::from("/usr/bin/backupdesk")])
        .find(|p| p.is_file())
        .ok_or_else(|| IpcError {
            kind: backupdesk_core::ErrorKind::EngineMissing,
            message: format!(
                "no backupdesk command line is installed beside this app (the backup-desk \
                 package ships /usr/bin/backupdesk): {without_it}"
            ),
        })
}

/// Removes a profile and forgets its secrets (its backups stay).
#[tauri::command]
pub async fn remove_profile(name: String) -> CommandResult<()> {
    in_context(move |ctx| Ok(profiles::remove_profile(&name, ctx)?)).await
}
