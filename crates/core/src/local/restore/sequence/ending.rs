//! How a restore ends: **finish** (the restored database in place and
//! checked, the service started, old pre-restore backups pruned by their
//! own rule) or **roll back** (the previous database put back).

use super::*;
use crate::context::OperationContext;

/// Stage 5a: the restored database is in place and checked. A start
/// command that fails now may still have started the service (which then
/// writes into the restored file): rolling back underneath it would lose
/// those writes, so its failure is reported, never undone.
pub(super) fn finish(
    mut run: Run<'_>,
    file_name: &str,
    method: SwapMethod,
    previous: StagedFile,
    tables: Vec<TableRows>,
    safety: &SafetyBackup,
    cleanup: &mut Cleanup<'_>,
) -> RestoreReport {
    cleanup.restart = false;
    if let Some(cmd) = &run.options.start_cmd {
        let started = if run.faults.fault == Some(FaultPoint::StartCommand) {
            Err(ServiceCommandError::Injected)
        } else {
            run_shell(cmd)
        };
        match started {
            Ok(()) => run.info("Service started"),
            Err(e) => {
                let text = format!(
                    "the restore is in place, but the start command `{cmd}` failed ({e}): check whether the service runs and start it by hand"
                );
                run.log.append(&run.ctx, Level::Error, &text);
                run.warnings.push(text);
            }
        }
    }
    // The old file (kept for a rollback) goes while old safety backups are
    // pruned: freeing 512 MiB takes 0.1 s.
    let mut warnings = std::mem::take(&mut run.warnings);
    std::thread::scope(|scope| {
        scope.spawn(move || drop(previous));
        prune_pre_restore(run.data, &run.ctx, &mut warnings);
    });
    RestoreReport {
        backup: file_name.to_owned(),
        pre_restore_backup: safety.name.clone(),
        swap: method,
        tables,
        duration_ms: run.started.elapsed().as_millis() as u64,
        warnings,
    }
}

/// Stage 5b: the swap changed the live database and its result failed the
/// check: put the previous content back (the kept file after a rename, the
/// staged snapshot through the backup API) and say which way it went.
pub(super) fn roll_back(
    run: &Run<'_>,
    live: &LiveDatabase,
    method: SwapMethod,
    previous: &StagedFile,
    reason: SwapError,
    safety: SafetyBackup,
) -> RestoreError {
    run.log.append(
        &run.ctx,
        Level::Error,
        &format!("Restore failed after the swap began: {reason}; rolling back"),
    );
    let pre_restore_backup = safety.label();
    let rollback = match (method, &safety.snapshot) {
        _ if !live.exists => Err(SwapError::NoPreviousDatabase),
        (SwapMethod::Rename, _) => swap::rollback_rename(previous.path(), &live.path),
        (SwapMethod::BackupApi, Some(snapshot)) => swap::by_backup_api(
            snapshot.path(),
            &live.path,
            &[],
            None,
            None,
            run.busy_wait(),
        )
        .map(drop)
        .map_err(|f| f.error),
        (SwapMethod::BackupApi, None) => Err(SwapError::NoPreviousCopy),
    };
    match rollback {
        Ok(()) => {
            run.info(&format!(
                "Rolled back; previous content also kept in {pre_restore_backup}"
            ));
            RestoreError::RolledBack {
                reason: Box::new(reason),
                pre_restore_backup,
            }
        }
        Err(rollback_error) => RestoreError::RollbackFailed {
            reason: Box::new(reason),
            rollback_error: Box::new(rollback_error),
            pre_restore_backup,
        },
    }
}

/// Prunes old pre-restore backups with the saved policy (their own rule).
pub(super) fn prune_pre_restore(
    data: &DataDir,
    ctx: &OperationContext<'_>,
    warnings: &mut Vec<String>,
) {
    let policy = retention::saved_policy(data);
    let Ok(catalog) = BackupCatalog::scan(data) else {
        return;
    };
    let ledger = crate::local::ledger::Ledger::load(data);
    let mut plan = retention::plan(&catalog, &ledger, &policy, ctx);
    plan.decisions
        .retain(|d| BackupName::parse(&d.filename).is_ok_and(|n| n.kind().is_pre_restore()));
    let outcome = retention::apply(
        data,
        &plan,
        ctx,
        "the automatic retention of safety backups after a restore",
    );
    for (name, error) in outcome.failed {
        warnings.push(format!(
            "could not prune the old pre-restore backup {name}: {error}"
        ));
    }
}
