//! The read model's content hash: a stable fingerprint of every row.
//!
//! Each row is written as a JSON array, one per line, of its named columns (never storage
//! details such as rowids), so the hash depends only on what the rows say, never on the order
//! they were written in, the number of projectors, or bookkeeping such as which tallies were
//! already counted.
//!
//! How a table's rows are combined depends on the order they can be read in cheaply:
//! - a table whose key order is its storage order (`page_events`, keyed by stream position)
//!   is fed to SHA-256 line by line in that order;
//! - a rowid table (`pages`) is read in rowid order, which is the order rows were first
//!   written, not a property of the content. Each row gets its own SHA-256, and the table
//!   counts as the sum of those digests (as 256-bit numbers, modulo 2^256) and the number
//!   of rows: a sum does not depend on the order of its terms. Reading it in slug order
//!   instead would visit the table's pages at random, one read per row, which at millions
//!   of rows takes far longer than the rest of the hash.

use std::io::Write;

use rusqlite::types::ValueRef;
use sha2::{Digest, Sha256};

use crate::error::ProjectionError;
use crate::pages::{
    HISTORY_COLUMNS, PAGE_CONTENT_COLUMNS, PAGE_EXTRA_COLUMNS, PAGE_INSIGHT_COLUMNS, PAGE_MODERATION_COLUMNS,
    REPORT_COLUMNS,
};

/// How a table's rows are combined into the hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Combine {
    /// Fed in this canonical order, which is the table's own key order.
    InOrder(&'static str),
    /// Summed row by row, in whatever order the table is stored.
    Sum,
}

/// What the hash reads: a table, the columns and rows of it that count, how its rows are
/// combined, and whether it counts when it holds no such rows at all.
struct Part {
    table: &'static str,
    columns: &'static str,
    /// Which rows count (`true` for all).
    rows: &'static str,
    combine: Combine,
    /// A part added after read models were first hashed counts only once it holds rows, so
    /// a read model with nothing in it hashes as it did before the part existed (the golden
    /// event corpus keeps its recorded hash).
    when_empty: bool,
}

/// The content of the read model. Named columns, so storage details such as rowids never
/// count.
const PARTS: [Part; 7] = [
    Part {
        table: "pages",
        columns: PAGE_CONTENT_COLUMNS,
        rows: "true",
        combine: Combine::Sum,
        when_empty: true,
    },
    // Stream order is as canonical as slug order (both are content), and is the table's own
    // key order, so the rows are read straight through.
    Part {
        table: "page_events",
        columns: HISTORY_COLUMNS,
        rows: "true",
        combine: Combine::InOrder("stream_sequence, sequence"),
        when_empty: true,
    },
    // What only the author sees, for the pages that have any of it.
    Part {
        table: "pages",
        columns: PAGE_INSIGHT_COLUMNS,
        rows: "first_opened_at IS NOT NULL OR answer IS NOT NULL OR notify_email IS NOT NULL",
        combine: Combine::Sum,
        when_empty: false,
    },
    // Songs, reveal times, PINs and photos, for the pages that have any.
    Part {
        table: "pages",
        columns: PAGE_EXTRA_COLUMNS,
        rows: "song_url IS NOT NULL OR reveal_at IS NOT NULL OR pin_hash IS NOT NULL OR photo_sha256 IS NOT NULL",
        combine: Combine::Sum,
        when_empty: false,
    },
    // Moderation: the pages taken down now, and every report.
    Part {
        table: "pages",
        columns: PAGE_MODERATION_COLUMNS,
        rows: "taken_down_at IS NOT NULL",
        combine: Combine::Sum,
        when_empty: false,
    },
    Part {
        table: "page_reports",
        columns: REPORT_COLUMNS,
        rows: "true",
        combine: Combine::InOrder("stream_sequence, sequence"),
        when_empty: false,
    },
    Part {
        table: "page_views_by_day",
        columns: "slug_key, page_id, day, views",
        rows: "true",
        combine: Combine::InOrder("slug_key, page_id, day"),
        when_empty: false,
    },
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
    hash_parts(tx, &PARTS)
}

/// SHA-256 (hex) of the parts of the read model that were hashed from the start (pages and
/// their history, without what was added later): what a read model built from an old event
/// corpus must still hash to. Synchronous.
///
/// # Errors
/// When SQLite fails.
pub fn original_content_hash(conn: &mut rusqlite::Connection) -> Result<String, ProjectionError> {
    let tx = conn.transaction()?;
    let original: Vec<&Part> = PARTS.iter().filter(|p| p.when_empty).collect();
    let hash = hash_parts(&tx, original)?;
    drop(tx);
    Ok(hash)
}

fn hash_parts<'a>(
    tx: &rusqlite::Connection,
    parts: impl IntoIterator<Item = &'a Part>,
) -> Result<String, ProjectionError> {
    let mut sink = HashSink(Sha256::new());
    for &Part { table, columns, rows, combine, when_empty } in parts {
        if !when_empty {
            let any: bool =
                tx.query_row(&format!("SELECT EXISTS (SELECT 1 FROM {table} WHERE {rows})"), [], |r| {
                    r.get(0)
                })?;
            if !any {
                continue;
            }
            writeln!(sink, "part {table} ({columns})")?;
        } else {
            writeln!(sink, "table {table}")?;
        }
        match combine {
            Combine::InOrder(order) => {
                let mut statement =
                    tx.prepare(&format!("SELECT {columns} FROM {table} WHERE {rows} ORDER BY {order}"))?;
                let mut rows = statement.query([])?;
                while let Some(row) = rows.next()? {
                    write_row(&mut sink, row)?;
                }
            }
            Combine::Sum => {
                let mut statement = tx.prepare(&format!("SELECT {columns} FROM {table} WHERE {rows}"))?;
                let mut rows = statement.query([])?;
                let (mut sum, mut count) = (RowSum::default(), 0_u64);
                let mut line = HashSink(Sha256::new());
                while let Some(row) = rows.next()? {
                    write_row(&mut line, row)?;
                    sum.add(&line.0.finalize_reset().into());
                    count += 1;
                }
                writeln!(sink, "rows {count} sum {}", hex(&sum.to_bytes()))?;
            }
        }
    }
    Ok(hex(&sink.0.finalize()))
}

/// Writes `row` as a JSON array and a newline.
fn write_row(sink: &mut impl Write, row: &rusqlite::Row<'_>) -> Result<(), ProjectionError> {
    sink.write_all(b"[")?;
    for i in 0..row.as_ref().column_count() {
        if i > 0 {
            sink.write_all(b",")?;
        }
        match row.get_ref(i)? {
            ValueRef::Null => sink.write_all(b"null")?,
            ValueRef::Integer(n) => write!(sink, "{n}")?,
            ValueRef::Real(x) => write!(sink, "{x:?}")?,
            ValueRef::Text(t) => {
                serde_json::to_writer(&mut *sink, &String::from_utf8_lossy(t))
                    .map_err(std::io::Error::from)?;
            }
            ValueRef::Blob(b) => serde_json::to_writer(&mut *sink, b).map_err(std::io::Error::from)?,
        }
    }
    sink.write_all(b"]\n")?;
    Ok(())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A sum of 256-bit numbers modulo 2^256, kept as four little-endian 64-bit limbs.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct RowSum([u64; 4]);

impl RowSum {
    /// Adds a digest, read as a big-endian number.
    fn add(&mut self, digest: &[u8; 32]) {
        let mut carry = false;
        for (i, limb) in self.0.iter_mut().enumerate() {
            let start = 32 - 8 * (i + 1);
            let mut word = [0; 8];
            word.copy_from_slice(&digest[start..start + 8]);
            let (sum, over_a) = limb.overflowing_add(u64::from_be_bytes(word));
            let (sum, over_b) = sum.overflowing_add(u64::from(carry));
            *limb = sum;
            carry = over_a || over_b;
        }
    }

    /// The sum as 32 big-endian bytes.
    fn to_bytes(self) -> [u8; 32] {
        let mut bytes = [0; 32];
        for (i, limb) in self.0.iter().enumerate() {
            let start = 32 - 8 * (i + 1);
            bytes[start..start + 8].copy_from_slice(&limb.to_be_bytes());
        }
        bytes
    }
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

#[cfg(test)]
mod tests {
    use super::RowSum;

    fn number(low: u64) -> [u8; 32] {
        let mut bytes = [0; 32];
        bytes[24..].copy_from_slice(&low.to_be_bytes());
        bytes
    }

    #[test]
    fn the_row_sum_carries_and_wraps_and_ignores_order() {
        let mut sum = RowSum::default();
        sum.add(&number(u64::MAX));
        sum.add(&number(1));
        let mut expected = [0; 32];
        expected[23] = 1;
        assert_eq!(sum.to_bytes(), expected);

        let mut wrapped = RowSum::default();
        wrapped.add(&[0xff; 32]);
        wrapped.add(&number(2));
        assert_eq!(wrapped.to_bytes(), number(1));

        let (a, b, c) = ([7; 32], [0x93; 32], number(12_345));
        let (mut one, mut other) = (RowSum::default(), RowSum::default());
        for d in [a, b, c] {
            one.add(&d);
        }
        for d in [c, a, b] {
            other.add(&d);
        }
        assert_eq!(one, other);
    }
}
