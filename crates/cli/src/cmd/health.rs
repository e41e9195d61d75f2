//! `backupdesk health` and `backupdesk storage`

use std::process::ExitCode;

use backupdesk_core::OperationContext;
use backupdesk_core::local::health::{HealthReport, StorageReport};
use backupdesk_core::service::inspect;

use crate::failure::fail;

use crate::args::GlobalArgs;
use crate::output::print_json;

pub fn health(global: &GlobalArgs, ctx: &OperationContext<'_>) -> anyhow::Result<ExitCode> {
    let report = inspect::health(&super::selection(global, ctx)?, ctx).map_err(fail)?;
    if global.json {
        print_json(&report);
    } else {
        match &report {
            HealthReport::Checked(h) => {
                println!(
                    "{}: integrity {}, {} tables, {} ({} pages of {} bytes), {} foreign-key errors",
                    if h.healthy { "Healthy" } else { "UNHEALTHY" },
                    h.integrity_check,
                    h.tables,
                    h.size_human,
                    h.page_count,
                    h.page_size,
                    h.foreign_key_errors
                );
                for table in &h.table_details {
                    println!("  {:<28} {:>12}", table.name, table.rows);
                }
            }
            HealthReport::Failed(f) => println!("UNHEALTHY: {}", f.error),
        }
    }
    Ok(if report.healthy() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

pub fn storage(global: &GlobalArgs, ctx: &OperationContext<'_>) -> anyhow::Result<ExitCode> {
    let report = inspect::storage(&super::selection(global, ctx)?).map_err(fail)?;
    if global.json {
        print_json(&report);
    } else {
        match &report {
            StorageReport::Measured(s) => {
                println!("Database:       {}", s.database.size_human);
                println!(
                    "Backups:        {} in {} file(s)",
                    s.backups.size_human, s.backups.count
                );
                println!("Data directory: {}", s.data_directory.size_human);
            }
            StorageReport::Failed(f) => println!("error: {}", f.error),
        }
    }
    Ok(match report {
        StorageReport::Measured(_) => ExitCode::SUCCESS,
        StorageReport::Failed(_) => ExitCode::from(1),
    })
}
