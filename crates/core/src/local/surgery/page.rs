//! One page of a table for browsing (the desktop's data grid): sorted by
//! a column, filtered by a text every shown row contains, read within the
//! query limits. The filter is also given as an SQL expression, so "restore
//! these rows" restores exactly the rows the admin saw.

use rusqlite::Connection;
use serde::{Deserialize, Serialize};

use super::SurgeryError;
use super::query::{QueryLimits, QueryResult, query};
use super::schema::{columns, quote, table_names};

/// Which page of which table.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct PageRequest {
    pub table: String,
    /// A column to sort by (else the primary key, else the rowid).
    pub sort: Option<String>,
    pub descending: bool,
    /// Text a row must contain in any column (case-insensitive for ASCII).
    pub filter: Option<String>,
    pub offset: u64,
    pub limit: u64,
}

/// A page of a table.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct TablePage {
    pub table: String,
    pub rows: QueryResult,
    /// Rows matching the filter (all rows without one).
    pub total: u64,
    /// The filter as an SQL expression over the table (for `--where`).
    pub where_sql: Option<String>,
}

/// `text` as an SQL string literal.
fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// The expression "some column contains `needle`" over `columns`.
pub(crate) fn contains_expression(columns: &[String], needle: &str) -> String {
    let escaped = needle
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    let pattern = literal(&format!("%{escaped}%"));
    let each: Vec<String> = columns
        .iter()
        .map(|c| format!("CAST({} AS TEXT) LIKE {pattern} ESCAPE '\\'", quote(c)))
        .collect();
    format!("({})", each.join(" OR "))
}

/// Reads the page `request` asks for.
///
/// # Errors
/// No such table or column; the query limits.
pub fn page(
    conn: &Connection,
    request: &PageRequest,
    limits: QueryLimits,
) -> Result<TablePage, SurgeryError> {
    let no_table = |column: Option<&str>| SurgeryError::NoSuchTable {
        table: match column {
            Some(c) => format!("{}.{c}", request.table),
            None => request.table.clone(),
        },
        place: "this database".to_owned(),
    };
    if !table_names(conn, "main")?.contains(&request.table) {
        return Err(no_table(None));
    }
    let (cols, key) = columns(conn, "main", &request.table)?;
    let names: Vec<String> = cols.into_iter().map(|c| c.name).collect();
    let order = match &request.sort {
        Some(c) if !names.contains(c) => return Err(no_table(Some(c))),
        Some(c) => vec![c.clone()],
        None => key,
    };
    let direction = if request.descending { "DESC" } else { "ASC" };
    let mut order_sql: Vec<String> = order
        .iter()
        .map(|c| format!("{} {direction}", quote(c)))
        .collect();
    order_sql.push(format!("rowid {direction}"));
    let where_sql = request
        .filter
        .as_deref()
        .filter(|f| !f.is_empty())
        .map(|f| contains_expression(&names, f));
    let condition = where_sql.as_deref().unwrap_or("1");
    let table = quote(&request.table);
    let count = query(
        conn,
        &format!("SELECT count(*) FROM {table} WHERE {condition}"),
        limits,
    )?;
    let total = count.rows[0][0].as_u64().unwrap_or(0);
    let rows = query(
        conn,
        &format!(
            "SELECT * FROM {table} WHERE {condition} ORDER BY {} LIMIT {} OFFSET {}",
            order_sql.join(", "),
            request.limit,
            request.offset
        ),
        limits,
    )?;
    Ok(TablePage {
        table: request.table.clone(),
        rows,
        total,
        where_sql,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db() -> Connection {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(
            "CREATE TABLE w (id INTEGER PRIMARY KEY, url TEXT, n INTEGER);
             INSERT INTO w VALUES (1, 'https://a/100%', 3), (2, 'b''s hook', 1), (3, 'x_y', 2);",
        )
        .unwrap();
        conn
    }

    fn request(filter: Option<&str>) -> PageRequest {
        PageRequest {
            table: "w".to_owned(),
            filter: filter.map(str::to_owned),
            limit: 10,
            ..Default::default()
        }
    }

    #[test]
    fn a_filter_matches_its_text_literally_and_its_expression_selects_the_same_rows() {
        let conn = db();
        for (needle, ids) in [
            ("100%", vec![1]),
            ("'s", vec![2]),
            ("_", vec![3]),
            ("%", vec![1]),
        ] {
            let page = page(&conn, &request(Some(needle)), QueryLimits::default()).unwrap();
            let got: Vec<u64> = page
                .rows
                .rows
                .iter()
                .map(|r| r[0].as_u64().unwrap())
                .collect();
            assert_eq!(got, ids, "{needle}");
            assert_eq!(page.total, ids.len() as u64);
            let sql = format!(
                "SELECT id FROM w WHERE {} ORDER BY id",
                page.where_sql.unwrap()
            );
            let again: Vec<i64> = conn
                .prepare(&sql)
                .unwrap()
                .query_map([], |r| r.get(0))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
            assert_eq!(
                again,
                ids.iter().map(|&i| i as i64).collect::<Vec<_>>(),
                "{needle}"
            );
        }
    }

    #[test]
    fn pages_sort_by_a_known_column_and_refuse_unknown_names() {
        let conn = db();
        let mut r = request(None);
        r.sort = Some("n".to_owned());
        r.descending = true;
        r.limit = 2;
        let p = page(&conn, &r, QueryLimits::default()).unwrap();
        let ids: Vec<u64> = p.rows.rows.iter().map(|r| r[0].as_u64().unwrap()).collect();
        assert_eq!((ids, p.total, p.where_sql), (vec![1, 3], 3, None));
        r.sort = Some("n\" DESC; DROP TABLE w; --".to_owned());
        assert!(matches!(
            page(&conn, &r, QueryLimits::default()),
            Err(SurgeryError::NoSuchTable { .. })
        ));
        r.table = "nope".to_owned();
        assert!(matches!(
            page(&conn, &r, QueryLimits::default()),
            Err(SurgeryError::NoSuchTable { .. })
        ));
    }
}
