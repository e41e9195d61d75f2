//! The backup history of a selection and what is done to single backups:
//! list, back up, verify, pin, delete. One function per action, called by
//! a CLI verb and an app command alike.

use serde::Serialize;

use crate::context::OperationContext;
use crate::format::name::BackupName;
use crate::local::backup::BackupOptions;
use crate::local::catalog::{BackupCatalog, CatalogError, ListItem};
use crate::local::ledger::VerifyDepth;
use crate::local::verify::{self, VerifyReport};
use crate::model::KindedMessage;
use crate::model::PassphraseUse;
use crate::service::error::ServiceError;
use crate::service::selection::{PassphraseSource, Selection, needed_passphrase};
use crate::targets::BackupDone;
pub use crate::targets::{BackupDetail, BackupSummary};

type Result<T> = std::result::Result<T, ServiceError>;

/// Every backup of the selection, newest first, each with all that holds
/// for it ([`ListItem::derive_states`]).
///
/// # Errors
/// A missing data folder, an unreadable backup folder, a server's errors.
pub fn list(selection: &Selection) -> Result<Vec<ListItem>> {
    selection.require_existing()?;
    let mut items = selection.target().list()?;
    for item in &mut items {
        item.states = item.derive_states();
    }
    Ok(items)
}

/// Refuses `passphrase` for a new backup when the newest backup that has a
/// passphrase way in does not open with it (a typo, another machine's
/// passphrase): backups under it would form a second set the set's
/// passphrase cannot open. Instant: that backup's key packet only.
///
/// # Errors
/// [`ServiceError::OpensNoBackup`].
fn refuse_a_second_set(
    selection: &Selection,
    data: &crate::local::layout::DataDir,
    passphrase: &crate::format::crypto::Passphrase,
) -> Result<()> {
    if passphrase.is_empty() {
        return Ok(());
    }
    let Ok(catalog) = BackupCatalog::scan(data) else {
        return Ok(());
    };
    let newest = catalog.entries().iter().find(|e| {
        e.name.kind().is_encrypted()
            && crate::format::key_packets::KeyPackets::read(&e.path)
                .is_ok_and(|head| head.has_passphrase_way_in())
    });
    let Some(newest) = newest else {
        return Ok(());
    };
    let opens = std::fs::File::open(&newest.path).map(|file| {
        crate::format::crypto::check_passphrase(std::io::BufReader::new(file), passphrase)
    });
    match opens {
        Ok(Err(crate::format::crypto::CryptoError::WrongPassphrase)) => {
            Err(ServiceError::SecondSet {
                folder: selection.label().to_owned(),
                newest: newest.name.file_name().to_owned(),
            })
        }
        _ => Ok(()),
    }
}

/// The listed backup called `name`: refuses names that could escape a
/// folder before anything reads them (a server does not URL-decode), then
/// unknown ones.
///
/// # Errors
/// [`CatalogError::Name`], [`CatalogError::BackupNotFound`], listing errors.
pub fn find(selection: &Selection, name: &str) -> Result<ListItem> {
    BackupName::parse(name).map_err(CatalogError::from)?;
    list(selection)?
        .into_iter()
        .find(|i| i.filename == name)
        .ok_or_else(|| CatalogError::BackupNotFound(name.to_owned()).into())
}

/// Makes a backup now: locally a consistent snapshot, encrypted with the
/// source's passphrase (then the automatic prune with the selection's
/// policy unless `options.prune_after` is off); on a server, its own
/// backup, recognised even when it answers 500. Encrypting with the
/// scripts' well-known default passphrase (allowed by the options) is
/// warned about in the summary.
///
/// The installation's notifiers hear of it (a ping check: `start`, and
/// `fail` when it fails; the others: what changed).
///
/// # Errors
/// A missing folder, a refused passphrase, the backup's own errors.
pub fn backup(
    selection: &Selection,
    passphrases: &dyn PassphraseSource,
    options: &BackupOptions,
    ctx: &OperationContext<'_>,
) -> Result<BackupSummary> {
    use crate::service::notify::{Job, job_finished, job_started};
    job_started(selection, Job::Backup, ctx);
    let started = std::time::Instant::now();
    let made = make_backup(selection, passphrases, options, ctx);
    let failed = made.as_ref().err().map(|e| e.to_string());
    job_finished(selection, Job::Backup, failed, started.elapsed(), ctx);
    made
}

/// [`backup`], before the notifiers hear of it.
fn make_backup(
    selection: &Selection,
    passphrases: &dyn PassphraseSource,
    options: &BackupOptions,
    ctx: &OperationContext<'_>,
) -> Result<BackupSummary> {
    selection.require_existing()?;
    let passphrase = needed_passphrase(selection, passphrases, PassphraseUse::NewBackup)?;
    let options = BackupOptions {
        retention: options.retention.or(selection.retention()),
        ..options.clone()
    };
    if let Some(data) = selection.data_dir_unchecked()
        && !options.new_set
    {
        refuse_a_second_set(selection, data, &passphrase)?;
    }
    let done = selection.target().backup(&passphrase, &options, ctx)?;
    // (An SSH profile's engine says so itself.)
    let made_here = matches!(done, BackupDone::Local(_));
    let mut summary = BackupSummary::from(done);
    if made_here && passphrase.is_legacy_default() {
        summary.warnings.insert(0, "encrypted with Server Monitor's well-known default passphrase: anyone who knows it can read this backup".to_owned());
    }
    if made_here {
        summary.offsite = push_after_backup(selection, ctx);
        for failed in summary.offsite.iter().filter(|p| !p.ok) {
            if let Some(error) = &failed.error {
                summary.warnings.push(format!(
                    "the off-site copy to {} failed (the backup is made; `backupdesk offsite push` tries again): {}",
                    failed.location, error.message
                ));
            }
        }
    }
    Ok(summary)
}

/// The push to every off-site location of the installation after a
/// backup, one outcome per location; a failure is reported, never raised.
fn push_after_backup(
    selection: &Selection,
    ctx: &OperationContext<'_>,
) -> Vec<crate::targets::OffsitePush> {
    use crate::service::offsite;
    let Ok(locations) = offsite::locations(Some(selection)) else {
        return Vec::new();
    };
    locations
        .iter()
        .map(|location| {
            // Each outcome is also written to the backup log by the push.
            match offsite::push(
                selection,
                &offsite::PushOptions {
                    only: Some(location.name.clone()),
                    after_backup: true,
                    ..Default::default()
                },
                ctx,
            ) {
                Ok(reports) => crate::targets::OffsitePush {
                    location: location.name.clone(),
                    ok: true,
                    copied: reports.iter().map(|r| r.copied.len()).sum(),
                    error: None,
                },
                Err(e) => crate::targets::OffsitePush {
                    location: location.name.clone(),
                    ok: false,
                    copied: 0,
                    error: Some(KindedMessage::of(&e)),
                },
            }
        })
        .collect()
}

/// Deletes backup `name` (its `.gpg`, then its `.meta`), locally or on the
/// server. Callers confirm first, after [`find`]. A deletion here is
/// recorded in the installation's `logs/backup.log` (over SSH, the
/// server's engine records it there).
///
/// # Errors
/// A bad or unknown name, a backup that cannot be removed, a busy lock.
pub fn delete(selection: &Selection, name: &str, ctx: &OperationContext<'_>) -> Result<()> {
    find(selection, name)?;
    selection.target().delete(name)?;
    if let Ok(Some(data)) = selection.files_here() {
        crate::local::activity_log::ActivityLog::backup(data).append(
            ctx,
            crate::local::activity_log::Level::Info,
            &format!("Deleted {name} by hand"),
        );
    }
    Ok(())
}

/// Pins or unpins backup `name` (retention never deletes a pinned one).
///
/// # Errors
/// A server, an unknown backup, a damaged ledger.
pub fn set_pinned(selection: &Selection, name: &str, pinned: bool) -> Result<()> {
    BackupName::parse(name).map_err(CatalogError::from)?;
    selection.files_here()?;
    Ok(selection.target().set_pinned(name, pinned)?)
}

/// Verifies backup `name`, quick (decrypt, size and SHA-256 against
/// `.meta`) or deep (also SQLite's checks on a staged copy); recorded in
/// the ledger. Bad names are refused before a passphrase is asked for.
///
/// # Errors
/// A server, an unknown backup, a failed verification.
pub fn verify(
    selection: &Selection,
    name: &str,
    passphrases: &dyn PassphraseSource,
    depth: VerifyDepth,
    ctx: &OperationContext<'_>,
) -> Result<VerifyReport> {
    BackupName::parse(name).map_err(CatalogError::from)?;
    if let Some(data) = selection.files_here()? {
        BackupCatalog::scan(data)?.find(name)?;
    }
    let way = crate::service::selection::reading_way(
        selection,
        crate::targets::ssh::BackupsRead::One(name),
        passphrases,
        ctx,
    )?;
    Ok(selection
        .target()
        .verify(name, &way.passphrase, depth, &way.context(ctx))?)
}

/// One backup's result in [`verify_all`]'s report (`ok` with the report,
/// or not with the error).
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct VerifyResult {
    pub filename: String,
    pub ok: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub report: Option<Box<VerifyReport>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<KindedMessage>,
}

/// What happened to one backup in [`verify_all`], as it happens.
#[derive(Debug, Clone)]
pub enum VerifyEvent<'a> {
    /// Verified (passed or failed).
    Done(&'a VerifyResult),
    /// Pruned or deleted while the run went through the list: no failure,
    /// nothing recorded, not in the report.
    Gone(&'a str),
}

/// Every backup verified, newest first.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct VerifyAllReport {
    pub ok: bool,
    pub passed: usize,
    pub failed: usize,
    pub results: Vec<VerifyResult>,
}

/// Verifies every backup of the installation; `each` sees every result as
/// it comes (for a line per backup). A backup removed meanwhile is
/// [`VerifyEvent::Gone`], never a failure.
///
/// # Errors
/// A server, an unreadable folder, no passphrase.
pub fn verify_all(
    selection: &Selection,
    passphrases: &dyn PassphraseSource,
    depth: VerifyDepth,
    ctx: &OperationContext<'_>,
    each: &mut dyn FnMut(VerifyEvent<'_>),
) -> Result<VerifyAllReport> {
    verify_names(selection, passphrases, depth, None, ctx, each)
}

/// [`verify_all`] for the backups called `names` only (all when `None`),
/// newest first.
///
/// # Errors
/// As [`verify_all`].
pub(crate) fn verify_names(
    selection: &Selection,
    passphrases: &dyn PassphraseSource,
    depth: VerifyDepth,
    names: Option<&[String]>,
    ctx: &OperationContext<'_>,
    each: &mut dyn FnMut(VerifyEvent<'_>),
) -> Result<VerifyAllReport> {
    let data = selection.installation()?;
    let catalog = BackupCatalog::scan(data)?;
    let passphrase = crate::service::selection::reading_passphrase(selection, passphrases)?;
    let mut report = VerifyAllReport {
        ok: true,
        passed: 0,
        failed: 0,
        results: Vec::new(),
    };
    let wanted = |entry: &&crate::local::catalog::CatalogEntry| {
        names.is_none_or(|names| names.iter().any(|n| n == entry.name.file_name()))
    };
    for entry in catalog.entries().iter().filter(wanted) {
        let filename = entry.name.file_name().to_owned();
        let result = match verify::verify_entry(data, entry, &passphrase, depth, ctx) {
            Ok(r) => {
                report.passed += 1;
                VerifyResult {
                    filename,
                    ok: true,
                    report: Some(Box::new(r)),
                    error: None,
                }
            }
            Err(_) if !entry.path.exists() => {
                each(VerifyEvent::Gone(&filename));
                continue;
            }
            Err(e) => {
                report.failed += 1;
                report.ok = false;
                VerifyResult {
                    filename,
                    ok: false,
                    report: None,
                    error: Some(KindedMessage::of(&e)),
                }
            }
        };
        each(VerifyEvent::Done(&result));
        report.results.push(result);
    }
    Ok(report)
}

/// The passphrase check: decrypts the first block of the newest encrypted
/// backup with the passphrase the source gives.
///
/// # Errors
/// A server, no encrypted backup, a passphrase that does not open it.
pub fn test_passphrase(
    selection: &Selection,
    passphrases: &dyn PassphraseSource,
) -> Result<String> {
    let data = selection.installation()?;
    let passphrase = crate::service::selection::reading_passphrase(selection, passphrases)?;
    Ok(verify::test_passphrase(data, &passphrase)?)
}
