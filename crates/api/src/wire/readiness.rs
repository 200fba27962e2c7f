//! Liveness and readiness on the wire: what load balancers, orchestrators and operators read.

use serde::Serialize;
use utoipa::ToSchema;

/// `GET /health` answer.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Health {
    /// `healthy`, or `degraded` when NATS is disconnected or Redis is away.
    pub status: &'static str,
    /// `connected` or `disconnected`.
    pub nats: &'static str,
    /// `ok`, `down` or `disabled`.
    pub redis: &'static str,
}

/// One dependency's state.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Check {
    /// `ok`, `down`, `disabled` or `degraded`.
    pub status: &'static str,
    /// How long the check took, in milliseconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<f64>,
    /// What went wrong, in plain words (`unreachable`, `timed out`); the cause is logged.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<&'static str>,
}

impl Check {
    /// Whether the dependency is unreachable.
    pub(crate) fn is_down(&self) -> bool {
        self.status == "down"
    }
}

/// How far the projectors are behind the event stream.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Projection {
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
pub(crate) struct Readiness {
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

impl Readiness {
    /// Whether the instance can serve (`ready` or `degraded`).
    pub(crate) fn can_serve(&self) -> bool {
        self.status != "unready"
    }
}
