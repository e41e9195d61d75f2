//! The service layer driven as a shell drives it, through one
//! [`OperationContext`] whose parts are swapped: a fixed clock, progress
//! that is watched (and can ask to stop), and secrets kept in memory. Real
//! files in a scratch folder, a small real database; no keychain, no
//! terminal, no network.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use crate::KindedError;
use crate::clock::FixedClock;
use crate::context::{MemorySecrets, OperationContext, SharedSecrets};
use crate::keychain::SecretKind;
use crate::local::demo::{DemoOptions, create_demo};
use crate::local::layout::DataDir;
use crate::local::ledger::VerifyDepth;
use crate::progress::{Phase, Progress};
use crate::service::backups;
use crate::service::selection::{Selection, StoredPassphrase};

const PASSPHRASE: &str = "correct horse battery staple";

/// Progress that counts what it is told and stops when asked to.
#[derive(Default)]
struct Watched {
    phases: AtomicU64,
    bytes: AtomicU64,
    stop: AtomicBool,
}

impl Progress for Watched {
    fn start(&self, _: Phase, _: Option<u64>) {
        self.phases.fetch_add(1, Ordering::Relaxed);
    }
    fn advance(&self, bytes: u64) {
        self.bytes.fetch_add(bytes, Ordering::Relaxed);
    }
    fn finish(&self) {}
    fn cancelled(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }
}

/// A small demo installation in a scratch folder, its selection, and a
/// store holding (or not) its passphrase under the folder's scope.
struct Bench {
    _dir: tempfile::TempDir,
    data: DataDir,
    selection: Selection,
    secrets: SharedSecrets,
    clock: FixedClock,
}

impl Bench {
    fn new(passphrase_kept: bool) -> Bench {
        let dir = tempfile::tempdir().unwrap();
        let data = DataDir::new(dir.path());
        let clock = FixedClock::utc(2026, 12, 4, 3, 15, 0);
        let options = DemoOptions {
            size_bytes: 256 * 1024,
            servers: 3,
            ..DemoOptions::default()
        };
        create_demo(&data, &options, clock.0).unwrap();
        let selection = Selection::data_dir(dir.path());
        let secrets: SharedSecrets = Arc::new(MemorySecrets::new());
        if passphrase_kept {
            secrets
                .set(
                    selection.scope().label(),
                    SecretKind::Passphrase,
                    PASSPHRASE,
                )
                .unwrap();
        }
        Bench {
            _dir: dir,
            data,
            selection,
            secrets,
            clock,
        }
    }

    fn ctx<'a>(&'a self, progress: &'a dyn Progress) -> OperationContext<'a> {
        OperationContext::new(&self.clock, progress, &self.secrets)
    }

    fn backups_on_disk(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(self.data.backups())
            .map(|entries| {
                entries
                    .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                    .filter(|n| n.ends_with(".gpg") || n.ends_with(".meta"))
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        names
    }

    /// Runs `f` with a context of this bench (its clock, quiet watched
    /// progress, its secrets) and the store's passphrase source.
    fn with_source<T>(
        &self,
        f: impl FnOnce(&OperationContext<'_>, &StoredPassphrase<'_>) -> T,
    ) -> T {
        let watched = Watched::default();
        let ctx = self.ctx(&watched);
        let source = StoredPassphrase::new(&self.selection, &ctx);
        f(&ctx, &source)
    }

    fn verify(
        &self,
        name: &str,
        depth: VerifyDepth,
    ) -> Result<crate::local::verify::VerifyReport, crate::service::ServiceError> {
        self.with_source(|ctx, source| backups::verify(&self.selection, name, source, depth, ctx))
    }

    fn restore(
        &self,
        name: &str,
    ) -> Result<crate::targets::RestoreDone, crate::service::ServiceError> {
        self.with_source(|ctx, source| {
            crate::service::restore::restore(
                &self.selection,
                name,
                source,
                &Default::default(),
                ctx,
            )
        })
    }

    fn backup(&self, progress: &dyn Progress) -> Result<backups::BackupSummary, String> {
        let ctx = self.ctx(progress);
        let source = StoredPassphrase::new(&self.selection, &ctx);
        backups::backup(&self.selection, &source, &Default::default(), &ctx)
            .map_err(|e| e.kind().to_string())
    }
}

#[test]
fn a_backup_is_named_by_the_contexts_clock_and_encrypted_with_the_stores_passphrase() {
    let bench = Bench::new(true);
    let watched = Watched::default();
    let made = bench.backup(&watched).unwrap();
    // The name carries the context's time, not the machine's.
    assert!(
        made.filename.contains("20261204_031500"),
        "{}",
        made.filename
    );
    let listed = backups::list(&bench.selection).unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].filename, made.filename);
    // Its progress went to the context's progress.
    assert!(watched.phases.load(Ordering::Relaxed) >= 1);
    assert!(watched.bytes.load(Ordering::Relaxed) > 0);
    // And the store's passphrase opens it.
    let report = bench.verify(&made.filename, VerifyDepth::Quick).unwrap();
    assert_eq!(report.filename, made.filename);
}

#[test]
fn without_a_kept_passphrase_nothing_is_made_and_the_kind_says_why() {
    let bench = Bench::new(false);
    let kind = bench.backup(&Watched::default()).unwrap_err();
    assert_eq!(kind, "no_passphrase_stored");
    assert_eq!(bench.backups_on_disk(), Vec::<String>::new());
}

#[test]
fn a_context_asked_to_stop_cancels_the_backup_and_leaves_nothing() {
    let bench = Bench::new(true);
    let watched = Watched::default();
    watched.stop.store(true, Ordering::Relaxed);
    let kind = bench.backup(&watched).unwrap_err();
    assert_eq!(kind, "cancelled");
    assert_eq!(bench.backups_on_disk(), Vec::<String>::new());
}

#[test]
fn a_different_passphrase_in_the_store_is_refused_by_verification() {
    let bench = Bench::new(true);
    let made = bench.backup(&Watched::default()).unwrap();
    bench
        .secrets
        .set(
            bench.selection.scope().label(),
            SecretKind::Passphrase,
            "another passphrase entirely",
        )
        .unwrap();
    let err = bench
        .verify(&made.filename, VerifyDepth::Quick)
        .unwrap_err();
    assert_eq!(err.kind(), "wrong_passphrase", "{err}");
}

#[test]
fn a_deleted_backup_leaves_neither_its_file_nor_its_meta() {
    let bench = Bench::new(true);
    let made = bench.backup(&Watched::default()).unwrap();
    assert_eq!(bench.backups_on_disk().len(), 2, "the .gpg and its .meta");
    let watched = Watched::default();
    backups::delete(&bench.selection, &made.filename, &bench.ctx(&watched)).unwrap();
    assert_eq!(bench.backups_on_disk(), Vec::<String>::new());
    let err = backups::find(&bench.selection, &made.filename).unwrap_err();
    assert_eq!(err.kind(), "backup_not_found", "{err}");
}

#[test]
fn a_name_that_could_escape_the_folder_is_refused_before_anything_is_read() {
    let bench = Bench::new(true);
    for name in ["../servers.db", "/etc/passwd", "backup_x.db.gpg/.."] {
        let err = backups::find(&bench.selection, name).unwrap_err();
        assert_ne!(err.kind(), "backup_not_found", "{name}: {err}");
    }
}

#[test]
fn a_folder_that_does_not_exist_is_named_and_nothing_is_created_there() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such-installation");
    let selection = Selection::data_dir(&missing);
    assert_eq!(selection.label(), missing.display().to_string());
    let err = selection.require_existing().unwrap_err();
    assert_eq!(err.kind(), "not_an_installation", "{err}");
    assert!(err.to_string().contains("no-such-installation"), "{err}");
    let err = backups::list(&selection).unwrap_err();
    assert_eq!(err.kind(), "not_an_installation");
    assert!(!missing.exists(), "nothing made");
    assert!(!selection.is_remote() && !selection.is_ssh());
}

#[test]
fn a_folder_is_its_own_passphrase_scope_and_has_no_policy_of_its_own() {
    let bench = Bench::new(false);
    assert!(bench.selection.scope().label().starts_with("dir:/"));
    assert!(bench.selection.retention().is_none());
    assert!(bench.selection.installation().is_ok());
    assert!(bench.selection.files_here().unwrap().is_some());
}

#[test]
fn a_pin_through_the_service_keeps_a_backup_from_retention() {
    let bench = Bench::new(true);
    let made = bench.backup(&Watched::default()).unwrap();
    backups::set_pinned(&bench.selection, &made.filename, true).unwrap();
    let listed = backups::list(&bench.selection).unwrap();
    assert!(listed[0].pinned, "{:?}", listed[0]);
    backups::set_pinned(&bench.selection, &made.filename, false).unwrap();
    assert!(!backups::list(&bench.selection).unwrap()[0].pinned);
}

fn groups(bench: &Bench) -> i64 {
    rusqlite::Connection::open(bench.data.database())
        .unwrap()
        .query_row("SELECT count(*) FROM groups", [], |r| r.get(0))
        .unwrap()
}

fn add_group(bench: &Bench, name: &str) {
    rusqlite::Connection::open(bench.data.database())
        .unwrap()
        .execute(
            "INSERT INTO groups (name, created_at) VALUES (?1, '2026-12-04')",
            [name],
        )
        .unwrap();
}

#[test]
fn a_restore_through_the_service_puts_the_backup_back_and_keeps_a_safety_backup() {
    let bench = Bench::new(true);
    let made = bench.backup(&Watched::default()).unwrap();
    let before = groups(&bench);
    add_group(&bench, "added after the backup");
    assert_eq!(groups(&bench), before + 1);
    let done = bench.restore(&made.filename).unwrap();
    assert!(done.restored());
    assert_eq!(groups(&bench), before, "the backup's content is live again");
    // The content replaced was kept: one more encrypted file (and its .meta).
    assert_eq!(
        bench.backups_on_disk().len(),
        4,
        "{:?}",
        bench.backups_on_disk()
    );
}

#[test]
fn a_dry_run_plans_the_restore_and_changes_nothing() {
    let bench = Bench::new(true);
    let made = bench.backup(&Watched::default()).unwrap();
    add_group(&bench, "live only");
    let live = std::fs::read(bench.data.database()).unwrap();
    let watched = Watched::default();
    let ctx = bench.ctx(&watched);
    let planned = crate::service::restore::plan(
        &bench.selection,
        &made.filename,
        &StoredPassphrase::new(&bench.selection, &ctx),
        &Default::default(),
        &ctx,
    )
    .unwrap();
    assert!(matches!(planned, crate::targets::RestorePlanned::Local(_)));
    assert_eq!(std::fs::read(bench.data.database()).unwrap(), live);
    assert_eq!(bench.backups_on_disk().len(), 2);
}

#[test]
fn a_backup_that_failed_its_verification_is_never_restored() {
    let bench = Bench::new(true);
    let made = bench.backup(&Watched::default()).unwrap();
    // A flipped byte in the middle of the encrypted file.
    let path = bench.data.backups().join(&made.filename);
    let mut bytes = std::fs::read(&path).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x40;
    std::fs::write(&path, &bytes).unwrap();
    let failed = bench.verify(&made.filename, VerifyDepth::Quick);
    assert!(failed.is_err(), "a damaged backup does not verify");
    let live = std::fs::read(bench.data.database()).unwrap();
    let err = bench.restore(&made.filename).unwrap_err();
    assert_eq!(err.kind(), "verification_failed", "{err}");
    assert_eq!(std::fs::read(bench.data.database()).unwrap(), live);
}

#[test]
fn a_drill_through_the_service_restores_aside_and_leaves_live_alone() {
    let bench = Bench::new(true);
    let made = bench.backup(&Watched::default()).unwrap();
    let live = std::fs::read(bench.data.database()).unwrap();
    let watched = Watched::default();
    let ctx = bench.ctx(&watched);
    let report = crate::service::drills::drill(
        &bench.selection,
        None,
        &StoredPassphrase::new(&bench.selection, &ctx),
        &ctx,
    )
    .unwrap();
    assert_eq!(report.filename, made.filename);
    assert!(report.counts_checked);
    assert_eq!(report.foreign_key_errors, 0);
    assert!(report.at.starts_with("2026-12-04"), "{}", report.at);
    assert_eq!(std::fs::read(bench.data.database()).unwrap(), live);
}

#[test]
fn a_deep_verification_checks_the_database_inside() {
    let bench = Bench::new(true);
    let made = bench.backup(&Watched::default()).unwrap();
    let report = bench.verify(&made.filename, VerifyDepth::Deep).unwrap();
    let database = report.database.expect("a deep check reads the database");
    assert!(database.integrity_ok());
    assert!(report.checksum_known);
}

#[test]
fn the_stored_passphrase_is_tested_on_the_newest_backup() {
    let bench = Bench::new(true);
    let made = bench.backup(&Watched::default()).unwrap();
    let watched = Watched::default();
    let ctx = bench.ctx(&watched);
    let opened = backups::test_passphrase(
        &bench.selection,
        &StoredPassphrase::new(&bench.selection, &ctx),
    )
    .unwrap();
    assert_eq!(opened, made.filename);
    bench
        .secrets
        .set(
            bench.selection.scope().label(),
            SecretKind::Passphrase,
            "a typo",
        )
        .unwrap();
    let err = backups::test_passphrase(
        &bench.selection,
        &StoredPassphrase::new(&bench.selection, &ctx),
    )
    .unwrap_err();
    assert_eq!(err.kind(), "wrong_passphrase", "{err}");
}

#[test]
fn a_summary_carries_the_scripts_fields_and_says_it_was_made_here() {
    let bench = Bench::new(true);
    let made = bench.backup(&Watched::default()).unwrap();
    let json = serde_json::to_value(&made).unwrap();
    for field in [
        "filename",
        "path",
        "size",
        "size_human",
        "checksum",
        "timestamp",
    ] {
        assert!(!json[field].is_null(), "{field}: {json}");
    }
    assert_eq!(json["target"], "local");
    assert_eq!(json["checksum"].as_str().unwrap().len(), 64);
    assert!(made.warnings.is_empty(), "{:?}", made.warnings);
    assert!(made.offsite.is_empty());
}

#[test]
fn a_rotation_re_encrypts_every_backup_and_keeps_the_new_passphrase_in_the_store() {
    use crate::format::crypto::Passphrase;
    use crate::service::session::PassphraseHome;
    let bench = Bench::new(true);
    let made = bench.backup(&Watched::default()).unwrap();
    let watched = Watched::default();
    let ctx = bench.ctx(&watched);
    let old = Passphrase::new(PASSPHRASE.to_owned());
    let new = Passphrase::new("a brand new passphrase".to_owned());
    let (report, stored) = crate::service::profiles::rotate_and_store(
        &bench.data,
        bench.selection.scope(),
        &old,
        &new,
        PassphraseHome::Keychain,
        &ctx,
    )
    .unwrap();
    assert_eq!(report.rotated, std::slice::from_ref(&made.filename));
    assert!(report.failed.is_empty() && report.in_progress.is_none());
    assert!(stored.unwrap(), "the new passphrase is kept");
    let kept = bench
        .secrets
        .get(bench.selection.scope().label(), SecretKind::Passphrase)
        .unwrap()
        .unwrap();
    assert_eq!(kept.as_str(), "a brand new passphrase");
    // The store's (new) passphrase opens the backup; the old no longer does.
    let opened = backups::test_passphrase(
        &bench.selection,
        &StoredPassphrase::new(&bench.selection, &ctx),
    )
    .unwrap();
    assert_eq!(opened, made.filename);
    assert!(crate::local::verify::test_passphrase(&bench.data, &old).is_err());
}

#[test]
fn a_prune_through_the_service_keeps_the_newest_and_the_pinned() {
    use crate::local::retention::RetentionPolicy;
    let bench = Bench::new(true);
    // Three backups a day apart, by moving the clock.
    let mut names = Vec::new();
    for day in 1..=3 {
        let clock = FixedClock::utc(2026, 12, day, 3, 0, 0);
        let watched = Watched::default();
        let ctx = OperationContext::new(&clock, &watched, &bench.secrets);
        let options = crate::local::backup::BackupOptions {
            prune_after: false,
            ..Default::default()
        };
        let made = backups::backup(
            &bench.selection,
            &StoredPassphrase::new(&bench.selection, &ctx),
            &options,
            &ctx,
        )
        .unwrap();
        names.push(made.filename);
    }
    backups::set_pinned(&bench.selection, &names[0], true).unwrap();
    let policy = RetentionPolicy {
        keep_last: 1,
        daily: 0,
        weekly: 0,
        monthly: 0,
        ..RetentionPolicy::default()
    };
    let clock = FixedClock::utc(2026, 12, 4, 3, 0, 0);
    let ctx = OperationContext::bare(&clock);
    let planned = crate::service::retention::plan_prune(
        &bench.selection,
        &policy,
        crate::service::retention::PruneRequest::default(),
        &ctx,
    )
    .unwrap();
    let outcome = planned.apply(&ctx);
    let left: Vec<String> = backups::list(&bench.selection)
        .unwrap()
        .into_iter()
        .map(|i| i.filename)
        .collect();
    assert!(left.contains(&names[2]), "the newest stays: {left:?}");
    assert!(left.contains(&names[0]), "the pinned stays: {left:?}");
    assert!(!left.contains(&names[1]), "the middle one goes: {left:?}");
    assert_eq!(outcome.deleted, [names[1].clone()]);
    assert!(outcome.failed.is_empty(), "{:?}", outcome.failed);
}

#[test]
fn what_the_service_did_is_in_the_activity_newest_first_at_the_contexts_time() {
    let bench = Bench::new(true);
    let made = bench.backup(&Watched::default()).unwrap();
    let watched = Watched::default();
    backups::delete(&bench.selection, &made.filename, &bench.ctx(&watched)).unwrap();
    let page = crate::service::activity::read(&bench.selection, &Default::default()).unwrap();
    assert!(page.entries.len() >= 2, "{:?}", page.entries);
    let newest = &page.entries[0];
    assert!(
        newest.message.contains(&made.filename),
        "{}",
        newest.message
    );
    assert_eq!(
        newest.at.map(|at| at.to_string()),
        Some("2026-12-04 03:15:00".to_owned())
    );
    let searched = crate::service::activity::read(
        &bench.selection,
        &crate::model::ActivityQuery {
            search: "no such words anywhere".to_owned(),
            ..Default::default()
        },
    )
    .unwrap();
    assert!(searched.entries.is_empty());
}

#[test]
fn the_local_target_answers_in_the_servers_shapes() {
    use crate::model::{HealthReport, StorageReport};
    let bench = Bench::new(true);
    bench.backup(&Watched::default()).unwrap();
    let watched = Watched::default();
    let ctx = bench.ctx(&watched);
    let health = crate::service::inspect::health(&bench.selection, &ctx).unwrap();
    assert!(matches!(&health, HealthReport::Checked(h) if h.healthy));
    let storage = crate::service::inspect::storage(&bench.selection).unwrap();
    let StorageReport::Measured(s) = storage else {
        panic!("measured");
    };
    assert_eq!(s.backups.count, 1);
    assert_eq!(
        bench.selection.target().describe(),
        bench.data.root().display().to_string()
    );
}
