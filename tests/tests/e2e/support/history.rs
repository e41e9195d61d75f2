//! A realistic backup history, as an installation has after weeks of use:
//! the screenshots and layout tests judge the app on it, as users see it.

use std::path::Path;

use backupdesk_core::OperationContext;
use backupdesk_core::clock::FixedClock;
use backupdesk_core::format::crypto::Passphrase;
use backupdesk_core::local::ledger::VerifyDepth;
use backupdesk_core::model::PassphraseUse;
use backupdesk_core::service::{PassphraseSource, Selection, ServiceError, backups};
use chrono::{Duration, Timelike, Utc};

#[allow(unused_imports)]
use super::*;

struct Given(&'static str);

impl PassphraseSource for Given {
    fn passphrase(&self, _usage: PassphraseUse) -> Result<Passphrase, ServiceError> {
        Ok(Passphrase::new(self.0.to_owned()))
    }
}

/// What [`realistic_history`] made.
pub struct History {
    /// Every backup, oldest first.
    pub backups: Vec<String>,
    /// The one whose verification failed (a byte flipped on disk).
    pub failed: String,
    /// The pinned ones.
    pub pinned: Vec<String>,
}

/// Fills the installation at `root` (database made, no backups) with six
/// weeks of nightly backups at 02:00 (the database growing a little each
/// day) and three manual ones; the last two weeks quick-verified, three
/// deep-verified, two pinned, one whose verification failed, a restore
/// nine days ago (its safety backup) and a restore drill of the newest. Backups are made with `passphrase`.
pub fn realistic_history(root: &Path, passphrase: &'static str) -> History {
    let selection = Selection::data_dir(root);
    let source = Given(passphrase);
    let database = root.join("data/servers.db");
    let today = Utc::now()
        .with_hour(2)
        .and_then(|t| t.with_minute(0))
        .and_then(|t| t.with_second(0))
        .unwrap();
    let at = |t: chrono::DateTime<Utc>| FixedClock(t.fixed_offset());
    let mut made = Vec::new();
    for days_ago in (1..=42).rev() {
        let when = today - Duration::days(days_ago);
        grow(&database, days_ago);
        made.push(backup(&selection, &source, &at(when)));
        if days_ago == 9 {
            // A restore the admin made: its safety backup is in the list.
            backupdesk_core::service::restore::restore(
                &selection,
                &made[made.len() - 3],
                &source,
                &Default::default(),
                &OperationContext::bare(&at(when + Duration::hours(15))),
            )
            .expect("a restore in the history");
        }
        if days_ago % 14 == 3 {
            // An admin's manual backup in the afternoon, before a change.
            made.push(backup(&selection, &source, &at(when + Duration::hours(13))));
        }
    }
    let verify = |name: &str, depth, when| {
        backups::verify(
            &selection,
            name,
            &source,
            depth,
            &OperationContext::bare(&at(when)),
        )
    };
    for name in &made[made.len() - 14..] {
        verify(name, VerifyDepth::Quick, today).expect("a quick verification");
    }
    for name in [&made[0], &made[20], &made[made.len() - 2]] {
        verify(name, VerifyDepth::Deep, today).expect("a deep verification");
    }
    let pinned = vec![made[0].clone(), made[20].clone()];
    for name in &pinned {
        backups::set_pinned(&selection, name, true).unwrap();
    }
    let failed = made[30].clone();
    flip_last_byte(&root.join("data/backups").join(&failed));
    assert!(verify(&failed, VerifyDepth::Quick, today).is_err());
    backupdesk_core::service::drills::drill(
        &selection,
        None,
        &source,
        &OperationContext::bare(&at(today)),
    )
    .expect("a restore drill of the newest backup");
    History {
        backups: made,
        failed,
        pinned,
    }
}

fn backup(selection: &Selection, source: &Given, clock: &FixedClock) -> String {
    // Kept as a "keep 60 days" policy would: no prune between them.
    let options = backupdesk_core::local::backup::BackupOptions {
        prune_after: false,
        ..Default::default()
    };
    backups::backup(selection, source, &options, &OperationContext::bare(clock))
        .expect("a backup of the history")
        .filename
}

/// A day's monitoring samples: the database grows as a real one does.
fn grow(database: &Path, day: i64) {
    let conn = rusqlite::Connection::open(database).unwrap();
    conn.execute_batch(&format!(
        "INSERT INTO monitoring_history (server_id, timestamp, cpu_percent, status)
         SELECT server_id, timestamp, cpu_percent + {day} % 7, 'ok' FROM monitoring_history LIMIT 120;"
    ))
    .unwrap();
}

fn flip_last_byte(path: &Path) {
    let mut bytes = std::fs::read(path).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(path, bytes).unwrap();
}
