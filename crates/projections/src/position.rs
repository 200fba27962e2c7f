//! How far projection has got, announced over NATS so waiters need not poll SQLite.
//!
//! After each commit a projector publishes the stream sequences it applied on
//! [`SUBJECT`]. A [`PositionWatch`] (one per API process, subscribed at start) remembers the
//! most recent ones and wakes whoever waits for a sequence. Announcements are best effort
//! (core NATS): a waiter that misses one times out, and the read model itself stays the
//! authority (see `pages::is_projected`).

use std::collections::{HashSet, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_nats::jetstream::context::ConsumerInfoErrorKind;
use async_nats::jetstream::stream::Stream;
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use tokio::sync::Notify;

use crate::error::ProjectionError;

/// Core NATS subject of projection announcements.
pub const SUBJECT: &str = "valentine.projected";

/// How many applied sequences a watch remembers.
const REMEMBERED: usize = 100_000;

/// One announcement: the event-stream sequences a projector just committed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Projected {
    /// Stream sequences applied, ascending.
    pub sequences: Vec<u64>,
}

/// Announces applied sequences; failures are logged, never fatal.
pub async fn announce(client: &async_nats::Client, sequences: &[u64]) {
    if sequences.is_empty() {
        return;
    }
    let body = serde_json::to_vec(&Projected { sequences: sequences.to_vec() }).unwrap_or_default();
    if let Err(e) = client.publish(SUBJECT, body.into()).await {
        tracing::debug!(error = %e, "could not announce projected sequences");
    }
}

/// Where the projectors of one read model stand on one stream, as their shared durable
/// consumer records it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Progress {
    /// Every message at or below this stream sequence is projected (the ack floor).
    pub acknowledged: u64,
    /// Every message at or below this stream sequence has reached a projector.
    pub delivered: u64,
    /// Messages not yet delivered to any projector.
    pub pending: u64,
    /// Messages delivered and not yet acknowledged.
    pub unacknowledged: u64,
    /// Whether an operator (or a rebuild's swap) has paused delivery.
    pub paused: bool,
    /// Pull requests projectors have waiting.
    pub waiting_pulls: usize,
}

impl Progress {
    /// Messages not yet projected: pending plus delivered but unacknowledged.
    pub fn lag(&self) -> u64 {
        self.pending.saturating_add(self.unacknowledged)
    }
}

/// Where the projectors reading `stream` through the durable consumer `consumer` stand;
/// `None` when no projector has bound that consumer yet (nothing is projected).
///
/// # Errors
/// When JetStream cannot answer.
pub async fn progress(stream: &Stream, consumer: &str) -> Result<Option<Progress>, ProjectionError> {
    match stream.consumer_info(consumer).await {
        Ok(info) => Ok(Some(Progress {
            acknowledged: info.ack_floor.stream_sequence,
            delivered: info.delivered.stream_sequence,
            pending: info.num_pending,
            unacknowledged: u64::try_from(info.num_ack_pending).unwrap_or(u64::MAX),
            paused: info.paused,
            waiting_pulls: info.num_waiting,
        })),
        Err(e) if e.kind() == ConsumerInfoErrorKind::NotFound => Ok(None),
        Err(e) => Err(ProjectionError::Stream(e.into())),
    }
}

/// Remembers recently projected sequences and wakes their waiters.
#[derive(Debug, Clone)]
pub struct PositionWatch {
    inner: Arc<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    recent: Mutex<Recent>,
    changed: Notify,
}

#[derive(Debug, Default)]
struct Recent {
    set: HashSet<u64>,
    order: VecDeque<u64>,
}

impl PositionWatch {
    /// Subscribes to announcements and keeps listening until the client closes.
    ///
    /// # Errors
    /// When the subscription cannot be made.
    pub async fn start(client: &async_nats::Client) -> Result<Self, async_nats::SubscribeError> {
        let mut subscription = client.subscribe(SUBJECT).await?;
        let watch = Self { inner: Arc::new(Inner::default()) };
        let inner = Arc::clone(&watch.inner);
        tokio::spawn(async move {
            while let Some(message) = subscription.next().await {
                if let Ok(projected) = serde_json::from_slice::<Projected>(&message.payload) {
                    inner.remember(&projected.sequences);
                }
            }
        });
        Ok(watch)
    }

    /// Whether `sequence` was announced recently.
    pub fn seen(&self, sequence: u64) -> bool {
        self.inner.recent.lock().unwrap_or_else(PoisonError::into_inner).set.contains(&sequence)
    }

    /// Waits until `sequence` is announced, for at most `timeout`; `true` if it was.
    pub async fn wait_for(&self, sequence: u64, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let changed = self.inner.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            if self.seen(sequence) {
                return true;
            }
            if tokio::time::timeout_at(deadline, changed).await.is_err() {
                return self.seen(sequence);
            }
        }
    }
}

impl Inner {
    fn remember(&self, sequences: &[u64]) {
        {
            let mut recent = self.recent.lock().unwrap_or_else(PoisonError::into_inner);
            for &s in sequences {
                if recent.set.insert(s) {
                    recent.order.push_back(s);
                }
            }
            while recent.order.len() > REMEMBERED {
                if let Some(old) = recent.order.pop_front() {
                    recent.set.remove(&old);
                }
            }
        }
        self.changed.notify_waiters();
    }
}
