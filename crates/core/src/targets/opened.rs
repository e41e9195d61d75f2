//! [`OpenedTarget`]: the target a profile names, opened with its secrets,
//! and the API login that stores a server's token.

use crate::context::OperationContext;
use crate::local::layout::DataDir;
use crate::remote::{RemoteError, RemoteServer};
use crate::targets::{LocalTarget, RemoteTarget, SshTarget, Target, TargetError};

/// The target a profile names, opened with its secrets from the operation's
/// secret store (a remote profile's token and, if kept, password). A token
/// renewed by a re-login is stored back there when it is renewed.
// One per opened profile, short-lived: its size is no cost worth a box.
#[allow(clippy::large_enum_variant)]
pub enum OpenedTarget {
    /// A local installation.
    Local(LocalTarget),
    /// A remote server.
    Remote {
        /// The profile name (the keychain scope).
        profile: String,
        /// The client.
        target: Box<RemoteTarget>,
    },
    /// A server reached over SSH (its own engine answers).
    Ssh(SshTarget),
}

impl OpenedTarget {
    /// Opens the target of profile `name`.
    ///
    /// # Errors
    /// [`TargetError::Remote`] for an unusable URL or CA certificate.
    pub fn open(
        name: &str,
        profile: &crate::targets::profile::Profile,
        ctx: &OperationContext<'_>,
    ) -> Result<Self, TargetError> {
        Self::open_with(name, profile, ctx, crate::remote::READ_TIMEOUT, None)
    }

    /// [`OpenedTarget::open`] for a glance (the fleet's): each read of a
    /// server's API bounded by `limit`, and all the SSH calls of this
    /// opening together. Never for a change: a backup over SSH outlasts
    /// any glance's limit.
    ///
    /// # Errors
    /// As [`OpenedTarget::open`].
    pub(crate) fn open_for_a_glance(
        name: &str,
        profile: &crate::targets::profile::Profile,
        ctx: &OperationContext<'_>,
        limit: std::time::Duration,
    ) -> Result<Self, TargetError> {
        Self::open_with(name, profile, ctx, limit, Some(limit))
    }

    /// The target with API reads bounded by `read_timeout` and its SSH
    /// calls by `ssh_limit` from now (`None`: as long as they take).
    fn open_with(
        name: &str,
        profile: &crate::targets::profile::Profile,
        ctx: &OperationContext<'_>,
        read_timeout: std::time::Duration,
        ssh_limit: Option<std::time::Duration>,
    ) -> Result<Self, TargetError> {
        use crate::targets::profile::ProfileTarget;
        match &profile.target {
            ProfileTarget::Local { data_dir } => Ok(OpenedTarget::Local(LocalTarget::new(
                DataDir::new(data_dir),
            ))),
            ProfileTarget::Remote {
                base_url,
                username,
                ca_cert,
            } => {
                let endpoint = crate::targets::profile::ApiEndpoint {
                    base_url: base_url.clone(),
                    username: username.clone(),
                    ca_cert: ca_cert.clone(),
                };
                Ok(OpenedTarget::Remote {
                    profile: name.to_owned(),
                    target: Box::new(api_client(name, profile, &endpoint, ctx, read_timeout)?),
                })
            }
            target @ ProfileTarget::Ssh { data_dir, api, .. } => {
                let api = match api {
                    Some(endpoint) => Some(api_client(name, profile, endpoint, ctx, read_timeout)?),
                    None => None,
                };
                // A glance bounded as an API read is: one server whose
                // engine, shell or disk hangs never holds the fleet.
                let mut host = target.ssh_host().expect("an SSH profile has a host");
                host.time_limit = ssh_limit.map(crate::targets::ssh::TimeLimit::from_now);
                Ok(OpenedTarget::Ssh(SshTarget::new(
                    name,
                    host,
                    data_dir.clone(),
                    target.location(),
                    api,
                    &crate::targets::profile::config_dir(),
                    ctx.shared_secrets(),
                )))
            }
        }
    }

    /// The server's API client: the profile's own (a remote profile) or
    /// the one beside SSH.
    pub fn api(&self) -> Option<&RemoteTarget> {
        match self {
            OpenedTarget::Remote { target, .. } => Some(target),
            OpenedTarget::Ssh(target) => target.api(),
            OpenedTarget::Local(_) => None,
        }
    }

    /// The target, whichever side it is on.
    pub fn get(&self) -> &dyn Target {
        match self {
            OpenedTarget::Local(t) => t,
            OpenedTarget::Remote { target, .. } => target.as_ref(),
            OpenedTarget::Ssh(target) => target,
        }
    }

    /// Whether it is a remote server.
    pub(crate) fn is_remote(&self) -> bool {
        matches!(self, OpenedTarget::Remote { .. })
    }

    /// The local installation, for local-only operations.
    pub fn local(&self) -> Option<&LocalTarget> {
        match self {
            OpenedTarget::Local(t) => Some(t),
            OpenedTarget::Remote { .. } | OpenedTarget::Ssh(_) => None,
        }
    }
}

/// Logs in to the remote profile `name` with `password` and keeps the token
/// in the keychain (and the password too when `remember`, for one automatic
/// re-login when the token expires; otherwise a kept password is forgotten).
///
/// # Errors
/// A local profile; a refused login; an unusable keychain.
pub fn sign_in(
    name: &str,
    profile: &crate::targets::profile::Profile,
    password: &str,
    remember: bool,
    ctx: &OperationContext<'_>,
) -> Result<(), TargetError> {
    use crate::keychain::SecretKind;
    let opened = OpenedTarget::open(name, profile, ctx)?;
    let Some(target) = opened.api() else {
        return Err(RemoteError::NotRemote(name.to_owned()).into());
    };
    let token = target.server().login(password)?;
    let keychain = ctx.secrets();
    keychain.set(name, SecretKind::ApiToken, &token)?;
    if remember {
        keychain.set(name, SecretKind::Password, password)?;
    } else {
        keychain.forget(name, SecretKind::Password)?;
    }
    Ok(())
}

/// The client of a server's API `endpoint` for profile `name`, with the
/// token and (if kept) password from the secret store (and a renewed token
/// stored back there as it is renewed), records of what its backups hold,
/// and the profile's restore timeout.
fn api_client(
    name: &str,
    profile: &crate::targets::profile::Profile,
    endpoint: &crate::targets::profile::ApiEndpoint,
    ctx: &OperationContext<'_>,
    read_timeout: std::time::Duration,
) -> Result<RemoteTarget, TargetError> {
    use crate::keychain::SecretKind;
    let server = RemoteServer::with_read_timeout(
        &endpoint.base_url,
        &endpoint.username,
        endpoint.ca_cert.as_deref(),
        read_timeout,
    )?;
    let secrets = ctx.secrets();
    match secrets.get(name, SecretKind::ApiToken) {
        Ok(Some(token)) => server.set_token(&token),
        Ok(None) => {}
        Err(e) => tracing::warn!("{e}; no stored token can be used"),
    }
    if let Ok(Some(password)) = secrets.get(name, SecretKind::Password) {
        server.set_password(&password);
    }
    let (keeper, profile_name) = (ctx.shared_secrets(), name.to_owned());
    server.set_token_keeper(Box::new(move |token| {
        if let Err(e) = keeper.set(&profile_name, SecretKind::ApiToken, token) {
            tracing::warn!("{e}; the renewed token of {profile_name} is not kept");
        }
    }));
    let mut target = RemoteTarget::new(server);
    target.records_dir = Some(crate::targets::profile::config_dir());
    if let Some(seconds) = profile.restore_timeout_secs {
        target.follow.timeout = std::time::Duration::from_secs(seconds);
    }
    Ok(target)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::targets::profile::{Profile, ProfileTarget};

    fn ssh_profile() -> Profile {
        Profile::new(ProfileTarget::Ssh {
            destination: "admin@monitor-1".into(),
            port: None,
            identity: None,
            data_dir: "/opt/server-monitor".into(),
            engine: None,
            api: None,
        })
    }

    /// A change over SSH (a backup of hours) is never stopped by a
    /// glance's limit; a glance's calls are, all together.
    #[test]
    fn only_a_glance_bounds_its_ssh_calls() {
        let profile = ssh_profile();
        let clock = crate::clock::SystemClock;
        let ctx = OperationContext::bare(&clock);
        let opened = OpenedTarget::open("p", &profile, &ctx).unwrap();
        let OpenedTarget::Ssh(target) = &opened else {
            panic!("an SSH target");
        };
        assert_eq!(target.host().time_limit, None);
        let limit = std::time::Duration::from_secs(7);
        let opened = OpenedTarget::open_for_a_glance("p", &profile, &ctx, limit).unwrap();
        let OpenedTarget::Ssh(target) = &opened else {
            panic!("an SSH target");
        };
        let set = target.host().time_limit.expect("a glance is bounded");
        assert_eq!(set.total, limit);
        assert!(set.ends <= std::time::Instant::now() + limit);
    }
}
