//! How far projection has got, announced over NATS so waiters need not poll SQLite.
//!
//! After each commit a projector publishes, on its read model's subject ([`subject`]), the
//! stream sequences it applied and the read model's events position after the commit. A
//! [`PositionWatch`] (one per API process, subscribed at start to its own read model's
//! subject only) remembers the highest position and the most recent sequences, and wakes
//! only the waiters an announcement satisfies: those of a sequence it names, and those of a
//! sequence or position it passes. Announcements are best effort (core NATS): a waiter that
//! misses one times out or looks at the read model, which stays the authority (see
//! `pages::is_projected`).

use std::collections::{BTreeMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_nats::jetstream::context::ConsumerInfoErrorKind;
use async_nats::jetstream::stream::{DirectGetErrorKind, Stream};
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use tokio::sync::oneshot;

use crate::error::ProjectionError;
use crate::read_model::ReadModelId;
use crate::workers::ConsumerLag;

/// First tokens of every projection announcement subject.
pub const SUBJECT_PREFIX: &str = "valentine.projected";

/// Core NATS subject of the announcements of read model `id`.
pub fn subject(id: &ReadModelId) -> String {
    format!("{SUBJECT_PREFIX}.{id}")
}

/// How many applied sequences a watch remembers.
const REMEMBERED: usize = 100_000;

/// One announcement: what a projector just committed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Projected {
    /// Stream sequences applied, ascending.
    pub sequences: Vec<u64>,
    /// The read model's events position after the commit: every event at or below it is
    /// applied.
    #[serde(default)]
    pub through: u64,
}

/// Announces on `subject` the sequences applied and the position reached; failures are
/// logged, never fatal.
pub async fn announce(client: &async_nats::Client, subject: &str, sequences: &[u64], through: u64) {
    if sequences.is_empty() && through == 0 {
        return;
    }
    let body = serde_json::to_vec(&Projected { sequences: sequences.to_vec(), through }).unwrap_or_default();
    if let Err(e) = client.publish(subject.to_owned(), body.into()).await {
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

/// Where the durable consumer `consumer` on `stream` stands, with its lag in messages and in
/// seconds (the age of the oldest message it has not had acknowledged, by the time the
/// stream stored it); `None` when no worker has bound that consumer yet.
///
/// # Errors
/// When JetStream cannot answer.
pub async fn lag(stream: &Stream, consumer: &str) -> Result<Option<ConsumerLag>, ProjectionError> {
    let info = match stream.consumer_info(consumer).await {
        Ok(info) => info,
        Err(e) if e.kind() == ConsumerInfoErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(ProjectionError::Stream(e.into())),
    };
    let unacknowledged = u64::try_from(info.num_ack_pending).unwrap_or(u64::MAX);
    let lag_events = info.num_pending.saturating_add(unacknowledged);
    let last_sequence =
        stream.clone().info().await.map_err(|e| ProjectionError::Stream(e.into()))?.state.last_sequence;
    let lag_seconds = if lag_events == 0 {
        0.0
    } else {
        // With nothing in flight the oldest waiting message is the next to deliver, which
        // also holds for a consumer that started at a time rather than at the stream's start.
        let from = if unacknowledged == 0 {
            info.delivered.stream_sequence + 1
        } else {
            info.ack_floor.stream_sequence + 1
        };
        let filter = match info.config.filter_subject.as_str() {
            "" => info.config.filter_subjects.first().cloned().unwrap_or_else(|| ">".to_owned()),
            filter => filter.to_owned(),
        };
        match stream.direct_get_next_for_subject(filter, Some(from)).await {
            Ok(message) => (OffsetDateTime::now_utc() - message.time).as_seconds_f64().max(0.0),
            Err(e) if e.kind() == DirectGetErrorKind::NotFound => 0.0,
            Err(e) => return Err(ProjectionError::Stream(e.into())),
        }
    };
    Ok(Some(ConsumerLag {
        consumer: consumer.to_owned(),
        stream: info.stream_name,
        position: info.ack_floor.stream_sequence,
        last_sequence,
        lag_events,
        lag_seconds,
    }))
}

/// Remembers the read model's position and recently projected sequences, and wakes their
/// waiters.
#[derive(Debug, Clone)]
pub struct PositionWatch {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    through: AtomicU64,
    recent: Mutex<Recent>,
    waiters: Mutex<Waiters>,
    /// Counts every change heard of, for those who follow them rather than wait for one.
    ticks: tokio::sync::watch::Sender<u64>,
}

impl Default for Inner {
    fn default() -> Self {
        Self {
            through: AtomicU64::default(),
            recent: Mutex::default(),
            waiters: Mutex::default(),
            ticks: tokio::sync::watch::Sender::new(0),
        }
    }
}

/// Who waits for what. A waiter that gives up takes its entry away (reads waiting on a
/// stalled read model look again every few hundred milliseconds, each time as a new waiter).
#[derive(Debug, Default)]
struct Waiters {
    /// By the sequence they wait to see applied: woken when it is announced or passed.
    sequences: BTreeMap<u64, Vec<oneshot::Sender<()>>>,
    /// By the position they wait for: woken once it is reached.
    positions: BTreeMap<u64, Vec<oneshot::Sender<()>>>,
}

impl Waiters {
    /// Wakes every waiter `through` or `sequences` satisfy.
    fn wake(&mut self, sequences: &[u64], through: u64) {
        // A waiter that gave up has dropped its end: nothing to tell it.
        let wake = |senders: Vec<oneshot::Sender<()>>| {
            for sender in senders {
                let _ = sender.send(());
            }
        };
        for map in [&mut self.sequences, &mut self.positions] {
            let later = map.split_off(&through.saturating_add(1));
            std::mem::replace(map, later).into_values().for_each(wake);
        }
        for sequence in sequences {
            if let Some(senders) = self.sequences.remove(sequence) {
                wake(senders);
            }
        }
    }

    /// Drops the entries of waiters for `awaited` that gave up.
    fn forget_gone(&mut self, awaited: Awaited) {
        let (map, key) = match awaited {
            Awaited::Sequence(sequence) => (&mut self.sequences, sequence),
            Awaited::Position(position) => (&mut self.positions, position),
        };
        if let Some(senders) = map.get_mut(&key) {
            senders.retain(|sender| !sender.is_closed());
            if senders.is_empty() {
                map.remove(&key);
            }
        }
    }
}

/// What a waiter waits for.
#[derive(Debug, Clone, Copy)]
enum Awaited {
    Sequence(u64),
    Position(u64),
}

#[derive(Debug, Default)]
struct Recent {
    set: HashSet<u64>,
    order: VecDeque<u64>,
}

impl PositionWatch {
    /// Subscribes to `subject` (one read model's announcements) and keeps listening until
    /// the client closes.
    ///
    /// # Errors
    /// When the subscription cannot be made.
    pub async fn start(
        client: &async_nats::Client,
        subject: String,
    ) -> Result<Self, async_nats::SubscribeError> {
        let mut subscription = client.subscribe(subject).await?;
        let watch = Self { inner: Arc::new(Inner::default()) };
        let inner = Arc::clone(&watch.inner);
        tokio::spawn(async move {
            while let Some(message) = subscription.next().await {
                if let Ok(projected) = serde_json::from_slice::<Projected>(&message.payload) {
                    inner.remember(&projected.sequences, projected.through);
                }
            }
        });
        Ok(watch)
    }

    /// Records that the read model has reached `through` (read from it directly).
    pub fn reached(&self, through: u64) {
        self.inner.remember(&[], through);
    }

    /// The highest events position heard of.
    pub fn through(&self) -> u64 {
        self.inner.through.load(Ordering::Acquire)
    }

    /// Whether the event at `sequence` is known to be applied: at or below the position, or
    /// announced recently.
    pub fn seen(&self, sequence: u64) -> bool {
        sequence <= self.through()
            || self.inner.recent.lock().unwrap_or_else(PoisonError::into_inner).set.contains(&sequence)
    }

    /// Follows the read model's changes: the receiver sees a new value after each
    /// announcement of newly applied events.
    pub fn changes(&self) -> tokio::sync::watch::Receiver<u64> {
        self.inner.ticks.subscribe()
    }

    /// Waits until the event at `sequence` is applied, for at most `timeout`; `true` if it was.
    pub async fn wait_for(&self, sequence: u64, timeout: Duration) -> bool {
        self.wait_until(timeout, Awaited::Sequence(sequence)).await
    }

    /// Waits until the position is at least `position`, for at most `timeout`; `true` if it is.
    pub async fn wait_for_position(&self, position: u64, timeout: Duration) -> bool {
        self.wait_until(timeout, Awaited::Position(position)).await
    }

    fn done(&self, awaited: Awaited) -> bool {
        match awaited {
            Awaited::Sequence(sequence) => self.seen(sequence),
            Awaited::Position(position) => self.through() >= position,
        }
    }

    async fn wait_until(&self, timeout: Duration, awaited: Awaited) -> bool {
        if self.done(awaited) {
            return true;
        }
        let (woken, wake) = oneshot::channel();
        {
            let mut waiters = self.inner.waiters.lock().unwrap_or_else(PoisonError::into_inner);
            let (map, key) = match awaited {
                Awaited::Sequence(sequence) => (&mut waiters.sequences, sequence),
                Awaited::Position(position) => (&mut waiters.positions, position),
            };
            map.entry(key).or_default().push(woken);
        }
        // An announcement heard between the first look and the registration woke nobody:
        // look again now that the next one will find this waiter.
        if self.done(awaited) {
            return true;
        }
        // The receiving end is dropped with the timeout, whatever its outcome.
        if matches!(tokio::time::timeout(timeout, wake).await, Ok(Ok(()))) {
            return true;
        }
        self.inner.waiters.lock().unwrap_or_else(PoisonError::into_inner).forget_gone(awaited);
        self.done(awaited)
    }
}

impl Inner {
    fn remember(&self, sequences: &[u64], through: u64) {
        let moved = self.through.fetch_max(through, Ordering::AcqRel) < through;
        if !sequences.is_empty() {
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
        } else if !moved {
            return;
        }
        self.waiters
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .wake(sequences, self.through.load(Ordering::Acquire));
        self.ticks.send_modify(|n| *n = n.wrapping_add(1));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_waiter_wakes_when_the_position_passes_its_sequence_or_it_is_announced() {
        let watch = PositionWatch { inner: Arc::new(Inner::default()) };
        watch.inner.remember(&[7, 9], 5);
        assert!(watch.seen(3) && watch.seen(5) && watch.seen(9) && !watch.seen(6));
        assert!(watch.wait_for(9, Duration::ZERO).await);
        assert!(!watch.wait_for_position(9, Duration::ZERO).await, "9 is ahead of the position");

        let waiting = tokio::spawn({
            let watch = watch.clone();
            async move { watch.wait_for_position(12, Duration::from_secs(60)).await }
        });
        watch.reached(11);
        watch.inner.remember(&[], 12);
        assert!(waiting.await.expect("woke"));
        watch.reached(4);
        assert_eq!(watch.through(), 12, "a position never moves back");
    }

    #[tokio::test]
    async fn an_announcement_wakes_only_the_waiters_it_satisfies() {
        let watch = PositionWatch { inner: Arc::new(Inner::default()) };
        let waiting = |awaited: Awaited| {
            let watch = watch.clone();
            tokio::spawn(async move { watch.wait_until(Duration::from_secs(60), awaited).await })
        };
        let (first, second, third) =
            (waiting(Awaited::Sequence(20)), waiting(Awaited::Sequence(30)), waiting(Awaited::Position(25)));
        let registered = |watch: &PositionWatch| {
            let waiters = watch.inner.waiters.lock().expect("a lock");
            (
                waiters.sequences.keys().copied().collect::<Vec<_>>(),
                waiters.positions.keys().copied().collect::<Vec<_>>(),
            )
        };
        while registered(&watch) != (vec![20, 30], vec![25]) {
            tokio::task::yield_now().await;
        }
        watch.inner.remember(&[20], 10);
        assert!(first.await.expect("woke"), "its sequence was announced");
        assert_eq!(registered(&watch), (vec![30], vec![25]), "the others still wait, unwoken");
        watch.inner.remember(&[], 26);
        assert!(third.await.expect("woke"), "the position passed 25");
        assert_eq!(registered(&watch), (vec![30], vec![]));
        watch.inner.remember(&[27, 28], 28);
        assert_eq!(registered(&watch), (vec![30], vec![]), "nothing it names or passes is awaited");
        watch.inner.remember(&[], 31);
        assert!(second.await.expect("woke"), "the position passed 30 without naming it");
        assert_eq!(registered(&watch), (vec![], vec![]));

        // A waiter that gives up takes its entry away, and leaves the others' alone.
        let patient = waiting(Awaited::Position(40));
        while registered(&watch) != (vec![], vec![40]) {
            tokio::task::yield_now().await;
        }
        assert!(!watch.wait_for(40, Duration::ZERO).await);
        assert!(!watch.wait_for_position(40, Duration::ZERO).await);
        assert_eq!(registered(&watch), (vec![], vec![40]), "only the patient waiter is left");
        watch.reached(40);
        assert!(patient.await.expect("woke"));
        assert_eq!(registered(&watch), (vec![], vec![]));
    }
}
