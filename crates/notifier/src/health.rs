//! A notifier's health, and the small HTTP endpoint that reports it (`NOTIFIER_HEALTH_ADDR`).
//!
//! - `GET /health`: `200` while the process runs.
//! - `GET /ready`: `200` while it can notify: NATS is connected and the last mail it tried
//!   was sent (or it tried none); `503` with the reason otherwise.
//! - `GET /metrics`: for Prometheus (text format): its consumer's lag in messages and in
//!   seconds (`valentine_consumer_lag_events`, `valentine_consumer_lag_seconds`, role
//!   `notifier`) and when its loop last went round
//!   (`valentine_notifier_heartbeat_timestamp_seconds`).

use std::sync::{Arc, Mutex, PoisonError};
use std::time::SystemTime;

use async_nats::connection::State;
use axum::Router;
use axum::extract::State as Shared;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Serialize;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tracing::info;
use valentine_projections::metrics;
use valentine_projections::workers::{ConsumerLag, WorkerBeat};

/// The role notifiers report in heartbeats and metric labels.
const ROLE: &str = "notifier";

/// What a notifier knows of its state; cheap to clone.
#[derive(Debug, Clone)]
pub struct Health {
    client: async_nats::Client,
    /// Why the last mail tried was not sent; `None` when it was, or none was tried.
    failing: Arc<Mutex<Option<String>>>,
    /// When its loop last went round.
    ticked: Arc<Mutex<Option<SystemTime>>>,
    /// Where its consumer stood at the last look.
    lag: Arc<Mutex<Option<ConsumerLag>>>,
}

/// `GET /ready`'s answer.
#[derive(Debug, Serialize)]
struct Readiness {
    status: &'static str,
    nats: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    smtp: Option<String>,
}

impl Health {
    /// The health of a notifier connected through `client`.
    pub fn new(client: async_nats::Client) -> Self {
        Self { client, failing: Arc::default(), ticked: Arc::default(), lag: Arc::default() }
    }

    /// Its loop went round.
    pub(crate) fn tick(&self) {
        *self.ticked.lock().unwrap_or_else(PoisonError::into_inner) = Some(SystemTime::now());
    }

    /// Where its consumer stands now.
    pub(crate) fn observed(&self, lag: ConsumerLag) {
        *self.lag.lock().unwrap_or_else(PoisonError::into_inner) = Some(lag);
    }

    fn heartbeat(&self) -> Option<SystemTime> {
        *self.ticked.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn lags(&self) -> Vec<ConsumerLag> {
        self.lag.lock().unwrap_or_else(PoisonError::into_inner).iter().cloned().collect()
    }

    /// This notifier's heartbeat, to share (see [`valentine_projections::workers`]).
    pub(crate) fn beat(&self, instance: &str) -> WorkerBeat {
        let readiness = self.readiness();
        let at = self.heartbeat().unwrap_or_else(SystemTime::now);
        WorkerBeat {
            role: ROLE.to_owned(),
            read_model: "-".to_owned(),
            instance: instance.to_owned(),
            heartbeat_at: time::OffsetDateTime::from(at)
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default(),
            last_commit_at: None,
            ready: readiness.status == "ready",
            stuck: false,
            reason: readiness
                .smtp
                .or((readiness.nats != "connected").then(|| "NATS is disconnected".to_owned())),
            consumers: self.lags(),
        }
    }

    /// What `/metrics` answers now, in Prometheus's text format.
    pub fn metrics(&self) -> String {
        let mut out = String::new();
        if let Some(at) = self.heartbeat() {
            let seconds = at.duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default().as_secs_f64();
            metrics::family(
                &mut out,
                "valentine_notifier_heartbeat_timestamp_seconds",
                "gauge",
                "When the notifier's loop last went round, in seconds since the Unix epoch",
                &[(String::new(), format!("{seconds:.3}"))],
            );
        }
        out.push_str(&metrics::lag(ROLE, &self.lags()));
        out
    }

    /// Records how the last mail went: `None` when it was sent, else why not.
    pub(crate) fn mailed(&self, failure: Option<String>) {
        *self.failing.lock().unwrap_or_else(PoisonError::into_inner) = failure;
    }

    fn readiness(&self) -> Readiness {
        let nats =
            if self.client.connection_state() == State::Connected { "connected" } else { "disconnected" };
        let smtp = self.failing.lock().unwrap_or_else(PoisonError::into_inner).clone();
        let ready = nats == "connected" && smtp.is_none();
        Readiness { status: if ready { "ready" } else { "not ready" }, nats, smtp }
    }
}

/// Serves `/health`, `/ready` and `/metrics` on `listener` until `shutdown`.
///
/// # Errors
/// When serving fails.
pub async fn serve(
    listener: TcpListener,
    health: Health,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    info!(address = %listener.local_addr()?, "serving the notifier's health");
    let app = Router::new()
        .route("/health", get(alive))
        .route("/ready", get(ready))
        .route("/metrics", get(metrics_text))
        .with_state(health);
    axum::serve(listener, app).with_graceful_shutdown(shutdown.cancelled_owned()).await
}

async fn alive() -> Response {
    axum::Json(serde_json::json!({ "status": "healthy" })).into_response()
}

async fn ready(Shared(health): Shared<Health>) -> Response {
    let readiness = health.readiness();
    let code = if readiness.status == "ready" { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (code, axum::Json(readiness)).into_response()
}

async fn metrics_text(Shared(health): Shared<Health>) -> Response {
    let content_type = [(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")];
    (content_type, health.metrics()).into_response()
}
