//! The two feeds a projector reads into the read model, page events and view tallies,
//! described once: which messages belong to a feed, how one is decoded, how a batch is
//! projected, and what an item that cannot be placed means.
//!
//! The live worker ([`crate::worker`]) and the rebuild ([`crate::rebuild`]) each have a
//! single loop, generic over [`Feed`], so both feeds are always read the same way: a message
//! one of them cannot decode, the other cannot either.

use std::collections::{BTreeSet, HashMap};
use std::future::Future;
use std::sync::Arc;

use async_nats::jetstream::Message;
use valentine_eventstore::data_keys::{self, DataKeys, KeyLookup};
use valentine_eventstore::envelope::{MalformedCommit, header};
use valentine_eventstore::{Commit, StreamConfig, subjects};
use valentine_projections::page_store;
use valentine_projections::tallies::{DeliveredTally, MalformedTally, project_tallies};
use valentine_projections::{PageCommit, ProjectionError, Verdict, applied, project_batch};

use crate::error::ProjectorError;
use crate::health;

/// What it means that an item cannot be projected yet, or cannot be read at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Order {
    /// Each item continues a page's history, which must be whole and in order. Live, a
    /// deferred item waits briefly (its predecessor is in another projector's batch), and an
    /// unreadable one is offered again; either is parked once its deliveries run out. A
    /// rebuild reads in stream order, so there a deferred or unreadable item means the
    /// stream is damaged, and the rebuild stops.
    History,
    /// Each item counts on its own, once its page is projected. Live, a deferred item waits
    /// for its page, longer every time. A rebuild projects every event first, so there a
    /// deferred item counts for nothing, and an unreadable one is skipped.
    Counts,
}

/// What committing a batch settled.
#[derive(Debug, Default)]
pub(crate) struct Projected {
    /// One verdict per item, in delivery order.
    pub(crate) verdicts: Vec<Verdict>,
    /// Cache keys whose answers are now stale.
    pub(crate) touched: Vec<String>,
    /// Event-stream sequences applied, to announce to waiting writers.
    pub(crate) applied: Vec<u64>,
    /// The read model's events position after the batch; `None` for tallies.
    pub(crate) through: Option<u64>,
    /// Pages the batch erased, with the stream sequence of each erasure: their keys are to
    /// be destroyed (again: the API did it already, unless it failed), and the write-ahead
    /// log still holds what they said.
    pub(crate) erased: Vec<(String, u64)>,
}

/// One feed of the read model.
pub(crate) trait Feed: Clone + Send + Sync + 'static {
    /// A decoded message.
    type Item: Send + 'static;
    /// What decoding a batch needs that only I/O gets (page events: their data keys).
    type Context: Send + Sync + 'static;
    /// Why a message cannot be decoded; no retry changes that.
    type Malformed: std::error::Error + Send + Sync + 'static;
    /// Which feed this is, in health records.
    const HEALTH: health::Feed;
    /// What a deferred or unreadable item means.
    const ORDER: Order;
    /// How logs and progress name it.
    const NAME: &'static str;
    /// Its stream's name among the read model's positions.
    const POSITION: &'static str;

    /// The subjects of its stream it reads.
    fn filter(&self) -> String;
    /// Gets what decoding `messages` needs. An error is passing (the key store is away, or a
    /// replica has not caught up): the messages are tried again later.
    fn prepare(
        &self,
        messages: &[&Message],
    ) -> impl Future<Output = Result<Self::Context, ProjectorError>> + Send;
    /// Decodes the message at `stream_sequence`.
    fn decode(
        &self,
        message: &Message,
        stream_sequence: u64,
        context: &Self::Context,
    ) -> Result<Self::Item, Self::Malformed>;
    /// The item's sequence in its stream.
    fn stream_sequence(item: &Self::Item) -> u64;
    /// Events the item carries (zero for what is not an event).
    fn events(item: &Self::Item) -> u64;
    /// Projects a batch in one write transaction; call it from a blocking thread.
    fn project(conn: &mut rusqlite::Connection, batch: Vec<Self::Item>)
    -> Result<Projected, ProjectionError>;
    /// Whether an operator decided that the message at `sequence` is not to be applied (a
    /// parked event skipped): a rebuild passes over it as live projection did.
    fn skipped(&self, _sequence: u64) -> bool {
        false
    }
}

/// Page events: one commit per message, opened with its page life's data key.
#[derive(Debug, Clone)]
pub(crate) struct Events {
    prefix: String,
    keys: DataKeys,
    /// Messages an operator skipped when they were parked.
    skipped: Arc<BTreeSet<u64>>,
}

impl Events {
    pub(crate) fn new(stream: &StreamConfig, keys: DataKeys) -> Self {
        Self { prefix: stream.subject_prefix.clone(), keys, skipped: Arc::default() }
    }

    /// The same feed, passing over the messages at `skipped`.
    pub(crate) fn skipping(mut self, skipped: Arc<BTreeSet<u64>>) -> Self {
        self.skipped = skipped;
        self
    }
}

impl Feed for Events {
    type Item = PageCommit;
    type Context = HashMap<String, KeyLookup>;
    type Malformed = MalformedCommit;
    const HEALTH: health::Feed = health::Feed::Events;
    const ORDER: Order = Order::History;
    const NAME: &'static str = "events";
    const POSITION: &'static str = applied::EVENTS;

    fn filter(&self) -> String {
        subjects::everything(&self.prefix)
    }

    async fn prepare(&self, messages: &[&Message]) -> Result<Self::Context, ProjectorError> {
        let ids = messages
            .iter()
            .filter_map(|m| m.headers.as_ref()?.get(header::DATA_KEY))
            .map(|id| id.as_str().to_owned());
        let found = self.keys.lookup_all(ids).await?;
        if let Some((id, _)) = found.iter().find(|(_, k)| matches!(k, KeyLookup::Missing)) {
            return Err(ProjectorError::KeyMissing(id.clone()));
        }
        Ok(found)
    }

    fn decode(
        &self,
        message: &Message,
        stream_sequence: u64,
        keys: &Self::Context,
    ) -> Result<PageCommit, MalformedCommit> {
        let mut stored = Commit::decode(stream_sequence, &message.payload)?;
        data_keys::open_with(&mut stored, keys)
            .map_err(|e| MalformedCommit { stream_sequence, reason: e.to_string() })?;
        page_store::decode(stored)
    }

    fn stream_sequence(item: &PageCommit) -> u64 {
        item.stream_sequence
    }

    fn events(item: &PageCommit) -> u64 {
        item.commit.events.len() as u64
    }

    fn skipped(&self, sequence: u64) -> bool {
        self.skipped.contains(&sequence)
    }

    fn project(
        conn: &mut rusqlite::Connection,
        batch: Vec<PageCommit>,
    ) -> Result<Projected, ProjectionError> {
        let outcome = project_batch(conn, batch)?;
        Ok(Projected {
            verdicts: outcome.verdicts,
            touched: outcome.touched,
            applied: outcome.applied,
            through: Some(outcome.through),
            erased: outcome.erased,
        })
    }
}

/// View tallies: one API flush's views (or, in older streams, one page's) per message.
#[derive(Debug, Clone)]
pub(crate) struct Tallies {
    prefix: String,
}

impl Tallies {
    pub(crate) fn new(stream: &StreamConfig) -> Self {
        Self { prefix: stream.subject_prefix.clone() }
    }
}

impl Feed for Tallies {
    type Item = DeliveredTally;
    type Context = ();
    type Malformed = MalformedTally;
    const HEALTH: health::Feed = health::Feed::Views;
    const ORDER: Order = Order::Counts;
    const NAME: &'static str = "views";
    const POSITION: &'static str = applied::VIEWS;

    fn filter(&self) -> String {
        subjects::everything(&self.prefix)
    }

    async fn prepare(&self, _: &[&Message]) -> Result<(), ProjectorError> {
        Ok(())
    }

    fn decode(
        &self,
        message: &Message,
        stream_sequence: u64,
        (): &(),
    ) -> Result<DeliveredTally, MalformedTally> {
        // Views count on the day the stream stored their tally (within a second of the views).
        let day = message
            .info()
            .map(|info| info.published.date().to_string())
            .map_err(|e| MalformedTally { stream_sequence, reason: format!("no stream time: {e}") })?;
        DeliveredTally::decode(message.subject.as_str(), &message.payload, stream_sequence, day, &self.prefix)
    }

    fn stream_sequence(item: &DeliveredTally) -> u64 {
        item.stream_sequence
    }

    fn events(_: &DeliveredTally) -> u64 {
        0
    }

    fn project(
        conn: &mut rusqlite::Connection,
        batch: Vec<DeliveredTally>,
    ) -> Result<Projected, ProjectionError> {
        let outcome = project_tallies(conn, &batch)?;
        Ok(Projected {
            verdicts: outcome.verdicts,
            touched: outcome.touched,
            applied: Vec::new(),
            through: None,
            erased: Vec::new(),
        })
    }
}
