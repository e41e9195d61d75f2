//! Proof that backups restore: restore drills and the scheduled rolling
//! verification, for a selection.

use crate::context::OperationContext;
use crate::local::catalog::BackupCatalog;
use crate::local::drill::{self, DrillReport};
use crate::local::rolling::{self, RollingEntry};
use crate::service::backups::{VerifyAllReport, VerifyEvent, verify_names};
use crate::service::error::ServiceError;
use crate::service::selection::{PassphraseSource, Selection};

type Result<T> = std::result::Result<T, ServiceError>;

/// Runs a restore drill of `name` (by default the newest regular backup):
/// restored with the real sequence into a private scratch folder, checked,
/// timed, removed; recorded in the ledger. Nothing live is touched.
///
/// # Errors
/// A server (it offers no download), an unknown backup, a failed drill.
pub fn drill(
    selection: &Selection,
    name: Option<&str>,
    passphrases: &dyn PassphraseSource,
    ctx: &OperationContext<'_>,
) -> Result<DrillReport> {
    use crate::service::notify::{Job, job_finished};
    let started = std::time::Instant::now();
    let drilled = drill_now(selection, name, passphrases, ctx);
    let failed = drilled.as_ref().err().map(|e| e.to_string());
    job_finished(selection, Job::Drill, failed, started.elapsed(), ctx);
    drilled
}

/// [`drill`], before the notifiers hear of it.
fn drill_now(
    selection: &Selection,
    name: Option<&str>,
    passphrases: &dyn PassphraseSource,
    ctx: &OperationContext<'_>,
) -> Result<DrillReport> {
    // An unknown backup is refused before a passphrase is asked for.
    if let Some(data) = selection.files_here()? {
        let catalog = BackupCatalog::scan(data)?;
        match name {
            Some(name) => drop(catalog.find(name)?),
            None => drop(drill::default_backup(&catalog)?),
        }
    }
    let which = match name {
        Some(name) => crate::targets::ssh::BackupsRead::One(name),
        None => crate::targets::ssh::BackupsRead::NewestRegular,
    };
    let way = crate::service::selection::reading_way(selection, which, passphrases, ctx)?;
    Ok(selection
        .target()
        .drill(name, &way.passphrase, &way.context(ctx))?)
}

/// The scheduled verification: a deep verification of the newest backup
/// and of the rolling share of the older ones (see
/// [`crate::local::rolling`]), each recorded; `each` sees every result.
///
/// # Errors
/// A server, an unreadable folder, no passphrase.
pub fn verify_rolling(
    selection: &Selection,
    passphrases: &dyn PassphraseSource,
    ctx: &OperationContext<'_>,
    each: &mut dyn FnMut(VerifyEvent<'_>),
) -> Result<VerifyAllReport> {
    use crate::service::notify::{Job, job_finished};
    let started = std::time::Instant::now();
    let verified = verify_rolling_now(selection, passphrases, ctx, each);
    let failed = match &verified {
        Err(e) => Some(e.to_string()),
        Ok(report) if report.failed > 0 => Some(format!(
            "{} backup(s) failed verification: {}",
            report.failed,
            report
                .results
                .iter()
                .filter(|r| !r.ok)
                .map(|r| r.filename.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )),
        Ok(_) => None,
    };
    job_finished(selection, Job::Verify, failed, started.elapsed(), ctx);
    verified
}

/// [`verify_rolling`], before the notifiers hear of it.
fn verify_rolling_now(
    selection: &Selection,
    passphrases: &dyn PassphraseSource,
    ctx: &OperationContext<'_>,
    each: &mut dyn FnMut(VerifyEvent<'_>),
) -> Result<VerifyAllReport> {
    let data = selection.installation()?;
    let catalog = BackupCatalog::scan(data)?;
    let entries: Vec<RollingEntry> = catalog
        .entries()
        .iter()
        .map(|e| RollingEntry {
            name: e.name.file_name().to_owned(),
            pre_restore: e.name.kind().is_pre_restore(),
            deep_checked_at: e.deep_passed_at.clone(),
        })
        .collect();
    let names = rolling::rolling_plan(&entries, rolling::DEFAULT_CYCLE);
    // Where no secret is kept (a policy with no passphrase), the scheduled
    // verification checks each backup against its .meta without opening
    // it; the deep one runs where a key is: from the laptop over SSH,
    // which hands over the session keys of the backups this run reads.
    let keys_given = ctx.session_keys().is_some();
    let depth = match keys_given || crate::service::selection::holds_passphrase(selection)? {
        true => crate::local::ledger::VerifyDepth::Deep,
        false => crate::local::ledger::VerifyDepth::Quick,
    };
    verify_names(selection, passphrases, depth, Some(&names), ctx, each)
}
