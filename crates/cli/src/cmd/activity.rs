//! `backupdesk activity`: what happened to the installation, newest first.

use std::process::ExitCode;

use backupdesk_core::OperationContext;
use backupdesk_core::model::{ActivityPage, ActivityQuery, LogLevel, LogName};
use backupdesk_core::printable::escaped;
use backupdesk_core::service::activity;

use crate::args::{ActivityArgs, GlobalArgs, LevelArg, LogArg};
use crate::failure::fail;
use crate::output::print_json;

/// Exit 1 when a log exists but could not be read (said on stderr).
pub fn run(
    global: &GlobalArgs,
    args: &ActivityArgs,
    ctx: &OperationContext<'_>,
) -> anyhow::Result<ExitCode> {
    let selection = super::selection(global, ctx)?;
    let page = activity::read(&selection, &query_of(args)).map_err(fail)?;
    if global.json {
        print_json(&page);
    } else {
        present(&page);
    }
    for problem in &page.unreadable {
        eprintln!("error: cannot read {}", escaped(problem));
    }
    Ok(if page.unreadable.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn query_of(args: &ActivityArgs) -> ActivityQuery {
    ActivityQuery {
        since: args.since,
        search: args.search.clone().unwrap_or_default(),
        min_level: args.level.map(|l| match l {
            LevelArg::Info => LogLevel::Info,
            LevelArg::Warning => LogLevel::Warning,
            LevelArg::Error => LogLevel::Error,
        }),
        logs: args
            .logs
            .iter()
            .map(|l| match l {
                LogArg::Backup => LogName::Backup,
                LogArg::Verify => LogName::Verify,
                LogArg::Restore => LogName::Restore,
            })
            .collect(),
        limit: args.limit,
    }
}

/// One line per entry (continuation lines indented), then what was left out.
fn present(page: &ActivityPage) {
    if page.entries.is_empty() {
        println!("Nothing recorded that matches.");
    }
    for entry in &page.entries {
        let at = entry.at.map_or_else(
            || "(no time)".to_owned(),
            |at| at.format("%Y-%m-%d %H:%M:%S").to_string(),
        );
        let level = entry.level.map_or("-", LogLevel::as_str);
        let mut lines = entry.message.lines();
        println!(
            "{at:<19}  {:<7}  {:<7}  {}",
            entry.log.as_str(),
            level,
            escaped(lines.next().unwrap_or(""))
        );
        for more in lines {
            println!("{:<39}{}", "", escaped(more));
        }
    }
    if page.matching as usize > page.entries.len() {
        println!(
            "({} of {} matching entries shown; --limit for more)",
            page.entries.len(),
            page.matching
        );
    }
    if page.older_not_read {
        println!("(older entries exist beyond the newest 4 MiB of a log: not read)");
    }
}
