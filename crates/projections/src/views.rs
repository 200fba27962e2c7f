//! Projecting view tallies into `pages.view_count`.
//!
//! Each tally counts once: the VIEWS stream sequence of every tally applied is recorded in
//! the same transaction, and a redelivered tally is skipped. A tally for an earlier life of
//! the slug (another `page_id`) counts for nothing.

use std::collections::{BTreeMap, BTreeSet};

use sqlx::{QueryBuilder, Sqlite, SqliteConnection};
use valentine_eventstore::views::ViewTally;

use crate::error::ProjectionError;

/// A tally as delivered from the VIEWS stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveredTally {
    /// Its sequence in the VIEWS stream.
    pub stream_sequence: u64,
    /// The page's lowercase slug.
    pub slug_key: String,
    /// What it counts.
    pub tally: ViewTally,
}

/// Adds a batch of tallies in one write transaction; returns the slugs whose counts changed.
///
/// # Errors
/// When SQLite fails; nothing is applied then.
pub async fn project_tallies(
    conn: &mut SqliteConnection,
    batch: &[DeliveredTally],
) -> Result<Vec<String>, ProjectionError> {
    if batch.is_empty() {
        return Ok(Vec::new());
    }
    sqlx::query("BEGIN IMMEDIATE").execute(&mut *conn).await?;
    match tallies_in_transaction(conn, batch).await {
        Ok(touched) => {
            sqlx::query("COMMIT").execute(&mut *conn).await?;
            Ok(touched)
        }
        Err(e) => {
            let _ = sqlx::query("ROLLBACK").execute(&mut *conn).await;
            Err(e)
        }
    }
}

async fn tallies_in_transaction(
    conn: &mut SqliteConnection,
    batch: &[DeliveredTally],
) -> Result<Vec<String>, ProjectionError> {
    let mut seen = BTreeSet::new();
    for chunk in batch.chunks(500) {
        let mut query = QueryBuilder::<Sqlite>::new(
            "SELECT stream_sequence FROM view_tallies WHERE stream_sequence IN (",
        );
        let mut list = query.separated(", ");
        for t in chunk {
            list.push_bind(i64::try_from(t.stream_sequence).unwrap_or(i64::MAX));
        }
        query.push(")");
        let found: Vec<(i64,)> = query.build_query_as().fetch_all(&mut *conn).await?;
        seen.extend(found.into_iter().map(|(s,)| s));
    }
    let fresh: Vec<&DeliveredTally> = batch
        .iter()
        .filter(|t| !seen.contains(&i64::try_from(t.stream_sequence).unwrap_or(i64::MAX)))
        .collect();
    if fresh.is_empty() {
        return Ok(Vec::new());
    }
    for chunk in fresh.chunks(500) {
        let mut query = QueryBuilder::<Sqlite>::new("INSERT OR IGNORE INTO view_tallies (stream_sequence) ");
        query.push_values(chunk, |mut b, t| {
            b.push_bind(i64::try_from(t.stream_sequence).unwrap_or(i64::MAX));
        });
        query.build().execute(&mut *conn).await?;
    }
    let mut sums: BTreeMap<(&str, u64), u64> = BTreeMap::new();
    for t in fresh {
        *sums.entry((t.slug_key.as_str(), t.tally.page_id)).or_default() += t.tally.count;
    }
    let mut touched = Vec::new();
    for ((slug_key, page_id), count) in sums {
        let result =
            sqlx::query("UPDATE pages SET view_count = view_count + ? WHERE slug_key = ? AND page_id = ?")
                .bind(i64::try_from(count).unwrap_or(i64::MAX))
                .bind(slug_key)
                .bind(i64::try_from(page_id).unwrap_or(i64::MAX))
                .execute(&mut *conn)
                .await?;
        if result.rows_affected() > 0 {
            touched.push(slug_key.to_owned());
        }
    }
    Ok(touched)
}
