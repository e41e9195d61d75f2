//! The retention editor: a live preview of a policy, then prune.

use backupdesk_core::clock::SystemClock;
use backupdesk_core::retention::{self, PruneOutcome, RetentionPlan, RetentionPolicy};
use backupdesk_core::service::profiles;

use crate::error::{CommandResult, blocking};

/// The policy in force for a local profile (its own, else the saved one).
#[tauri::command]
pub async fn retention_policy(profile: String) -> CommandResult<RetentionPolicy> {
    blocking(move || Ok(profiles::retention_policy(&profile)?)).await
}

/// What `policy` would keep (and by which rule) and delete, and the bytes
/// freed. Changes nothing.
#[tauri::command]
pub async fn preview_retention(
    profile: String,
    policy: RetentionPolicy,
) -> CommandResult<RetentionPlan> {
    blocking(move || {
        Ok(retention::plan_for(
            &profiles::local_data(&profile)?,
            &policy,
            &SystemClock,
        )?)
    })
    .await
}

/// Applies `policy` now (prune), and saves it as the folder's policy.
#[tauri::command]
pub async fn apply_retention(
    profile: String,
    policy: RetentionPolicy,
) -> CommandResult<PruneOutcome> {
    blocking(move || Ok(profiles::apply_retention(&profile, &policy, &SystemClock)?)).await
}
