//! The retention editor: a live preview of a policy, then prune.

use backupdesk_core::clock::SystemClock;
use backupdesk_core::retention::{self, PruneOutcome, RetentionPlan, RetentionPolicy};

use crate::error::CommandResult;
use crate::state;

/// The policy in force for a local profile (its own, else the saved one).
#[tauri::command(async)]
pub fn retention_policy(profile: String) -> CommandResult<RetentionPolicy> {
    state::retention_policy(&profile)
}

/// What `policy` would keep (and by which rule) and delete, and the bytes
/// freed. Changes nothing.
#[tauri::command(async)]
pub fn preview_retention(profile: String, policy: RetentionPolicy) -> CommandResult<RetentionPlan> {
    Ok(retention::plan_for(
        &state::local_data(&profile)?,
        &policy,
        &SystemClock,
    )?)
}

/// Applies `policy` now (prune), and saves it as the folder's policy.
#[tauri::command(async)]
pub fn apply_retention(profile: String, policy: RetentionPolicy) -> CommandResult<PruneOutcome> {
    state::apply_retention(&profile, &policy)
}
