//! A projector's health, and the small HTTP endpoint that reports it (`PROJECTOR_HEALTH_ADDR`).
//!
//! - `GET /health`: `200` while the process runs.
//! - `GET /ready`: `200` while it projects: NATS is connected and the last batch of each feed
//!   (events, view tallies) was committed, or there was nothing to do; `503` while NATS is
//!   disconnected or the read model refuses writes (disk full, locked), with the reason.
//! - `GET /metrics`: the same state for Prometheus (text format): readiness, the NATS
//!   connection, a refusing read model, batches committed, the time of the last commit.
//!
//! The worker's batch loops record each outcome in a shared [`Health`]; requests only read it.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::SystemTime;

use async_nats::connection::State;
use axum::Router;
use axum::extract::State as Shared;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Serialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tracing::info;

/// The two things a projector feeds into the read model, each by its own batch loop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Feed {
    /// Page events.
    Events,
    /// View tallies.
    Views,
}

impl Feed {
    fn index(self) -> usize {
        match self {
            Self::Events => 0,
            Self::Views => 1,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Self::Events => "events",
            Self::Views => "view tallies",
        }
    }
}

#[derive(Debug, Default)]
struct Record {
    /// Why the last batch of each feed was not applied; `None` when it was, or none came.
    refused: [Option<String>; 2],
    /// Batches committed since the process started.
    committed: u64,
    /// When the last batch was committed.
    last_commit: Option<SystemTime>,
}

/// What a projector knows about its own state, shared by its batch loops and its endpoint.
#[derive(Debug, Clone)]
pub struct Health {
    client: async_nats::Client,
    record: Arc<Mutex<Record>>,
}

/// The `/ready` answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Readiness {
    /// `ready` or `unready`.
    pub status: &'static str,
    /// Why it is unready.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// `connected` or `disconnected`.
    pub nats: &'static str,
    /// `ok`, or `refusing` while SQLite refuses the batches.
    pub read_model: &'static str,
    /// Batches committed since the process started.
    pub batches: u64,
    /// When the last batch was committed (RFC 3339), if any was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_commit: Option<String>,
}

impl Readiness {
    /// Whether the projector is ready.
    pub fn is_ready(&self) -> bool {
        self.status == "ready"
    }
}

impl Health {
    pub(crate) fn new(client: async_nats::Client) -> Self {
        Self { client, record: Arc::default() }
    }

    fn record(&self) -> std::sync::MutexGuard<'_, Record> {
        // A panic elsewhere cannot leave a record half-written: every update is one assignment.
        self.record.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A batch of `feed` was committed.
    pub(crate) fn committed(&self, feed: Feed) {
        let mut record = self.record();
        record.refused[feed.index()] = None;
        record.committed += 1;
        record.last_commit = Some(SystemTime::now());
    }

    /// SQLite refused a batch of `feed`.
    pub(crate) fn refused(&self, feed: Feed, error: &dyn std::fmt::Display) {
        self.record().refused[feed.index()] =
            Some(format!("the read model refuses {}: {error}", feed.as_str()));
    }

    /// The state now.
    pub fn readiness(&self) -> Readiness {
        let connected = self.client.connection_state() == State::Connected;
        let record = self.record();
        let refusal = record.refused.iter().flatten().next().cloned();
        let reason = if connected { refusal.clone() } else { Some("NATS is disconnected".to_owned()) };
        Readiness {
            status: if reason.is_none() { "ready" } else { "unready" },
            reason,
            nats: if connected { "connected" } else { "disconnected" },
            read_model: if refusal.is_none() { "ok" } else { "refusing" },
            batches: record.committed,
            last_commit: record.last_commit.and_then(|t| OffsetDateTime::from(t).format(&Rfc3339).ok()),
        }
    }
}

/// Serves `/health`, `/ready` and `/metrics` on `listener` until `shutdown` is cancelled.
///
/// # Errors
/// When the server fails.
pub async fn serve(
    listener: TcpListener,
    health: Health,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    info!(address = %listener.local_addr()?, "serving the projector's health");
    let app = Router::new()
        .route("/health", get(alive))
        .route("/ready", get(ready))
        .route("/metrics", get(metrics))
        .with_state(health);
    axum::serve(listener, app).with_graceful_shutdown(shutdown.cancelled_owned()).await
}

#[derive(Serialize)]
struct Alive {
    status: &'static str,
}

async fn alive() -> axum::Json<Alive> {
    axum::Json(Alive { status: "healthy" })
}

async fn ready(Shared(health): Shared<Health>) -> Response {
    let readiness = health.readiness();
    let code = if readiness.is_ready() { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (code, axum::Json(readiness)).into_response()
}

async fn metrics(Shared(health): Shared<Health>) -> Response {
    let content_type = [(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")];
    (content_type, render_metrics(&health.readiness(), health.last_commit())).into_response()
}

impl Health {
    fn last_commit(&self) -> Option<SystemTime> {
        self.record().last_commit
    }
}

/// `readiness` in Prometheus's text format.
fn render_metrics(readiness: &Readiness, last_commit: Option<SystemTime>) -> String {
    let flag = |on: bool| if on { "1" } else { "0" };
    let mut out = String::new();
    let mut metric = |name: &str, kind: &str, help: &str, value: &str| {
        out.push_str(&format!("# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}\n"));
    };
    metric(
        "valentine_projector_ready",
        "gauge",
        "1 while the projector projects (NATS connected, the read model takes its batches)",
        flag(readiness.is_ready()),
    );
    metric(
        "valentine_projector_nats_connected",
        "gauge",
        "1 while the projector is connected to NATS",
        flag(readiness.nats == "connected"),
    );
    metric(
        "valentine_projector_read_model_refusing",
        "gauge",
        "1 while the read model refuses the projector's batches (disk full, locked)",
        flag(readiness.read_model != "ok"),
    );
    metric(
        "valentine_projector_batches_total",
        "counter",
        "Batches committed to the read model since the process started",
        &readiness.batches.to_string(),
    );
    if let Some(seconds) = last_commit.and_then(|t| t.duration_since(SystemTime::UNIX_EPOCH).ok()) {
        metric(
            "valentine_projector_last_commit_timestamp_seconds",
            "gauge",
            "When the last batch was committed, in seconds since the Unix epoch",
            &format!("{:.3}", seconds.as_secs_f64()),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_metrics_say_what_ready_says() {
        let readiness = Readiness {
            status: "unready",
            reason: Some("the read model refuses events: disk full".to_owned()),
            nats: "connected",
            read_model: "refusing",
            batches: 7,
            last_commit: None,
        };
        let text =
            render_metrics(&readiness, Some(SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(90)));
        for line in [
            "valentine_projector_ready 0",
            "valentine_projector_nats_connected 1",
            "valentine_projector_read_model_refusing 1",
            "valentine_projector_batches_total 7",
            "valentine_projector_last_commit_timestamp_seconds 90.000",
            "# TYPE valentine_projector_batches_total counter",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} missing from:\n{text}");
        }
        let idle = Readiness { status: "ready", reason: None, read_model: "ok", batches: 0, ..readiness };
        let text = render_metrics(&idle, None);
        assert!(text.contains("valentine_projector_ready 1") && !text.contains("last_commit"), "{text}");
    }
}
