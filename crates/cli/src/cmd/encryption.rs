//! `backupdesk encryption show|set|rewrap`

use std::process::ExitCode;

use backupdesk_core::OperationContext;
use backupdesk_core::local::rotation::{RewrapReport, RewrapRequest};
use backupdesk_core::service::encryption::{
    self, CertSource, PolicyRequest, PolicyView, RecoveryRequest,
};

use crate::args::{EncryptionVerb, GlobalArgs};
use crate::failure::fail;
use crate::output::{print_named, print_ok};
use crate::passphrase::CliPassphrase;

pub fn run(
    global: &GlobalArgs,
    verb: EncryptionVerb,
    ctx: &OperationContext<'_>,
) -> anyhow::Result<ExitCode> {
    let selection = super::selection(global, ctx)?;
    if let EncryptionVerb::Rewrap(args) = verb {
        let request = RewrapRequest {
            backups: args.backups,
            all: args.all,
            dry_run: args.dry_run,
        };
        let passphrases = CliPassphrase::new(global, ctx);
        let report = encryption::rewrap(&selection, &request, &passphrases, ctx)
            .map_err(|e| passphrases.explain(e))?;
        if global.json {
            print_named(report.clean(), "report", &report);
        } else {
            present_rewrap(&report);
        }
        return Ok(if report.clean() {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(1)
        });
    }
    let view = match verb {
        EncryptionVerb::Show => encryption::show(&selection, ctx).map_err(fail)?,
        EncryptionVerb::Set(args) => {
            let request = PolicyRequest {
                recipients: args
                    .recipients
                    .iter()
                    .map(|r| CertSource::parse(r))
                    .collect(),
                passphrase: !args.no_passphrase,
                recovery: match &args.recovery_passphrase_file {
                    Some(file) => Some(RecoveryRequest {
                        passphrase: crate::passphrase::from_file(file)?,
                        sheet_dir: args.out.clone().unwrap_or_else(|| ".".into()),
                    }),
                    None => None,
                },
            };
            encryption::set(&selection, &request).map_err(fail)?
        }
        EncryptionVerb::Rewrap(_) => unreachable!("handled above"),
    };
    if global.json {
        print_ok(&view);
    } else {
        present(&view);
    }
    Ok(ExitCode::SUCCESS)
}

fn present(view: &PolicyView) {
    if !view.has_policy {
        println!(
            "No encryption policy: new backups are encrypted with the passphrase alone (one way in)."
        );
        return;
    }
    println!(
        "New backups have {} ways in: {} recipient(s){}.",
        view.ways_in,
        view.recipients.len(),
        if view.passphrase {
            " and the passphrase"
        } else {
            ", no passphrase"
        }
    );
    for recipient in &view.recipients {
        println!(
            "  {}  {}",
            recipient.fingerprint,
            recipient.user_id.as_deref().unwrap_or("(no user ID)")
        );
    }
    if view.server_holds_a_secret {
        println!("The installation keeps its passphrase: whoever takes it can read its backups.");
    } else {
        println!(
            "The installation keeps no secret: it can make backups but never read them. \
             Deep verification, drills and restores run where a key is (this machine's keychain, gpg-agent)."
        );
    }
    if let Some(note) = &view.server_restore_note {
        println!("{note}.");
    }
    for needed in &view.still_needed {
        println!("Still needed: {}.", needed.words);
    }
    if let Some(sheet) = &view.recovery_sheet {
        println!(
            "The recovery key's sheet is {sheet} (its secret key, encrypted by the recovery passphrase): \
             print it, keep it apart from the passphrase, then delete the file."
        );
    }
}

fn present_rewrap(report: &RewrapReport) {
    let verb = if report.dry_run {
        "would rewrap"
    } else {
        "rewrapped"
    };
    for name in &report.rewrapped {
        println!("{verb} {name}");
    }
    for left in report.skipped.iter().chain(&report.failed) {
        println!("LEFT AS IT WAS {}: {}", left.filename, left.message);
    }
    println!(
        "{}. Ways in now: {} public-key packet(s){}.",
        report.summary(),
        report.key_ids.len(),
        if report.passphrase {
            " and the passphrase"
        } else {
            ", no passphrase"
        }
    );
    if let Some(state) = &report.in_progress {
        println!("{}", state.words());
    }
}
