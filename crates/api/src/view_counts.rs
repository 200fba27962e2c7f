//! Counting page views without writing on every read.
//!
//! Each view is counted in memory; about once a second the counts go out to the VIEWS stream
//! as one message for all the pages viewed (a [`TallyBatch`], split only past
//! [`MAX_BATCH_PAGES`] pages), and projectors add them to the read model. A batch keeps its
//! message id until JetStream has stored it, so a resend after a lost acknowledgement counts
//! once. What a crash can lose is the last second's views of this process.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_nats::jetstream;
use futures::future::join_all;
use tokio_util::sync::CancellationToken;
use tracing::{Instrument, info_span, warn};
use ulid::Ulid;
use valentine_eventstore::StreamConfig;
use valentine_eventstore::tallies::{MAX_BATCH_PAGES, PageViews, TallyBatch, publish};

use crate::metrics::Metrics;

/// How often tallies are published.
pub(crate) const FLUSH_EVERY: Duration = Duration::from_secs(1);

/// Views counted since the last flush, by page.
#[derive(Debug, Clone, Default)]
pub(crate) struct ViewCounter {
    /// Slug key → page id → views.
    counts: Arc<Mutex<HashMap<String, HashMap<u64, u64>>>>,
}

impl ViewCounter {
    /// Counts one view of the page `page_id` at `slug_key`.
    pub(crate) fn count(&self, slug_key: &str, page_id: u64) {
        let mut counts = self.counts.lock().unwrap_or_else(PoisonError::into_inner);
        match counts.get_mut(slug_key) {
            Some(pages) => *pages.entry(page_id).or_default() += 1,
            None => {
                counts.insert(slug_key.to_owned(), HashMap::from([(page_id, 1)]));
            }
        }
    }

    fn take(&self) -> HashMap<String, HashMap<u64, u64>> {
        std::mem::take(&mut *self.counts.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

/// A batch on its way to the stream, with the message id it keeps until stored.
#[derive(Debug, Clone)]
struct Outgoing {
    batch: TallyBatch,
    message_id: String,
}

/// Publishes counted views every [`FLUSH_EVERY`] until `shutdown`, then once more.
pub(crate) async fn flush_loop(
    counter: ViewCounter,
    js: jetstream::Context,
    config: StreamConfig,
    metrics: Metrics,
    shutdown: CancellationToken,
) {
    let mut unsent: Vec<Outgoing> = Vec::new();
    let mut tick = tokio::time::interval(FLUSH_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let stopping = tokio::select! {
            _ = tick.tick() => false,
            () = shutdown.cancelled() => true,
        };
        refill(&mut unsent, &counter);
        if !unsent.is_empty() {
            let batch = std::mem::take(&mut unsent);
            unsent = flush(&js, &config, batch, &metrics).instrument(info_span!("view_tallies")).await;
            metrics.set_tallies_waiting(unsent.iter().map(|o| o.batch.pages.len()).sum());
        }
        if stopping {
            if !unsent.is_empty() {
                warn!(batches = unsent.len(), "view tallies not published before shutdown");
            }
            return;
        }
    }
}

/// Turns the views counted so far into batches to send, but only once every earlier batch is
/// stored: while NATS is away, new views stay merged per page in the counter, so what waits
/// is bounded by the pages viewed, not by how long NATS is away. (An unsent batch keeps its
/// message id and its counts: it may have been stored with only its acknowledgement lost.)
fn refill(unsent: &mut Vec<Outgoing>, counter: &ViewCounter) {
    if !unsent.is_empty() {
        return;
    }
    let mut pages: Vec<PageViews> = Vec::new();
    for (slug_key, lives) in counter.take() {
        pages.extend(lives.into_iter().map(|(page_id, count)| PageViews {
            slug: slug_key.clone(),
            page_id,
            count,
        }));
    }
    while !pages.is_empty() {
        let rest = pages.split_off(pages.len().min(MAX_BATCH_PAGES));
        unsent.push(Outgoing { batch: TallyBatch { pages }, message_id: format!("views-{}", Ulid::new()) });
        pages = rest;
    }
}

/// Publishes `batches`; returns what could not be stored, to resend with the same ids.
async fn flush(
    js: &jetstream::Context,
    config: &StreamConfig,
    batches: Vec<Outgoing>,
    metrics: &Metrics,
) -> Vec<Outgoing> {
    let mut failed = Vec::new();
    let mut published = 0u64;
    let sends = batches.iter().map(|o| publish(js, config, &o.batch, &o.message_id));
    for (outgoing, result) in batches.iter().zip(join_all(sends).await) {
        match result {
            Ok(_) => published += outgoing.batch.pages.len() as u64,
            Err(e) => {
                if failed.is_empty() {
                    warn!(error = %e, "view tallies not stored; will resend");
                }
                failed.push(outgoing.clone());
            }
        }
    }
    metrics.tallies(published);
    failed
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pages(unsent: &[Outgoing]) -> Vec<(String, u64, u64)> {
        let mut all: Vec<(String, u64, u64)> = unsent
            .iter()
            .flat_map(|o| o.batch.pages.iter().map(|p| (p.slug.clone(), p.page_id, p.count)))
            .collect();
        all.sort();
        all
    }

    #[test]
    fn one_flush_is_one_message_for_all_the_pages_viewed() {
        let counter = ViewCounter::default();
        let mut unsent = Vec::new();
        counter.count("alice", 1);
        counter.count("alice", 1);
        counter.count("bob", 2);
        refill(&mut unsent, &counter);
        assert_eq!(unsent.len(), 1);
        assert_eq!(pages(&unsent), [("alice".to_owned(), 1, 2), ("bob".to_owned(), 2, 1)]);
    }

    #[test]
    fn a_flush_of_very_many_pages_is_split() {
        let counter = ViewCounter::default();
        let mut unsent = Vec::new();
        for i in 0..(MAX_BATCH_PAGES + 1) {
            counter.count(&format!("page-{i}"), 1);
        }
        refill(&mut unsent, &counter);
        assert_eq!(unsent.iter().map(|o| o.batch.pages.len()).collect::<Vec<_>>(), [MAX_BATCH_PAGES, 1]);
        assert_ne!(unsent[0].message_id, unsent[1].message_id);
    }

    #[test]
    fn while_a_batch_waits_new_views_merge_per_page() {
        let counter = ViewCounter::default();
        let mut unsent = Vec::new();
        counter.count("alice", 1);
        counter.count("alice", 1);
        refill(&mut unsent, &counter);
        let waiting_id = unsent[0].message_id.clone();

        // NATS is away: the batch stays unsent, with its id, for a thousand flushes.
        for _ in 0..1000 {
            counter.count("alice", 1);
            counter.count("bob", 2);
            refill(&mut unsent, &counter);
        }
        assert_eq!(unsent.len(), 1, "nothing more queues up behind it");
        assert_eq!(unsent[0].message_id, waiting_id);
        assert_eq!(pages(&unsent), [("alice".to_owned(), 1, 2)]);

        // Stored at last: the views counted meanwhile go out together.
        unsent.clear();
        refill(&mut unsent, &counter);
        assert_eq!(pages(&unsent), [("alice".to_owned(), 1, 1000), ("bob".to_owned(), 2, 1000)]);
    }
}
