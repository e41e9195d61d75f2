//! `offsite verify`: are the copies still what was pushed?
//!
//! Quick: one listing, then one HEAD per copy: its size and the store's
//! SHA-256 against the ledger's record of the push (or, with no local
//! record, against the copy's `.meta`, here or in the store). Deep: the
//! copy downloaded into a scratch folder in the private staging folder
//! (never `$TMPDIR`: a kill leaves nothing the next run keeps), decrypted, its SHA-256 against
//! its `.meta` and SQLite's `integrity_check`, on a rolling plan: the
//! newest copy plus the 1/30 of the others checked longest ago (or never),
//! so every copy is deep-checked at least once in 30 runs; `all` checks
//! every copy. Outcomes go to the ledger; nothing local but the ledger
//! and the scratch folder (removed) is written.

use serde::Serialize;

use super::push::stamp;
use super::{Result, chosen, ledger_path, scratch, store};
use crate::context::OperationContext;
use crate::format::meta::BackupMeta;
use crate::format::name::BackupName;
use crate::local::catalog::BackupCatalog;
use crate::local::layout::DataDir;
use crate::local::rolling::{RollingEntry, rolling_plan};
use crate::model::{ErrorKind, KindedMessage, VerifyDepth};
use crate::offsite::OffsiteError;
use crate::offsite::ledger::{CopyCheck, CopyLedger, same_checksum};
use crate::offsite::store::{CopyStore, DownloadBound};
use crate::service::selection::{PassphraseSource, Selection};

/// Runs within which every copy is deep-checked once.
pub const OFFSITE_CYCLE: usize = 30;

/// The verdict on one copy.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct CopyVerdict {
    pub name: String,
    /// Bytes in the store (0 when missing).
    pub size: u64,
    pub depth: VerifyDepth,
    pub ok: bool,
    /// What is wrong with it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub problem: Option<KindedMessage>,
    /// What a passed check could not compare.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// One location's verification.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct OffsiteVerify {
    pub location: String,
    /// Every backup copy, newest first.
    pub copies: Vec<CopyVerdict>,
    /// How many failed.
    pub failed: usize,
}

/// Verifies the copies at the selection's locations (or at `only`).
///
/// # Errors
/// No such location; no keys; the store's refusals to list; no passphrase
/// for a deep check. A bad copy is a verdict, not an error.
pub fn verify(
    selection: &Selection,
    only: Option<&str>,
    deep: Option<DeepScope>,
    passphrases: &dyn PassphraseSource,
    ctx: &OperationContext<'_>,
) -> Result<Vec<OffsiteVerify>> {
    let targets = chosen(selection, only)?;
    // An installation whose policy keeps no passphrase is read by keys
    // (keychain, gpg-agent): no passphrase is asked for first.
    let passphrase = match deep {
        Some(_) => Some(crate::service::selection::reading_passphrase(
            selection,
            passphrases,
        )?),
        None => None,
    };
    let local = selection.data_dir_unchecked().cloned();
    // What a killed deep check left (plaintext among it) goes first.
    super::staging(local.as_ref())?;
    let run = VerifyRun {
        deep,
        passphrase: passphrase.as_ref(),
        local: local.as_ref(),
        ctx: *ctx,
    };
    targets.iter().map(|location| run.at(location)).collect()
}

/// What every location of one verification shares.
struct VerifyRun<'a> {
    deep: Option<DeepScope>,
    passphrase: Option<&'a crate::format::crypto::Passphrase>,
    local: Option<&'a DataDir>,
    ctx: OperationContext<'a>,
}

impl VerifyRun<'_> {
    /// Every copy at `location` quick-checked, the chosen ones deep too;
    /// each verdict recorded in the location's ledger as it comes.
    fn at(&self, location: &super::OffsiteLocation) -> Result<OffsiteVerify> {
        let remote = store(location, &self.ctx)?;
        let ledger_file = ledger_path(&location.name);
        let mut ledger = CopyLedger::load(&ledger_file)?;
        let held = remote.list()?;
        // A copy only ever seen in a listing (never pushed from here) that
        // the store no longer lists was removed there (a server's own
        // prune): forgotten, not reported missing on every later run.
        ledger.copies.retain(|name, record| {
            record.pushed_at.is_some() || held.iter().any(|(h, _)| h == name)
        });
        let mut names: Vec<String> = held
            .iter()
            .map(|(n, _)| n.clone())
            .chain(ledger.copies.keys().cloned())
            .filter(|n| n.ends_with(".gpg") && BackupName::parse(n).is_ok())
            .collect();
        names.sort_by(|a, b| b.cmp(a));
        names.dedup();
        let deep = self.deep_ones(&names, &held, &ledger);
        let mut copies = Vec::new();
        for name in &names {
            let mut verdict = quick(remote.as_ref(), &ledger, self.local, name)?;
            let check = |v: &CopyVerdict| CopyCheck {
                at: stamp(&self.ctx),
                ok: v.ok,
                problem: v.problem.as_ref().map(|p| p.message.clone()),
            };
            ledger.entry(name).quick = Some(check(&verdict));
            if verdict.ok && deep.contains(name) {
                let passphrase = self.passphrase.expect("asked for a deep check");
                verdict = deep_check(
                    remote.as_ref(),
                    self.local,
                    name,
                    verdict.size,
                    passphrase,
                    &self.ctx,
                )?;
                ledger.entry(name).deep = Some(check(&verdict));
            }
            ledger.save(&ledger_file)?;
            copies.push(verdict);
        }
        Ok(OffsiteVerify {
            location: location.name.clone(),
            failed: copies.iter().filter(|c| !c.ok).count(),
            copies,
        })
    }

    /// The copies a deep check downloads: none, all, or the rolling share
    /// (the newest and those checked longest ago, among those held).
    fn deep_ones(
        &self,
        names: &[String],
        held: &[(String, u64)],
        ledger: &CopyLedger,
    ) -> Vec<String> {
        match self.deep {
            None => Vec::new(),
            Some(DeepScope::All) => names.to_vec(),
            Some(DeepScope::Rolling) => {
                let entries: Vec<RollingEntry> = names
                    .iter()
                    .filter(|n| held.iter().any(|(h, _)| h == *n))
                    .map(|n| RollingEntry {
                        name: n.clone(),
                        pre_restore: BackupName::parse(n).is_ok_and(|b| b.kind().is_pre_restore()),
                        deep_checked_at: ledger
                            .copies
                            .get(n)
                            .and_then(|r| r.deep.as_ref())
                            .filter(|d| d.ok)
                            .map(|d| d.at.clone()),
                    })
                    .collect();
                rolling_plan(&entries, OFFSITE_CYCLE)
            }
        }
    }
}

/// Which copies a deep verification downloads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeepScope {
    /// The newest and the 1/30 checked longest ago.
    Rolling,
    /// Every copy.
    All,
}

/// A quick check that passed, with what it could not compare.
fn passed(name: &str, size: u64, note: Option<&str>) -> CopyVerdict {
    CopyVerdict {
        name: name.to_owned(),
        size,
        depth: VerifyDepth::Quick,
        ok: true,
        problem: None,
        note: note.map(str::to_owned),
    }
}

fn bad(name: &str, size: u64, depth: VerifyDepth, kind: ErrorKind, message: String) -> CopyVerdict {
    CopyVerdict {
        name: name.to_owned(),
        size,
        depth,
        ok: false,
        problem: Some(KindedMessage { kind, message }),
        note: None,
    }
}

/// The quick check of copy `name`: its size and the store's SHA-256.
fn quick(
    remote: &dyn CopyStore,
    ledger: &CopyLedger,
    local: Option<&DataDir>,
    name: &str,
) -> Result<CopyVerdict> {
    let depth = VerifyDepth::Quick;
    let Some(object) = remote.head(name)? else {
        return Ok(bad(
            name,
            0,
            depth,
            ErrorKind::BackupNotFound,
            format!("{name} was copied here but is gone from the store"),
        ));
    };
    let stored = object.checksum_sha256.clone().unwrap_or_default();
    let Some((size, checksum, recorded)) = expected_of(remote, ledger, local, name)? else {
        return Ok(passed(
            name,
            object.size,
            Some("no record of its push and no .meta with its size: only --deep can check it"),
        ));
    };
    if object.size != size {
        return Ok(wrong_size(name, object.size, size));
    }
    if !remote.keeps_checksums() {
        return Ok(passed(
            name,
            object.size,
            Some(
                "its size is as pushed; this store keeps no checksum: --deep reads its bytes back",
            ),
        ));
    }
    let Some(checksum) = checksum else {
        return Ok(passed(
            name,
            object.size,
            Some("its size matches; no SHA-256 to compare with: only --deep can check its bytes"),
        ));
    };
    if same_checksum(&stored, &checksum) {
        return Ok(passed(name, object.size, None));
    }
    // Without the push's record, a multipart copy's checksum (of its parts)
    // cannot be compared with the .meta's (of the whole file).
    if !recorded && !stored.is_empty() && remote.checksum_of_parts(object.size) {
        return Ok(passed(
            name,
            object.size,
            Some(
                "its size matches; the store's checksum is of its parts, not comparable with its .meta: only --deep can check its bytes",
            ),
        ));
    }
    Ok(bad(
        name,
        object.size,
        depth,
        ErrorKind::ChecksumMismatch,
        format!(
            "the store's SHA-256 of {name} is {} but {checksum} was {}: the copy was altered in the store",
            if stored.is_empty() {
                "missing"
            } else {
                &stored
            },
            if recorded {
                "confirmed at push"
            } else {
                "recorded in its .meta"
            }
        ),
    ))
}

/// What copy `name` should be: its size, the store's checksum and whether
/// that is the push's record (else its `.meta`'s, here or in the store).
fn expected_of(
    remote: &dyn CopyStore,
    ledger: &CopyLedger,
    local: Option<&DataDir>,
    name: &str,
) -> Result<Option<(u64, Option<String>, bool)>> {
    Ok(
        match ledger
            .copies
            .get(name)
            .filter(|r| r.store_checksum.is_some())
        {
            Some(record) => Some((record.size, record.store_checksum.clone(), true)),
            None => meta_of(remote, local, name)?
                .and_then(|m| Some((m.gpg_size?, m.gpg_sha256.map(hex_to_b64), false))),
        },
    )
}

/// A copy whose size in the store is not the pushed one: cut short, or not.
fn wrong_size(name: &str, held: u64, pushed: u64) -> CopyVerdict {
    let kind = if held < pushed {
        ErrorKind::TruncatedBackup
    } else {
        ErrorKind::SizeMismatch
    };
    bad(
        name,
        held,
        VerifyDepth::Quick,
        kind,
        format!("{name} holds {held} bytes in the store, {pushed} were pushed"),
    )
}

/// The `.meta` of backup `name`: the local one, else the store's.
fn meta_of(
    remote: &dyn CopyStore,
    local: Option<&DataDir>,
    name: &str,
) -> Result<Option<BackupMeta>> {
    let Some(meta_name) = BackupName::parse(name).ok().and_then(|n| n.meta_name()) else {
        return Ok(None);
    };
    if let Some(data) = local
        && let Ok(meta) = BackupMeta::read(&data.backup_file(&meta_name))
    {
        return Ok(Some(meta));
    }
    let Some(head) = remote.head(&meta_name)? else {
        return Ok(None);
    };
    let scratch = scratch(local)?;
    let path = scratch.path().join(&meta_name);
    remote.download(
        &meta_name,
        &path,
        &DownloadBound::for_size(head.size),
        &crate::progress::NoProgress,
    )?;
    Ok(BackupMeta::read(&path).ok())
}

/// The deep check of copy `name`: downloaded with its `.meta` into a
/// scratch installation, then the checks of a local deep verification.
fn deep_check(
    remote: &dyn CopyStore,
    local: Option<&DataDir>,
    name: &str,
    size: u64,
    passphrase: &crate::format::crypto::Passphrase,
    ctx: &OperationContext<'_>,
) -> Result<CopyVerdict> {
    let scratch = scratch(local)?;
    let data = DataDir::new(scratch.path());
    let folder = data.backups();
    crate::publish::ensure_private_dir(&folder)
        .map_err(|e| OffsiteError::Local(folder.display().to_string(), e.to_string()))?;
    if let Some(meta) = BackupName::parse(name).ok().and_then(|n| n.meta_name())
        && let Some(head) = remote.head(&meta)?
    {
        remote.download(
            &meta,
            &data.backup_file(&meta),
            &DownloadBound::for_size(head.size),
            &crate::progress::NoProgress,
        )?;
    }
    remote.download(
        name,
        &data.backup_file(name),
        &DownloadBound::for_size(size),
        ctx,
    )?;
    let catalog = BackupCatalog::scan(&data)?;
    let entry = catalog.find(name)?;
    Ok(
        match crate::local::verify::check(&data, entry, passphrase, VerifyDepth::Deep, false, ctx) {
            Ok((report, _)) => CopyVerdict {
                name: name.to_owned(),
                size,
                depth: VerifyDepth::Deep,
                ok: true,
                problem: None,
                note: report.database.map(|d| {
                    format!(
                        "decrypted, SHA-256 matches its .meta, integrity {}, {} tables",
                        d.integrity.join("; "),
                        d.tables.len()
                    )
                }),
            },
            Err(e) if e.is_backup_fault() => bad(
                name,
                size,
                VerifyDepth::Deep,
                crate::KindedError::kind(&e),
                e.to_string(),
            ),
            Err(e) => return Err(e.into()),
        },
    )
}

fn hex_to_b64(hex_digest: String) -> String {
    use base64::Engine as _;
    hex::decode(&hex_digest)
        .map(|b| base64::engine::general_purpose::STANDARD.encode(b))
        .unwrap_or(hex_digest)
}
