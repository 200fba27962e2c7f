//! Valentine's HTTP API (`valentine api`): commands through cqrs-es onto the JetStream event
//! store, queries from the SQLite read model through the Redis cache.
//!
//! Never writes the read model (projectors do) and never replays events to answer a query.
//! Depends on the domain, the event store and the projections; nothing depends on it but
//! the binary.
//!
//! # Layout
//! - [`startup`]: [`Application`]: build from [`ApiConfig`], run until shutdown.
//! - [`routes`]: the router and one module per resource.
//! - [`commands`]: running page commands and waiting for their projection.
//! - [`read`]: queries through the cache.
//! - [`jobs`]: job status from the stream and the projectors' position.
//! - [`rate_limit`], [`client`], [`secret`]: who is asking and how often.
//! - [`cache`]: Redis with timeouts and a breaker.
//! - [`views`]: counting views, published as tallies.
//! - [`share`]: link previews of `/{slug}` for crawlers.
//! - [`error`], [`extract`]: `ApiError` and extractors that reject with it.
//! - [`metrics`], [`openapi`]: `/metrics` and `/api/openapi.json`.

pub mod cache;
pub mod client;
pub mod commands;
pub mod config;
pub mod error;
pub mod extract;
pub mod jobs;
pub mod metrics;
pub mod openapi;
pub mod rate_limit;
pub mod read;
pub mod routes;
pub mod secret;
pub mod share;
pub mod startup;
pub mod state;
pub mod views;

pub use config::ApiConfig;
pub use error::ApiError;
pub use startup::{Application, StartupError};
pub use state::AppState;
