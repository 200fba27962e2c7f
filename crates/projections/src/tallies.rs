//! Projecting view tallies into `pages.view_count`.
//!
//! Each VIEWS message counts once: the read model's views position (see [`crate::applied`])
//! records every message settled, in the same transaction as the counts, and a redelivered
//! message is skipped.
//!
//! Tallies and events travel on different streams, so a tally can arrive before the page it
//! counts is projected. A message with such a page is deferred whole, never dropped: it waits
//! until every page it names carries its `page_id`. Views of an earlier life of a slug (the
//! row has moved on to a newer page) count for nothing, exactly as in a rebuild, where every
//! event is projected before any tally.
//!
//! Views counted above the position are kept per page (`views_ahead`), and every page counted
//! is marked unsaved until a checkpoint holds its count (see [`crate::view_checkpoints`]). A rebuild
//! starts each page from its checkpoint (`view_checkpoints`) and counts only later messages.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use rusqlite::OptionalExtension;
use valentine_eventstore::tallies::{BATCH_TOKEN, PageViews, TallyBatch, ViewTally};

use crate::applied;
use crate::error::ProjectionError;
use crate::pages::Verdict;

/// A VIEWS message as delivered: one page's tally, or a batch of many.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveredTally {
    /// Its sequence in the VIEWS stream.
    pub stream_sequence: u64,
    /// The UTC day (`YYYY-MM-DD`) the stream stored it on: the day its views count on.
    pub day: String,
    /// What it counts, per page (slug keys).
    pub pages: Vec<PageViews>,
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

fn is_slug_key(key: &str) -> bool {
    !key.is_empty() && key.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

impl DeliveredTally {
    /// Reads the message at `stream_sequence` of the VIEWS stream: a [`TallyBatch`] on
    /// `<prefix>._batch`, or a single [`ViewTally`] on `<prefix>.<slug key>`.
    ///
    /// Live projection and a rebuild both read tallies through here, so they agree on which
    /// messages count: one that fails here is never applied.
    ///
    /// # Errors
    /// When the subject is not under `prefix`, the payload is not a tally, or it names
    /// something that is not a slug key.
    pub fn decode(
        subject: &str,
        payload: &[u8],
        stream_sequence: u64,
        day: String,
        prefix: &str,
    ) -> Result<Self, MalformedTally> {
        let malformed = |reason: String| MalformedTally { stream_sequence, reason };
        let token = subject
            .strip_prefix(prefix)
            .and_then(|rest| rest.strip_prefix('.'))
            .filter(|key| !key.is_empty())
            .ok_or_else(|| malformed(format!("subject {subject:?} is not a tally's under {prefix:?}")))?;
        let pages = if token == BATCH_TOKEN {
            let batch: TallyBatch = serde_json::from_slice(payload).map_err(|e| malformed(e.to_string()))?;
            if let Some(bad) = batch.pages.iter().find(|p| !is_slug_key(&p.slug)) {
                return Err(malformed(format!("{:?} is not a slug key", bad.slug)));
            }
            batch.pages
        } else {
            if !is_slug_key(token) {
                return Err(malformed(format!("subject {subject:?} names no page")));
            }
            let tally: ViewTally = serde_json::from_slice(payload).map_err(|e| malformed(e.to_string()))?;
            vec![PageViews { slug: token.to_owned(), page_id: tally.page_id, count: tally.count }]
        };
        Ok(Self { stream_sequence, day, pages })
    }
}

/// The result of projecting a batch of tallies.
#[derive(Debug, Default)]
pub struct TallyOutcome {
    /// One verdict per message, in delivery order. `Applied` also covers views of an earlier
    /// life of the slug, which are settled by counting for nothing.
    pub verdicts: Vec<Verdict>,
    /// Slugs whose counts changed.
    pub touched: Vec<String>,
}

fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// Adds a batch of tally messages in one write transaction. Synchronous, like
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
        let through = applied::through(&tx, applied::VIEWS)?;
        let mut life = tx.prepare_cached("SELECT page_id FROM pages WHERE slug_key = ?1")?;
        let mut checkpoint = tx.prepare_cached(
            "SELECT through, by_day <> '{}' FROM view_checkpoints WHERE slug_key = ?1 AND page_id = ?2",
        )?;
        let mut seen = BTreeSet::new();
        let mut lives: HashMap<&str, Option<i64>> = HashMap::new();
        let mut sums: BTreeMap<(&str, i64), i64> = BTreeMap::new();
        let mut days: BTreeMap<(&str, i64, &str), i64> = BTreeMap::new();
        let mut counted: Vec<(u64, &str, i64, i64, &str)> = Vec::new();
        let mut settled = Vec::new();
        for t in batch {
            let seq = t.stream_sequence;
            if seen.contains(&seq) || applied::is_settled(&tx, applied::VIEWS, through, seq)? {
                outcome.verdicts.push(Verdict::AlreadyApplied);
                continue;
            }
            let mut placed = Vec::with_capacity(t.pages.len());
            for p in &t.pages {
                let current = match lives.get(p.slug.as_str()) {
                    Some(current) => *current,
                    None => {
                        let current = life.query_row([&p.slug], |r| r.get::<_, i64>(0)).optional()?;
                        lives.insert(p.slug.as_str(), current);
                        current
                    }
                };
                placed.push(current);
            }
            // A page this message counts is not projected yet: all of it waits.
            let waiting =
                t.pages.iter().zip(&placed).any(|(p, current)| current.is_none_or(|c| c < to_i64(p.page_id)));
            if waiting {
                outcome.verdicts.push(Verdict::Deferred);
                continue;
            }
            seen.insert(seq);
            settled.push(seq);
            for (p, current) in t.pages.iter().zip(placed) {
                let page_id = to_i64(p.page_id);
                if current != Some(page_id) {
                    continue;
                }
                // A rebuild started this page from a checkpoint that holds these views.
                let saved: Option<(i64, bool)> = checkpoint
                    .query_row(rusqlite::params![p.slug, page_id], |r| Ok((r.get(0)?, r.get(1)?)))
                    .optional()?;
                let count = to_i64(p.count);
                match saved {
                    Some((through, true)) if through >= to_i64(seq) => continue,
                    // A checkpoint written before views were counted per day holds the count
                    // but not its days: the tallies still kept give the days.
                    Some((through, false)) if through >= to_i64(seq) => {
                        *days.entry((p.slug.as_str(), page_id, t.day.as_str())).or_default() += count;
                        continue;
                    }
                    _ => {}
                }
                *sums.entry((p.slug.as_str(), page_id)).or_default() += count;
                *days.entry((p.slug.as_str(), page_id, t.day.as_str())).or_default() += count;
                counted.push((seq, p.slug.as_str(), page_id, count, t.day.as_str()));
            }
            outcome.verdicts.push(Verdict::Applied);
        }
        let mut add = tx.prepare_cached(
            "UPDATE pages SET view_count = view_count + ?1 WHERE slug_key = ?2 AND page_id = ?3",
        )?;
        for ((slug_key, page_id), count) in sums {
            add.execute(rusqlite::params![count, slug_key, page_id])?;
            outcome.touched.push(slug_key.to_owned());
        }
        let mut add_day = tx.prepare_cached(
            "INSERT INTO page_views_by_day (slug_key, page_id, day, views) VALUES (?1, ?2, ?3, ?4) \
             ON CONFLICT (slug_key, page_id, day) DO UPDATE SET views = views + excluded.views",
        )?;
        for ((slug_key, page_id, day), count) in days {
            add_day.execute(rusqlite::params![slug_key, page_id, day, count])?;
        }
        let through = applied::record(&tx, applied::VIEWS, &settled)?;
        let mut ahead = tx.prepare_cached(
            "INSERT OR REPLACE INTO views_ahead (sequence, slug_key, page_id, count, day) \
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )?;
        let mut unsaved = tx.prepare_cached(
            "INSERT INTO views_unsaved (slug_key, last_sequence) VALUES (?1, ?2) \
             ON CONFLICT (slug_key) DO UPDATE SET last_sequence = max(last_sequence, excluded.last_sequence)",
        )?;
        for (seq, slug_key, page_id, count, day) in counted {
            if seq > through {
                ahead.execute(rusqlite::params![to_i64(seq), slug_key, page_id, count, day])?;
            }
            unsaved.execute(rusqlite::params![slug_key, to_i64(seq)])?;
        }
    }
    tx.commit()?;
    Ok(outcome)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day() -> String {
        "2026-02-14".to_owned()
    }

    fn views(slug: &str, page_id: u64, count: u64) -> PageViews {
        PageViews { slug: slug.to_owned(), page_id, count }
    }

    #[test]
    fn a_batch_is_read_from_its_subject_and_payload() {
        let payload =
            br#"{"pages":[{"slug":"alice","page_id":7,"count":3},{"slug":"bob-2","page_id":9,"count":1}]}"#;
        let tally = DeliveredTally::decode("views._batch", payload, 42, day(), "views");
        assert_eq!(
            tally,
            Ok(DeliveredTally {
                stream_sequence: 42,
                day: day(),
                pages: vec![views("alice", 7, 3), views("bob-2", 9, 1)]
            })
        );
    }

    #[test]
    fn a_single_page_tally_of_an_older_stream_is_still_read() {
        let tally = DeliveredTally::decode("views.alice", br#"{"page_id":7,"count":3}"#, 42, day(), "views");
        assert_eq!(
            tally,
            Ok(DeliveredTally { stream_sequence: 42, day: day(), pages: vec![views("alice", 7, 3)] })
        );
    }

    #[test]
    fn a_subject_outside_the_prefix_is_malformed() {
        for subject in ["events.page.alice", "viewsalice", "views.", "views", "views.Alice"] {
            let err = DeliveredTally::decode(subject, br#"{"page_id":7,"count":3}"#, 5, day(), "views")
                .expect_err(subject);
            assert_eq!(err.stream_sequence, 5, "{subject}");
        }
    }

    #[test]
    fn a_payload_that_is_not_a_tally_is_malformed() {
        for (subject, payload) in [
            ("views.alice", &b"not json"[..]),
            ("views.alice", br#"{"page_id":7}"#),
            ("views.alice", br#"{"page_id":-1,"count":1}"#),
            ("views._batch", br#"{"page_id":7,"count":1}"#),
            ("views._batch", br#"{"pages":[{"slug":"a.b","page_id":7,"count":1}]}"#),
            ("views._batch", br#"{"pages":[{"slug":"","page_id":7,"count":1}]}"#),
        ] {
            let err = DeliveredTally::decode(subject, payload, 9, day(), "views").expect_err("malformed");
            assert_eq!(err.stream_sequence, 9);
            assert!(err.to_string().contains("stream sequence 9"), "{err}");
        }
    }
}
