//! Counting page views without writing on every read.
//!
//! Each view is counted in memory; about once a second the counts go out as one tally per
//! viewed page to the VIEWS stream, and projectors add them to the read model. A tally keeps
//! its message id until JetStream has stored it, so a resend after a lost acknowledgement
//! counts once. What a crash can lose is the last second's views of this process.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_nats::jetstream;
use futures::future::join_all;
use tokio_util::sync::CancellationToken;
use tracing::{Instrument, info_span, warn};
use ulid::Ulid;
use valentine_eventstore::StreamConfig;
use valentine_eventstore::tallies::{ViewTally, publish};

use crate::metrics::Metrics;

/// How often tallies are published.
pub(crate) const FLUSH_EVERY: Duration = Duration::from_secs(1);

/// Tallies published at once.
const IN_FLIGHT: usize = 512;

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

/// A tally on its way to the stream, with the message id it keeps until stored.
#[derive(Debug, Clone)]
struct Outgoing {
    slug_key: String,
    tally: ViewTally,
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
            metrics.set_tallies_waiting(unsent.len());
        }
        if stopping {
            if !unsent.is_empty() {
                warn!(tallies = unsent.len(), "view tallies not published before shutdown");
            }
            return;
        }
    }
}

/// Turns the views counted so far into tallies to send, but only once every earlier tally is
/// stored: while NATS is away, new views stay merged per page in the counter, so what waits
/// is bounded by the pages viewed, not by how long NATS is away. (An unsent tally keeps its
/// message id and its count: it may have been stored with only its acknowledgement lost.)
fn refill(unsent: &mut Vec<Outgoing>, counter: &ViewCounter) {
    if !unsent.is_empty() {
        return;
    }
    for (slug_key, pages) in counter.take() {
        unsent.extend(pages.into_iter().map(|(page_id, count)| Outgoing {
            slug_key: slug_key.clone(),
            tally: ViewTally { page_id, count },
            message_id: format!("view-{}", Ulid::new()),
        }));
    }
}

/// Publishes `batch`; returns what could not be stored, to resend with the same ids.
async fn flush(
    js: &jetstream::Context,
    config: &StreamConfig,
    batch: Vec<Outgoing>,
    metrics: &Metrics,
) -> Vec<Outgoing> {
    let mut failed = Vec::new();
    let mut published = 0u64;
    for chunk in batch.chunks(IN_FLIGHT) {
        let sends = chunk.iter().map(|t| publish(js, config, &t.slug_key, t.tally, &t.message_id));
        for (outgoing, result) in chunk.iter().zip(join_all(sends).await) {
            match result {
                Ok(_) => published += 1,
                Err(e) => {
                    if failed.is_empty() {
                        warn!(error = %e, "view tally not stored; will resend");
                    }
                    failed.push(outgoing.clone());
                }
            }
        }
    }
    metrics.tallies(published);
    failed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn while_tallies_wait_new_views_merge_per_page() {
        let counter = ViewCounter::default();
        let mut unsent = Vec::new();
        counter.count("alice", 1);
        counter.count("alice", 1);
        refill(&mut unsent, &counter);
        assert_eq!(unsent.len(), 1);
        assert_eq!(unsent[0].tally, ViewTally { page_id: 1, count: 2 });
        let waiting_id = unsent[0].message_id.clone();

        // NATS is away: the tally stays unsent, with its id, for a thousand flushes.
        for _ in 0..1000 {
            counter.count("alice", 1);
            counter.count("bob", 2);
            refill(&mut unsent, &counter);
        }
        assert_eq!(unsent.len(), 1, "nothing more queues up behind it");
        assert_eq!(unsent[0].message_id, waiting_id);

        // Stored at last: the views counted meanwhile go out, one tally per page.
        unsent.clear();
        refill(&mut unsent, &counter);
        let mut tallies: Vec<(String, ViewTally)> =
            unsent.iter().map(|o| (o.slug_key.clone(), o.tally)).collect();
        tallies.sort_by(|a, b| a.0.cmp(&b.0));
        assert_eq!(
            tallies,
            [
                ("alice".to_owned(), ViewTally { page_id: 1, count: 1000 }),
                ("bob".to_owned(), ViewTally { page_id: 2, count: 1000 })
            ]
        );
    }
}
