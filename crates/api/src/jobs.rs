//! Job status, derived from the event stream and the projectors' position. There is no job
//! registry: a job id is the id of the create command, stored with its event.
//!
//! A job id is only ever handed out once its event is stored, so a job is either projected
//! (`finished`: the read model knows the command) or still ahead of the projectors (`queued`,
//! or `started` once delivered to one). To tell a pending job from an unknown id, the part of
//! the stream the projectors have not acknowledged yet is scanned for the command's message
//! id. That part is small in normal operation; its size is the projection lag.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_nats::jetstream::consumer::{DeliverPolicy, pull};
use async_nats::jetstream::context::ConsumerInfoErrorKind;
use futures::StreamExt;
use tracing::instrument;
use valentine_eventstore::envelope::header;
use valentine_eventstore::subjects;
use valentine_projections::{HistoryRow, pages};

use crate::error::ApiError;
use crate::read;
use crate::state::AppState;

/// Most messages one status request scans before giving up with a `503`.
const SCAN_LIMIT: u64 = 500_000;

/// Longest a scan may take.
const SCAN_TIME: Duration = Duration::from_secs(5);

/// Jobs remembered as located.
const MEMO_SIZE: usize = 10_000;

/// Where a job stands.
#[derive(Debug)]
pub enum JobState {
    /// Stored, not yet delivered to a projector.
    Queued,
    /// Delivered to a projector, not yet acknowledged.
    Started,
    /// Projected: the event the command stored.
    Finished(HistoryRow),
    /// No command with this id is in the stream.
    Unknown,
}

/// Stream sequences of jobs found pending, so polling does not scan again.
#[derive(Debug, Clone, Default)]
pub struct JobMemo {
    located: Arc<Mutex<HashMap<String, u64>>>,
}

impl JobMemo {
    fn get(&self, job_id: &str) -> Option<u64> {
        self.located.lock().unwrap_or_else(PoisonError::into_inner).get(job_id).copied()
    }

    fn put(&self, job_id: &str, sequence: u64) {
        let mut located = self.located.lock().unwrap_or_else(PoisonError::into_inner);
        if located.len() >= MEMO_SIZE {
            located.clear();
        }
        located.insert(job_id.to_owned(), sequence);
    }
}

/// Where the projectors are: everything at or below `acknowledged` is projected; everything
/// up to `delivered` has reached a projector.
#[derive(Debug, Clone, Copy, Default)]
struct Position {
    acknowledged: u64,
    delivered: u64,
}

/// The state of job `job_id`.
///
/// # Errors
/// When NATS or SQLite cannot answer, or the backlog is too large to scan.
#[instrument(skip(state))]
pub async fn status(state: &AppState, job_id: &str) -> Result<JobState, ApiError> {
    // The order matters: the position is read first, so an event at or below it is surely
    // in the read model when it is asked last.
    let position = position(state).await?;
    let pending = match state.jobs().get(job_id) {
        Some(sequence) => Some(sequence),
        None => scan(state, job_id, position.acknowledged).await?,
    };
    if let Some(event) = pages::event_of_command(state.db(), job_id).await.map_err(read::read_failed)? {
        return Ok(JobState::Finished(event));
    }
    Ok(match pending {
        Some(sequence) => {
            state.jobs().put(job_id, sequence);
            if sequence <= position.delivered { JobState::Started } else { JobState::Queued }
        }
        None => JobState::Unknown,
    })
}

async fn position(state: &AppState) -> Result<Position, ApiError> {
    let name = state.config().read_side.events_consumer();
    match state.repo().stream().consumer_info(&name).await {
        Ok(info) => Ok(Position {
            acknowledged: info.ack_floor.stream_sequence,
            delivered: info.delivered.stream_sequence,
        }),
        // No projector has bound its consumer yet: nothing is projected.
        Err(e) if e.kind() == ConsumerInfoErrorKind::NotFound => Ok(Position::default()),
        Err(e) => Err(ApiError::unavailable("The event store is unavailable; try again shortly", e)),
    }
}

/// The stream sequence of the command `job_id`'s message, looking only after `after`.
async fn scan(state: &AppState, job_id: &str, after: u64) -> Result<Option<u64>, ApiError> {
    let unavailable = |e: Box<dyn std::error::Error + Send + Sync>| {
        ApiError::unavailable("The event store is unavailable; try again shortly", e)
    };
    let prefix = &state.repo().config().subject_prefix;
    let mut consumer = state
        .repo()
        .stream()
        .create_consumer(pull::OrderedConfig {
            filter_subject: subjects::all_of_type(prefix, "Page"),
            deliver_policy: DeliverPolicy::ByStartSequence { start_sequence: after + 1 },
            headers_only: true,
            ..Default::default()
        })
        .await
        .map_err(|e| unavailable(e.into()))?;
    let mut remaining = consumer.info().await.map_err(|e| unavailable(e.into()))?.num_pending;
    if remaining == 0 {
        return Ok(None);
    }
    if remaining > SCAN_LIMIT {
        return Err(backlog());
    }
    let mut messages = consumer.messages().await.map_err(|e| unavailable(e.into()))?;
    let deadline = tokio::time::Instant::now() + SCAN_TIME;
    while remaining > 0 {
        let next = tokio::time::timeout_at(deadline, messages.next()).await.map_err(|_| backlog())?;
        let Some(message) = next else { break };
        let message = message.map_err(|e| unavailable(e.into()))?;
        remaining -= 1;
        let ours = message
            .headers
            .as_ref()
            .and_then(|h| h.get(header::MSG_ID))
            .is_some_and(|id| id.as_str() == job_id);
        if ours {
            let sequence = message.info().map_err(unavailable)?.stream_sequence;
            return Ok(Some(sequence));
        }
    }
    Ok(None)
}

fn backlog() -> ApiError {
    ApiError::Unavailable {
        detail: "The projection is far behind; job status is unavailable until it catches up",
        retry_after: 5,
        source: None,
    }
}
