//! The hostile matrix (issue 12): every hostile or unlucky input Backup Desk
//! was put through, kept as tests and grouped by what they attack. Each
//! asserts the specific error (or the careful behaviour) and that the live
//! database and every backup are byte-identical afterwards (or, where the
//! operation must go ahead, exactly what it had to change).
//!
//! The table-driven tests print `hostile matrix: GROUP: N cases` (run with
//! `--nocapture` to count them); "case N" in a doc comment names one of the
//! nineteen cases of issue 12 that failed before its fix.

mod books;
mod commands;
mod concurrency;
mod files;
mod folders;
mod kills;
mod names;
mod offsite_stores;
mod passphrase;
mod remote;
mod ssh_channel;

#[allow(unused_imports)]
use std::time::{Duration, Instant};

#[allow(unused_imports)]
use backupdesk_core::{
    KindedError,
    clock::SystemClock,
    format::crypto::Passphrase,
    local::demo::JournalMode,
    local::restore::{RestoreOptions, restore},
    progress::NoProgress,
};

pub(crate) use crate::support::*;

/// Runs `args` with `--json`, expects exit 1 with error kind `kind`, and
/// checks that nothing changed and nothing was left behind. Returns the
/// error message.
pub(crate) fn assert_fails(inst: &Installation, args: &[&str], kind: &str) -> String {
    let before = inst.fingerprint();
    let (code, out) = inst.json(args);
    assert_eq!(out["error"]["kind"], kind, "{args:?}: {out:#}");
    assert_eq!(code, 1, "{args:?}: {out:#}");
    assert_eq!(inst.fingerprint(), before, "{args:?} changed files");
    assert!(
        inst.leftovers().is_empty(),
        "{args:?} left {:?}",
        inst.leftovers()
    );
    out["error"]["message"].as_str().unwrap().to_owned()
}

/// A 2 MiB WAL-mode installation with one backup.
pub(crate) fn installation_with_backup() -> (Installation, String) {
    let inst = Installation::demo(2 * MIB, backupdesk_core::local::demo::JournalMode::Wal);
    let name = inst.backup();
    (inst, name)
}

/// The content digest of what backup `name` holds, decrypted by `gpg`.
pub(crate) fn backup_content(
    inst: &Installation,
    name: &str,
) -> std::collections::BTreeMap<String, String> {
    let plain = inst.dir.path().join(format!("{name}.plain"));
    gpg_decrypt_to(PASSPHRASE, &inst.backup_path(name), &plain);
    content_digest(&plain, None)
}

/// Rows of `tags` whose name starts with `prefix`.
pub(crate) fn tag_rows(db: &std::path::Path, prefix: &str) -> i64 {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.query_row(
        "SELECT count(*) FROM tags WHERE name LIKE ?1 || '%'",
        [prefix],
        |r| r.get(0),
    )
    .unwrap()
}

/// Says how many cases a table-driven test went through.
pub(crate) fn tally(group: &str, cases: usize) {
    eprintln!("hostile matrix: {group}: {cases} cases");
}
