//! Cancelling long operations (what the app's Cancel button does through
//! `Progress::cancelled`): a cancelled backup leaves nothing behind; a
//! restore cancelled before its swap changes nothing.

use std::sync::atomic::{AtomicU64, Ordering};

use backupdesk_core::KindedError;
use backupdesk_core::OperationContext;
use backupdesk_core::clock::SystemClock;
use backupdesk_core::format::crypto::Passphrase;
use backupdesk_core::local::backup::{BackupOptions, create_backup};
use backupdesk_core::local::demo::JournalMode;
use backupdesk_core::local::restore::{RestoreOptions, restore};
use backupdesk_core::progress::{Phase, Progress};

use crate::support::*;

/// Asks to stop once `after` bytes went by.
struct CancelAfter {
    after: u64,
    seen: AtomicU64,
}

impl CancelAfter {
    fn new(after: u64) -> Self {
        CancelAfter {
            after,
            seen: AtomicU64::new(0),
        }
    }
}

impl Progress for CancelAfter {
    fn start(&self, _: Phase, _: Option<u64>) {}
    fn advance(&self, bytes: u64) {
        self.seen.fetch_add(bytes, Ordering::SeqCst);
    }
    fn finish(&self) {}
    fn cancelled(&self) -> bool {
        self.seen.load(Ordering::SeqCst) >= self.after
    }
}

#[test]
fn a_cancelled_backup_leaves_nothing_behind() {
    let inst = Installation::demo(16 * MIB, JournalMode::Wal);
    let earlier = inst.backup();
    let before = inst.fingerprint();
    let live = sha256_file(&inst.data.database());
    for after in [0, 3 * MIB, 12 * MIB] {
        let err = create_backup(
            &inst.data,
            &Passphrase::new(PASSPHRASE.to_owned()),
            &BackupOptions::default(),
            &OperationContext::bare(&SystemClock).with_progress(&CancelAfter::new(after)),
        )
        .unwrap_err();
        assert_eq!(err.kind(), "cancelled", "after {after} bytes: {err}");
        assert_eq!(
            inst.fingerprint(),
            before,
            "after {after} bytes: the backups are as they were"
        );
        assert!(
            inst.leftovers().is_empty(),
            "after {after} bytes: {:?}",
            inst.leftovers()
        );
        assert_eq!(sha256_file(&inst.data.database()), live);
    }
    let list = inst.json(&["list"]).1;
    assert_eq!(
        list["backups"].as_array().map(Vec::len),
        Some(1),
        "{list:#}"
    );
    assert_eq!(list["backups"][0]["filename"], earlier.as_str());
}

#[test]
fn a_restore_cancelled_before_the_swap_changes_nothing() {
    let inst = Installation::demo(16 * MIB, JournalMode::Wal);
    let name = inst.backup();
    change_live(&inst.data.database(), "after-the-backup");
    let live = content_digest(&inst.data.database(), None);
    let before = inst.fingerprint();
    // Cancelled while decrypting, and at the last check before the swap
    // (everything read: the safety backup exists by then and is removed).
    for after in [MIB, u64::MAX / 2] {
        let progress = CancelAfter::new(after);
        let progress_ref: &dyn Progress = if after == MIB {
            &progress
        } else {
            &LateCancel(&progress)
        };
        let err = restore(
            &inst.data,
            &name,
            &Passphrase::new(PASSPHRASE.to_owned()),
            &RestoreOptions::default(),
            &OperationContext::bare(&SystemClock).with_progress(progress_ref),
        )
        .unwrap_err();
        assert_eq!(err.kind(), "cancelled", "{err}");
        assert_eq!(
            content_digest(&inst.data.database(), None),
            live,
            "the live database is untouched"
        );
        assert_eq!(inst.fingerprint(), before, "no pre-restore backup is left");
        assert!(inst.leftovers().is_empty(), "{:?}", inst.leftovers());
    }
}

/// Says "cancel" only once the whole backup was decrypted and checked:
/// the integrity check phase has started.
struct LateCancel<'a>(&'a CancelAfter);

impl Progress for LateCancel<'_> {
    fn start(&self, phase: Phase, _: Option<u64>) {
        if phase == Phase::IntegrityCheck {
            self.0.seen.store(u64::MAX, Ordering::SeqCst);
        }
    }
    fn advance(&self, _: u64) {}
    fn finish(&self) {}
    fn cancelled(&self) -> bool {
        self.0.cancelled()
    }
}
