//! Valentine's HTTP API (`valentine api`): commands through cqrs-es onto the JetStream event
//! store, queries from the SQLite read model through the Redis cache.
//!
//! Never writes the read model (projectors do); answers from the stream only for an update
//! the projection has not caught up with. Depends on the domain, the event store and the
//! projections; nothing depends on it but the binary.
//!
//! # Layout
//! Dependencies point down this list, never up (`tests/architecture.rs` checks it):
//! - `startup`: [`Application`]: wires everything from [`ApiConfig`], runs until shutdown.
//! - `openapi`: [`ApiDoc`], generated from the handlers and bodies.
//! - `routes`: the router, its layers, and one module of handlers per resource: parse,
//!   call one use case, render.
//! - `state`: what handlers share, split for extractors with axum's `FromRef`.
//! - `use_cases`: create, update, delete, read a page, check a slug, locate a job,
//!   readiness; each owns the handles it needs and knows nothing of HTTP routing.
//! - `preview`: link previews of `/{slug}` for crawlers.
//! - adapters: `rate_limit`, `view_counts` (views published as tallies), `job_ledger`
//!   (where each create answered `202` landed),
//!   `redis_client` (Redis with timeouts and a breaker), `caller` (who is asking),
//!   `extract` (extractors that reject with `ApiError`), `server` (HTTP/1.1 connections
//!   under a cap, with header-read and idle timeouts).
//! - leaves: `wire` (the JSON bodies, one module per resource), `error` ([`ApiError`]),
//!   `metrics`, `secret` ([`ServerSecret`]), `config`; below them `admin_tokens`
//!   ([`AdminTokens`]: who may use the console).

mod admin_tokens;
mod caller;
mod config;
mod error;
mod extract;
mod job_ledger;
mod metrics;
mod openapi;
mod preview;
mod rate_limit;
mod redis_client;
mod routes;
mod secret;
mod server;
mod startup;
mod state;
mod store_usage;
mod use_cases;
mod view_counts;
mod wire;

pub use admin_tokens::{AdminTokens, IssuedAdminToken};
pub use config::ApiConfig;
pub use error::ApiError;
pub use openapi::ApiDoc;
pub use secret::ServerSecret;
pub use startup::{Application, StartupError};
