//! `/health`, `/ready` and `/metrics`: for load balancers, orchestrators and Prometheus.

use std::time::{Duration, Instant};

use async_nats::jetstream::context::ConsumerInfoErrorKind;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use crate::cache::RedisStatus;
use crate::state::AppState;

/// Longest any one readiness check may take.
const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

/// Projection lag above which the instance reports itself degraded.
const LAG_DEGRADED: u64 = 10_000;

/// `GET /health` answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// `healthy`, or `degraded` when NATS is disconnected or Redis is away.
    pub status: &'static str,
    /// `connected` or `disconnected`.
    pub nats: &'static str,
    /// `ok`, `down` or `disabled`.
    pub redis: &'static str,
}

/// Liveness: answers `200` whenever the process serves requests, from what it already knows
/// (no I/O). The body still tells the truth about NATS and Redis.
#[utoipa::path(get, path = "/health", tag = "operations", responses((status = 200, body = Health)))]
pub async fn health(State(state): State<AppState>) -> Response {
    let nats_up = state.nats().connection_state() == async_nats::connection::State::Connected;
    let redis = state.cache().status();
    let status = if nats_up && redis != RedisStatus::Down { "healthy" } else { "degraded" };
    let nats = if nats_up { "connected" } else { "disconnected" };
    axum::Json(Health { status, nats, redis: redis.as_str() }).into_response()
}

/// One dependency's state.
#[derive(Debug, Serialize, ToSchema)]
pub struct Check {
    /// `ok`, `down`, `disabled` or `degraded`.
    pub status: &'static str,
    /// How long the check took, in milliseconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<f64>,
    /// What went wrong.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// How far the projectors are behind the event stream.
#[derive(Debug, Serialize, ToSchema)]
pub struct Projection {
    /// `ok`, `degraded` (far behind, or no projector has ever run) or `down`.
    pub status: &'static str,
    /// Events not yet projected: pending plus delivered but unacknowledged.
    pub lag: Option<u64>,
    /// Stream sequence of the newest event.
    pub last_event: Option<u64>,
    /// Stream sequence up to which every event is projected.
    pub projected: Option<u64>,
}

/// `GET /ready` answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct Readiness {
    /// `ready`, `degraded` (serving, but Redis is away or the projection lags) or `unready`.
    pub status: &'static str,
    /// NATS and the event stream.
    pub nats: Check,
    /// Redis (cache and rate limits).
    pub redis: Check,
    /// The SQLite read model.
    pub read_model: Check,
    /// The projectors.
    pub projection: Projection,
}

/// Readiness: `200` while the instance can serve (`ready` or `degraded`), `503` when NATS or
/// the read model is unreachable.
#[utoipa::path(
    get, path = "/ready", tag = "operations",
    responses((status = 200, body = Readiness), (status = 503, body = Readiness))
)]
pub async fn ready(State(state): State<AppState>) -> Response {
    let (nats, redis, read_model, projection) =
        tokio::join!(check_nats(&state), check_redis(&state), check_read_model(&state), projection(&state));
    let down = |c: &Check| c.status == "down";
    let (status, code) = if down(&nats) || down(&read_model) {
        ("unready", StatusCode::SERVICE_UNAVAILABLE)
    } else if down(&redis) || projection.status != "ok" {
        ("degraded", StatusCode::OK)
    } else {
        ("ready", StatusCode::OK)
    };
    (code, axum::Json(Readiness { status, nats, redis, read_model, projection })).into_response()
}

fn timed<E: ToString>(started: Instant, result: Result<Result<(), E>, tokio::time::error::Elapsed>) -> Check {
    let latency_ms = Some(started.elapsed().as_secs_f64() * 1000.0);
    match result {
        Ok(Ok(())) => Check { status: "ok", latency_ms, error: None },
        Ok(Err(e)) => Check { status: "down", latency_ms, error: Some(e.to_string()) },
        Err(_) => Check { status: "down", latency_ms, error: Some("timed out".to_owned()) },
    }
}

async fn check_nats(state: &AppState) -> Check {
    let started = Instant::now();
    let result =
        tokio::time::timeout(CHECK_TIMEOUT, async { state.js().query_account().await.map(drop) }).await;
    timed(started, result)
}

async fn check_redis(state: &AppState) -> Check {
    let started = Instant::now();
    match state.cache().ping().await {
        Ok(None) => Check { status: "disabled", latency_ms: None, error: None },
        Ok(Some(took)) => Check { status: "ok", latency_ms: Some(took.as_secs_f64() * 1000.0), error: None },
        Err(e) => Check {
            status: "down",
            latency_ms: Some(started.elapsed().as_secs_f64() * 1000.0),
            error: Some(e),
        },
    }
}

async fn check_read_model(state: &AppState) -> Check {
    let started = Instant::now();
    let result = tokio::time::timeout(CHECK_TIMEOUT, async {
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM (SELECT 1 FROM pages LIMIT 1)")
            .fetch_one(state.db())
            .await
            .map(drop)
    })
    .await;
    timed(started, result)
}

/// The projection's lag, from the projectors' durable consumer. Also updates the lag gauge.
async fn projection(state: &AppState) -> Projection {
    let name = state.config().read_side.events_consumer();
    let stream = state.repo().stream().clone();
    let found = tokio::time::timeout(CHECK_TIMEOUT, async move {
        let last = stream.get_info().await.map(|i| i.state.last_sequence);
        let consumer = stream.consumer_info(&name).await;
        (last, consumer)
    })
    .await;
    let Ok((last, consumer)) = found else {
        return Projection { status: "down", lag: None, last_event: None, projected: None };
    };
    let last_event = last.ok();
    match consumer {
        Ok(info) => {
            let lag = info.num_pending + u64::try_from(info.num_ack_pending).unwrap_or(0);
            state.metrics().set_lag(lag);
            let status = if lag > LAG_DEGRADED { "degraded" } else { "ok" };
            Projection { status, lag: Some(lag), last_event, projected: Some(info.ack_floor.stream_sequence) }
        }
        // No projector has ever bound its consumer: nothing is projected.
        Err(e) if e.kind() == ConsumerInfoErrorKind::NotFound => {
            Projection { status: "degraded", lag: last_event, last_event, projected: Some(0) }
        }
        Err(_) => Projection { status: "down", lag: None, last_event, projected: None },
    }
}

/// Prometheus metrics in the text exposition format.
#[utoipa::path(get, path = "/metrics", tag = "operations", responses((status = 200, description = "Prometheus text format", body = String)))]
pub async fn metrics(State(state): State<AppState>) -> Response {
    // Refresh the lag gauge for this scrape.
    let _ = projection(&state).await;
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8"),
        )],
        state.metrics().render(),
    )
        .into_response()
}
