//! The retention editor: a live preview of a policy, then prune.

use backupdesk_core::local::retention::{self, PruneOutcome, RetentionPlan, RetentionPolicy};
use backupdesk_core::service::profiles;

use crate::error::{CommandResult, blocking, in_context};

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
    in_context(move |ctx| {
        Ok(retention::plan_for(
            &profiles::local_data(&profile)?,
            &policy,
            ctx,
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
    in_context(move |ctx| Ok(profiles::apply_retention(&profile, &policy, ctx)?)).await
}
