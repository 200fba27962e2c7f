//! Where each queued create landed: a JetStream key-value bucket from job id (the create's
//! command id) to the stream sequence of its event.
//!
//! Written when a create is answered `202`, so every API instance can tell a pending job from
//! an unknown id with one key lookup: no consumer, no scan of the stream. Entries expire after
//! [`KEPT_FOR`]; by then the web app stopped polling long ago, and a projected job is found in
//! the read model anyway.

use std::time::Duration;

use async_nats::jetstream::{self, kv};
use bytes::Bytes;
use tracing::{instrument, warn};
use valentine_eventstore::{EventStoreError, StreamConfig};

/// How long a queued job stays findable by its id alone.
pub(crate) const KEPT_FOR: Duration = Duration::from_secs(24 * 3600);

/// Largest the bucket may grow; creates are budgeted, so it stays far below.
const MAX_BYTES: i64 = 256 * 1024 * 1024;

/// The ledger of queued jobs; cheap to clone.
#[derive(Debug, Clone)]
pub(crate) struct JobLedger {
    store: kv::Store,
}

impl JobLedger {
    /// The ledger beside the event stream `events` (bucket `<stream>_JOBS`), created or
    /// updated to this configuration.
    ///
    /// # Errors
    /// When JetStream refuses the bucket.
    pub(crate) async fn open(
        js: &jetstream::Context,
        events: &StreamConfig,
    ) -> Result<Self, EventStoreError> {
        let bucket = format!("{}_JOBS", events.stream_name);
        let store = js
            .create_or_update_key_value(kv::Config {
                bucket: bucket.clone(),
                description: "Valentine: stream sequence of each create answered 202".to_owned(),
                history: 1,
                max_age: KEPT_FOR,
                max_bytes: MAX_BYTES,
                storage: jetstream::stream::StorageType::File,
                num_replicas: events.replicas.unwrap_or(1),
                ..Default::default()
            })
            .await
            .map_err(|e| EventStoreError::Setup { stream: bucket, source: e.into() })?;
        Ok(Self { store })
    }

    /// Records that job `job_id` is the event at `stream_sequence`. Best effort: a job not
    /// recorded is still found once projected.
    #[instrument(skip(self))]
    pub(crate) async fn record(&self, job_id: &str, stream_sequence: u64) {
        let value = Bytes::from(stream_sequence.to_string());
        if let Err(e) = self.store.put(job_id, value).await {
            warn!(error = %e, "could not record a queued job; it is found once projected");
        }
    }

    /// The stream sequence of job `job_id`, if it was recorded (and has not expired).
    ///
    /// # Errors
    /// When NATS cannot answer.
    pub(crate) async fn find(&self, job_id: &str) -> Result<Option<u64>, EventStoreError> {
        let entry = self.store.get(job_id).await.map_err(|e| EventStoreError::Unavailable(e.into()))?;
        Ok(entry.and_then(|value| std::str::from_utf8(&value).ok()?.parse().ok()))
    }
}
