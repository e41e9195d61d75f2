//! The write transaction of a partial restore on live: the backup attached
//! read-only as `bk`, the keys of the rows to change kept in temporary
//! tables (in memory: keys can be secrets, session ids), foreign-key
//! enforcement off so nothing cascades (what would dangle is found by
//! `foreign_key_check` instead, and refused).

use std::cell::Cell;
use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

use super::super::diff::{Shared, Unmatched, read_only_uri};
use super::super::schema::{foreign_keys, quote, referencing, table_names};
use super::super::{Opened, SurgeryError, sqlite};
use super::{Chosen, PartialOptions, PartialPlan, TableChange};
use crate::local::layout::DataDir;

/// One table in the transaction: its keys' temporary tables are
/// `k_ins_N`, `k_upd_N` and `k_del_N`.
pub(super) struct Marked {
    pub(super) table: String,
    pub(super) n: usize,
    pub(super) shared: Shared,
    pub(super) parent: bool,
    /// Rows to insert, update, delete.
    pub(super) counts: [u64; 3],
}

/// A row that points at a row not there: (table, rowid, parent, foreign key).
pub(super) type Dangling = (String, i64, String, i64);

/// The open write transaction.
pub(super) struct Transaction {
    conn: Connection,
    pub(super) marked: Vec<Marked>,
    committed: Cell<bool>,
}

/// Live, writable, with the backup attached read-only as `bk`.
fn connect(live: &Path, opened: &Opened, busy: Duration) -> Result<Connection, SurgeryError> {
    crate::local::snapshot::check_is_sqlite(live)?;
    let conn = Connection::open_with_flags(
        live,
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_URI
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(sqlite("opening the live database"))?;
    conn.busy_timeout(busy)
        .map_err(sqlite("setting the busy timeout"))?;
    conn.execute_batch("PRAGMA foreign_keys = OFF; PRAGMA temp_store = MEMORY;")
        .map_err(sqlite("preparing the live database"))?;
    conn.execute(
        "ATTACH DATABASE ?1 AS bk",
        [read_only_uri(opened.path(), true)],
    )
    .map_err(sqlite(format!("opening {}", opened.label())))?;
    Ok(conn)
}

impl Transaction {
    /// Stage **mark**: the write transaction begun (waiting for the
    /// service's writes up to the busy timeout), the rows of `chosen`
    /// marked, and with `with_parents`, the rows they reference.
    pub(super) fn mark(
        data: &DataDir,
        opened: &Opened,
        chosen: &Chosen,
        options: &PartialOptions,
    ) -> Result<Transaction, SurgeryError> {
        let conn = connect(&data.database(), opened, options.busy_timeout)?;
        conn.execute_batch("BEGIN IMMEDIATE").map_err(sqlite(
            "starting the write transaction on the live database",
        ))?;
        let mut tx = Transaction {
            conn,
            marked: Vec::new(),
            committed: Cell::new(false),
        };
        for (table, expression) in chosen {
            if tx.marked.iter().any(|m| &m.table == table) {
                continue;
            }
            tx.add(table, Some(expression), options.replace, false)?;
        }
        if options.with_parents {
            tx.bring_parents()?;
        }
        for i in 0..tx.marked.len() {
            let n = tx.marked[i].n;
            let mut counts = [0; 3];
            for (slot, kind) in counts.iter_mut().zip(["ins", "upd", "del"]) {
                *slot = tx.count(&format!("SELECT count(*) FROM temp.k_{kind}_{n}"))?;
            }
            tx.marked[i].counts = counts;
        }
        Ok(tx)
    }

    fn count(&self, sql: &str) -> Result<u64, SurgeryError> {
        self.conn
            .query_row(sql, [], |r| r.get::<_, i64>(0))
            .map(|n| n.max(0) as u64)
            .map_err(sqlite("counting the rows to restore"))
    }

    /// The connection (for the undo file's reads).
    pub(super) fn connection(&self) -> &Connection {
        &self.conn
    }

    /// `table`, checked to be the same in both, with its rows marked:
    /// those `expression` chooses, or none yet (a parent).
    fn add(
        &mut self,
        table: &str,
        expression: Option<&str>,
        replace: bool,
        parent: bool,
    ) -> Result<(), SurgeryError> {
        for (schema, place) in [("main", "the live database"), ("bk", "the backup")] {
            if !table_names(&self.conn, schema)?.iter().any(|t| t == table) {
                return Err(SurgeryError::NoSuchTable {
                    table: table.to_owned(),
                    place: place.to_owned(),
                });
            }
        }
        let shared = same_shape(&self.conn, table)?;
        let n = self.marked.len();
        let sql = mark_sql(table, n, &shared, expression, replace);
        self.conn
            .execute_batch(&sql)
            .map_err(|e| match expression {
                Some(_) => SurgeryError::BadWhere {
                    table: table.to_owned(),
                    message: e.to_string(),
                },
                None => sqlite(format!("marking the rows of {table}"))(e),
            })?;
        self.marked.push(Marked {
            table: table.to_owned(),
            n,
            shared,
            parent,
            counts: [0; 3],
        });
        Ok(())
    }

    /// Marks, until none is left, the rows the backup has and live lacks
    /// that marked rows point at.
    fn bring_parents(&mut self) -> Result<(), SurgeryError> {
        for _round in 0..32 {
            let mut brought = 0;
            let mut i = 0;
            while i < self.marked.len() {
                let child = self.marked[i].table.clone();
                for key in foreign_keys(&self.conn, "main", &child)? {
                    if !self.marked.iter().any(|m| m.table == key.parent) {
                        self.add(&key.parent, None, false, true)?;
                    }
                    let parent = self
                        .marked
                        .iter()
                        .find(|m| m.table == key.parent)
                        .expect("added");
                    let sql = parents_sql(&self.marked[i], parent, &key);
                    brought += self
                        .conn
                        .execute(&sql, [])
                        .map_err(sqlite(format!("finding the rows {child} points at")))?;
                }
                i += 1;
            }
            if brought == 0 {
                break;
            }
        }
        Ok(())
    }

    /// The plan as marked.
    pub(super) fn plan(&self, backup: &str, mode: &str, where_sql: Option<String>) -> PartialPlan {
        PartialPlan {
            backup: backup.to_owned(),
            mode: mode.to_owned(),
            where_sql,
            tables: self
                .marked
                .iter()
                .map(|m| TableChange {
                    table: m.table.clone(),
                    insert: m.counts[0],
                    update: m.counts[1],
                    delete: m.counts[2],
                    parent: m.parent,
                    referenced_by: referencing(&self.conn, "main", &m.table).unwrap_or_default(),
                })
                .collect(),
        }
    }

    /// What `foreign_key_check` finds in the marked tables and the tables
    /// pointing at them.
    pub(super) fn dangling(&self) -> Result<BTreeSet<Dangling>, SurgeryError> {
        let mut tables: BTreeSet<String> = self.marked.iter().map(|m| m.table.clone()).collect();
        for m in &self.marked {
            tables.extend(referencing(&self.conn, "main", &m.table)?);
        }
        let mut found = BTreeSet::new();
        let mut stmt = self
            .conn
            .prepare(
                "SELECT \"table\", rowid, parent, fkid FROM pragma_foreign_key_check(?1, 'main')",
            )
            .map_err(sqlite("checking the foreign keys"))?;
        for table in tables {
            let rows = stmt
                .query_map([&table], |r| {
                    Ok((
                        r.get(0)?,
                        r.get::<_, Option<i64>>(1)?.unwrap_or(0),
                        r.get(2)?,
                        r.get(3)?,
                    ))
                })
                .and_then(|rows| rows.collect::<rusqlite::Result<Vec<Dangling>>>())
                .map_err(sqlite(format!("checking the foreign keys of {table}")))?;
            found.extend(rows);
        }
        Ok(found)
    }

    /// Stage **apply**: deletes, updates, inserts, table by table.
    pub(super) fn apply(&self) -> Result<(), SurgeryError> {
        for m in &self.marked {
            for sql in apply_sql(m) {
                self.conn
                    .execute_batch(&sql)
                    .map_err(sqlite(format!("restoring the rows of {}", m.table)))?;
            }
        }
        Ok(())
    }

    /// Stage **commit**.
    pub(super) fn commit(self) -> Result<(), SurgeryError> {
        self.conn
            .execute_batch("COMMIT")
            .map_err(sqlite("committing the restored rows"))?;
        self.committed.set(true);
        Ok(())
    }
}

impl Drop for Transaction {
    fn drop(&mut self) {
        if !self.committed.get() {
            let _ = self.conn.execute_batch("ROLLBACK");
        }
    }
}

/// The shape `table` has in both, or why its rows cannot be restored.
fn same_shape(conn: &Connection, table: &str) -> Result<Shared, SurgeryError> {
    let shared = match Shared::of(conn, table, "bk", "main")? {
        Ok(shared) => shared,
        Err(Unmatched::NoPrimaryKey) => {
            return Err(SurgeryError::NoPrimaryKey(table.to_owned()));
        }
        Err(Unmatched::KeyDiffers(detail)) => {
            return Err(SurgeryError::SchemaDiffers {
                table: table.to_owned(),
                detail,
            });
        }
    };
    if !shared.added.is_empty() || !shared.dropped.is_empty() {
        let side = |cols: &[String], where_: &str| {
            (!cols.is_empty()).then(|| format!("only {where_}: {}", cols.join(", ")))
        };
        let detail = [
            side(&shared.dropped, "in the backup"),
            side(&shared.added, "in live"),
        ]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join("; ");
        return Err(SurgeryError::SchemaDiffers {
            table: table.to_owned(),
            detail: format!("columns {detail}"),
        });
    }
    Ok(shared)
}

/// The temporary key tables of table `n`: what `expression` chooses (or
/// nothing, for a parent).
fn mark_sql(table: &str, n: usize, s: &Shared, expression: Option<&str>, replace: bool) -> String {
    let t = quote(table);
    let chosen = |side: &str| match expression {
        Some(e) => format!("(SELECT * FROM {side}.{t} WHERE ({e}))"),
        None => format!("(SELECT * FROM {side}.{t} WHERE 0)"),
    };
    let (bk, live) = (chosen("bk"), chosen("main"));
    let del = if replace {
        format!(
            "SELECT {keys} FROM {live} m WHERE NOT EXISTS (SELECT 1 FROM bk.{t} b WHERE {on})",
            keys = s.key_list("m"),
            on = s.key_match("b", "m")
        )
    } else {
        format!("SELECT {} FROM main.{t} m WHERE 0", s.key_list("m"))
    };
    format!(
        "CREATE TEMP TABLE k_ins_{n} AS SELECT {bkeys} FROM {bk} b \
           WHERE NOT EXISTS (SELECT 1 FROM main.{t} m WHERE {on});
         CREATE TEMP TABLE k_upd_{n} AS SELECT {bkeys} FROM {bk} b JOIN main.{t} m ON {on} \
           WHERE {differs};
         CREATE TEMP TABLE k_del_{n} AS {del};",
        bkeys = s.key_list("b"),
        on = s.key_match("b", "m"),
        differs = s.differs("b", "m"),
    )
}

/// Marks the rows of `parent` that the backup has, live lacks, and marked
/// rows of `child` point at through `key`.
fn parents_sql(child: &Marked, parent: &Marked, key: &super::super::ForeignKey) -> String {
    let (c, p, cn, n) = (quote(&child.table), quote(&parent.table), child.n, parent.n);
    let list = |x: &str, cols: &[String]| {
        cols.iter()
            .map(|col| format!("{x}.{}", quote(col)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let present = key
        .parent_columns
        .iter()
        .map(|col| format!("x.{col} = q.{col}", col = quote(col)))
        .collect::<Vec<_>>()
        .join(" AND ");
    format!(
        "INSERT INTO temp.k_ins_{n} SELECT {qkeys} FROM bk.{p} q \
         WHERE ({qref}) IN (SELECT {bfk} FROM bk.{c} b WHERE ({bkeys}) IN \
           (SELECT * FROM temp.k_ins_{cn} UNION SELECT * FROM temp.k_upd_{cn})) \
           AND NOT EXISTS (SELECT 1 FROM main.{p} x WHERE {present}) \
           AND ({qkeys}) NOT IN (SELECT * FROM temp.k_ins_{n})",
        qkeys = parent.shared.key_list("q"),
        qref = list("q", &key.parent_columns),
        bfk = list("b", &key.columns),
        bkeys = child.shared.key_list("b"),
    )
}

/// The statements that make table `m`'s marked rows the backup's.
fn apply_sql(m: &Marked) -> Vec<String> {
    let (t, n, s) = (quote(&m.table), m.n, &m.shared);
    let mut sql = vec![format!(
        "DELETE FROM main.{t} WHERE ({keys}) IN (SELECT * FROM temp.k_del_{n})",
        keys = s
            .key
            .iter()
            .map(|k| quote(k))
            .collect::<Vec<_>>()
            .join(", ")
    )];
    let values: Vec<&String> = s.values().collect();
    if !values.is_empty() {
        let cols = values
            .iter()
            .map(|c| quote(c))
            .collect::<Vec<_>>()
            .join(", ");
        let from_b = values
            .iter()
            .map(|c| format!("b.{}", quote(c)))
            .collect::<Vec<_>>()
            .join(", ");
        sql.push(format!(
            "UPDATE main.{t} AS m SET ({cols}) = ({from_b}) FROM bk.{t} AS b \
             WHERE {on} AND ({mkeys}) IN (SELECT * FROM temp.k_upd_{n})",
            on = s.key_match("b", "m"),
            mkeys = s.key_list("m"),
        ));
    }
    let all = s
        .common
        .iter()
        .map(|c| quote(c))
        .collect::<Vec<_>>()
        .join(", ");
    let all_b = s
        .common
        .iter()
        .map(|c| format!("b.{}", quote(c)))
        .collect::<Vec<_>>()
        .join(", ");
    sql.push(format!(
        "INSERT INTO main.{t} ({all}) SELECT {all_b} FROM bk.{t} AS b \
         WHERE ({bkeys}) IN (SELECT * FROM temp.k_ins_{n})",
        bkeys = s.key_list("b"),
    ));
    sql
}

/// What would dangle, in words (the first ten).
pub(super) fn describe_dangling(found: &[&Dangling]) -> String {
    let mut words: Vec<String> = found
        .iter()
        .take(10)
        .map(|(table, rowid, parent, _)| format!("{table} row {rowid} → {parent}"))
        .collect();
    if found.len() > 10 {
        words.push(format!("and {} more", found.len() - 10));
    }
    words.join("; ")
}
