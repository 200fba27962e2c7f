//! Job status, derived from the read model, the job ledger and the projectors' position.
//! A job id is the id of the create command, stored with its event.
//!
//! A job id is only ever handed out once its event is stored, and the `202` that hands it out
//! records where the event landed in the job ledger. So a job is either projected (the read
//! model knows the command) or recorded in the ledger with its stream sequence, which the
//! projectors' position places as queued or started. Anything else is an unknown id: a `404`
//! at the cost of two key lookups, without any consumer or scan.

use async_nats::jetstream::stream::Stream;
use tracing::instrument;
use valentine_projections::PageRow;
use valentine_projections::position::{Progress, progress};

use crate::error::ApiError;
use crate::job_ledger::JobLedger;
use crate::rate_limit::{Bucket, RateLimiter};
use crate::use_cases::page_queries::PageQueries;

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
    /// No command with this id is known.
    Unknown,
}

/// Locating jobs; cheap to clone.
#[derive(Debug, Clone)]
pub(crate) struct JobTracker {
    events: Stream,
    consumer: String,
    queries: PageQueries,
    ledger: JobLedger,
    limiter: RateLimiter,
}

impl JobTracker {
    /// Jobs on the event stream `events`, projected by the projectors of durable consumer
    /// `consumer` into the read model behind `queries`, queued ones recorded in `ledger`;
    /// polls limited by `limiter`.
    pub(crate) fn new(
        events: Stream,
        consumer: String,
        queries: PageQueries,
        ledger: JobLedger,
        limiter: RateLimiter,
    ) -> Self {
        Self { events, consumer, queries, ledger, limiter }
    }

    /// The state of job `job_id`, asked by `caller_key` within its budget, once the read
    /// model has reached `min_position`.
    ///
    /// # Errors
    /// `429` over the budget; `503` when NATS or SQLite cannot answer, or the read model
    /// stays behind `min_position`.
    #[instrument(skip(self, caller_key))]
    pub(crate) async fn status(
        &self,
        job_id: &str,
        caller_key: &str,
        min_position: Option<u64>,
    ) -> Result<JobState, ApiError> {
        self.limiter.check(Bucket::JobPolls, caller_key).await?;
        self.queries.reach(min_position).await?;
        if let Some(done) = self.projected(job_id).await? {
            return Ok(done);
        }
        let Some(sequence) = self.ledger.find(job_id).await? else {
            return Ok(JobState::Unknown);
        };
        if sequence <= self.queries.events_through().await? {
            // Projected since the read model was asked: it has the job now.
            return Ok(self.projected(job_id).await?.unwrap_or(JobState::Unknown));
        }
        let position = progress(&self.events, &self.consumer).await?.unwrap_or(Progress::default());
        Ok(if sequence <= position.delivered { JobState::Started } else { JobState::Queued })
    }

    /// The job's outcome, when the read model has projected it.
    async fn projected(&self, job_id: &str) -> Result<Option<JobState>, ApiError> {
        let Some(event) = self.queries.event_of_command(job_id)? else { return Ok(None) };
        let row = self.queries.row(&event.slug_key).await?;
        Ok(Some(match row.filter(|r| r.page_id == event.page_id && !r.deleted) {
            Some(row) => JobState::Created(Box::new(row)),
            None => JobState::CreatedThenDeleted,
        }))
    }
}
