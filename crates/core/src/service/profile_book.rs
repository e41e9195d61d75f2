//! The profile book as both shells change it: every profile by name, a
//! new one added, a server's login. (Reading one profile, removing one and
//! its secrets, its passphrase: [`crate::service::profiles`].)

use std::collections::BTreeMap;

use crate::context::OperationContext;
use crate::keychain::SecretKind;
use crate::service::error::ServiceError;
use crate::targets::profile::Profile;

type Result<T> = std::result::Result<T, ServiceError>;

/// Every profile, by name.
///
/// # Errors
/// A damaged book.
pub fn all() -> Result<BTreeMap<String, Profile>> {
    Ok(super::profiles::book()?.profiles().clone())
}

/// Adds `profile` as `name` (a taken name or an invalid one is refused;
/// the book is saved whole or not at all).
///
/// # Errors
/// [`crate::targets::profile::ProfileError`]: a taken or invalid name, a
/// damaged book, a failed save.
pub fn add(name: &str, profile: Profile) -> Result<()> {
    Ok(super::profiles::book()?.add(name, profile)?)
}

/// Logs in to server profile `name` with `password` and keeps the token in
/// the context's secret store (the password too when `remember`; otherwise
/// a kept password is forgotten).
///
/// # Errors
/// No such profile, a local one, a refused login, an unusable store.
pub fn sign_in(
    name: &str,
    password: &str,
    remember: bool,
    ctx: &OperationContext<'_>,
) -> Result<()> {
    let profile = super::profiles::profile(name)?;
    Ok(crate::targets::sign_in(
        name, &profile, password, remember, ctx,
    )?)
}

/// Keeps `password` for server profile `name`, for one automatic re-login
/// when its token expires (asked after a login worked).
///
/// # Errors
/// An unusable store.
pub fn keep_password(name: &str, password: &str, ctx: &OperationContext<'_>) -> Result<()> {
    Ok(ctx
        .secrets()
        .set(name, SecretKind::Password, password)
        .map_err(crate::targets::TargetError::from)?)
}

/// Forgets server profile `name`'s token and password (its passphrase
/// stays: backups still need it).
///
/// # Errors
/// An unusable store.
pub fn sign_out(name: &str, ctx: &OperationContext<'_>) -> Result<()> {
    for kind in [SecretKind::ApiToken, SecretKind::Password] {
        ctx.secrets()
            .forget(name, kind)
            .map_err(crate::targets::TargetError::from)?;
    }
    Ok(())
}

/// A demo installation made at `dir` (no profile, no passphrase: the
/// CLI's `demo init`), dated by the context's clock.
///
/// # Errors
/// A folder that already holds a database, I/O.
pub fn demo_folder(
    dir: &std::path::Path,
    options: &crate::local::demo::DemoOptions,
    ctx: &OperationContext<'_>,
) -> Result<crate::local::demo::DemoReport> {
    let data = crate::local::layout::DataDir::new(dir);
    Ok(crate::local::demo::create_demo(&data, options, ctx.now())?)
}

/// Removes what dead processes left in the staging folder of every local
/// profile (a backup opened in the app when it was killed, a verification
/// cut short): plaintext never outlives the next start. Copies of running
/// processes stay. Returns how many entries were removed.
///
/// # Errors
/// A damaged book (a folder that cannot be cleaned is skipped).
pub fn remove_staged_leftovers() -> Result<usize> {
    let mut removed = 0;
    for profile in all()?.values() {
        if let crate::targets::profile::ProfileTarget::Local { data_dir } = &profile.target {
            let data = crate::local::layout::DataDir::new(data_dir.clone());
            if data.staging().is_dir() {
                let staging = crate::local::staging::Staging::open(&data);
                removed += staging.and_then(|s| s.remove_leftovers()).unwrap_or(0);
            }
        }
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::FixedClock;
    use crate::local::demo::DemoOptions;

    #[test]
    fn a_demo_folder_is_made_once_and_dated_by_the_context() {
        let dir = tempfile::tempdir().unwrap();
        let clock = FixedClock::utc(2026, 12, 4, 9, 30, 0);
        let ctx = OperationContext::bare(&clock);
        let options = DemoOptions {
            size_bytes: 128 * 1024,
            servers: 2,
            ..DemoOptions::default()
        };
        let report = demo_folder(dir.path(), &options, &ctx).unwrap();
        assert!(report.tables > 0);
        // A second one would overwrite a database: refused, nothing changed.
        let before = std::fs::read(dir.path().join("data/servers.db")).unwrap();
        let err = demo_folder(dir.path(), &options, &ctx).unwrap_err();
        assert_eq!(crate::KindedError::kind(&err), "database_exists", "{err}");
        assert_eq!(
            std::fs::read(dir.path().join("data/servers.db")).unwrap(),
            before
        );
    }
}
