//! A notifier's health, and the small HTTP endpoint that reports it (`NOTIFIER_HEALTH_ADDR`).
//!
//! - `GET /health`: `200` while the process runs.
//! - `GET /ready`: `200` while it can notify: NATS is connected and the last mail it tried
//!   was sent (or it tried none); `503` with the reason otherwise.

use std::sync::{Arc, Mutex, PoisonError};

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

/// What a notifier knows of its state; cheap to clone.
#[derive(Debug, Clone)]
pub struct Health {
    client: async_nats::Client,
    /// Why the last mail tried was not sent; `None` when it was, or none was tried.
    failing: Arc<Mutex<Option<String>>>,
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
        Self { client, failing: Arc::default() }
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

/// Serves `/health` and `/ready` on `listener` until `shutdown`.
///
/// # Errors
/// When serving fails.
pub async fn serve(
    listener: TcpListener,
    health: Health,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    info!(address = %listener.local_addr()?, "serving the notifier's health");
    let app = Router::new().route("/health", get(alive)).route("/ready", get(ready)).with_state(health);
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
