//! The read model's content hash: a stable fingerprint of every row.
//!
//! Rows are read in primary-key order and fed to SHA-256 as JSON arrays, one per line, so the
//! hash depends only on what the rows say, never on the order they were written in, the
//! number of projectors, or bookkeeping such as which tallies were already counted.

use sha2::{Digest, Sha256};
use sqlx::{Row, SqliteConnection};

use crate::error::ProjectionError;

/// The tables that hold content, with the order that makes their rows canonical.
const TABLES: [(&str, &str); 2] = [("pages", "slug_key"), ("page_events", "slug_key, sequence")];

/// SHA-256 (hex) of every content row of the read model.
///
/// # Errors
/// When SQLite fails.
pub async fn content_hash(conn: &mut SqliteConnection) -> Result<String, ProjectionError> {
    use futures::TryStreamExt;

    let mut hasher = Sha256::new();
    for (table, order) in TABLES {
        hasher.update(format!("table {table}\n"));
        let sql = format!("SELECT * FROM {table} ORDER BY {order}");
        let mut rows = sqlx::query(&sql).fetch(&mut *conn);
        while let Some(row) = rows.try_next().await? {
            let mut values = Vec::with_capacity(row.len());
            for i in 0..row.len() {
                values.push(cell(&row, i)?);
            }
            hasher.update(serde_json::Value::Array(values).to_string());
            hasher.update(b"\n");
        }
    }
    Ok(hasher.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

fn cell(row: &sqlx::sqlite::SqliteRow, i: usize) -> Result<serde_json::Value, ProjectionError> {
    use sqlx::{TypeInfo, ValueRef};
    let raw = row.try_get_raw(i)?;
    if raw.is_null() {
        return Ok(serde_json::Value::Null);
    }
    Ok(match raw.type_info().name() {
        "INTEGER" | "BOOLEAN" => row.try_get::<i64, _>(i)?.into(),
        "REAL" => row.try_get::<f64, _>(i)?.into(),
        _ => row.try_get::<String, _>(i)?.into(),
    })
}
