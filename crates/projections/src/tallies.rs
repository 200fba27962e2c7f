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

use rusqlite::OptionalExtension;
use valentine_eventstore::tallies::ViewTally;

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

/// A VIEWS message that is not a tally: it can never count, however often it is offered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("view tally at stream sequence {stream_sequence}: {reason}")]
pub struct MalformedTally {
    /// Where it is in the VIEWS stream.
    pub stream_sequence: u64,
    /// What is wrong with it.
    pub reason: String,
}

impl DeliveredTally {
    /// Reads the message at `stream_sequence` of the VIEWS stream, whose subjects are
    /// `<prefix>.<slug key>`.
    ///
    /// Live projection and a rebuild both read tallies through here, so they agree on which
    /// messages count: one that fails here is never applied.
    ///
    /// # Errors
    /// When the subject names no page under `prefix`, or the payload is not a tally.
    pub fn decode(
        subject: &str,
        payload: &[u8],
        stream_sequence: u64,
        prefix: &str,
    ) -> Result<Self, MalformedTally> {
        let malformed = |reason: String| MalformedTally { stream_sequence, reason };
        let slug_key = subject
            .strip_prefix(prefix)
            .and_then(|rest| rest.strip_prefix('.'))
            .filter(|key| !key.is_empty())
            .ok_or_else(|| malformed(format!("subject {subject:?} is not a page's under {prefix:?}")))?;
        let tally: ViewTally = serde_json::from_slice(payload).map_err(|e| malformed(e.to_string()))?;
        Ok(Self { stream_sequence, slug_key: slug_key.to_owned(), tally })
    }
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

/// Adds a batch of tallies in one write transaction. Synchronous, like
/// [`crate::pages::project_batch`]; call it from a blocking thread.
///
/// # Errors
/// When SQLite fails; nothing is applied then.
pub fn project_tallies(
    conn: &mut rusqlite::Connection,
    batch: &[DeliveredTally],
) -> Result<TallyOutcome, ProjectionError> {
    let mut outcome = TallyOutcome::default();
    if batch.is_empty() {
        return Ok(outcome);
    }
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    {
        let mut counted_before =
            tx.prepare_cached("SELECT 1 FROM view_tallies WHERE stream_sequence = ?1")?;
        let mut life = tx.prepare_cached("SELECT page_id FROM pages WHERE slug_key = ?1")?;
        let mut record =
            tx.prepare_cached("INSERT OR IGNORE INTO view_tallies (stream_sequence) VALUES (?1)")?;
        let mut seen = BTreeSet::new();
        let mut lives: BTreeMap<&str, Option<i64>> = BTreeMap::new();
        let mut sums: BTreeMap<(&str, i64), i64> = BTreeMap::new();
        for t in batch {
            let seq = i64::try_from(t.stream_sequence).unwrap_or(i64::MAX);
            let page_id = i64::try_from(t.tally.page_id).unwrap_or(i64::MAX);
            if seen.contains(&seq) || counted_before.exists([seq])? {
                outcome.verdicts.push(Verdict::AlreadyApplied);
                continue;
            }
            let current = match lives.get(t.slug_key.as_str()) {
                Some(current) => *current,
                None => {
                    let current = life.query_row([&t.slug_key], |r| r.get::<_, i64>(0)).optional()?;
                    lives.insert(t.slug_key.as_str(), current);
                    current
                }
            };
            let verdict = match current {
                // The page this tally counts is not projected yet.
                None => Verdict::Deferred,
                Some(current) if current < page_id => Verdict::Deferred,
                Some(current) => {
                    seen.insert(seq);
                    record.execute([seq])?;
                    if current == page_id {
                        *sums.entry((t.slug_key.as_str(), page_id)).or_default() +=
                            i64::try_from(t.tally.count).unwrap_or(i64::MAX);
                    }
                    Verdict::Applied
                }
            };
            outcome.verdicts.push(verdict);
        }
        let mut add = tx.prepare_cached(
            "UPDATE pages SET view_count = view_count + ?1 WHERE slug_key = ?2 AND page_id = ?3",
        )?;
        for ((slug_key, page_id), count) in sums {
            add.execute(rusqlite::params![count, slug_key, page_id])?;
            outcome.touched.push(slug_key.to_owned());
        }
    }
    tx.commit()?;
    Ok(outcome)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tally_is_read_from_its_subject_and_payload() {
        let tally = DeliveredTally::decode("views.alice", br#"{"page_id":7,"count":3}"#, 42, "views");
        assert_eq!(
            tally,
            Ok(DeliveredTally {
                stream_sequence: 42,
                slug_key: "alice".to_owned(),
                tally: ViewTally { page_id: 7, count: 3 },
            })
        );
    }

    #[test]
    fn a_subject_outside_the_prefix_is_malformed() {
        for subject in ["events.page.alice", "viewsalice", "views.", "views"] {
            let err = DeliveredTally::decode(subject, br#"{"page_id":7,"count":3}"#, 5, "views")
                .expect_err(subject);
            assert_eq!(err.stream_sequence, 5, "{subject}");
        }
    }

    #[test]
    fn a_payload_that_is_not_a_tally_is_malformed() {
        for payload in [&b"not json"[..], br#"{"page_id":7}"#, br#"{"page_id":-1,"count":1}"#] {
            let err = DeliveredTally::decode("views.alice", payload, 9, "views").expect_err("malformed");
            assert_eq!(err.stream_sequence, 9);
            assert!(err.to_string().contains("stream sequence 9"), "{err}");
        }
    }
}
