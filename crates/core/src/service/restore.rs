//! Restore, plan then execute, for either side: the name checked and
//! found, a backup whose latest verification failed refused, the
//! passphrase asked for only where it is needed.

use crate::context::OperationContext;
use crate::format::crypto::Passphrase;
use crate::local::catalog::{BackupCatalog, ListItem};
use crate::local::restore::RestoreOptions;
use crate::model::PassphraseUse;
use crate::service::backups;
use crate::service::error::ServiceError;
use crate::service::selection::{PassphraseSource, Selection};
use crate::targets::{RestoreDone, RestorePlanned, refuse_failed_verification};

type Result<T> = std::result::Result<T, ServiceError>;

/// The service's stop and start commands for a restore, as the app's
/// wizard takes them (the CLI's `--stop-cmd` / `--start-cmd`); empty means
/// none.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ServiceCommands {
    /// Run before the swap (e.g. `systemctl stop server-monitor`).
    #[serde(default)]
    pub stop: Option<String>,
    /// Run after the swap, and after a rollback.
    #[serde(default)]
    pub start: Option<String>,
}

impl ServiceCommands {
    /// The restore's options with these commands (blank ones dropped).
    pub fn options(&self) -> RestoreOptions {
        let given = |c: &Option<String>| {
            c.as_deref()
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .map(str::to_owned)
        };
        RestoreOptions {
            stop_cmd: given(&self.stop),
            start_cmd: given(&self.start),
            ..RestoreOptions::default()
        }
    }
}

/// Backup `name` if it may be restored: a valid, listed name whose latest
/// verification did not fail.
///
/// # Errors
/// A bad or unknown name, [`crate::targets::TargetError::VerificationFailed`].
pub fn restorable(selection: &Selection, name: &str) -> Result<ListItem> {
    if crate::service::surgery::is_rows_backup(name) {
        return Err(crate::local::surgery::SurgeryError::RowsBackup(name.to_owned()).into());
    }
    let item = backups::find(selection, name)?;
    refuse_failed_verification(std::slice::from_ref(&item), name)?;
    Ok(item)
}

/// What restoring `name` would do; changes nothing. A local plan needs the
/// passphrase only when the backup's `.meta` has no row counts (they are
/// then counted in a staged copy); a server's never.
///
/// # Errors
/// As [`restorable`]; the plan's own errors.
pub fn plan(
    selection: &Selection,
    name: &str,
    passphrases: &dyn PassphraseSource,
    options: &RestoreOptions,
    ctx: &OperationContext<'_>,
) -> Result<RestorePlanned> {
    restorable(selection, name)?;
    let passphrase = match selection.data_dir_unchecked() {
        Some(data) if !meta_has_counts(data, name) => Some(
            crate::service::selection::reading_passphrase(selection, passphrases)?,
        ),
        // The server's engine counts a backup without `.meta` counts in a
        // staged copy: it gets the passphrase when there is one.
        None if selection.is_ssh() => passphrases.passphrase(PassphraseUse::Reading).ok(),
        _ => None,
    };
    Ok(selection
        .target()
        .plan_restore(name, passphrase.as_ref(), options, ctx)?)
}

/// Restores `name`: locally the safe sequence (staged and checked copy,
/// encrypted safety backup, atomic swap, automatic rollback); on a server
/// its restore followed until settled and judged. Callers confirm first.
///
/// # Errors
/// As [`restorable`]; the restore's own errors (a remote restore that
/// returns was followed and judged: read its outcome).
pub fn restore(
    selection: &Selection,
    name: &str,
    passphrases: &dyn PassphraseSource,
    options: &RestoreOptions,
    ctx: &OperationContext<'_>,
) -> Result<RestoreDone> {
    restorable(selection, name)?;
    if selection.is_ssh() {
        return restore_over_ssh(selection, name, passphrases, options, ctx);
    }
    let passphrase = match selection.is_remote() {
        true => Passphrase::new(String::new()),
        false => crate::service::selection::reading_passphrase(selection, passphrases)?,
    };
    Ok(selection
        .target()
        .restore(name, &passphrase, options, ctx)?)
}

/// A restore by the server's engine: a backup a key held here opens is
/// read by its session key alone (the server keeps no secret, issue 30),
/// with the passphrase this machine has, if any, for the safety backup
/// of a policy that keeps one; otherwise by the passphrase.
fn restore_over_ssh(
    selection: &Selection,
    name: &str,
    passphrases: &dyn PassphraseSource,
    options: &RestoreOptions,
    ctx: &OperationContext<'_>,
) -> Result<RestoreDone> {
    let way = crate::service::selection::reading_way(
        selection,
        crate::targets::ssh::BackupsRead::One(name),
        passphrases,
        ctx,
    )?;
    let passphrase = match &way.session {
        Some(_) => passphrases
            .passphrase(PassphraseUse::Reading)
            .unwrap_or_else(|_| Passphrase::new(String::new())),
        None => way.passphrase.clone(),
    };
    Ok(selection
        .target()
        .restore(name, &passphrase, options, &way.context(ctx))?)
}

fn meta_has_counts(data: &crate::local::layout::DataDir, name: &str) -> bool {
    BackupCatalog::scan(data)
        .ok()
        .and_then(|c| c.find(name).ok().and_then(|e| e.meta.clone()))
        .and_then(|m| m.tables)
        .is_some()
}
