//! Valentine's read side: the SQLite read model the API answers from, and how events become
//! rows in it.
//!
//! Depends on the domain (event types) and the event store's wire format; never on the API.
//! Rows are only ever written by projecting the event stream, so a rebuild from the stream
//! gives the same rows (see [`hash::content_hash`]).
//!
//! # Layout
//! - [`db`]: opening the database, pragmas, generations and the atomic swap of a rebuild.
//! - [`read_connections`]: read-only rusqlite connections for point lookups in place.
//! - [`pages`]: the `pages` and `page_events` read models: projection and queries.
//! - [`page_store`]: the page event store as every role opens it (sealing, restarts,
//!   upcasting).
//! - [`page_timeline`]: a slug's whole history from the stream, with what each event changed
//!   and the page after it: for auditors, time travel and the author's history.
//! - [`tallies`]: view tallies into `pages.view_count`.
//! - [`hash`]: the content hash of the read model.
//! - [`moderation`]: the console's queries: pages by slug prefix, reported pages, reports.
//! - [`cache_keys`]: Redis keys of cached answers and their invalidation.
//! - [`position`]: announcing and awaiting projected stream sequences; where projectors stand,
//!   and how far behind a durable consumer is, in messages and in seconds.
//! - [`workers`]: the workers' heartbeats, shared through a key-value bucket.
//! - [`metrics`]: Prometheus's text format for the workers' `/metrics`.
//! - [`parked`]: events a projector could not apply, set aside for an operator to retry or
//!   skip.
//! - [`read_model`]: [`ReadModelSettings`] and [`ReadModelId`]: which read model, and what its id names on the shared servers.
//! - [`redis_connection`]: one Redis server or a Redis Cluster, from `REDIS_URL`,
//!   `REDIS_CLUSTER` and `REDIS_PASSWORD`.

pub mod applied;
pub mod cache_keys;
pub mod db;
pub mod error;
pub mod hash;
pub mod metrics;
pub mod moderation;
pub mod page_store;
pub mod page_timeline;
pub mod pages;
pub mod parked;
pub mod position;
pub mod read_connections;
pub mod read_model;
pub mod redis_connection;
pub mod tallies;
pub mod view_checkpoints;
pub mod workers;

pub use error::ProjectionError;
pub use pages::{BatchOutcome, HistoryRow, PageCommit, PageRow, ReportRow, Verdict, project_batch};
pub use position::PositionWatch;
pub use read_model::{ReadModelId, ReadModelSettings};
