//! Projecting view tallies into `pages.view_count`.
//!
//! Each tally counts once: the VIEWS stream sequence of every tally applied is recorded in
//! the same transaction, and a redelivered tally is skipped.
//!
//! Tallies and events travel on different streams, so a tally can arrive before the page it
//! counts is projected. Such a tally is deferred, never dropped: it waits until the page's
//! row carries its `page_id`. A tally for an earlier life of the slug (the row has moved on
//! to a newer page) counts for nothing, exactly as in a rebuild, where every event is
//! projected before any tally.

use std::collections::{BTreeMap, BTreeSet};

use sqlx::{QueryBuilder, Sqlite, SqliteConnection};
use valentine_eventstore::views::ViewTally;

use crate::error::ProjectionError;
use crate::pages::Verdict;

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

/// The result of projecting a batch of tallies.
#[derive(Debug, Default)]
pub struct TallyOutcome {
    /// One verdict per tally, in delivery order. `Applied` also covers tallies of an earlier
    /// life of the slug, which are settled by counting for nothing.
    pub verdicts: Vec<Verdict>,
    /// Slugs whose counts changed.
    pub touched: Vec<String>,
}

/// Adds a batch of tallies in one write transaction.
///
/// # Errors
/// When SQLite fails; nothing is applied then.
pub async fn project_tallies(
    conn: &mut SqliteConnection,
    batch: &[DeliveredTally],
) -> Result<TallyOutcome, ProjectionError> {
    if batch.is_empty() {
        return Ok(TallyOutcome::default());
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
) -> Result<TallyOutcome, ProjectionError> {
    let mut seen = BTreeSet::new();
    let mut lives: BTreeMap<String, i64> = BTreeMap::new();
    for chunk in batch.chunks(500) {
        let mut query = QueryBuilder::<Sqlite>::new(
            "SELECT stream_sequence FROM view_tallies WHERE stream_sequence IN (",
        );
        let mut list = query.separated(", ");
        for t in chunk {
            list.push_bind(sequence(t));
        }
        query.push(")");
        let found: Vec<(i64,)> = query.build_query_as().fetch_all(&mut *conn).await?;
        seen.extend(found.into_iter().map(|(s,)| s));

        let mut query =
            QueryBuilder::<Sqlite>::new("SELECT slug_key, page_id FROM pages WHERE slug_key IN (");
        let mut list = query.separated(", ");
        for t in chunk {
            list.push_bind(t.slug_key.as_str());
        }
        query.push(")");
        let rows: Vec<(String, i64)> = query.build_query_as().fetch_all(&mut *conn).await?;
        lives.extend(rows);
    }

    let mut outcome = TallyOutcome::default();
    let mut counted = Vec::new();
    let mut sums: BTreeMap<(&str, i64), i64> = BTreeMap::new();
    for t in batch {
        let page_id = i64::try_from(t.tally.page_id).unwrap_or(i64::MAX);
        let verdict = if seen.contains(&sequence(t)) {
            Verdict::AlreadyApplied
        } else {
            match lives.get(&t.slug_key) {
                // The page this tally counts is not projected yet.
                None => Verdict::Deferred,
                Some(&current) if current < page_id => Verdict::Deferred,
                Some(&current) => {
                    seen.insert(sequence(t));
                    counted.push(sequence(t));
                    if current == page_id {
                        *sums.entry((t.slug_key.as_str(), page_id)).or_default() +=
                            i64::try_from(t.tally.count).unwrap_or(i64::MAX);
                    }
                    Verdict::Applied
                }
            }
        };
        outcome.verdicts.push(verdict);
    }
    for chunk in counted.chunks(500) {
        let mut query = QueryBuilder::<Sqlite>::new("INSERT OR IGNORE INTO view_tallies (stream_sequence) ");
        query.push_values(chunk, |mut b, seq| {
            b.push_bind(*seq);
        });
        query.build().execute(&mut *conn).await?;
    }
    for ((slug_key, page_id), count) in sums {
        sqlx::query("UPDATE pages SET view_count = view_count + ? WHERE slug_key = ? AND page_id = ?")
            .bind(count)
            .bind(slug_key)
            .bind(page_id)
            .execute(&mut *conn)
            .await?;
        outcome.touched.push(slug_key.to_owned());
    }
    Ok(outcome)
}

fn sequence(t: &DeliveredTally) -> i64 {
    i64::try_from(t.stream_sequence).unwrap_or(i64::MAX)
}
