//! The read model's content hash: a stable fingerprint of every row.
//!
//! Rows are read in primary-key order and fed to SHA-256 as JSON arrays, one per line, so the
//! hash depends only on what the rows say, never on the order they were written in, the
//! number of projectors, or bookkeeping such as which tallies were already counted.

use std::io::Write;

use rusqlite::types::ValueRef;
use sha2::{Digest, Sha256};

use crate::error::ProjectionError;
use crate::pages::{HISTORY_COLUMNS, PAGE_COLUMNS};

/// The tables that hold content: their columns, and the order that makes their rows
/// canonical. Named columns, so storage details such as rowids never count.
const TABLES: [(&str, &str, &str); 2] = [
    ("pages", PAGE_COLUMNS, "slug_key"),
    // Stream order is as canonical as slug order (both are content), and is the table's own
    // key order, so the rows are read straight through.
    ("page_events", HISTORY_COLUMNS, "stream_sequence, sequence"),
];

/// SHA-256 (hex) of every content row of the read model. Synchronous; reads one consistent
/// snapshot.
///
/// # Errors
/// When SQLite fails.
pub fn content_hash(conn: &mut rusqlite::Connection) -> Result<String, ProjectionError> {
    let tx = conn.transaction()?;
    let hash = hash_rows(&tx)?;
    drop(tx);
    Ok(hash)
}

/// SHA-256 (hex) of every content row, read in whatever transaction `conn` is in: call it
/// inside a read transaction the caller opened (a snapshot taken earlier).
///
/// # Errors
/// When SQLite fails.
pub fn hash_rows(tx: &rusqlite::Connection) -> Result<String, ProjectionError> {
    let mut sink = HashSink(Sha256::new());
    for (table, columns, order) in TABLES {
        writeln!(sink, "table {table}")?;
        let mut statement = tx.prepare(&format!("SELECT {columns} FROM {table} ORDER BY {order}"))?;
        let columns = statement.column_count();
        let mut rows = statement.query([])?;
        while let Some(row) = rows.next()? {
            sink.write_all(b"[")?;
            for i in 0..columns {
                if i > 0 {
                    sink.write_all(b",")?;
                }
                match row.get_ref(i)? {
                    ValueRef::Null => sink.write_all(b"null")?,
                    ValueRef::Integer(n) => write!(sink, "{n}")?,
                    ValueRef::Real(x) => write!(sink, "{x:?}")?,
                    ValueRef::Text(t) => serde_json::to_writer(&mut sink, &String::from_utf8_lossy(t))
                        .map_err(std::io::Error::from)?,
                    ValueRef::Blob(b) => serde_json::to_writer(&mut sink, b).map_err(std::io::Error::from)?,
                }
            }
            sink.write_all(b"]\n")?;
        }
    }
    Ok(sink.0.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

/// Writes straight into the hasher, so rows are never collected.
struct HashSink(Sha256);

impl Write for HashSink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
