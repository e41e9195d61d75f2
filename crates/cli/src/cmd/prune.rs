//! `backupdesk prune [--dry-run] [--keep-* N] [--save]`

use std::process::ExitCode;

use backupdesk_core::OperationContext;
use backupdesk_core::format::human::size_human;
use backupdesk_core::local::retention::{PruneOutcome, RetentionPlan};
use backupdesk_core::service::retention::{self, PruneRequest};

use crate::args::{GlobalArgs, PruneArgs};
use crate::cmd::confirm;
use crate::failure::fail;
use crate::output::{print_dry_run, print_json};

/// `--json` of a prune that ran.
#[derive(serde::Serialize)]
struct Pruned<'a> {
    ok: bool,
    plan: &'a RetentionPlan,
    outcome: &'a PruneOutcome,
}

pub fn run(
    global: &GlobalArgs,
    args: &PruneArgs,
    ctx: &OperationContext<'_>,
) -> anyhow::Result<ExitCode> {
    let selection = super::selection(global, ctx)?;
    let policy = args
        .policy
        .over(retention::policy(&selection).map_err(fail)?);
    let request = PruneRequest {
        dry_run: args.dry_run,
        save_policy: args.save,
    };
    let planned = retention::plan_prune(&selection, &policy, request, ctx).map_err(fail)?;
    let plan = planned.plan.clone();
    if args.dry_run {
        if global.json {
            print_dry_run(&plan);
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
    let outcome = planned.apply(ctx);
    let ok = outcome.failed.is_empty();
    if global.json {
        print_json(&Pruned {
            ok,
            plan: &plan,
            outcome: &outcome,
        });
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
