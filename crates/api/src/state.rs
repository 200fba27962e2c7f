//! What every handler shares: connections, the command framework, caches and counters.

use std::sync::Arc;

use async_nats::jetstream;
use axum::body::Bytes;
use sqlx::SqlitePool;
use valentine_eventstore::{JetStreamEventRepository, PageCqrs};
use valentine_projections::PositionWatch;

use crate::cache::Cache;
use crate::config::ApiConfig;
use crate::jobs::JobMemo;
use crate::metrics::Metrics;
use crate::rate_limit::RateLimiter;
use crate::secret::ServerSecret;
use crate::views::ViewCounter;

/// Shared state of one API process; cheap to clone.
#[derive(Clone)]
pub struct AppState(Arc<Parts>);

/// The parts of [`AppState`].
pub struct Parts {
    /// Settings.
    pub config: ApiConfig,
    /// The server secret.
    pub secret: ServerSecret,
    /// The NATS connection.
    pub nats: async_nats::Client,
    /// JetStream on it.
    pub js: jetstream::Context,
    /// The event repository (for reading a page's stream directly).
    pub repo: JetStreamEventRepository,
    /// Command handling.
    pub cqrs: PageCqrs,
    /// Read-only connections to the read model.
    pub db: SqlitePool,
    /// Redis.
    pub cache: Cache,
    /// Rate limits.
    pub limiter: RateLimiter,
    /// Projection announcements.
    pub position: PositionWatch,
    /// Views counted since the last tally.
    pub views: ViewCounter,
    /// Metrics.
    pub metrics: Metrics,
    /// Recently located jobs.
    pub jobs: JobMemo,
    /// `GET /api/templates`, serialized once.
    pub templates_json: Bytes,
}

impl std::fmt::Debug for Parts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Parts").field("config", &self.config).finish_non_exhaustive()
    }
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState").field("bind_addr", &self.0.config.bind_addr).finish_non_exhaustive()
    }
}

impl AppState {
    /// Wraps the parts.
    pub fn new(parts: Parts) -> Self {
        Self(Arc::new(parts))
    }

    fn parts(&self) -> &Parts {
        &self.0
    }

    /// Settings.
    pub fn config(&self) -> &ApiConfig {
        &self.parts().config
    }

    /// The server secret.
    pub fn secret(&self) -> &ServerSecret {
        &self.parts().secret
    }

    /// The NATS connection.
    pub fn nats(&self) -> &async_nats::Client {
        &self.parts().nats
    }

    /// JetStream.
    pub fn js(&self) -> &jetstream::Context {
        &self.parts().js
    }

    /// The event repository.
    pub fn repo(&self) -> &JetStreamEventRepository {
        &self.parts().repo
    }

    /// Command handling.
    pub fn cqrs(&self) -> &PageCqrs {
        &self.parts().cqrs
    }

    /// The read model.
    pub fn db(&self) -> &SqlitePool {
        &self.parts().db
    }

    /// Redis.
    pub fn cache(&self) -> &Cache {
        &self.parts().cache
    }

    /// Rate limits.
    pub fn limiter(&self) -> &RateLimiter {
        &self.parts().limiter
    }

    /// Projection announcements.
    pub fn position(&self) -> &PositionWatch {
        &self.parts().position
    }

    /// View counting.
    pub fn views(&self) -> &ViewCounter {
        &self.parts().views
    }

    /// Metrics.
    pub fn metrics(&self) -> &Metrics {
        &self.parts().metrics
    }

    /// Located jobs.
    pub fn jobs(&self) -> &JobMemo {
        &self.parts().jobs
    }

    /// The templates answer.
    pub fn templates_json(&self) -> &Bytes {
        &self.parts().templates_json
    }
}
