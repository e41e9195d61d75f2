//! Retention of a selection, plan then execute: the policy in force, a
//! prune planned under the operation lock (so nothing changes between the
//! plan the admin confirms and its deletions), then applied.

use crate::context::OperationContext;
use crate::local::layout::DataDir;
use crate::local::lock::OperationLock;
use crate::local::retention::{self, PruneOutcome, RetentionPlan, RetentionPolicy};
use crate::service::error::ServiceError;
use crate::service::selection::Selection;

type Result<T> = std::result::Result<T, ServiceError>;

/// The policy in force: the profile's own, else the one saved in the data
/// folder, else the defaults.
///
/// # Errors
/// A server (its retention is its own).
pub fn policy(selection: &Selection) -> Result<RetentionPolicy> {
    let data = selection.installation()?;
    Ok(selection
        .retention()
        .unwrap_or_else(|| retention::saved_policy(data)))
}

/// A prune planned and not yet applied. Unless it is a dry run it holds
/// the operation lock until applied or dropped.
pub struct PlannedPrune {
    /// Every backup with the rules that keep it, or "delete".
    pub plan: RetentionPlan,
    data: DataDir,
    _lock: Option<OperationLock>,
}

/// How a prune is planned.
#[derive(Debug, Clone, Copy, Default)]
pub struct PruneRequest {
    /// Plan only: no lock taken, nothing saved or deleted.
    pub dry_run: bool,
    /// Save the policy as the folder's (not in a dry run).
    pub save_policy: bool,
}

/// Plans a prune of the selection with `policy`.
///
/// # Errors
/// A server, a busy lock, a damaged ledger (it holds the pins), the policy
/// cannot be saved.
pub fn plan_prune(
    selection: &Selection,
    policy: &RetentionPolicy,
    request: PruneRequest,
    ctx: &OperationContext<'_>,
) -> Result<PlannedPrune> {
    let data = selection.installation()?.clone();
    let lock = match request.dry_run {
        true => None,
        false => Some(OperationLock::acquire(&data).map_err(retention::PruneError::from)?),
    };
    let plan = retention::plan_for(&data, policy, ctx)?;
    if request.save_policy && !request.dry_run {
        retention::save_policy(&data, policy).map_err(|source| ServiceError::Io {
            what: format!("cannot save the policy in {}", data.state().display()),
            source,
        })?;
    }
    Ok(PlannedPrune {
        plan,
        data,
        _lock: lock,
    })
}

impl PlannedPrune {
    /// Deletes what the plan deletes (a backup pinned meanwhile is kept),
    /// then releases the lock.
    pub fn apply(self, ctx: &OperationContext<'_>) -> PruneOutcome {
        retention::apply(&self.data, &self.plan, ctx, "a prune")
    }
}
