//! What a database holds, as surgical recovery reads it: each table's
//! columns, primary key, foreign keys, rows and size. Every name read from
//! a database is quoted before it goes into SQL ([`quote`]).

use rusqlite::Connection;
use serde::Serialize;

use super::{SurgeryError, sqlite};

/// One table of a database.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct TableInfo {
    pub name: String,
    pub rows: u64,
    /// Bytes of its pages (its indexes aside).
    pub bytes: u64,
    pub columns: Vec<Column>,
    /// The primary key's columns, in key order (empty: none declared).
    pub primary_key: Vec<String>,
    pub foreign_keys: Vec<ForeignKey>,
}

/// One column.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Column {
    pub name: String,
    /// As declared (`INTEGER`, `TEXT`, … or empty).
    pub declared_type: String,
    pub not_null: bool,
}

/// A foreign key: `columns` of this table point at `parent_columns` of
/// `parent` (its primary key when the schema names none).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ForeignKey {
    pub columns: Vec<String>,
    pub parent: String,
    pub parent_columns: Vec<String>,
}

/// `ident` as an SQL identifier, quoted.
pub(crate) fn quote(ident: &str) -> String {
    format!("\"{}\"", ident.replace('"', "\"\""))
}

/// The user tables of `schema` (`main`, or an attached one), in name order.
pub(crate) fn table_names(conn: &Connection, schema: &str) -> Result<Vec<String>, SurgeryError> {
    let sql = format!(
        "SELECT name FROM {}.sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' \
         ORDER BY name",
        quote(schema)
    );
    let read = || -> rusqlite::Result<Vec<String>> {
        conn.prepare(&sql)?.query_map([], |r| r.get(0))?.collect()
    };
    read().map_err(sqlite(format!("reading the tables of {schema}")))
}

/// The columns of `table` in `schema`, in order, and its primary key.
pub(crate) fn columns(
    conn: &Connection,
    schema: &str,
    table: &str,
) -> Result<(Vec<Column>, Vec<String>), SurgeryError> {
    let read = || -> rusqlite::Result<(Vec<Column>, Vec<String>)> {
        let mut stmt = conn.prepare(
            "SELECT name, type, \"notnull\", pk FROM pragma_table_info(?1, ?2) ORDER BY cid",
        )?;
        let mut columns = Vec::new();
        let mut key: Vec<(i64, String)> = Vec::new();
        let mut rows = stmt.query([table, schema])?;
        while let Some(row) = rows.next()? {
            let name: String = row.get(0)?;
            let pk: i64 = row.get(3)?;
            if pk > 0 {
                key.push((pk, name.clone()));
            }
            columns.push(Column {
                name,
                declared_type: row.get(1)?,
                not_null: row.get::<_, i64>(2)? != 0,
            });
        }
        key.sort();
        Ok((columns, key.into_iter().map(|(_, n)| n).collect()))
    };
    read().map_err(sqlite(format!("reading the columns of {table}")))
}

/// One row of `foreign_key_list`: key id, parent, from column, to column.
type Link = (i64, String, String, Option<String>);

/// The foreign keys of `table` in `schema`.
pub(crate) fn foreign_keys(
    conn: &Connection,
    schema: &str,
    table: &str,
) -> Result<Vec<ForeignKey>, SurgeryError> {
    let read = || -> rusqlite::Result<Vec<Link>> {
        conn.prepare(
            "SELECT id, \"table\", \"from\", \"to\" FROM pragma_foreign_key_list(?1, ?2) \
             ORDER BY id, seq",
        )?
        .query_map([table, schema], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })?
        .collect()
    };
    let links = read().map_err(sqlite(format!("reading the foreign keys of {table}")))?;
    let mut keys: Vec<(i64, ForeignKey)> = Vec::new();
    for (id, parent, from, to) in links {
        if keys.last().is_none_or(|(last, _)| *last != id) {
            keys.push((
                id,
                ForeignKey {
                    columns: Vec::new(),
                    parent,
                    parent_columns: Vec::new(),
                },
            ));
        }
        let key = &mut keys.last_mut().expect("pushed above").1;
        key.columns.push(from);
        key.parent_columns.extend(to);
    }
    let mut keys: Vec<ForeignKey> = keys.into_iter().map(|(_, k)| k).collect();
    for key in &mut keys {
        if key.parent_columns.is_empty() {
            key.parent_columns = columns(conn, schema, &key.parent)?.1;
        }
    }
    Ok(keys)
}

/// Every table of `schema`: rows, size, columns, keys.
///
/// # Errors
/// SQLite failing to read the database.
pub fn tables(conn: &Connection, schema: &str) -> Result<Vec<TableInfo>, SurgeryError> {
    table_names(conn, schema)?
        .into_iter()
        .map(|name| {
            let (columns, primary_key) = columns(conn, schema, &name)?;
            let rows: i64 = conn
                .query_row(
                    &format!("SELECT count(*) FROM {}.{}", quote(schema), quote(&name)),
                    [],
                    |r| r.get(0),
                )
                .map_err(sqlite(format!("counting the rows of {name}")))?;
            // dbstat is compiled in; a build without it says 0.
            let bytes: i64 = conn
                .query_row(
                    "SELECT coalesce(sum(pgsize), 0) FROM dbstat(?1) WHERE name = ?2",
                    [schema, name.as_str()],
                    |r| r.get(0),
                )
                .unwrap_or(0);
            Ok(TableInfo {
                foreign_keys: foreign_keys(conn, schema, &name)?,
                name,
                rows: rows.max(0) as u64,
                bytes: bytes.max(0) as u64,
                columns,
                primary_key,
            })
        })
        .collect()
}

/// The tables of `schema` with a foreign key into `parent`.
pub(crate) fn referencing(
    conn: &Connection,
    schema: &str,
    parent: &str,
) -> Result<Vec<String>, SurgeryError> {
    let mut names = Vec::new();
    for table in table_names(conn, schema)? {
        if foreign_keys(conn, schema, &table)?
            .iter()
            .any(|k| k.parent.eq_ignore_ascii_case(parent))
        {
            names.push(table);
        }
    }
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_say_columns_keys_and_links() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(
            "CREATE TABLE servers (id INTEGER PRIMARY KEY, name TEXT NOT NULL);
             CREATE TABLE tags (id INTEGER PRIMARY KEY);
             CREATE TABLE \"map\" (server_id INTEGER REFERENCES servers, tag_id INTEGER REFERENCES tags(id),
               PRIMARY KEY (tag_id, server_id));
             INSERT INTO servers VALUES (1, 'a'), (2, 'b');",
        )
        .unwrap();
        let all = tables(&conn, "main").unwrap();
        let names: Vec<_> = all.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["map", "servers", "tags"]);
        let map = &all[0];
        assert_eq!(map.primary_key, ["tag_id", "server_id"]);
        assert_eq!(map.foreign_keys.len(), 2);
        let to_servers = map
            .foreign_keys
            .iter()
            .find(|k| k.parent == "servers")
            .unwrap();
        assert_eq!(
            to_servers.parent_columns,
            ["id"],
            "the parent's key when none is named"
        );
        assert_eq!(all[1].rows, 2);
        assert!(all[1].bytes > 0);
        assert!(all[1].columns[1].not_null);
        assert_eq!(referencing(&conn, "main", "servers").unwrap(), ["map"]);
        assert_eq!(quote("a\"b"), "\"a\"\"b\"");
    }
}
