//! Read-only queries on an opened database, bounded in rows and time so a
//! runaway query cannot hang the CLI or the app.

use std::time::{Duration, Instant};

use rusqlite::Connection;
use rusqlite::types::ValueRef;
use serde::Serialize;

use super::{SurgeryError, sqlite};

/// How much a query may return and how long it may run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueryLimits {
    /// Rows returned at most (the answer says when there were more).
    pub max_rows: usize,
    /// Stopped after this long.
    pub time: Duration,
}

impl Default for QueryLimits {
    fn default() -> Self {
        QueryLimits {
            max_rows: 1000,
            time: Duration::from_secs(30),
        }
    }
}

/// A query's answer: the columns, the rows (each value as JSON: a blob as
/// `x'…'` hex), whether rows were left out by the limit.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct QueryResult {
    pub columns: Vec<String>,
    #[cfg_attr(feature = "ts", ts(type = "Array<Array<unknown>>"))]
    pub rows: Vec<Vec<serde_json::Value>>,
    pub truncated: bool,
    pub elapsed_ms: u64,
}

/// The first words a read-only statement may start with.
const READING: [&str; 4] = ["select", "with", "values", "explain"];

/// Runs `sql`, one read-only statement, within `limits`.
///
/// # Errors
/// [`SurgeryError::ReadOnlyQuery`] for a statement that could write (or
/// several statements); [`SurgeryError::QueryStopped`] past the time
/// limit; SQLite's own error for a wrong query.
pub fn query(
    conn: &Connection,
    sql: &str,
    limits: QueryLimits,
) -> Result<QueryResult, SurgeryError> {
    let first = sql
        .trim_start()
        .split(|c: char| !c.is_ascii_alphabetic())
        .next()
        .unwrap_or("")
        .to_ascii_lowercase();
    let mut stmt = match conn.prepare(sql) {
        Err(rusqlite::Error::MultipleStatement) => {
            return Err(SurgeryError::ReadOnlyQuery(
                "more than one statement".to_owned(),
            ));
        }
        other => other.map_err(sqlite("the query"))?,
    };
    if !READING.contains(&first.as_str()) || !stmt.readonly() {
        return Err(SurgeryError::ReadOnlyQuery(format!(
            "a statement starting with {:?}",
            first.to_ascii_uppercase()
        )));
    }
    let columns: Vec<String> = stmt.column_names().map(str::to_owned).collect();
    let started = Instant::now();
    let watch = Watch::start(conn, limits.time);
    let mut rows = Vec::new();
    let mut truncated = false;
    let read = (|| -> rusqlite::Result<()> {
        let mut cursor = stmt.query([])?;
        while let Some(row) = cursor.next()? {
            if rows.len() == limits.max_rows {
                truncated = true;
                break;
            }
            rows.push(
                (0..columns.len())
                    .map(|i| row.get_ref(i).map(json_of))
                    .collect::<rusqlite::Result<_>>()?,
            );
        }
        Ok(())
    })();
    let stopped = watch.stop();
    match read {
        Err(_) if stopped => Err(SurgeryError::QueryStopped(limits.time.as_secs())),
        Err(e) => Err(sqlite("the query")(e)),
        Ok(()) => Ok(QueryResult {
            columns,
            rows,
            truncated,
            elapsed_ms: started.elapsed().as_millis() as u64,
        }),
    }
}

/// A value as JSON.
pub(crate) fn json_of(value: ValueRef<'_>) -> serde_json::Value {
    match value {
        ValueRef::Null => serde_json::Value::Null,
        ValueRef::Integer(i) => i.into(),
        ValueRef::Real(f) => serde_json::Number::from_f64(f)
            .map_or_else(|| f.to_string().into(), serde_json::Value::Number),
        ValueRef::Text(t) => String::from_utf8_lossy(t).into_owned().into(),
        ValueRef::Blob(b) => {
            let hex: String = b.iter().map(|byte| format!("{byte:02x}")).collect();
            format!("x'{hex}'").into()
        }
    }
}

/// Interrupts the connection's statement once its time is up.
struct Watch {
    done: std::sync::mpsc::Sender<()>,
    fired: std::thread::JoinHandle<bool>,
}

impl Watch {
    fn start(conn: &Connection, limit: Duration) -> Self {
        let handle = conn.get_interrupt_handle();
        let (done, finished) = std::sync::mpsc::channel::<()>();
        let fired = std::thread::spawn(move || {
            if finished.recv_timeout(limit).is_err() {
                handle.interrupt();
                return true;
            }
            false
        });
        Watch { done, fired }
    }

    /// Whether it stopped the statement.
    fn stop(self) -> bool {
        let _ = self.done.send(());
        self.fired.join().unwrap_or(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db() -> Connection {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(
            "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT, b BLOB, r REAL);
             INSERT INTO t VALUES (1, 'a', x'00ff', 1.5), (2, NULL, NULL, NULL), (3, 'c', NULL, 2);",
        )
        .unwrap();
        conn
    }

    #[test]
    fn a_query_answers_its_columns_and_rows_up_to_the_limit() {
        let limits = QueryLimits {
            max_rows: 2,
            ..Default::default()
        };
        let answer = query(&db(), "SELECT id, v, b, r FROM t ORDER BY id", limits).unwrap();
        assert_eq!(answer.columns, ["id", "v", "b", "r"]);
        assert_eq!(answer.rows.len(), 2);
        assert!(answer.truncated);
        let first: Vec<serde_json::Value> =
            vec![1.into(), "a".into(), "x'00ff'".into(), 1.5.into()];
        assert_eq!(answer.rows[0], first);
        assert_eq!(answer.rows[1][1], serde_json::Value::Null);
    }

    #[test]
    fn anything_that_could_write_is_refused_and_changes_nothing() {
        let conn = db();
        for sql in [
            "DELETE FROM t",
            "UPDATE t SET v = 'x'",
            "INSERT INTO t (v) VALUES ('x')",
            "DROP TABLE t",
            "PRAGMA journal_mode = delete",
            "ATTACH ':memory:' AS x",
            "SELECT 1; DELETE FROM t",
            "WITH x AS (SELECT 1) DELETE FROM t",
        ] {
            let e = query(&conn, sql, QueryLimits::default()).unwrap_err();
            assert!(matches!(e, SurgeryError::ReadOnlyQuery(_)), "{sql}: {e}");
        }
        let rows: i64 = conn
            .query_row("SELECT count(*) FROM t", [], |r| r.get(0))
            .unwrap();
        assert_eq!(rows, 3);
    }

    #[test]
    fn a_runaway_query_is_stopped_at_its_time_limit() {
        let limits = QueryLimits {
            max_rows: 10,
            time: Duration::from_millis(200),
        };
        let runaway = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) \
                       SELECT count(*) FROM n";
        let started = Instant::now();
        let e = query(&db(), runaway, limits).unwrap_err();
        assert!(matches!(e, SurgeryError::QueryStopped(_)), "{e}");
        assert!(started.elapsed() < Duration::from_secs(10));
    }
}
