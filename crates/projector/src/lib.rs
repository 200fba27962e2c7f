//! Valentine's projector side: workers that turn the event stream into the read model, the
//! rebuild that makes a fresh one, and the replay that shows a page's history.
//!
//! Depends on the event store (streams, wire format) and the projections (SQLite); the
//! `valentine` binary wires it to the command line.
//!
//! # Layout
//! - [`worker`]: [`Projector`], one worker process: events and view tallies.
//! - `feeds`: the two feeds, page events and view tallies, for the worker's and the rebuild's
//!   loops.
//! - [`consumers`]: the shared durable consumers; pausing them for a swap.
//! - [`health`]: what a worker knows about its state, and its `/health` and `/ready`.
//! - [`rebuild`]: `valentine rebuild` and `--verify`.
//! - [`replay`]: `valentine replay <slug>`.
//! - [`status`]: `valentine status`.
//! - [`backup`]: `valentine backup` and `valentine restore`.
//! - [`progress`]: progress bar or log lines.
//! - [`config`]: the read side settings, [`ReadSideConfig`].

pub mod backup;
pub mod config;
pub mod consumers;
pub mod error;
mod feeds;
pub mod health;
pub mod progress;
pub mod rebuild;
pub mod replay;
pub mod status;
pub mod worker;

pub use config::ReadSideConfig;
pub use error::ProjectorError;
pub use health::Health;
pub use worker::Projector;
