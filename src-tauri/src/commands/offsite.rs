//! Off-site copies in the app: the locations of a profile with what this
//! machine's ledgers say (no request), adding one (S3 keys go to the
//! keychain), testing, pushing and verifying with progress.

use std::path::PathBuf;

use backupdesk_core::offsite::OffsiteKeys;
use backupdesk_core::service::offsite::{
    self, DeepScope, Fetched, LocationOverview, LocationTest, OffsiteVerify, PushOptions,
    PushReport, S3Spec, SftpSpec, StoreSpec, StoredCopy,
};
use backupdesk_core::service::{Selection, StoredPassphrase};
use serde::Deserialize;
use tauri::State;
use tauri::ipc::Channel;

use crate::error::{CommandResult, in_context, operation};
use crate::progress::ProgressEvent;
use crate::state::{Operations, Session};

/// A location as the settings form describes it.
#[derive(Debug, Clone, Deserialize, ts_rs::TS)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum NewLocation {
    S3 {
        url: String,
        endpoint: Option<String>,
        region: Option<String>,
        path_style: bool,
        key_id: String,
        secret: String,
    },
    Sftp {
        target: String,
        port: Option<u16>,
        identity: Option<PathBuf>,
        /// The key's passphrase, for the keychain (empty: none).
        key_passphrase: Option<String>,
    },
}

/// The profile's locations and what the ledgers know of their copies.
#[tauri::command]
pub async fn offsite_overview(profile: String) -> CommandResult<Vec<LocationOverview>> {
    in_context(move |ctx| Ok(offsite::overview(&Selection::profile(&profile, ctx)?)?)).await
}

/// Adds location `name` to the profile (an SFTP host is reached once, which
/// pins its host key).
#[tauri::command]
pub async fn add_offsite_location(
    profile: String,
    name: String,
    store: NewLocation,
) -> CommandResult<()> {
    in_context(move |ctx| {
        let selection = Selection::profile(&profile, ctx)?;
        let (spec, keys) = match store {
            NewLocation::S3 {
                url,
                endpoint,
                region,
                path_style,
                key_id,
                secret,
            } => (
                StoreSpec::S3(S3Spec {
                    url,
                    endpoint: endpoint.filter(|e| !e.is_empty()),
                    region: region.filter(|r| !r.is_empty()),
                    path_style,
                }),
                Some(OffsiteKeys { key_id, secret }).filter(|k| !k.key_id.is_empty()),
            ),
            NewLocation::Sftp {
                target,
                port,
                identity,
                key_passphrase,
            } => (
                StoreSpec::Sftp(SftpSpec {
                    target,
                    port,
                    identity,
                    key_passphrase: key_passphrase
                        .filter(|p| !p.is_empty())
                        .map(zeroize::Zeroizing::new),
                }),
                None,
            ),
        };
        offsite::add(&selection, &name, &spec, keys, false, ctx)?;
        Ok(())
    })
    .await
}

/// Removes location `name` and forgets its keys (its copies stay).
#[tauri::command]
pub async fn remove_offsite_location(name: String) -> CommandResult<()> {
    in_context(move |ctx| {
        offsite::remove(&name, ctx)?;
        Ok(())
    })
    .await
}

/// Reaches location `name`, writes a probe, reads it back, deletes it.
#[tauri::command]
pub async fn test_offsite_location(name: String) -> CommandResult<LocationTest> {
    in_context(move |ctx| Ok(offsite::test(&name, ctx)?)).await
}

/// Copies every backup not yet at the profile's locations (operation `op`).
#[tauri::command]
pub async fn push_offsite(
    profile: String,
    op: String,
    on_progress: Channel<ProgressEvent>,
    operations: State<'_, Operations>,
) -> CommandResult<Vec<PushReport>> {
    operation(&operations, op, on_progress, move |ctx| {
        Ok(offsite::push(
            &Selection::profile(&profile, ctx)?,
            &PushOptions::default(),
            ctx,
        )?)
    })
    .await
}

/// Checks the profile's copies: quick, or deep on the rolling plan.
#[tauri::command]
pub async fn verify_offsite(
    profile: String,
    deep: bool,
    op: String,
    on_progress: Channel<ProgressEvent>,
    operations: State<'_, Operations>,
    session: State<'_, Session>,
) -> CommandResult<Vec<OffsiteVerify>> {
    let session = session.inner().clone();
    operation(&operations, op, on_progress, move |ctx| {
        let selection = Selection::profile(&profile, ctx)?;
        Ok(offsite::verify(
            &selection,
            None,
            deep.then_some(DeepScope::Rolling),
            &StoredPassphrase::new(&selection, ctx).with_session(&session.0),
            ctx,
        )?)
    })
    .await
}

/// What location `name` holds, read from the store (one listing).
#[tauri::command]
pub async fn offsite_copies(name: String) -> CommandResult<Vec<StoredCopy>> {
    in_context(move |ctx| Ok(offsite::copies(&name, ctx)?)).await
}

/// Brings backup `name` and its `.meta` from `location` into the profile's
/// backups folder (the restore wizard then verifies and restores it).
#[tauri::command]
pub async fn fetch_offsite(
    profile: String,
    location: String,
    name: String,
    op: String,
    on_progress: Channel<ProgressEvent>,
    operations: State<'_, Operations>,
) -> CommandResult<Fetched> {
    operation(&operations, op, on_progress, move |ctx| {
        Ok(offsite::fetch(
            &Selection::profile(&profile, ctx)?,
            &location,
            Some(&name),
            ctx,
        )?)
    })
    .await
}
