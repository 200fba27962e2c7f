//! Valentine's event store: cqrs-es's `PersistedEventRepository` on NATS JetStream.
//!
//! The stream is the only source of truth. Each aggregate instance has its own subject;
//! appends are guarded per subject with `Nats-Expected-Last-Subject-Sequence` and made
//! idempotent with `Nats-Msg-Id`; each command's events travel as one message, so they land
//! together or not at all. Knows no aggregate of its own: only cqrs-es's `Aggregate`.
//!
//! # Layout
//! - [`repository`]: [`JetStreamEventRepository`], the cqrs-es adapter.
//! - [`connection`]: [`NatsSettings`], where NATS is and who connects (credentials, TLS files:
//!   [`NatsTls`]); [`Password`]; [`NatsConnectError`], naming the settings to check.
//! - [`stream`]: the stream's configuration, ensured idempotently at start.
//! - [`envelope`]: the wire format of a commit, shared with the projector.
//! - [`sealing`]: personal payloads encrypted per page life; [`data_keys`]: their keys, in a
//!   bucket of their own, destroyed to erase; [`photos`]: page photos in an object store,
//!   sealed with the same keys.
//! - [`subjects`]: the subject layout.
//! - [`receipt`]: the stream sequence of an append, for read-your-writes.
//! - [`tallies`]: view tallies, on their own stream.
//! - [`cqrs`]: the command framework on JetStream, generic over the aggregate.
//! - [`error`]: [`EventStoreError`] and its mapping to cqrs-es errors.

pub mod connection;
pub mod cqrs;
pub mod data_keys;
pub mod envelope;
pub mod error;
pub mod photos;
pub mod receipt;
pub mod repository;
pub mod sealing;
pub mod stream;
pub mod subjects;
pub mod tallies;

pub use connection::{NatsConnectError, NatsSettings, NatsTls, Password};
pub use cqrs::{
    JetStreamCqrs, JetStreamStore, execute_new_with_receipt, execute_with_receipt, jetstream_cqrs,
};
pub use data_keys::{DataKeys, KeyLookup};
pub use envelope::{Commit, EventMeta, StoredCommit};
pub use error::EventStoreError;
pub use photos::PhotoStore;
pub use receipt::AppendReceipt;
pub use repository::JetStreamEventRepository;
pub use stream::{StreamConfig, ensure_stream, ensure_stream_from};
