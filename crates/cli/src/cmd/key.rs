//! `backupdesk key create NAME`

use std::process::ExitCode;

use backupdesk_core::OperationContext;
use backupdesk_core::service::encryption;

use crate::args::{GlobalArgs, KeyVerb};
use crate::failure::fail;
use crate::output::print_ok;

pub fn run(
    global: &GlobalArgs,
    verb: KeyVerb,
    ctx: &OperationContext<'_>,
) -> anyhow::Result<ExitCode> {
    let KeyVerb::Create(args) = verb;
    let made = encryption::create_key(&args.name, &args.out, ctx).map_err(fail)?;
    if global.json {
        print_ok(&made);
    } else {
        println!("Key made: {} ({})", made.fingerprint, made.user_id);
        println!(
            "  secret part kept in the keychain (key ids {})",
            made.key_ids.join(", ")
        );
        println!(
            "  certificate: {} (give it to `encryption set --recipient`)",
            made.certificate
        );
        println!(
            "  recovery sheet: {} (print it, keep the paper safe, then delete the file)",
            made.recovery_sheet
        );
    }
    Ok(ExitCode::SUCCESS)
}
