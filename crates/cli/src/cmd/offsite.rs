//! `backupdesk offsite add|list|show|remove|test|push|verify|prune`:
//! copies of the installation's backups in S3-compatible storage.

use std::io::IsTerminal;
use std::process::ExitCode;

use backupdesk_core::OperationContext;
use backupdesk_core::offsite::OffsiteKeys;
use backupdesk_core::service::offsite::{
    self, CopyFate, DeepScope, PushOptions, S3Spec, SftpSpec, StoreSpec,
};

use crate::args::{
    GlobalArgs, OffsiteAddArgs, OffsiteListArgs, OffsiteName, OffsitePruneArgs, OffsitePushArgs,
    OffsiteVerb, OffsiteVerifyArgs,
};
use crate::failure::{fail, usage};
use crate::output::say;
use crate::output::{print_named, print_ok};

pub fn run(
    global: &GlobalArgs,
    verb: OffsiteVerb,
    ctx: &OperationContext<'_>,
) -> anyhow::Result<ExitCode> {
    match verb {
        OffsiteVerb::Add(args) => add(global, &args, ctx),
        OffsiteVerb::List(args) => list(global, &args, ctx),
        OffsiteVerb::Show(args) => show(global, &args),
        OffsiteVerb::Remove(args) => remove(global, &args, ctx),
        OffsiteVerb::Test(args) => test(global, &args, ctx),
        OffsiteVerb::Push(args) => push(global, &args, ctx),
        OffsiteVerb::Verify(args) => verify(global, &args, ctx),
        OffsiteVerb::Prune(args) => prune(global, &args, ctx),
    }
}

/// `offsite add`: an S3 location (keys from the environment or asked) or an SFTP folder.
fn add(
    global: &GlobalArgs,
    args: &OffsiteAddArgs,
    ctx: &OperationContext<'_>,
) -> anyhow::Result<ExitCode> {
    let selection = super::selection(global, ctx)?;
    let (spec, keys, from_env) = match (&args.s3, &args.sftp) {
        (_, Some(target)) => (
            StoreSpec::Sftp(SftpSpec {
                target: target.clone(),
                port: args.port,
                identity: args.identity.clone(),
                key_passphrase: args
                    .key_passphrase_file
                    .as_deref()
                    .map(key_passphrase)
                    .transpose()?,
            }),
            None,
            false,
        ),
        (Some(url), None) => {
            let (keys, from_env) = keys()?;
            (
                StoreSpec::S3(S3Spec {
                    url: url.clone(),
                    endpoint: args.endpoint.clone(),
                    region: args.region.clone(),
                    path_style: args.path_style,
                }),
                Some(keys),
                from_env,
            )
        }
        (None, None) => unreachable!("clap requires --s3 or --sftp"),
    };
    let (location, kept) =
        offsite::add(&selection, &args.name, &spec, keys, from_env, ctx).map_err(fail)?;
    if global.json {
        print_ok(&Added {
            location: &location,
            keys: &kept,
        });
    } else {
        say!(
            "Off-site location {} ({}) added for {}; {}.",
            location.name,
            location.describe(),
            location.installation,
            match kept {
                offsite::KeysKept::Keychain => "its keys are in the keychain",
                offsite::KeysKept::Environment =>
                    "no keychain here: its keys are read from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY on every run",
                offsite::KeysKept::SshKey =>
                    "it logs in with an SSH key, and its host key is now pinned",
            }
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// `offsite add --json`: `{"ok", "location", "keys"}`.
#[derive(serde::Serialize)]
struct Added<'a, L: serde::Serialize, K: serde::Serialize> {
    location: &'a L,
    keys: &'a K,
}

/// `offsite list --location NAME --json`: `{"ok", "location", "copies"}`.
#[derive(serde::Serialize)]
struct LocationCopies<'a, C: serde::Serialize> {
    location: &'a str,
    copies: &'a [C],
}

/// `offsite list`: the locations, or with --location the copies one holds.
fn list(
    global: &GlobalArgs,
    args: &OffsiteListArgs,
    ctx: &OperationContext<'_>,
) -> anyhow::Result<ExitCode> {
    match &args.location {
        Some(name) => {
            let copies = offsite::copies(name, ctx).map_err(fail)?;
            if global.json {
                print_ok(&LocationCopies {
                    location: name,
                    copies: &copies,
                });
            } else {
                say!(
                    "{:<40} {:>12} {:<10} {:<20} {:<10} {:<10}",
                    "NAME",
                    "SIZE",
                    "CONFIRMED",
                    "LOCKED UNTIL",
                    "QUICK",
                    "DEEP"
                );
                let check = |c: &Option<backupdesk_core::offsite::ledger::CopyCheck>| match c {
                    None => "never".to_owned(),
                    Some(c) if c.ok => c.at.get(..10).unwrap_or(&c.at).to_owned(),
                    Some(_) => "FAILED".to_owned(),
                };
                for copy in &copies {
                    let record = copy.record.clone().unwrap_or_default();
                    say!(
                        "{:<40} {:>12} {:<10} {:<20} {:<10} {:<10}",
                        copy.name,
                        copy.size,
                        if record.store_checksum.is_some() {
                            "sha256"
                        } else {
                            "-"
                        },
                        record.retain_until.as_deref().unwrap_or("-"),
                        check(&record.quick),
                        check(&record.deep)
                    );
                }
                say!("{} object(s) at {name}", copies.len());
            }
        }
        None => {
            let selection = super::selection(global, ctx)?;
            let all = offsite::locations(Some(&selection)).map_err(fail)?;
            if global.json {
                print_named(true, "locations", &all);
            } else if all.is_empty() {
                say!("No off-site location for {}.", selection.label());
            } else {
                for location in &all {
                    say!("{:<20} {}", location.name, location.describe());
                }
            }
        }
    };
    Ok(ExitCode::SUCCESS)
}

/// `offsite show NAME`.
fn show(global: &GlobalArgs, args: &OffsiteName) -> anyhow::Result<ExitCode> {
    let location = offsite::location(&args.name).map_err(fail)?;
    if global.json {
        print_ok(&location);
    } else {
        say!(
            "{}: {} (for {})",
            location.name,
            location.describe(),
            location.installation
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// `offsite remove NAME`: the location and its keys (the copies stay).
fn remove(
    global: &GlobalArgs,
    args: &OffsiteName,
    ctx: &OperationContext<'_>,
) -> anyhow::Result<ExitCode> {
    let removed = offsite::remove(&args.name, ctx).map_err(fail)?;
    if global.json {
        print_ok(&removed);
    } else {
        say!(
            "Removed the off-site location {} and its keys; the copies stay in {}.",
            removed.name,
            removed.describe()
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// `offsite test NAME`: list, write a probe, read it back, delete it.
fn test(
    global: &GlobalArgs,
    args: &OffsiteName,
    ctx: &OperationContext<'_>,
) -> anyhow::Result<ExitCode> {
    let report = offsite::test(&args.name, ctx).map_err(fail)?;
    if global.json {
        print_ok(&report);
    } else {
        match &report.probe_left {
            None => say!(
                "OK {}: listed, wrote a probe, read it back identical, deleted it.",
                report.location
            ),
            Some(probe) => say!(
                "OK {}: listed, wrote a probe, read it back identical; this key may not delete, so {probe} stays.",
                report.location
            ),
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `offsite push`: every backup not yet at the locations, confirmed by the store.
fn push(
    global: &GlobalArgs,
    args: &OffsitePushArgs,
    ctx: &OperationContext<'_>,
) -> anyhow::Result<ExitCode> {
    let selection = super::selection(global, ctx)?;
    let limit = args
        .limit
        .as_deref()
        .map(backupdesk_core::offsite::throttle::parse_rate)
        .transpose()
        .map_err(|e| usage(backupdesk_core::ErrorKind::InvalidRate, e.to_string()))?;
    let options = PushOptions {
        only: args.location.clone(),
        limit,
        ..Default::default()
    };
    let reports = offsite::push(&selection, &options, ctx).map_err(fail)?;
    if global.json {
        print_named(true, "locations", &reports);
    } else {
        for report in &reports {
            let sent: u32 = report.copied.iter().map(|c| c.parts_sent).sum();
            let kept: u32 = report.copied.iter().map(|c| c.parts_kept).sum();
            say!(
                "{}: copied {} file(s) ({sent} part(s) sent{}), {} already there; every copy's SHA-256 confirmed by the store",
                report.location,
                report.copied.len(),
                if kept > 0 {
                    format!(", {kept} kept from a cut-off push")
                } else {
                    String::new()
                },
                report.present.len()
            );
            for lock in &report.locked {
                say!("  {} locked until {}", lock.name, lock.retain_until);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `offsite verify`: exit 1 when a copy failed.
fn verify(
    global: &GlobalArgs,
    args: &OffsiteVerifyArgs,
    ctx: &OperationContext<'_>,
) -> anyhow::Result<ExitCode> {
    let selection = super::selection(global, ctx)?;
    let passphrases = crate::passphrase::CliPassphrase::new(global, ctx);
    let deep = match (args.deep, args.all) {
        (false, _) => None,
        (true, false) => Some(DeepScope::Rolling),
        (true, true) => Some(DeepScope::All),
    };
    let reports = offsite::verify(
        &selection,
        args.location.as_deref(),
        deep,
        &passphrases,
        ctx,
    )
    .map_err(|e| passphrases.explain(e))?;
    let failed: usize = reports.iter().map(|r| r.failed).sum();
    if global.json {
        print_named(failed == 0, "locations", &reports);
    } else {
        for report in &reports {
            for copy in &report.copies {
                let depth = match copy.depth {
                    backupdesk_core::local::verify::VerifyDepth::Quick => "quick",
                    backupdesk_core::local::verify::VerifyDepth::Deep => "deep",
                };
                match (&copy.problem, &copy.note) {
                    (Some(problem), _) => say!(
                        "FAILED {}/{} ({depth}): {}",
                        report.location,
                        copy.name,
                        problem.message
                    ),
                    (None, Some(note)) => {
                        say!("OK {}/{} ({depth}): {note}", report.location, copy.name)
                    }
                    (None, None) => say!(
                        "OK {}/{} ({depth}): {} bytes, the store's SHA-256 as pushed",
                        report.location,
                        copy.name,
                        copy.size
                    ),
                }
            }
            say!(
                "{}: {} copies checked, {} failed",
                report.location,
                report.copies.len(),
                report.failed
            );
        }
    }
    if failed > 0 {
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}

/// `offsite prune`: exit 1 when a deletion failed.
fn prune(
    global: &GlobalArgs,
    args: &OffsitePruneArgs,
    ctx: &OperationContext<'_>,
) -> anyhow::Result<ExitCode> {
    let selection = super::selection(global, ctx)?;
    if !args.dry_run {
        crate::cmd::confirm::typed(
            global.yes,
            "Copies no retention rule keeps will be deleted from the store for good.",
            "DELETE",
        )?;
    }
    let reports =
        offsite::prune(&selection, args.location.as_deref(), args.dry_run, ctx).map_err(fail)?;
    let failed: usize = reports.iter().map(|r| r.failed).sum();
    if global.json {
        print_named(failed == 0, "locations", &reports);
    } else {
        for report in &reports {
            for copy in &report.copies {
                match &copy.fate {
                    CopyFate::Keep => say!(
                        "keep     {} ({})",
                        copy.name,
                        copy.keep
                            .iter()
                            .map(ToString::to_string)
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                    CopyFate::Delete if report.dry_run => {
                        say!("would delete {}", copy.name)
                    }
                    CopyFate::Delete => say!("deleted  {}", copy.name),
                    CopyFate::RetainedUntil { until } => {
                        say!("locked   {}: retained until {until}", copy.name)
                    }
                    CopyFate::Failed { error } => {
                        say!("FAILED   {}: {}", copy.name, error.message)
                    }
                }
            }
            say!(
                "{}: {} deleted{}, {} retained by their lock, {} failed",
                report.location,
                report.deleted,
                if report.dry_run {
                    " (dry run: nothing was)"
                } else {
                    ""
                },
                report.retained,
                report.failed
            );
        }
    }
    if failed > 0 {
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}

/// The keys for a new location, and whether they came from the
/// environment: `$AWS_ACCESS_KEY_ID` and `$AWS_SECRET_ACCESS_KEY`, else
/// asked on the terminal.
fn keys() -> anyhow::Result<(OffsiteKeys, bool)> {
    if let (Ok(key_id), Ok(secret)) = (
        std::env::var("AWS_ACCESS_KEY_ID"),
        std::env::var("AWS_SECRET_ACCESS_KEY"),
    ) {
        return Ok((OffsiteKeys { key_id, secret }, true));
    }
    if !std::io::stdin().is_terminal() {
        return Err(usage(
            backupdesk_core::ErrorKind::OffsiteCredentialsMissing,
            "no terminal to ask for the keys on: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY",
        ));
    }
    let key_id = rpassword::prompt_password("Access key id: ")?;
    let secret = rpassword::prompt_password("Secret access key: ")?;
    Ok((OffsiteKeys { key_id, secret }, false))
}

/// The first line of `file`: an SSH key's passphrase, for the keychain.
fn key_passphrase(file: &std::path::Path) -> anyhow::Result<zeroize::Zeroizing<String>> {
    // (Bounded, a FIFO given up on; an empty first line is refused there.)
    crate::passphrase::first_line_of(file, "the key passphrase file").map(zeroize::Zeroizing::new)
}
