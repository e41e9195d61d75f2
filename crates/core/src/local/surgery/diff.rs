//! Comparing two databases table by table, rows matched by primary key:
//! rows inserted, deleted and updated from the old to the new, and with
//! `rows`, the rows themselves (for an update, each changed column's old
//! and new value), paged. Schema differences are reported, never errors.
//! Both are read in one read transaction: live is compared as of one
//! moment while its service writes on.

use std::collections::BTreeSet;
use std::path::Path;

use rusqlite::{Connection, OpenFlags};
use serde::{Deserialize, Serialize};

use super::query::json_of;
use super::schema::{columns, quote, table_names};
use super::{Opened, SurgeryError, sqlite};

/// What to compare.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct DiffOptions {
    /// The tables (empty: every table of either side).
    pub tables: Vec<String>,
    /// The changed rows too, not only their counts.
    pub rows: bool,
    /// Changed rows per table in one page.
    pub limit: usize,
    /// Changed rows of each table to skip (the page's start).
    pub offset: usize,
}

impl Default for DiffOptions {
    fn default() -> Self {
        DiffOptions {
            tables: Vec::new(),
            rows: false,
            limit: 100,
            offset: 0,
        }
    }
}

/// Two databases compared.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct DiffReport {
    pub old: String,
    pub new: String,
    pub tables: Vec<TableDiff>,
    /// Tables with any difference.
    pub changed_tables: u32,
}

/// One table compared.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct TableDiff {
    pub table: String,
    /// `None`: the table is not on that side.
    pub rows_old: Option<u64>,
    pub rows_new: Option<u64>,
    pub inserted: u64,
    pub deleted: u64,
    pub updated: u64,
    pub columns_added: Vec<String>,
    pub columns_dropped: Vec<String>,
    /// Why rows were not matched (no primary key, a key that differs).
    pub note: Option<String>,
    /// With `rows`: this page of the changed rows (inserted, then
    /// deleted, then updated, each in key order).
    pub changes: Vec<RowChange>,
    /// Changed rows after this page.
    pub more: bool,
}

impl TableDiff {
    /// Whether anything differs.
    pub fn changed(&self) -> bool {
        self.inserted + self.deleted + self.updated > 0
            || self.rows_old.is_none() != self.rows_new.is_none()
            || !self.columns_added.is_empty()
            || !self.columns_dropped.is_empty()
            || self.note.is_some()
    }
}

/// One changed row: its key and its columns (an update: the changed ones
/// only; an insert: the new row; a delete: the old one).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct RowChange {
    /// `inserted`, `deleted` or `updated`.
    pub change: String,
    #[cfg_attr(feature = "ts", ts(type = "Array<unknown>"))]
    pub key: Vec<serde_json::Value>,
    pub columns: Vec<ColumnChange>,
}

/// One column of a changed row.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ColumnChange {
    pub column: String,
    #[cfg_attr(feature = "ts", ts(type = "unknown"))]
    pub old: serde_json::Value,
    #[cfg_attr(feature = "ts", ts(type = "unknown"))]
    pub new: serde_json::Value,
}

/// A URI that opens `path` read-only (`immutable` for a staged copy no one
/// else writes).
pub(crate) fn read_only_uri(path: &Path, immutable: bool) -> String {
    let escaped = path
        .display()
        .to_string()
        .replace('%', "%25")
        .replace('?', "%3f")
        .replace('#', "%23");
    let flags = if immutable { "immutable=1" } else { "mode=ro" };
    format!("file:{escaped}?{flags}")
}

/// A private connection with `old` and `new` attached read-only.
fn attach_both(old: &Opened, new: &Opened) -> Result<Connection, SurgeryError> {
    let conn = Connection::open_with_flags(
        ":memory:",
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_URI,
    )
    .map_err(sqlite("opening a comparison"))?;
    for (side, opened) in [("old", old), ("new", new)] {
        conn.execute(
            &format!("ATTACH DATABASE ?1 AS {side}"),
            [read_only_uri(opened.path(), !opened.is_live())],
        )
        .map_err(sqlite(format!("opening {}", opened.label())))?;
    }
    Ok(conn)
}

/// Compares `old` with `new`.
///
/// # Errors
/// A table asked for that neither side has; SQLite failing.
pub fn diff(old: &Opened, new: &Opened, options: &DiffOptions) -> Result<DiffReport, SurgeryError> {
    let conn = attach_both(old, new)?;
    conn.execute_batch("BEGIN")
        .map_err(sqlite("starting the read"))?;
    let in_old: BTreeSet<String> = table_names(&conn, "old")?.into_iter().collect();
    let in_new: BTreeSet<String> = table_names(&conn, "new")?.into_iter().collect();
    let every: BTreeSet<String> = in_old.union(&in_new).cloned().collect();
    let chosen: Vec<String> = if options.tables.is_empty() {
        every.into_iter().collect()
    } else {
        for table in &options.tables {
            if !every.contains(table) {
                return Err(SurgeryError::NoSuchTable {
                    table: table.clone(),
                    place: format!("{} or {}", old.label(), new.label()),
                });
            }
        }
        options.tables.clone()
    };
    let mut tables = Vec::with_capacity(chosen.len());
    for table in chosen {
        let sides = (in_old.contains(&table), in_new.contains(&table));
        tables.push(table_diff(&conn, &table, sides, options)?);
    }
    let _ = conn.execute_batch("COMMIT");
    Ok(DiffReport {
        old: old.label().to_owned(),
        new: new.label().to_owned(),
        changed_tables: tables.iter().filter(|t| t.changed()).count() as u32,
        tables,
    })
}

fn count(conn: &Connection, sql: &str, table: &str) -> Result<u64, SurgeryError> {
    conn.query_row(sql, [], |r| r.get::<_, i64>(0))
        .map(|n| n.max(0) as u64)
        .map_err(sqlite(format!("comparing {table}")))
}

/// Why the rows of a table cannot be matched between two sides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Unmatched {
    NoPrimaryKey,
    /// In words.
    KeyDiffers(String),
}

impl std::fmt::Display for Unmatched {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Unmatched::NoPrimaryKey => f.write_str("no primary key: rows not matched"),
            Unmatched::KeyDiffers(words) => f.write_str(words),
        }
    }
}

/// The shape both sides of a table share.
pub(crate) struct Shared {
    /// The key's columns.
    pub(crate) key: Vec<String>,
    /// The columns both have, key included, in the old side's order.
    pub(crate) common: Vec<String>,
    pub(crate) added: Vec<String>,
    pub(crate) dropped: Vec<String>,
}

impl Shared {
    /// The two sides of `table` (schemas `a` and `b`) compared; `Err` with
    /// why rows cannot be matched.
    pub(crate) fn of(
        conn: &Connection,
        table: &str,
        a: &str,
        b: &str,
    ) -> Result<Result<Shared, Unmatched>, SurgeryError> {
        let (cols_a, key_a) = columns(conn, a, table)?;
        let (cols_b, key_b) = columns(conn, b, table)?;
        let names =
            |cols: &[super::Column]| cols.iter().map(|c| c.name.clone()).collect::<Vec<_>>();
        let (names_a, names_b) = (names(&cols_a), names(&cols_b));
        let shared = Shared {
            common: names_a
                .iter()
                .filter(|n| names_b.contains(n))
                .cloned()
                .collect(),
            added: names_b
                .iter()
                .filter(|n| !names_a.contains(n))
                .cloned()
                .collect(),
            dropped: names_a
                .iter()
                .filter(|n| !names_b.contains(n))
                .cloned()
                .collect(),
            key: key_a.clone(),
        };
        Ok(if key_a.is_empty() {
            Err(Unmatched::NoPrimaryKey)
        } else if key_a != key_b {
            Err(Unmatched::KeyDiffers(format!(
                "the primary key differs ({} / {}): rows not matched",
                key_a.join(", "),
                key_b.join(", ")
            )))
        } else {
            Ok(shared)
        })
    }

    /// `x.k1 = y.k1 AND …`.
    pub(crate) fn key_match(&self, x: &str, y: &str) -> String {
        self.key
            .iter()
            .map(|k| format!("{x}.{k} = {y}.{k}", k = quote(k)))
            .collect::<Vec<_>>()
            .join(" AND ")
    }

    /// `x.c1 IS NOT y.c1 OR …` over the shared columns outside the key
    /// (`0` when there are none).
    pub(crate) fn differs(&self, x: &str, y: &str) -> String {
        let terms: Vec<String> = self
            .values()
            .map(|c| format!("{x}.{c} IS NOT {y}.{c}", c = quote(c)))
            .collect();
        if terms.is_empty() {
            "0".to_owned()
        } else {
            terms.join(" OR ")
        }
    }

    /// The shared columns outside the key.
    pub(crate) fn values(&self) -> impl Iterator<Item = &String> {
        self.common.iter().filter(|c| !self.key.contains(c))
    }

    /// `x.k1, x.k2`.
    pub(crate) fn key_list(&self, x: &str) -> String {
        self.key
            .iter()
            .map(|k| format!("{x}.{}", quote(k)))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

fn table_diff(
    conn: &Connection,
    table: &str,
    (in_old, in_new): (bool, bool),
    options: &DiffOptions,
) -> Result<TableDiff, SurgeryError> {
    let t = quote(table);
    let rows_of = |side: &str, present: bool| -> Result<Option<u64>, SurgeryError> {
        present
            .then(|| count(conn, &format!("SELECT count(*) FROM {side}.{t}"), table))
            .transpose()
    };
    let mut diff = TableDiff {
        table: table.to_owned(),
        rows_old: None,
        rows_new: rows_of("new", in_new)?,
        inserted: 0,
        deleted: 0,
        updated: 0,
        columns_added: Vec::new(),
        columns_dropped: Vec::new(),
        note: None,
        changes: Vec::new(),
        more: false,
    };
    let shared = match (in_old && in_new)
        .then(|| Shared::of(conn, table, "old", "new"))
        .transpose()?
    {
        Some(Ok(shared)) => shared,
        unmatched => {
            // On one side only (every row inserted or deleted), or rows
            // that cannot be matched (counts only, and why).
            diff.rows_old = rows_of("old", in_old)?;
            match unmatched {
                Some(Err(why)) => diff.note = Some(why.to_string()),
                _ => {
                    diff.inserted = diff.rows_new.unwrap_or(0);
                    diff.deleted = diff.rows_old.unwrap_or(0);
                }
            }
            return Ok(diff);
        }
    };
    diff.columns_added = shared.added.clone();
    diff.columns_dropped = shared.dropped.clone();
    // Old's count comes from the same pass: old is read once.
    let (rows_old, deleted, updated) = matched_counts(conn, table, &shared)?;
    diff.rows_old = Some(rows_old);
    diff.deleted = deleted;
    diff.updated = updated;
    diff.inserted = diff
        .rows_new
        .unwrap_or(0)
        .saturating_sub(rows_old - deleted);
    if options.rows {
        rows::page(conn, table, &shared, &mut diff, options)?;
    }
    Ok(diff)
}

/// Old's rows, those without a match in new (by key) and those whose
/// values differ, in one pass over old with a lookup of each key in new
/// (the rows new has beyond the matched ones are its inserted rows). A
/// matched row's key equals old's, so it is never NULL: NULL there means
/// no match.
fn matched_counts(
    conn: &Connection,
    table: &str,
    shared: &Shared,
) -> Result<(u64, u64, u64), SurgeryError> {
    let t = quote(table);
    let (on, differs) = (shared.key_match("o", "n"), shared.differs("o", "n"));
    let probe = format!("n.{}", quote(&shared.key[0]));
    let n = |r: &rusqlite::Row<'_>, i: usize| r.get::<_, i64>(i).map(|v| v.max(0) as u64);
    conn.query_row(
        &format!(
            "SELECT count(*), coalesce(sum({probe} IS NULL), 0), \
             coalesce(sum({probe} IS NOT NULL AND ({differs})), 0) \
             FROM old.{t} o LEFT JOIN new.{t} n ON {on}"
        ),
        [],
        |r| Ok((n(r, 0)?, n(r, 1)?, n(r, 2)?)),
    )
    .map_err(sqlite(format!("comparing {table}")))
}

/// The changed rows themselves, one page.
mod rows {
    use super::*;

    pub(super) fn page(
        conn: &Connection,
        table: &str,
        shared: &Shared,
        diff: &mut TableDiff,
        options: &DiffOptions,
    ) -> Result<(), SurgeryError> {
        let t = quote(table);
        let on = shared.key_match("o", "n");
        let order = shared.key_list("x");
        let all = |side: &str| -> Result<Vec<String>, SurgeryError> {
            Ok(columns(conn, side, table)?
                .0
                .into_iter()
                .map(|c| c.name)
                .collect())
        };
        let kinds = [
            (
                "inserted",
                diff.inserted,
                format!(
                    "SELECT x.* FROM new.{t} x WHERE NOT EXISTS (SELECT 1 FROM old.{t} o WHERE {})",
                    shared.key_match("o", "x")
                ),
                all("new")?,
            ),
            (
                "deleted",
                diff.deleted,
                format!(
                    "SELECT x.* FROM old.{t} x WHERE NOT EXISTS (SELECT 1 FROM new.{t} n WHERE {})",
                    shared.key_match("x", "n")
                ),
                all("old")?,
            ),
        ];
        let mut skip = options.offset as u64;
        let mut left = options.limit as u64;
        for (change, total, select, names) in kinds {
            let take = left.min(total.saturating_sub(skip));
            if take > 0 {
                let sql = format!("{select} ORDER BY {order} LIMIT {take} OFFSET {skip}");
                whole_rows(conn, &sql, change, &names, shared, diff)?;
                left -= take;
            }
            skip = skip.saturating_sub(total);
        }
        let take = left.min(diff.updated.saturating_sub(skip));
        if take > 0 {
            let values: Vec<&String> = shared.values().collect();
            let pairs: Vec<String> = values
                .iter()
                .map(|c| format!("o.{c}, n.{c}", c = quote(c)))
                .collect();
            let sql = format!(
                "SELECT {keys}{sep}{pairs} FROM old.{t} o JOIN new.{t} n ON {on} WHERE {differs} \
                 ORDER BY {order} LIMIT {take} OFFSET {skip}",
                keys = shared.key_list("o"),
                sep = if pairs.is_empty() { "" } else { ", " },
                pairs = pairs.join(", "),
                differs = shared.differs("o", "n"),
                order = shared.key_list("o"),
            );
            updated_rows(conn, &sql, shared, &values, diff)?;
            left -= take;
        }
        let total = diff.inserted + diff.deleted + diff.updated;
        diff.more = options.offset as u64 + (options.limit as u64 - left) < total;
        Ok(())
    }

    fn whole_rows(
        conn: &Connection,
        sql: &str,
        change: &str,
        names: &[String],
        shared: &Shared,
        diff: &mut TableDiff,
    ) -> Result<(), SurgeryError> {
        let fail = || sqlite(format!("reading the changed rows of {}", diff.table));
        let mut stmt = conn.prepare(sql).map_err(fail())?;
        let mut rows = stmt.query([]).map_err(fail())?;
        while let Some(row) = rows.next().map_err(fail())? {
            let mut key = Vec::new();
            let mut cols = Vec::new();
            for (i, name) in names.iter().enumerate() {
                let value = json_of(row.get_ref(i).map_err(fail())?);
                if shared.key.contains(name) {
                    key.push(value.clone());
                }
                let (old, new) = if change == "inserted" {
                    (serde_json::Value::Null, value)
                } else {
                    (value, serde_json::Value::Null)
                };
                cols.push(ColumnChange {
                    column: name.clone(),
                    old,
                    new,
                });
            }
            diff.changes.push(RowChange {
                change: change.to_owned(),
                key,
                columns: cols,
            });
        }
        Ok(())
    }

    fn updated_rows(
        conn: &Connection,
        sql: &str,
        shared: &Shared,
        values: &[&String],
        diff: &mut TableDiff,
    ) -> Result<(), SurgeryError> {
        let fail = || sqlite(format!("reading the changed rows of {}", diff.table));
        let mut stmt = conn.prepare(sql).map_err(fail())?;
        let mut rows = stmt.query([]).map_err(fail())?;
        let keys = shared.key.len();
        while let Some(row) = rows.next().map_err(fail())? {
            let key = (0..keys)
                .map(|i| row.get_ref(i).map(json_of))
                .collect::<rusqlite::Result<Vec<_>>>()
                .map_err(fail())?;
            let mut cols = Vec::new();
            for (i, name) in values.iter().enumerate() {
                let old = row.get_ref(keys + 2 * i).map_err(fail())?;
                let new = row.get_ref(keys + 2 * i + 1).map_err(fail())?;
                if old != new {
                    cols.push(ColumnChange {
                        column: (*name).clone(),
                        old: json_of(old),
                        new: json_of(new),
                    });
                }
            }
            diff.changes.push(RowChange {
                change: "updated".to_owned(),
                key,
                columns: cols,
            });
        }
        Ok(())
    }
}
