//! `backupdesk profile add|list|show|remove|test`

use std::path::PathBuf;
use std::process::ExitCode;

use backupdesk_core::OperationContext;
use backupdesk_core::service::SessionPassphrases;
use backupdesk_core::service::{profile_book, profiles};
use backupdesk_core::targets::profile::{
    ApiEndpoint, Profile, ProfileBook, ProfileTarget, config_dir,
};

use crate::args::{GlobalArgs, ProfileAddArgs, ProfileName, ProfileVerb, RemoteProfile};
use crate::failure::fail;
use crate::output::say;
use crate::output::{print_json, print_ok};

/// `profile add --json` and `profile show --json`.
#[derive(serde::Serialize)]
struct ProfileJson<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    ok: Option<bool>,
    name: &'a str,
    profile: &'a Profile,
    /// `stored`, `not stored` or `keychain unavailable` (show only).
    #[serde(skip_serializing_if = "Option::is_none")]
    passphrase: Option<&'a str>,
}

/// `profile list --json`.
#[derive(serde::Serialize)]
struct ProfilesJson<'a, T: serde::Serialize> {
    profiles: &'a T,
}

/// `profile remove --json`.
#[derive(serde::Serialize)]
struct Removed<'a> {
    removed: &'a str,
}

/// `profile test --json`.
#[derive(serde::Serialize)]
struct TestedJson<'a> {
    ok: bool,
    name: &'a str,
    health: &'a backupdesk_core::local::health::HealthReport,
}

/// What `--profile NAME` selects.
pub enum Resolved {
    Local(
        PathBuf,
        Option<backupdesk_core::local::retention::RetentionPolicy>,
    ),
    Remote(RemoteProfile),
    /// A server reached over SSH, its installation root there, and its
    /// API when the profile names it too.
    Ssh(
        backupdesk_core::targets::ssh::SshHost,
        PathBuf,
        Option<RemoteProfile>,
    ),
}

/// Looks `--profile NAME` up in the profile book.
pub fn resolve(name: &str) -> anyhow::Result<Resolved> {
    Ok(resolved(name, &load(name)?))
}

/// Profile `name` as the profile book holds it.
pub fn load(name: &str) -> anyhow::Result<Profile> {
    let book = ProfileBook::load(&config_dir()).map_err(fail)?;
    Ok(book.get(name).map_err(fail)?.clone())
}

/// What profile `name` selects.
pub fn resolved(name: &str, profile: &Profile) -> Resolved {
    match &profile.target {
        ProfileTarget::Local { data_dir } => Resolved::Local(data_dir.clone(), profile.retention),
        ProfileTarget::Remote {
            base_url, username, ..
        } => Resolved::Remote(RemoteProfile {
            name: name.to_owned(),
            base_url: base_url.clone(),
            username: username.clone(),
        }),
        target @ ProfileTarget::Ssh { data_dir, api, .. } => Resolved::Ssh(
            target.ssh_host().expect("an SSH profile has a host"),
            data_dir.clone(),
            api.as_ref().map(|api| RemoteProfile {
                name: name.to_owned(),
                base_url: api.base_url.clone(),
                username: api.username.clone(),
            }),
        ),
    }
}

pub fn run(
    global: &GlobalArgs,
    verb: ProfileVerb,
    ctx: &OperationContext<'_>,
) -> anyhow::Result<ExitCode> {
    match verb {
        ProfileVerb::Add(args) => add(global, *args),
        ProfileVerb::List => list(global),
        ProfileVerb::Show(p) => show(global, &p, ctx),
        ProfileVerb::Remove(p) => remove(global, &p, ctx),
        ProfileVerb::Install(p) => super::ssh_relay::install(global, &p.name),
        ProfileVerb::Test(p) => test(global, &p, ctx),
    }
}

/// `profile add NAME (--local DIR | --url URL --username U | --ssh USER@HOST)`.
fn add(global: &GlobalArgs, args: ProfileAddArgs) -> anyhow::Result<ExitCode> {
    if let Some(url) = &args.url
        && backupdesk_core::remote::insecure_url(url)
    {
        eprintln!(
            "warning: {url} is plain http://: the API token would travel unencrypted; use https://"
        );
    }
    let target = match (args.local, args.url, args.username) {
        (_, url, username) if args.ssh.is_some() => ProfileTarget::Ssh {
            destination: args.ssh.clone().unwrap_or_default(),
            port: args.port,
            identity: args.identity.clone(),
            data_dir: global.data_dir.clone(),
            engine: args.engine.clone(),
            // The same server's API beside SSH.
            api: url.zip(username).map(|(base_url, username)| ApiEndpoint {
                base_url,
                username,
                ca_cert: args.ca_cert.clone(),
            }),
        },
        (Some(dir), _, _) => ProfileTarget::Local {
            data_dir: std::path::absolute(&dir).unwrap_or(dir),
        },
        (None, Some(base_url), Some(username)) => ProfileTarget::Remote {
            base_url,
            username,
            ca_cert: args.ca_cert,
        },
        _ => unreachable!("clap requires --local, --ssh, or --url with --username"),
    };
    let retention = args.policy.any().then(|| {
        args.policy
            .over(backupdesk_core::local::retention::RetentionPolicy::default())
    });
    let profile = Profile {
        target,
        retention,
        overdue_after_hours: args.overdue_hours,
        drill_overdue_after_days: args.drill_overdue_days,
        restore_timeout_secs: args.restore_timeout,
    };
    profile_book::add(&args.name, profile.clone()).map_err(fail)?;
    if global.json {
        print_json(&ProfileJson {
            ok: Some(true),
            name: &args.name,
            profile: &profile,
            passphrase: None,
        });
    } else {
        say!(
            "Profile {} saved in {}.",
            args.name,
            config_dir().join("profiles.toml").display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// `profile list`.
fn list(global: &GlobalArgs) -> anyhow::Result<ExitCode> {
    let profiles = profile_book::all().map_err(fail)?;
    if global.json {
        print_json(&ProfilesJson {
            profiles: &profiles,
        });
    } else if profiles.is_empty() {
        say!("No profiles. Add one with `backupdesk profile add NAME --local DIR`.");
    } else {
        for (name, profile) in &profiles {
            say!("{name:<20} {}", describe(&profile.target));
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `profile show NAME`, with whether its passphrase is stored.
fn show(
    global: &GlobalArgs,
    p: &ProfileName,
    ctx: &OperationContext<'_>,
) -> anyhow::Result<ExitCode> {
    let profile = profiles::profile(&p.name).map_err(fail)?;
    let status = profiles::secret_status(&p.name, &SessionPassphrases::default(), ctx);
    let stored = match (status.keychain_available, status.passphrase_stored) {
        (false, _) => "keychain unavailable",
        (true, true) => "stored",
        (true, false) => "not stored",
    };
    if global.json {
        print_json(&ProfileJson {
            ok: None,
            name: &p.name,
            profile: &profile,
            passphrase: Some(stored),
        });
    } else {
        say!("{}: {}", p.name, describe(&profile.target));
        say!(
            "  overdue after {} hours; restore drill overdue after {} days; passphrase in keychain: {stored}",
            profile.overdue_after_hours,
            profile.drill_overdue_after_days
        );
        let has_api = matches!(
            profile.target,
            ProfileTarget::Remote { .. } | ProfileTarget::Ssh { api: Some(_), .. }
        );
        if has_api && status.keychain_available {
            let yes_no = |b: bool| if b { "stored" } else { "not stored" };
            say!(
                "  API login in keychain: token {}, password {}",
                yes_no(status.token_stored),
                yes_no(status.password_stored)
            );
        }
        if let Some(rotation) = &status.rotation {
            say!("  {}", rotation.words());
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `profile remove NAME`: core's rule (the profile and the secrets kept
/// under its name; an installation's own passphrase stays).
fn remove(
    global: &GlobalArgs,
    p: &ProfileName,
    ctx: &OperationContext<'_>,
) -> anyhow::Result<ExitCode> {
    profiles::remove_profile(&p.name, ctx).map_err(fail)?;
    if global.json {
        print_ok(&Removed { removed: &p.name });
    } else {
        say!("Profile {} removed (and its secrets forgotten).", p.name);
    }
    Ok(ExitCode::SUCCESS)
}

/// `profile test NAME`: reachable and healthy (exit 1 when not).
fn test(
    global: &GlobalArgs,
    p: &ProfileName,
    ctx: &OperationContext<'_>,
) -> anyhow::Result<ExitCode> {
    let mut selected = global.clone();
    selected.profile = Some(p.name.clone());
    if let Resolved::Remote(remote) = resolve(&p.name)? {
        selected.remote = Some(remote);
    }
    let selection = super::selection(&selected, ctx)?;
    let report = backupdesk_core::service::inspect::health(&selection, ctx).map_err(fail)?;
    if global.json {
        print_json(&TestedJson {
            ok: report.healthy(),
            name: &p.name,
            health: &report,
        });
    } else if report.healthy() {
        say!("{}: reachable, database healthy.", p.name);
    } else {
        say!(
            "{}: NOT healthy: {}",
            p.name,
            serde_json::to_string(&report).unwrap_or_default()
        );
    }
    Ok(if report.healthy() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn describe(target: &ProfileTarget) -> String {
    match target {
        ProfileTarget::Local { data_dir } => format!("local  {}", data_dir.display()),
        ProfileTarget::Remote {
            base_url, username, ..
        } => format!(
            "remote {} as {username}",
            backupdesk_core::remote::redact(base_url)
        ),
        ProfileTarget::Ssh { api: None, .. } => format!("ssh    {}", target.location()),
        ProfileTarget::Ssh { api: Some(api), .. } => format!(
            "ssh    {} (API {} as {})",
            target.location(),
            backupdesk_core::remote::redact(&api.base_url),
            api.username
        ),
    }
}
