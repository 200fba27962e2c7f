//! The wire format: one JetStream message per command.
//!
//! A command's events travel together in one message, so they land together or not at all.
//! The payload is a JSON [`Commit`]; headers repeat what a reader needs before parsing it.
//!
//! ```text
//! subject  events.page.alice
//! headers  Nats-Msg-Id: <command id>                 deduplicates retried appends
//!          Nats-Expected-Last-Subject-Sequence: <n>  optimistic lock (0 = new aggregate)
//!          Valentine-Aggregate-Type: Page
//!          Valentine-Aggregate-Id: alice
//!          Valentine-First-Sequence: 1               aggregate sequences in this commit
//!          Valentine-Last-Sequence: 1
//!          Valentine-Event-Types: PageCreated
//!          Valentine-Load-From: 0                    where loading may start (0: here)
//!          Content-Type: application/json
//! payload  {"aggregate_type":"Page","aggregate_id":"alice","command_id":"01J…",
//!           "events":[{"sequence":1,"event_type":"PageCreated","event_version":"1.0",
//!                      "payload":{"PageCreated":{…}},
//!                      "metadata":{"event_id":"01J…","command_id":"01J…",
//!                                  "timestamp":"2026-02-14T09:00:00.123Z","schema_version":"1"}}]}
//! ```

use async_nats::HeaderMap;
use bytes::Bytes;
use cqrs_es::persist::SerializedEvent;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use ulid::Ulid;

/// Version of this envelope format, stored in every event's metadata. `1`: payloads in the
/// clear. `2`: personal payloads may be sealed (see `crate::sealing`), and the commit then
/// names its data key in a header. Readers read both.
pub const SCHEMA_VERSION: &str = "2";

/// Header names written on every event message.
pub mod header {
    /// The aggregate type, e.g. `Page`.
    pub const AGGREGATE_TYPE: &str = "Valentine-Aggregate-Type";
    /// The aggregate id, e.g. `alice`.
    pub const AGGREGATE_ID: &str = "Valentine-Aggregate-Id";
    /// Aggregate sequence of the commit's first event.
    pub const FIRST_SEQUENCE: &str = "Valentine-First-Sequence";
    /// Aggregate sequence of the commit's last event.
    pub const LAST_SEQUENCE: &str = "Valentine-Last-Sequence";
    /// Comma-separated event types, in order.
    pub const EVENT_TYPES: &str = "Valentine-Event-Types";
    /// JetStream's deduplication id: the command id.
    pub const MSG_ID: &str = "Nats-Msg-Id";
    /// Where loading the aggregate's current state may start: the stream sequence of the
    /// commit holding its latest restarting event (or its first commit), `0` for this very
    /// commit. Absent on commits written before it existed: load from the start.
    pub const LOAD_FROM: &str = "Valentine-Load-From";
    /// The id of the data key that sealed the commit's personal events; absent on commits
    /// with nothing sealed (see `crate::sealing`).
    pub const DATA_KEY: &str = "Valentine-Data-Key";
    /// On an erasing commit: the ids of the data keys the erasure destroys, comma-separated
    /// (see `JetStreamEventRepository::erase`).
    pub const ERASED_DATA_KEYS: &str = "Valentine-Erased-Data-Keys";
}

/// Metadata keys every stored event carries. All values are strings, as cqrs-es expects.
pub mod meta {
    /// A ULID unique to the event.
    pub const EVENT_ID: &str = "event_id";
    /// The ULID of the command that produced the event; shared by a commit's events.
    pub const COMMAND_ID: &str = "command_id";
    /// When the event was appended, RFC 3339 in UTC.
    pub const TIMESTAMP: &str = "timestamp";
    /// [`super::SCHEMA_VERSION`] of the envelope.
    pub const SCHEMA_VERSION: &str = "schema_version";
}

/// All events of one command, as stored in one message.
///
/// Generic over how payloads and metadata are decoded: `Commit` (JSON values) is what
/// cqrs-es stores and loads; a projector decodes `Commit<PageEvent, EventMeta>` directly.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Commit<P = Value, M = Value> {
    /// Aggregate type, e.g. `Page`.
    pub aggregate_type: String,
    /// Aggregate id, e.g. `alice`.
    pub aggregate_id: String,
    /// The command that produced these events.
    pub command_id: String,
    /// The events, in aggregate-sequence order. Never empty.
    pub events: Vec<WireEvent<P, M>>,
}

/// One event inside a [`Commit`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WireEvent<P = Value, M = Value> {
    /// Aggregate sequence, from 1.
    pub sequence: usize,
    /// Frozen event type, e.g. `PageCreated`.
    pub event_type: String,
    /// Shape version of the payload.
    pub event_version: String,
    /// The serialized domain event.
    pub payload: P,
    /// String-valued metadata, including the keys in [`meta`].
    pub metadata: M,
}

/// The standard metadata of an event, for readers that need only these keys.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventMeta {
    /// A ULID unique to the event.
    pub event_id: String,
    /// When the event was appended, RFC 3339 in UTC.
    pub timestamp: String,
}

/// A commit as read back, with its place in the stream.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredCommit<P = Value, M = Value> {
    /// JetStream stream sequence of the message.
    pub stream_sequence: u64,
    /// What the message holds.
    pub commit: Commit<P, M>,
}

impl StoredCommit {
    /// The same commit with payloads decoded as `P` and metadata as `M`.
    ///
    /// # Errors
    /// When an event's payload or metadata does not decode.
    pub fn typed<P: DeserializeOwned, M: DeserializeOwned>(
        self,
    ) -> Result<StoredCommit<P, M>, MalformedCommit> {
        self.typed_with(serde_json::from_value)
    }

    /// The same commit with payloads decoded by `payload` and metadata as `M`.
    ///
    /// # Errors
    /// When an event's payload or metadata does not decode.
    pub fn typed_with<P, M: DeserializeOwned>(
        self,
        payload: impl Fn(Value) -> serde_json::Result<P>,
    ) -> Result<StoredCommit<P, M>, MalformedCommit> {
        let Self { stream_sequence, commit } = self;
        let malformed = |e: serde_json::Error| MalformedCommit { stream_sequence, reason: e.to_string() };
        let Commit { aggregate_type, aggregate_id, command_id, events } = commit;
        let events = events
            .into_iter()
            .map(|e| {
                Ok(WireEvent {
                    sequence: e.sequence,
                    event_type: e.event_type,
                    event_version: e.event_version,
                    payload: payload(e.payload).map_err(malformed)?,
                    metadata: serde_json::from_value(e.metadata).map_err(malformed)?,
                })
            })
            .collect::<Result<_, MalformedCommit>>()?;
        Ok(StoredCommit {
            stream_sequence,
            commit: Commit { aggregate_type, aggregate_id, command_id, events },
        })
    }
}

impl StoredCommit {
    /// Brings every event to its current version with `upcast` (the aggregate's upcaster
    /// chain), before its payload is decoded.
    ///
    /// # Errors
    /// When `upcast` refuses an event (a version this build does not read).
    pub fn upcast<E: std::fmt::Display>(
        &mut self,
        upcast: impl Fn(SerializedEvent) -> Result<SerializedEvent, E>,
    ) -> Result<(), MalformedCommit> {
        let commit = &mut self.commit;
        for event in &mut commit.events {
            let serialized = SerializedEvent {
                aggregate_id: commit.aggregate_id.clone(),
                sequence: event.sequence,
                aggregate_type: commit.aggregate_type.clone(),
                event_type: std::mem::take(&mut event.event_type),
                event_version: std::mem::take(&mut event.event_version),
                payload: event.payload.take(),
                metadata: event.metadata.take(),
            };
            let upcast = upcast(serialized).map_err(|e| MalformedCommit {
                stream_sequence: self.stream_sequence,
                reason: e.to_string(),
            })?;
            event.event_type = upcast.event_type;
            event.event_version = upcast.event_version;
            event.payload = upcast.payload;
            event.metadata = upcast.metadata;
        }
        Ok(())
    }
}

/// A message that is not a well-formed commit.
#[derive(Debug, thiserror::Error)]
#[error("stream sequence {stream_sequence}: {reason}")]
pub struct MalformedCommit {
    /// Where it is.
    pub stream_sequence: u64,
    /// What is wrong with it.
    pub reason: String,
}

impl Commit {
    /// Wraps serialized events for appending, adding the metadata every event carries.
    ///
    /// # Panics
    /// Never: `events` being empty is the caller's contract ([`Commit::events`] is never empty).
    pub fn new(
        aggregate_type: &str,
        events: &[SerializedEvent],
        command_id: &str,
        at: OffsetDateTime,
    ) -> Self {
        let timestamp = format_timestamp(at);
        let aggregate_id = events.first().map(|e| e.aggregate_id.clone()).unwrap_or_default();
        let events = events
            .iter()
            .map(|e| {
                let mut metadata = match &e.metadata {
                    Value::Object(map) => map.clone(),
                    _ => serde_json::Map::new(),
                };
                metadata.insert(meta::EVENT_ID.into(), Ulid::new().to_string().into());
                metadata.insert(meta::COMMAND_ID.into(), command_id.into());
                metadata.insert(meta::TIMESTAMP.into(), timestamp.clone().into());
                metadata.insert(meta::SCHEMA_VERSION.into(), SCHEMA_VERSION.into());
                WireEvent {
                    sequence: e.sequence,
                    event_type: e.event_type.clone(),
                    event_version: e.event_version.clone(),
                    payload: e.payload.clone(),
                    metadata: Value::Object(metadata),
                }
            })
            .collect();
        Self {
            aggregate_type: aggregate_type.to_owned(),
            aggregate_id,
            command_id: command_id.to_owned(),
            events,
        }
    }

    /// The message payload.
    ///
    /// # Errors
    /// Only if a payload holds something JSON cannot encode, which serde_json values never do.
    pub fn encode(&self) -> Result<Bytes, serde_json::Error> {
        serde_json::to_vec(self).map(Bytes::from)
    }

    /// Parses and checks a stored message's payload as JSON values.
    ///
    /// # Errors
    /// When the payload is not a commit with at least one event and contiguous sequences.
    pub fn decode(stream_sequence: u64, payload: &[u8]) -> Result<StoredCommit, MalformedCommit> {
        Self::decode_as(stream_sequence, payload)
    }

    /// The events as cqrs-es expects them.
    pub fn into_serialized(self) -> impl Iterator<Item = SerializedEvent> {
        let Self { aggregate_type, aggregate_id, events, .. } = self;
        events.into_iter().map(move |e| SerializedEvent {
            aggregate_id: aggregate_id.clone(),
            sequence: e.sequence,
            aggregate_type: aggregate_type.clone(),
            event_type: e.event_type,
            event_version: e.event_version,
            payload: e.payload,
            metadata: e.metadata,
        })
    }
}

impl<P, M> Commit<P, M> {
    /// Aggregate sequence of the first event.
    pub fn first_sequence(&self) -> usize {
        self.events.first().map_or(0, |e| e.sequence)
    }

    /// Aggregate sequence of the last event.
    pub fn last_sequence(&self) -> usize {
        self.events.last().map_or(0, |e| e.sequence)
    }

    /// The descriptive headers (not the concurrency ones, which the publisher adds).
    pub fn headers(&self) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::AGGREGATE_TYPE, self.aggregate_type.as_str());
        headers.insert(header::AGGREGATE_ID, self.aggregate_id.as_str());
        headers.insert(header::FIRST_SEQUENCE, self.first_sequence().to_string().as_str());
        headers.insert(header::LAST_SEQUENCE, self.last_sequence().to_string().as_str());
        let types: Vec<&str> = self.events.iter().map(|e| e.event_type.as_str()).collect();
        headers.insert(header::EVENT_TYPES, types.join(",").as_str());

        headers.insert("Content-Type", "application/json");
        headers
    }
}

impl<P: DeserializeOwned, M: DeserializeOwned> Commit<P, M> {
    /// Parses and checks a stored message's payload, decoding payloads as `P` and metadata
    /// as `M`.
    ///
    /// # Errors
    /// When the payload is not a commit with at least one event and contiguous sequences.
    pub fn decode_as(stream_sequence: u64, payload: &[u8]) -> Result<StoredCommit<P, M>, MalformedCommit> {
        let malformed = |reason: String| MalformedCommit { stream_sequence, reason };
        let commit: Self = serde_json::from_slice(payload).map_err(|e| malformed(e.to_string()))?;
        if commit.events.is_empty() {
            return Err(malformed("a commit without events".to_owned()));
        }
        let contiguous = commit.events.windows(2).all(|w| w[1].sequence == w[0].sequence + 1);
        if !contiguous || commit.first_sequence() == 0 {
            return Err(malformed("event sequences are not contiguous from 1".to_owned()));
        }
        Ok(StoredCommit { stream_sequence, commit })
    }
}

/// How event times are written in metadata (RFC 3339, UTC), and so in read models.
pub fn format_timestamp(at: OffsetDateTime) -> String {
    at.format(&Rfc3339).unwrap_or_else(|_| at.unix_timestamp().to_string())
}

/// The command id the caller chose (metadata key `command_id`), or a fresh ULID.
pub fn command_id_of(event: &SerializedEvent) -> String {
    event
        .metadata
        .get(meta::COMMAND_ID)
        .and_then(Value::as_str)
        .filter(|id| !id.is_empty())
        .map_or_else(|| Ulid::new().to_string(), str::to_owned)
}

#[cfg(test)]
mod tests {
    use cqrs_es::Aggregate;
    use serde_json::json;
    use valentine_domain::Page;

    use super::*;

    fn event(sequence: usize) -> SerializedEvent {
        SerializedEvent {
            aggregate_id: "alice".to_owned(),
            sequence,
            aggregate_type: Page::TYPE.to_owned(),
            event_type: "PageUpdated".to_owned(),
            event_version: "1.0".to_owned(),
            payload: json!({ "PageUpdated": { "title": "x" } }),
            metadata: json!({ "request_id": "r1" }),
        }
    }

    #[test]
    fn a_commit_round_trips_and_every_event_gets_the_standard_metadata() {
        let at = OffsetDateTime::from_unix_timestamp(1_771_059_600).expect("valid time");
        let commit = Commit::new(Page::TYPE, &[event(4), event(5)], "01JCOMMAND", at);
        let stored = Commit::decode(9, &commit.encode().expect("encodes")).expect("decodes");
        assert_eq!(stored.stream_sequence, 9);
        assert_eq!(stored.commit, commit);

        let events: Vec<_> = stored.commit.into_serialized().collect();
        assert_eq!(events.iter().map(|e| e.sequence).collect::<Vec<_>>(), [4, 5]);
        for e in &events {
            assert_eq!(e.aggregate_id, "alice");
            assert_eq!(e.metadata["command_id"], "01JCOMMAND");
            assert_eq!(e.metadata["timestamp"], "2026-02-14T09:00:00Z");
            assert_eq!(e.metadata["schema_version"], "2");
            assert_eq!(e.metadata["request_id"], "r1");
            let event_id = e.metadata["event_id"].as_str().expect("a string");
            assert!(event_id.parse::<Ulid>().is_ok());
        }
        assert_ne!(events[0].metadata["event_id"], events[1].metadata["event_id"]);
    }

    #[test]
    fn headers_describe_the_commit() {
        let commit = Commit::new(Page::TYPE, &[event(2), event(3)], "c", OffsetDateTime::UNIX_EPOCH);
        let headers = commit.headers();
        let get = |name: &str| headers.get(name).map(|v| v.as_str().to_owned());
        assert_eq!(get(header::AGGREGATE_ID).as_deref(), Some("alice"));
        assert_eq!(get(header::FIRST_SEQUENCE).as_deref(), Some("2"));
        assert_eq!(get(header::LAST_SEQUENCE).as_deref(), Some("3"));
        assert_eq!(get(header::EVENT_TYPES).as_deref(), Some("PageUpdated,PageUpdated"));
    }

    #[test]
    fn malformed_payloads_are_reported_with_their_position() {
        let err = Commit::decode(7, b"not json").expect_err("malformed");
        assert_eq!(err.stream_sequence, 7);
        let empty =
            json!({ "aggregate_type": Page::TYPE, "aggregate_id": "a", "command_id": "c", "events": [] });
        assert!(Commit::decode(1, empty.to_string().as_bytes()).is_err());
        let mut gap = Commit::new(Page::TYPE, &[event(1), event(2)], "c", OffsetDateTime::UNIX_EPOCH);
        gap.events[1].sequence = 3;
        assert!(Commit::decode(1, &gap.encode().expect("encodes")).is_err());
    }

    #[test]
    fn the_callers_command_id_is_kept_and_a_missing_one_is_generated() {
        let mut e = event(1);
        e.metadata = json!({ "command_id": "01JIDEMPOTENT" });
        assert_eq!(command_id_of(&e), "01JIDEMPOTENT");
        assert!(command_id_of(&event(1)).parse::<Ulid>().is_ok());
    }
}
