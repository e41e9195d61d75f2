//! `backupdesk login PROFILE`: asks for the password (never on the command
//! line), logs in once (no automatic retry: the server blocks an address
//! after five logins in five minutes), keeps the token in the keychain and,
//! only when asked, the password for one automatic re-login.

use std::io::IsTerminal;
use std::process::ExitCode;

use backupdesk_core::OperationContext;
use backupdesk_core::remote::insecure_url;
use backupdesk_core::service::profile_book;

use crate::args::{GlobalArgs, LoginArgs};
use crate::cmd::confirm;
use crate::cmd::profile::{Resolved, resolve};
use crate::failure::{fail, failed, usage};
use crate::output::print_ok;

/// `login --json`.
#[derive(serde::Serialize)]
struct LoggedIn<'a> {
    profile: &'a str,
    password_kept: bool,
}

pub fn run(
    global: &GlobalArgs,
    args: &LoginArgs,
    ctx: &OperationContext<'_>,
) -> anyhow::Result<ExitCode> {
    let (Resolved::Remote(remote) | Resolved::Ssh(_, _, Some(remote))) =
        resolve(&args.profile_name)?
    else {
        return Err(failed(
            backupdesk_core::ErrorKind::NotRemote,
            format!(
                "profile {} names no server API: there is nothing to log in to",
                args.profile_name
            ),
        ));
    };
    if insecure_url(&remote.base_url) {
        eprintln!(
            "warning: {} is plain http:// to another machine: the password and token travel unencrypted",
            remote.base_url
        );
    }
    let password = match &args.password_file {
        Some(file) => crate::passphrase::first_line_of(file, "the password file")?,
        None if std::io::stdin().is_terminal() => rpassword::prompt_password(format!(
            "Password for {} at {}: ",
            remote.username, remote.base_url
        ))?,
        None => {
            return Err(usage(
                backupdesk_core::ErrorKind::PasswordRequired,
                "no terminal to ask for the password on: use --password-file FILE",
            ));
        }
    };
    // Logs in and keeps the token; whether to keep the password too is
    // asked only after the login worked.
    profile_book::sign_in(&remote.name, &password, false, ctx).map_err(fail)?;
    let remember = args.remember_password
        || (std::io::stdin().is_terminal()
            && !global.yes
            && confirm::ask("Keep the password in the keychain for one automatic re-login when the token expires? [y/N] ")?
                .eq_ignore_ascii_case("y"));
    if remember {
        profile_book::keep_password(&remote.name, &password, ctx).map_err(fail)?;
    }
    if global.json {
        print_ok(&LoggedIn {
            profile: &remote.name,
            password_kept: remember,
        });
    } else {
        println!(
            "Logged in to {} as {}; the token is in the keychain{}.",
            remote.base_url,
            remote.username,
            if remember {
                ", and so is the password"
            } else {
                ""
            }
        );
    }
    Ok(ExitCode::SUCCESS)
}
