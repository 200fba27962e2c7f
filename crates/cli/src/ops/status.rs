//! `valentine status`: the event streams, the projectors' consumers and their lag, and the
//! read model, at a glance.

use std::io::Write;
use std::path::PathBuf;

use async_nats::jetstream;
use serde::Serialize;
use valentine_projections::workers::{self, WorkerBeat};
use valentine_projections::{applied, db, position, view_checkpoints};
use valentine_projector::ReadSideConfig;

use super::OpsError;

/// Everything `valentine status` reports.
#[derive(Debug, Clone, Serialize)]
pub struct Status {
    /// The EVENTS and VIEWS streams.
    pub streams: Vec<StreamStatus>,
    /// The projectors' durable consumers.
    pub consumers: Vec<ConsumerStatus>,
    /// The SQLite read model.
    pub read_model: ReadModelStatus,
    /// The heartbeats of the projectors and notifiers running now (of every read model).
    pub workers: Vec<WorkerBeat>,
}

/// One stream.
#[derive(Debug, Clone, Serialize)]
pub struct StreamStatus {
    /// Its name.
    pub name: String,
    /// Messages stored.
    pub messages: u64,
    /// Bytes stored.
    pub bytes: u64,
    /// Sequence of the newest message.
    pub last_sequence: u64,
    /// Distinct subjects (pages, for EVENTS).
    pub subjects: u64,
    /// Replicas.
    pub replicas: usize,
}

/// One durable consumer.
#[derive(Debug, Clone, Serialize)]
pub struct ConsumerStatus {
    /// The stream it reads.
    pub stream: String,
    /// Its name.
    pub name: String,
    /// `None` when no projector has ever bound it.
    pub state: Option<ConsumerState>,
}

/// Where a consumer is.
#[derive(Debug, Clone, Serialize)]
pub struct ConsumerState {
    /// Messages not yet delivered.
    pub pending: u64,
    /// Delivered, not yet acknowledged.
    pub unacknowledged: u64,
    /// Pending plus unacknowledged: what the projectors still have to do.
    pub lag: u64,
    /// How old the oldest message not yet acknowledged is, in seconds (0 when none waits).
    pub lag_seconds: f64,
    /// Every message up to this stream sequence is acknowledged.
    pub acknowledged_up_to: u64,
    /// Pull requests waiting: roughly the projectors connected and idle.
    pub waiting_pulls: usize,
    /// Whether delivery is paused (a rebuild's swap).
    pub paused: bool,
}

/// The read model.
#[derive(Debug, Clone, Serialize)]
pub struct ReadModelStatus {
    /// `DATABASE_PATH`.
    pub path: PathBuf,
    /// The generation file it points to, if it exists.
    pub generation: Option<PathBuf>,
    /// Live pages.
    pub pages: i64,
    /// Deleted pages (their slugs are free).
    pub deleted_pages: i64,
    /// Events projected.
    pub events: i64,
    /// Views counted, all pages together.
    pub views: i64,
    /// Where the read model stands on the event stream: every event up to here is applied.
    pub events_through: u64,
    /// Events in the stream past that position (applied ahead of it or not yet).
    pub events_behind: u64,
    /// Where it stands on the view stream.
    pub views_through: u64,
    /// View messages in the stream past that position.
    pub views_behind: u64,
    /// Pages whose view counts changed since their last checkpoint.
    pub views_unsaved: u64,
    /// Why it could not be read, if it could not.
    pub error: Option<String>,
}

/// Gathers the status.
///
/// # Errors
/// When NATS is unreachable or cannot tell where a consumer stands. A missing consumer or an
/// unreadable read model is reported, not an error.
pub async fn status(config: &ReadSideConfig) -> Result<Status, OpsError> {
    let client = config.nats.connect("valentine-status").await.map_err(OpsError::nats)?;
    let js = jetstream::new(client);
    let mut streams = Vec::new();
    let mut consumers = Vec::new();
    for (stream_config, consumer) in [
        (&config.events, config.read_model.events_consumer()),
        (&config.tallies, config.read_model.tallies_consumer()),
    ] {
        let Ok(mut stream) = js.get_stream(&stream_config.stream_name).await else {
            continue;
        };
        let info = stream.info().await.map_err(OpsError::nats)?;
        streams.push(StreamStatus {
            name: info.config.name.clone(),
            messages: info.state.messages,
            bytes: info.state.bytes,
            last_sequence: info.state.last_sequence,
            subjects: info.state.subjects_count,
            replicas: info.config.num_replicas,
        });
        let lag_seconds = position::lag(&stream, &consumer).await?.map_or(0.0, |l| l.lag_seconds);
        let state = position::progress(&stream, &consumer).await?.map(|p| ConsumerState {
            pending: p.pending,
            unacknowledged: p.unacknowledged,
            lag: p.lag(),
            lag_seconds,
            acknowledged_up_to: p.acknowledged,
            waiting_pulls: p.waiting_pulls,
            paused: p.paused,
        });
        consumers.push(ConsumerStatus { stream: stream_config.stream_name.clone(), name: consumer, state });
    }
    let path = config.read_model.database_path.clone();
    let mut read_model = tokio::task::spawn_blocking(move || read_model_status(path))
        .await
        .map_err(|e| OpsError::Output(std::io::Error::other(e)))?;
    let last = |name: &str| streams.iter().find(|s| s.name == name).map_or(0, |s| s.last_sequence);
    read_model.events_behind = last(&config.events.stream_name).saturating_sub(read_model.events_through);
    read_model.views_behind = last(&config.tallies.stream_name).saturating_sub(read_model.views_through);
    // Without the bucket no worker has run yet: nothing to show, and nothing to create.
    let workers = match js.get_key_value(workers::bucket_name(&config.events)).await {
        Ok(kv) => workers::list(&kv).await?,
        Err(_) => Vec::new(),
    };
    Ok(Status { streams, consumers, read_model, workers })
}

fn read_model_status(path: PathBuf) -> ReadModelStatus {
    let mut status = ReadModelStatus {
        generation: std::fs::canonicalize(&path).ok(),
        path,
        pages: 0,
        deleted_pages: 0,
        events: 0,
        views: 0,
        events_through: 0,
        events_behind: 0,
        views_through: 0,
        views_behind: 0,
        views_unsaved: 0,
        error: None,
    };
    let counted = db::reader_connection(&status.path).map_err(|e| e.to_string()).and_then(|conn| {
        let counts = conn
            .query_row(
                "SELECT (SELECT count(*) FROM pages WHERE deleted = 0), \
                        (SELECT count(*) FROM pages WHERE deleted = 1), \
                        (SELECT count(*) FROM page_events), \
                        (SELECT coalesce(sum(view_count), 0) FROM pages)",
                [],
                |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?)),
            )
            .map_err(|e| e.to_string())?;
        let positions = (|| {
            Ok::<_, valentine_projections::ProjectionError>((
                applied::through(&conn, applied::EVENTS)?,
                applied::through(&conn, applied::VIEWS)?,
                view_checkpoints::unsaved(&conn)?,
            ))
        })()
        .map_err(|e| e.to_string())?;
        Ok((counts, positions))
    });
    match counted {
        Ok(((pages, deleted, events, views), (events_through, views_through, unsaved))) => {
            status.pages = pages;
            status.deleted_pages = deleted;
            status.events = events;
            status.views = views;
            status.events_through = events_through;
            status.views_through = views_through;
            status.views_unsaved = unsaved;
        }
        Err(e) => status.error = Some(e),
    }
    status
}

/// Writes the status for people.
///
/// # Errors
/// When writing fails.
pub fn write_text(status: &Status, out: &mut impl Write) -> std::io::Result<()> {
    writeln!(out, "streams")?;
    if status.streams.is_empty() {
        writeln!(out, "  none yet")?;
    }
    for s in &status.streams {
        writeln!(
            out,
            "  {:<8} {:>10} messages {:>12} bytes  last {:>10}  {:>8} subjects  R{}",
            s.name, s.messages, s.bytes, s.last_sequence, s.subjects, s.replicas
        )?;
    }
    writeln!(out, "projectors")?;
    for c in &status.consumers {
        match &c.state {
            Some(s) => writeln!(
                out,
                "  {:<8} {:<18} lag {:>8} ({:.1} s; {} pending, {} unacknowledged)  projected up to {}  {} waiting pulls{}",
                c.stream,
                c.name,
                s.lag,
                s.lag_seconds,
                s.pending,
                s.unacknowledged,
                s.acknowledged_up_to,
                s.waiting_pulls,
                if s.paused { "  PAUSED" } else { "" }
            )?,
            None => writeln!(out, "  {:<8} {:<18} no projector has run yet", c.stream, c.name)?,
        }
    }
    writeln!(out, "workers")?;
    if status.workers.is_empty() {
        writeln!(out, "  no heartbeat in the last minute")?;
    }
    for w in &status.workers {
        let state = match (w.ready, w.stuck) {
            (_, true) => "STUCK",
            (true, false) => "ready",
            (false, false) => "UNREADY",
        };
        let lags: Vec<String> = w
            .consumers
            .iter()
            .map(|c| format!("{} {} ({:.1} s)", c.consumer, c.lag_events, c.lag_seconds))
            .collect();
        writeln!(
            out,
            "  {:<9} {:<10} {:<8} {:<7} beat {}  last commit {}  lag {}{}",
            w.role,
            w.read_model,
            w.instance,
            state,
            w.heartbeat_at,
            w.last_commit_at.as_deref().unwrap_or("-"),
            lags.join(", "),
            w.reason.as_ref().map(|r| format!("  ({r})")).unwrap_or_default()
        )?;
    }
    let r = &status.read_model;
    writeln!(out, "read model {}", r.path.display())?;
    match &r.error {
        Some(e) => writeln!(out, "  unreadable: {e}")?,
        None => {
            writeln!(
                out,
                "  {} pages ({} deleted), {} events, {} views",
                r.pages, r.deleted_pages, r.events, r.views
            )?;
            writeln!(
                out,
                "  applied events through {} ({} behind), views through {} ({} behind); {} pages' views not yet checkpointed",
                r.events_through, r.events_behind, r.views_through, r.views_behind, r.views_unsaved
            )?;
        }
    }
    Ok(())
}
