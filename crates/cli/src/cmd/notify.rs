//! `backupdesk notify add|list|remove|test`

use std::io::IsTerminal;
use std::process::ExitCode;

use backupdesk_core::OperationContext;
use backupdesk_core::local::notify::{Delivery, KeptIn, NotifierKind, NotifyOn};
use backupdesk_core::service::notify;

use crate::args::{GlobalArgs, NotifyAddArgs, NotifyVerb};
use crate::failure::fail;
use crate::output::{print_json, print_ok};

pub fn run(
    global: &GlobalArgs,
    verb: NotifyVerb,
    ctx: &OperationContext<'_>,
) -> anyhow::Result<ExitCode> {
    let selection = super::selection(global, ctx)?;
    match verb {
        NotifyVerb::Add(args) => add(global, &selection, &args, ctx),
        NotifyVerb::List => {
            let list = notify::list(&selection).map_err(fail)?;
            if global.json {
                print_json(&serde_json::json!({"ok": true, "notifiers": list}));
            } else if list.is_empty() {
                println!("No notifier.");
            }
            for n in list.iter().filter(|_| !global.json) {
                let kind = format!("{:?}", n.kind).to_lowercase();
                let on = format!("{:?}", n.on).to_lowercase();
                println!("{:<16} {kind:<8} on {on:<9} {}", n.name, n.shown);
            }
            Ok(ExitCode::SUCCESS)
        }
        NotifyVerb::Remove(args) => {
            notify::remove(&selection, &args.name, ctx).map_err(fail)?;
            if global.json {
                print_json(&serde_json::json!({"ok": true, "removed": args.name}));
            } else {
                println!("Notifier {} removed.", args.name);
            }
            Ok(ExitCode::SUCCESS)
        }
        NotifyVerb::Test(args) => {
            let sent = notify::test(&selection, args.name.as_deref(), ctx).map_err(fail)?;
            let ok = sent.iter().all(|d| d.ok);
            if global.json {
                print_json(&serde_json::json!({"ok": ok, "deliveries": sent}));
            } else {
                present(&sent);
            }
            Ok(if ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
    }
}

/// `notify add`: the URL after the flag, else from stdin.
fn add(
    global: &GlobalArgs,
    selection: &backupdesk_core::service::Selection,
    args: &NotifyAddArgs,
    ctx: &OperationContext<'_>,
) -> anyhow::Result<ExitCode> {
    let (kind, given) = kind_of(args);
    let url = match given.is_empty() {
        false => zeroize::Zeroizing::new(given),
        true => url_from_stdin()?,
    };
    let on = match args.on.as_str() {
        "failures" => NotifyOn::Failures,
        "all" => NotifyOn::All,
        _ => NotifyOn::Changes,
    };
    let added = notify::add(selection, &args.name, kind, on, &url, ctx).map_err(fail)?;
    if global.json {
        print_ok(&added);
        return Ok(ExitCode::SUCCESS);
    }
    let kept = match added.kept_in {
        KeptIn::Keychain => "keychain",
        KeptIn::File => "installation's private file (no keychain here)",
    };
    println!(
        "Notifier {} added: {} ({:?}, on {:?}); its URL kept in the {kept}.",
        added.name, added.shown, added.kind, added.on
    );
    Ok(ExitCode::SUCCESS)
}

fn kind_of(args: &NotifyAddArgs) -> (NotifierKind, String) {
    match (&args.ntfy, &args.webhook, &args.ping) {
        (Some(url), _, _) => (NotifierKind::Ntfy, url.clone()),
        (_, Some(url), _) => (NotifierKind::Webhook, url.clone()),
        (_, _, Some(url)) => (NotifierKind::Ping, url.clone()),
        _ => unreachable!("clap requires one kind"),
    }
}

/// The URL from stdin: asked for (hidden) on a terminal, else its first line.
fn url_from_stdin() -> anyhow::Result<zeroize::Zeroizing<String>> {
    if std::io::stdin().is_terminal() {
        return Ok(zeroize::Zeroizing::new(rpassword::prompt_password(
            "The notifier's URL (kept secret): ",
        )?));
    }
    let mut line = zeroize::Zeroizing::new(String::new());
    std::io::stdin().read_line(&mut line)?;
    Ok(zeroize::Zeroizing::new(line.trim().to_owned()))
}

fn present(sent: &[Delivery]) {
    if sent.is_empty() {
        println!("No notifier to test.");
    }
    for d in sent {
        let how = if d.ok { "delivered" } else { "NOT delivered" };
        println!(
            "{}: {how} after {} attempt(s) ({})",
            d.notifier, d.attempts, d.detail
        );
    }
}
