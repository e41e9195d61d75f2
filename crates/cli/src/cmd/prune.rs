//! `backupdesk prune [--dry-run] [--keep-* N] [--save]`

use std::process::ExitCode;

use backupdesk_core::clock::SystemClock;
use backupdesk_core::human::size_human;
use backupdesk_core::lock::OperationLock;
use backupdesk_core::retention::{self, RetentionPlan};

use crate::args::{GlobalArgs, PruneArgs};
use crate::cmd::confirm;
use crate::failure::{fail, failed};
use crate::output::print_json;

pub fn run(global: &GlobalArgs, args: &PruneArgs) -> anyhow::Result<ExitCode> {
    let data = super::data_dir(global);
    let saved = global
        .retention
        .unwrap_or_else(|| retention::saved_policy(&data));
    let policy = args.policy.over(saved);
    let _lock = if args.dry_run {
        None
    } else {
        Some(OperationLock::acquire(&data).map_err(fail)?)
    };
    let plan = retention::plan_for(&data, &policy, &SystemClock).map_err(fail)?;
    if args.save && !args.dry_run {
        retention::save_policy(&data, &policy).map_err(|e| {
            failed(
                backupdesk_core::ErrorKind::Io,
                format!("cannot save the policy in {}: {e}", data.state().display()),
            )
        })?;
    }
    if args.dry_run {
        if global.json {
            print_json(&serde_json::json!({ "ok": true, "dry_run": true, "plan": plan }));
        } else {
            print_plan(&plan);
            println!("Dry run: nothing was deleted.");
        }
        return Ok(ExitCode::SUCCESS);
    }
    if !global.json {
        print_plan(&plan);
    }
    if plan.delete_count > 0 {
        confirm::typed(
            global.yes,
            &format!("{} backup(s) will be deleted.", plan.delete_count),
            "DELETE",
        )?;
    }
    let outcome = retention::apply(&data, &plan);
    let ok = outcome.failed.is_empty();
    if global.json {
        print_json(&serde_json::json!({ "ok": ok, "plan": plan, "outcome": outcome }));
    } else {
        println!(
            "Deleted {} backup(s), {} freed.",
            outcome.deleted.len(),
            size_human(outcome.bytes_freed)
        );
        for (name, error) in &outcome.failed {
            println!("  could not delete {name}: {error}");
        }
    }
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn print_plan(plan: &RetentionPlan) {
    let p = &plan.policy;
    println!(
        "Policy: keep last {}, daily {}, weekly {}, monthly {}, pre-restore {}",
        p.keep_last, p.daily, p.weekly, p.monthly, p.pre_restore
    );
    for d in &plan.decisions {
        let decision = if d.deleted() {
            "delete".to_owned()
        } else {
            d.keep
                .iter()
                .map(|k| k.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        };
        println!(
            "  {:<36} {:>11}  {decision}",
            d.filename,
            size_human(d.bytes)
        );
    }
    println!(
        "{} kept, {} to delete, {} freed",
        plan.keep_count,
        plan.delete_count,
        size_human(plan.bytes_freed)
    );
}
