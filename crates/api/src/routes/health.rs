//! `/health`, `/ready`, `/metrics` and `/api/openapi.json`: for load balancers,
//! orchestrators, Prometheus and client generators.

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::metrics::Metrics;
use crate::state::AppState;
use crate::use_cases::ReadinessChecks;
use crate::wire::readiness::{Health, Readiness};

/// Liveness: answers `200` whenever the process serves requests, from what it already knows
/// (no I/O). The body still tells the truth about NATS and Redis.
#[utoipa::path(get, path = "/health", tag = "operations", responses((status = 200, body = Health)))]
pub(crate) async fn health(State(readiness): State<ReadinessChecks>) -> Response {
    axum::Json(readiness.health()).into_response()
}

/// Readiness: `200` while the instance can serve (`ready` or `degraded`), `503` when NATS or
/// the read model is unreachable.
#[utoipa::path(
    get, path = "/ready", tag = "operations",
    responses((status = 200, body = Readiness), (status = 503, body = Readiness))
)]
pub(crate) async fn ready(State(readiness): State<ReadinessChecks>) -> Response {
    let report = readiness.ready().await;
    let code = if report.can_serve() { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (code, axum::Json(report)).into_response()
}

/// Prometheus metrics in the text exposition format.
#[utoipa::path(get, path = "/metrics", tag = "operations", responses((status = 200, description = "OpenMetrics text format", body = String, content_type = "application/openmetrics-text")))]
pub(crate) async fn metrics(
    State(readiness): State<ReadinessChecks>,
    State(metrics): State<Metrics>,
) -> Response {
    // Refresh the lag gauge and Redis's state for this scrape.
    let _ = readiness.projection().await;
    metrics.set_redis_up(readiness.redis_up());
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8"),
        )],
        metrics.render(),
    )
        .into_response()
}

/// This document.
#[utoipa::path(get, path = "/api/openapi.json", tag = "operations", responses((status = 200, description = "OpenAPI 3.1 JSON")))]
pub(crate) async fn openapi_json(State(state): State<AppState>) -> Response {
    ([(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], state.openapi_json.clone())
        .into_response()
}
