//! A projector's health, and the small HTTP endpoint that reports it (`PROJECTOR_HEALTH_ADDR`).
//!
//! - `GET /health`: `200` while the process runs.
//! - `GET /ready`: `200` while it projects: NATS is connected and the last batch of each feed
//!   (events, view tallies) was committed, or there was nothing to do; `503` while NATS is
//!   disconnected, the read model refuses writes (disk full, locked), or a feed is stuck (work
//!   waits and nothing was committed for `PROJECTOR_STUCK_AFTER_SECS`), with the reason.
//! - `GET /metrics`: the same state for Prometheus (text format): readiness, the NATS
//!   connection, a refusing read model, stuck feeds, batches committed, the time of the last
//!   commit and of the batch loops' last round, each consumer's lag in messages and seconds,
//!   and parked events.
//!
//! The worker's batch loops record each outcome in a shared [`Health`], and its monitor the
//! consumers' lag every few seconds; requests only read it.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

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
use valentine_projections::metrics;
use valentine_projections::workers::{ConsumerLag, WorkerBeat};

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

    /// Both feeds, in their index's order.
    const ALL: [Self; 2] = [Self::Events, Self::Views];

    fn as_str(self) -> &'static str {
        match self {
            Self::Events => "events",
            Self::Views => "view tallies",
        }
    }

    /// Its `feed` label in metrics.
    fn label(self) -> &'static str {
        match self {
            Self::Events => "events",
            Self::Views => "views",
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
    /// When each feed last moved on: a batch committed, or a message parked.
    progressed: [Option<SystemTime>; 2],
    /// When each feed's batch loop last went round.
    ticked: [Option<SystemTime>; 2],
    /// Where each feed's consumer stood at the last look.
    lags: [Option<ConsumerLag>; 2],
    /// Since when each feed's consumer has had work waiting, at every look.
    waiting_since: [Option<SystemTime>; 2],
    /// Records parked now (parked, or waiting for a retry), by consumer.
    parked_now: Vec<(String, u64)>,
    /// Messages this process parked.
    parked_total: u64,
}

/// What a projector knows about its own state, shared by its batch loops and its endpoint.
#[derive(Debug, Clone)]
pub struct Health {
    client: async_nats::Client,
    record: Arc<Mutex<Record>>,
    /// When the process started: a feed that never committed has waited since then at most.
    started: SystemTime,
    /// How long work may wait with nothing committed before the feed counts as stuck.
    stuck_after: Duration,
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
    /// Whether work waits on a feed and nothing was committed for it for too long.
    pub stuck: bool,
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

/// Everything `/metrics` reports, taken at once.
#[derive(Debug, Clone)]
struct Snapshot {
    readiness: Readiness,
    last_commit: Option<SystemTime>,
    /// The older of the two batch loops' last rounds.
    heartbeat: Option<SystemTime>,
    /// Per feed, in [`Feed::ALL`]'s order.
    stuck: [bool; 2],
    lags: Vec<ConsumerLag>,
    parked_now: Vec<(String, u64)>,
    parked_total: u64,
}

impl Health {
    pub(crate) fn new(client: async_nats::Client, stuck_after: Duration) -> Self {
        Self { client, record: Arc::default(), started: SystemTime::now(), stuck_after }
    }

    fn record(&self) -> std::sync::MutexGuard<'_, Record> {
        // A panic elsewhere cannot leave a record half-written: every update is one assignment.
        self.record.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A batch of `feed` was committed.
    pub(crate) fn committed(&self, feed: Feed) {
        let now = SystemTime::now();
        let mut record = self.record();
        record.refused[feed.index()] = None;
        record.committed += 1;
        record.last_commit = Some(now);
        record.progressed[feed.index()] = Some(now);
    }

    /// SQLite refused a batch of `feed`.
    pub(crate) fn refused(&self, feed: Feed, error: &dyn std::fmt::Display) {
        self.record().refused[feed.index()] =
            Some(format!("the read model refuses {}: {error}", feed.as_str()));
    }

    /// A message of `feed` was parked: the feed moved on.
    pub(crate) fn parked(&self, feed: Feed) {
        let mut record = self.record();
        record.parked_total += 1;
        record.progressed[feed.index()] = Some(SystemTime::now());
    }

    /// `feed`'s batch loop went round.
    pub(crate) fn tick(&self, feed: Feed) {
        self.record().ticked[feed.index()] = Some(SystemTime::now());
    }

    /// Where `feed`'s consumer stands now.
    pub(crate) fn observed(&self, feed: Feed, lag: ConsumerLag) {
        let mut record = self.record();
        let waiting = &mut record.waiting_since[feed.index()];
        if lag.lag_events == 0 {
            *waiting = None;
        } else if waiting.is_none() {
            *waiting = Some(SystemTime::now());
        }
        record.lags[feed.index()] = Some(lag);
    }

    /// How many records are parked now, by consumer.
    pub(crate) fn parked_now(&self, counts: Vec<(String, u64)>) {
        self.record().parked_now = counts;
    }

    /// Why `feed` is stuck, if it is: work waits, and nothing was committed for it (or parked)
    /// for [`Self::stuck_after`] while it did.
    fn stuck(&self, record: &Record, feed: Feed, now: SystemTime) -> Option<String> {
        let i = feed.index();
        let lag = record.lags[i].as_ref().filter(|l| l.lag_events > 0)?;
        let since = [record.waiting_since[i], record.progressed[i], Some(self.started)]
            .into_iter()
            .flatten()
            .max()
            .unwrap_or(now);
        let idle = now.duration_since(since).unwrap_or_default();
        (idle >= self.stuck_after).then(|| {
            format!(
                "stuck: {} {} waiting, nothing committed for {} s",
                lag.lag_events,
                feed.as_str(),
                idle.as_secs()
            )
        })
    }

    /// The state now.
    pub fn readiness(&self) -> Readiness {
        self.snapshot().readiness
    }

    fn snapshot(&self) -> Snapshot {
        let connected = self.client.connection_state() == State::Connected;
        let now = SystemTime::now();
        let record = self.record();
        let refusal = record.refused.iter().flatten().next().cloned();
        let stuck = Feed::ALL.map(|feed| self.stuck(&record, feed, now));
        let reason = if connected {
            refusal.clone().or_else(|| stuck.iter().flatten().next().cloned())
        } else {
            Some("NATS is disconnected".to_owned())
        };
        let readiness = Readiness {
            status: if reason.is_none() { "ready" } else { "unready" },
            reason,
            nats: if connected { "connected" } else { "disconnected" },
            read_model: if refusal.is_none() { "ok" } else { "refusing" },
            stuck: stuck.iter().any(Option::is_some),
            batches: record.committed,
            last_commit: record.last_commit.map(rfc3339),
        };
        Snapshot {
            readiness,
            last_commit: record.last_commit,
            heartbeat: record.ticked.iter().flatten().min().copied(),
            stuck: stuck.map(|s| s.is_some()),
            lags: record.lags.iter().flatten().cloned().collect(),
            parked_now: record.parked_now.clone(),
            parked_total: record.parked_total,
        }
    }

    /// This projector's heartbeat, to share with the others (see
    /// [`valentine_projections::workers`]).
    pub(crate) fn beat(&self, read_model: &str, instance: &str) -> WorkerBeat {
        let snapshot = self.snapshot();
        WorkerBeat {
            role: ROLE.to_owned(),
            read_model: read_model.to_owned(),
            instance: instance.to_owned(),
            heartbeat_at: rfc3339(snapshot.heartbeat.unwrap_or_else(SystemTime::now)),
            last_commit_at: snapshot.readiness.last_commit.clone(),
            ready: snapshot.readiness.is_ready(),
            stuck: snapshot.readiness.stuck,
            reason: snapshot.readiness.reason,
            consumers: snapshot.lags,
        }
    }

    /// What `/metrics` answers now, in Prometheus's text format.
    pub fn metrics(&self) -> String {
        render_metrics(&self.snapshot())
    }
}

/// The role projectors report in heartbeats and metric labels.
const ROLE: &str = "projector";

fn rfc3339(at: SystemTime) -> String {
    OffsetDateTime::from(at).format(&Rfc3339).unwrap_or_default()
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
    (content_type, health.metrics()).into_response()
}

/// `snapshot` in Prometheus's text format.
fn render_metrics(snapshot: &Snapshot) -> String {
    let readiness = &snapshot.readiness;
    let flag = |on: bool| if on { "1" } else { "0" };
    let mut out = String::new();
    let mut metric = |name: &str, kind: &str, help: &str, value: &str| {
        metrics::family(&mut out, name, kind, help, &[(String::new(), value.to_owned())]);
    };
    metric(
        "valentine_projector_ready",
        "gauge",
        "1 while the projector projects (NATS connected, the read model takes its batches, no feed stuck)",
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
    if let Some(seconds) = snapshot.last_commit.map(unix_seconds) {
        metric(
            "valentine_projector_last_commit_timestamp_seconds",
            "gauge",
            "When the last batch was committed, in seconds since the Unix epoch",
            &seconds,
        );
    }
    if let Some(seconds) = snapshot.heartbeat.map(unix_seconds) {
        metric(
            "valentine_projector_heartbeat_timestamp_seconds",
            "gauge",
            "When the worker's batch loops last went round (the older of the two), in seconds since the Unix epoch",
            &seconds,
        );
    }
    metric(
        "valentine_events_parked_total",
        "counter",
        "Event messages this process parked after their deliveries ran out",
        &snapshot.parked_total.to_string(),
    );
    let stuck: Vec<(String, String)> = Feed::ALL
        .iter()
        .zip(snapshot.stuck)
        .map(|(feed, stuck)| (format!("feed=\"{}\"", feed.label()), flag(stuck).to_owned()))
        .collect();
    metrics::family(
        &mut out,
        "valentine_projector_stuck",
        "gauge",
        "1 while work waits on the feed and nothing was committed for it for PROJECTOR_STUCK_AFTER_SECS",
        &stuck,
    );
    let parked: Vec<(String, String)> = snapshot
        .parked_now
        .iter()
        .map(|(consumer, n)| (format!("consumer=\"{}\"", metrics::escape(consumer)), n.to_string()))
        .collect();
    metrics::family(
        &mut out,
        "valentine_parked_events",
        "gauge",
        "Event messages parked now (parked, or waiting for a retry) for the consumer",
        &parked,
    );
    out.push_str(&metrics::lag(ROLE, &snapshot.lags));
    out
}

fn unix_seconds(at: SystemTime) -> String {
    format!("{:.3}", at.duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default().as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snapshot(readiness: Readiness) -> Snapshot {
        Snapshot {
            readiness,
            last_commit: Some(SystemTime::UNIX_EPOCH + Duration::from_secs(90)),
            heartbeat: Some(SystemTime::UNIX_EPOCH + Duration::from_secs(95)),
            stuck: [true, false],
            lags: vec![ConsumerLag {
                consumer: "projector-main".to_owned(),
                stream: "EVENTS".to_owned(),
                position: 3,
                last_sequence: 10,
                lag_events: 7,
                lag_seconds: 75.0,
            }],
            parked_now: vec![("projector-main".to_owned(), 2), ("projector-main-views".to_owned(), 0)],
            parked_total: 2,
        }
    }

    #[test]
    fn the_metrics_say_what_ready_says() {
        let readiness = Readiness {
            status: "unready",
            reason: Some("the read model refuses events: disk full".to_owned()),
            nats: "connected",
            read_model: "refusing",
            stuck: true,
            batches: 7,
            last_commit: None,
        };
        let text = render_metrics(&snapshot(readiness.clone()));
        for line in [
            "valentine_projector_ready 0",
            "valentine_projector_nats_connected 1",
            "valentine_projector_read_model_refusing 1",
            "valentine_projector_batches_total 7",
            "valentine_projector_last_commit_timestamp_seconds 90.000",
            "valentine_projector_heartbeat_timestamp_seconds 95.000",
            "# TYPE valentine_projector_batches_total counter",
            r#"valentine_projector_stuck{feed="events"} 1"#,
            r#"valentine_projector_stuck{feed="views"} 0"#,
            r#"valentine_parked_events{consumer="projector-main"} 2"#,
            r#"valentine_parked_events{consumer="projector-main-views"} 0"#,
            "valentine_events_parked_total 2",
            "# TYPE valentine_events_parked_total counter",
            r#"valentine_consumer_lag_events{role="projector",consumer="projector-main",stream="EVENTS"} 7"#,
            r#"valentine_consumer_lag_seconds{role="projector",consumer="projector-main",stream="EVENTS"} 75.000"#,
        ] {
            assert!(text.lines().any(|l| l == line), "{line} missing from:\n{text}");
        }
        let idle = Readiness { status: "ready", reason: None, read_model: "ok", batches: 0, ..readiness };
        let text = render_metrics(&Snapshot { last_commit: None, ..snapshot(idle) });
        assert!(text.contains("valentine_projector_ready 1") && !text.contains("last_commit"), "{text}");
    }
}
