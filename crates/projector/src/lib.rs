//! Valentine's projector side: workers that turn the event stream into the read model, and
//! the rebuild that makes a fresh one (or verifies the live one against it).
//!
//! Depends on the event store (streams, wire format) and the projections (SQLite); the
//! `valentine` binary wires it to the command line, and keeps the operator commands that
//! only report on or copy the streams (replay, status, backup) to itself, so workers link
//! nothing but projection.
//!
//! # Layout
//! - [`worker`]: [`Projector`], one worker process: events and view tallies.
//! - `feeds`: the two feeds, page events and view tallies, for the worker's and the rebuild's
//!   loops.
//! - [`consumers`]: the shared durable consumers; pausing them for a swap.
//! - [`health`]: what a worker knows about its state, and its `/health` and `/ready`.
//! - [`rebuild`]: `valentine rebuild` and `--verify`.
//! - [`progress`]: progress bar or log lines.
//! - [`config`]: the read side settings, [`ReadSideConfig`].
//! - [`error`]: what stops a worker or a rebuild, [`ProjectorError`].

pub mod checkpointer;
pub mod config;
pub mod consumers;
pub mod error;
mod feeds;
pub mod health;
pub mod progress;
pub mod rebuild;
pub mod worker;

pub use config::ReadSideConfig;
pub use error::ProjectorError;
pub use health::Health;
pub use worker::{Processed, Projector};
