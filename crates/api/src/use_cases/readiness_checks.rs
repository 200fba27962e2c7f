//! Liveness and readiness: what this instance knows of NATS, Redis, the read model and the
//! projectors, each check bounded in time.

use std::time::{Duration, Instant};

use async_nats::jetstream;
use async_nats::jetstream::stream::Stream;
use valentine_projections::position::progress;

use crate::metrics::Metrics;
use crate::redis_client::{RedisClient, RedisStatus};
use crate::use_cases::page_queries::PageQueries;
use crate::wire::readiness::{Check, Health, Projection, Readiness};

/// Longest any one readiness check may take.
const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

/// Projection lag above which the instance reports itself degraded.
const LAG_DEGRADED: u64 = 10_000;

/// The instance's dependencies, for probing; cheap to clone.
#[derive(Debug, Clone)]
pub(crate) struct ReadinessChecks {
    nats: async_nats::Client,
    js: jetstream::Context,
    redis: RedisClient,
    queries: PageQueries,
    events: Stream,
    consumer: String,
    metrics: Metrics,
}

impl ReadinessChecks {
    /// Probes of these handles; `consumer` is the projectors' durable consumer of `events`.
    pub(crate) fn new(
        nats: async_nats::Client,
        redis: RedisClient,
        queries: PageQueries,
        events: Stream,
        consumer: String,
        metrics: Metrics,
    ) -> Self {
        let js = jetstream::new(nats.clone());
        Self { nats, js, redis, queries, events, consumer, metrics }
    }

    /// Whether Redis answers (or none is configured), as last seen: no I/O.
    pub(crate) fn redis_up(&self) -> bool {
        self.redis.status() != RedisStatus::Down
    }

    /// Liveness, from what the process already knows (no I/O).
    pub(crate) fn health(&self) -> Health {
        let nats_up = self.nats.connection_state() == async_nats::connection::State::Connected;
        let redis = self.redis.status();
        let status = if nats_up && redis != RedisStatus::Down { "healthy" } else { "degraded" };
        let nats = if nats_up { "connected" } else { "disconnected" };
        Health { status, nats, redis: redis.as_str() }
    }

    /// Readiness: every dependency checked at once.
    pub(crate) async fn ready(&self) -> Readiness {
        let (nats, redis, read_model, projection) =
            tokio::join!(self.check_nats(), self.check_redis(), self.check_read_model(), self.projection());
        let status = if nats.is_down() || read_model.is_down() {
            "unready"
        } else if redis.is_down() || projection.status != "ok" {
            "degraded"
        } else {
            "ready"
        };
        Readiness { status, nats, redis, read_model, projection }
    }

    async fn check_nats(&self) -> Check {
        let started = Instant::now();
        let result =
            tokio::time::timeout(CHECK_TIMEOUT, async { self.js.query_account().await.map(drop) }).await;
        timed("nats", started, result)
    }

    async fn check_redis(&self) -> Check {
        let started = Instant::now();
        match self.redis.ping().await {
            Ok(None) => Check { status: "disabled", latency_ms: None, error: None },
            Ok(Some(took)) => {
                Check { status: "ok", latency_ms: Some(took.as_secs_f64() * 1000.0), error: None }
            }
            Err(e) => {
                tracing::warn!(error = %e, "readiness: redis is down");
                Check {
                    status: "down",
                    latency_ms: Some(started.elapsed().as_secs_f64() * 1000.0),
                    error: Some(UNREACHABLE),
                }
            }
        }
    }

    async fn check_read_model(&self) -> Check {
        let started = Instant::now();
        let result = tokio::time::timeout(CHECK_TIMEOUT, self.queries.ping()).await;
        timed("read model", started, result)
    }

    /// The projection's lag, from the projectors' durable consumer. Also updates the lag
    /// gauge, so `/metrics` calls it before rendering.
    pub(crate) async fn projection(&self) -> Projection {
        let found = tokio::time::timeout(CHECK_TIMEOUT, async {
            let last = self.events.get_info().await.map(|i| i.state.last_sequence);
            let position = progress(&self.events, &self.consumer).await;
            (last, position)
        })
        .await;
        let Ok((last, position)) = found else {
            return Projection { status: "down", lag: None, last_event: None, projected: None };
        };
        let last_event = last.ok();
        match position {
            Ok(Some(position)) => {
                let lag = position.lag();
                self.metrics.set_lag(lag);
                let status = if lag > LAG_DEGRADED { "degraded" } else { "ok" };
                Projection { status, lag: Some(lag), last_event, projected: Some(position.acknowledged) }
            }
            // No projector has ever bound its consumer: nothing is projected.
            Ok(None) => Projection { status: "degraded", lag: last_event, last_event, projected: Some(0) },
            Err(_) => Projection { status: "down", lag: None, last_event, projected: None },
        }
    }
}

/// What a failed check says: plain words, never the cause's own text (addresses, paths,
/// driver messages), which goes to the log instead.
const UNREACHABLE: &str = "unreachable";

fn timed<E: std::fmt::Display>(
    dependency: &'static str,
    started: Instant,
    result: Result<Result<(), E>, tokio::time::error::Elapsed>,
) -> Check {
    let latency_ms = Some(started.elapsed().as_secs_f64() * 1000.0);
    match result {
        Ok(Ok(())) => Check { status: "ok", latency_ms, error: None },
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "readiness: {dependency} is down");
            Check { status: "down", latency_ms, error: Some(UNREACHABLE) }
        }
        Err(_) => Check { status: "down", latency_ms, error: Some("timed out") },
    }
}
