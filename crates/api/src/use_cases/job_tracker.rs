//! Job status, derived from the event stream and the projectors' position. There is no job
//! registry: a job id is the id of the create command, stored with its event.
//!
//! A job id is only ever handed out once its event is stored, so a job is either projected
//! (the read model knows the command) or still ahead of the projectors (queued, or started
//! once delivered to one). To tell a pending job from an unknown id, the part of the stream
//! the projectors have not acknowledged yet is scanned for the command's message id. That
//! part is small in normal operation; its size is the projection lag.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_nats::jetstream::consumer::{DeliverPolicy, pull};
use async_nats::jetstream::stream::Stream;
use futures::StreamExt;
use tracing::instrument;
use valentine_eventstore::envelope::header;
use valentine_projections::PageRow;
use valentine_projections::position::{Progress, progress};

use crate::error::ApiError;
use crate::rate_limit::{Bucket, RateLimiter};
use crate::use_cases::page_queries::PageQueries;

/// Most messages one status request scans before giving up with a `503`.
const SCAN_LIMIT: u64 = 500_000;

/// Longest a scan may take.
const SCAN_TIME: Duration = Duration::from_secs(5);

/// Jobs remembered as located.
const MEMO_SIZE: usize = 10_000;

/// Where a job stands.
#[derive(Debug)]
pub(crate) enum JobState {
    /// Stored, not yet delivered to a projector.
    Queued,
    /// Delivered to a projector, not yet acknowledged.
    Started,
    /// Projected, and the page is live: the page.
    Created(Box<PageRow>),
    /// Projected, and the page has been deleted since.
    CreatedThenDeleted,
    /// No command with this id is in the stream.
    Unknown,
}

/// Locating jobs; cheap to clone.
#[derive(Debug, Clone)]
pub(crate) struct JobTracker {
    events: Stream,
    consumer: String,
    filter_subject: String,
    queries: PageQueries,
    limiter: RateLimiter,
    memo: JobMemo,
}

/// Stream sequences of jobs found pending, so polling does not scan again.
#[derive(Debug, Clone, Default)]
struct JobMemo {
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

impl JobTracker {
    /// Jobs on the event stream `events` (page commits on `filter_subject`), projected by the
    /// projectors of durable consumer `consumer` into the read model behind `queries`.
    pub(crate) fn new(
        events: Stream,
        consumer: String,
        filter_subject: String,
        queries: PageQueries,
        limiter: RateLimiter,
    ) -> Self {
        Self { events, consumer, filter_subject, queries, limiter, memo: JobMemo::default() }
    }

    /// The state of job `job_id`, asked by `caller_key` within its budget.
    ///
    /// # Errors
    /// `429` over the budget; `503` when NATS or SQLite cannot answer, or the backlog is too
    /// large to scan.
    #[instrument(skip(self, caller_key))]
    pub(crate) async fn status(&self, job_id: &str, caller_key: &str) -> Result<JobState, ApiError> {
        self.limiter.check(Bucket::JobPolls, caller_key).await?;
        // The order matters: the position is read first, so an event at or below it is surely
        // in the read model when it is asked last.
        let position = progress(&self.events, &self.consumer).await?.unwrap_or(Progress::default());
        let pending = match self.memo.get(job_id) {
            Some(sequence) => Some(sequence),
            None => self.scan(job_id, position.acknowledged).await?,
        };
        if let Some(event) = self.queries.event_of_command(job_id).await? {
            let row = self.queries.row(&event.slug_key).await?;
            return Ok(match row.filter(|r| r.page_id == event.page_id && !r.deleted) {
                Some(row) => JobState::Created(Box::new(row)),
                None => JobState::CreatedThenDeleted,
            });
        }
        Ok(match pending {
            Some(sequence) => {
                self.memo.put(job_id, sequence);
                if sequence <= position.delivered { JobState::Started } else { JobState::Queued }
            }
            None => JobState::Unknown,
        })
    }

    /// The stream sequence of the command `job_id`'s message, looking only after `after`.
    async fn scan(&self, job_id: &str, after: u64) -> Result<Option<u64>, ApiError> {
        let unavailable = |e: Box<dyn std::error::Error + Send + Sync>| ApiError::event_store_unavailable(e);
        let mut consumer = self
            .events
            .create_consumer(pull::OrderedConfig {
                filter_subject: self.filter_subject.clone(),
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
}

fn backlog() -> ApiError {
    ApiError::Unavailable {
        detail: "The projection is far behind; job status is unavailable until it catches up",
        retry_after: 5,
        source: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_memo_forgets_everything_when_full_rather_than_grow() {
        let memo = JobMemo::default();
        for i in 0..MEMO_SIZE {
            memo.put(&i.to_string(), i as u64);
        }
        assert_eq!(memo.get("7"), Some(7));
        memo.put("one more", 1);
        assert_eq!(memo.get("7"), None);
        assert_eq!(memo.get("one more"), Some(1));
    }
}
