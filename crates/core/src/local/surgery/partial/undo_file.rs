//! Stage **save**: the rows a partial restore is about to change or
//! delete, as live has them, and the keys of every row it touches, written
//! into a small SQLite database in the private staging folder (encrypted
//! next as the `prerestore_rows_` backup, then removed). Its tables: each
//! touched table as live declares it (holding the rows as they were),
//! `_backupdesk_keys_N` (the keys touched in table N) and
//! `_backupdesk_rows` (N, table, rows inserted, updated, deleted).

use rusqlite::Connection;
use rusqlite::types::Value;

use super::super::schema::{columns, quote};
use super::super::{Opened, SurgeryError, sqlite};
use super::Chosen;
use super::work::{Marked, Transaction};
use crate::context::OperationContext;
use crate::local::layout::DataDir;
use crate::local::staging::{StagedFile, Staging};

/// Writes the undo database of `tx` into the staging folder.
///
/// # Errors
/// The staging folder unusable; SQLite failing.
pub(super) fn save(
    data: &DataDir,
    tx: &Transaction,
    backup: &str,
    mode: &str,
    ctx: &OperationContext<'_>,
) -> Result<StagedFile, SurgeryError> {
    let staging = Staging::open(data).map_err(|source| SurgeryError::Io {
        what: format!("the staging folder {}", data.staging().display()),
        source,
    })?;
    let staged = staging.file("rows.db");
    let undo = Connection::open(staged.path()).map_err(sqlite("making the undo file"))?;
    // It holds some rows only: what they point at is not in it.
    undo.execute_batch(
        "PRAGMA foreign_keys = OFF;
         BEGIN;
         CREATE TABLE _backupdesk_rows (n INTEGER PRIMARY KEY, tbl TEXT NOT NULL,
           inserted INTEGER NOT NULL, updated INTEGER NOT NULL, deleted INTEGER NOT NULL);
         CREATE TABLE _backupdesk_undo (backup TEXT NOT NULL, mode TEXT NOT NULL, at TEXT NOT NULL);",
    )
    .map_err(sqlite("making the undo file"))?;
    undo.execute(
        "INSERT INTO _backupdesk_undo VALUES (?1, ?2, ?3)",
        [backup, mode, &ctx.now().to_rfc3339()],
    )
    .map_err(sqlite("writing the undo file"))?;
    for m in &tx.marked {
        save_table(tx.connection(), &undo, m)?;
    }
    undo.execute_batch("COMMIT")
        .map_err(sqlite("writing the undo file"))?;
    drop(undo);
    Ok(staged)
}

fn save_table(live: &Connection, undo: &Connection, m: &Marked) -> Result<(), SurgeryError> {
    let fail = || sqlite(format!("saving the rows of {}", m.table));
    let declared: String = live
        .query_row(
            "SELECT sql FROM main.sqlite_master WHERE type = 'table' AND name = ?1",
            [&m.table],
            |r| r.get(0),
        )
        .map_err(fail())?;
    undo.execute_batch(&declared).map_err(fail())?;
    let n = m.n;
    let keys = m
        .shared
        .key
        .iter()
        .map(|k| quote(k))
        .collect::<Vec<_>>()
        .join(", ");
    undo.execute_batch(&format!("CREATE TABLE _backupdesk_keys_{n} ({keys})"))
        .map_err(fail())?;
    let cols = m
        .shared
        .common
        .iter()
        .map(|c| quote(c))
        .collect::<Vec<_>>()
        .join(", ");
    let t = quote(&m.table);
    copy(
        live,
        &format!(
            "SELECT {cols} FROM main.{t} WHERE ({keys}) IN \
             (SELECT * FROM temp.k_upd_{n} UNION ALL SELECT * FROM temp.k_del_{n})"
        ),
        undo,
        &format!(
            "INSERT INTO {t} ({cols}) VALUES ({})",
            marks(m.shared.common.len())
        ),
    )
    .map_err(fail())?;
    copy(
        live,
        &format!(
            "SELECT * FROM temp.k_ins_{n} UNION ALL SELECT * FROM temp.k_upd_{n} \
             UNION ALL SELECT * FROM temp.k_del_{n}"
        ),
        undo,
        &format!(
            "INSERT INTO _backupdesk_keys_{n} VALUES ({})",
            marks(m.shared.key.len())
        ),
    )
    .map_err(fail())?;
    let [inserted, updated, deleted] = m.counts.map(|c| c as i64);
    undo.execute(
        "INSERT INTO _backupdesk_rows VALUES (?1, ?2, ?3, ?4, ?5)",
        rusqlite::params![n as i64, m.table, inserted, updated, deleted],
    )
    .map_err(fail())?;
    Ok(())
}

fn marks(n: usize) -> String {
    vec!["?"; n].join(", ")
}

/// Every row `select` reads from `from`, inserted into `to` by `insert`.
fn copy(from: &Connection, select: &str, to: &Connection, insert: &str) -> rusqlite::Result<()> {
    let mut read = from.prepare(select)?;
    let width = read.column_count();
    let mut write = to.prepare(insert)?;
    let mut rows = read.query([])?;
    while let Some(row) = rows.next()? {
        let values = (0..width)
            .map(|i| row.get::<_, Value>(i))
            .collect::<rusqlite::Result<Vec<_>>>()?;
        write.execute(rusqlite::params_from_iter(values))?;
    }
    Ok(())
}

/// The tables a rows backup touched, each with the expression choosing
/// its touched keys (in the backup attached as `bk`).
///
/// # Errors
/// Not a rows backup (no `_backupdesk_rows`); SQLite failing.
pub(super) fn touched(opened: &Opened) -> Result<Chosen, SurgeryError> {
    let conn = opened.connection();
    let read = || -> rusqlite::Result<Vec<(i64, String)>> {
        conn.prepare("SELECT n, tbl FROM _backupdesk_rows ORDER BY n")?
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect()
    };
    let tables = read().map_err(sqlite(format!(
        "{} is no partial restore's undo",
        opened.label()
    )))?;
    tables
        .into_iter()
        .map(|(n, table)| {
            let (keys, _) = columns(conn, "main", &format!("_backupdesk_keys_{n}"))?;
            let keys = keys
                .iter()
                .map(|k| quote(&k.name))
                .collect::<Vec<_>>()
                .join(", ");
            Ok((
                table,
                format!("({keys}) IN (SELECT * FROM bk._backupdesk_keys_{n})"),
            ))
        })
        .collect()
}
