//! Read-your-writes across nodes: a read that names a position waits for this node's read
//! model to reach it.
//!
//! Every write answer carries the stream position of its event (`Valentine-Position`). A
//! client that sends it back on a read (`Valentine-Min-Position`) is answered only once the
//! local read model has applied every event up to it, so an author who wrote through one
//! node and reads through another sees their change, never a `404` or an older page.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_nats::jetstream::stream::Stream;
use sqlx::SqlitePool;
use tracing::instrument;
use valentine_projections::{PositionWatch, applied};

use crate::error::ApiError;

/// How often a waiter looks at the read model itself, in case an announcement was missed.
const LOOK_EVERY: Duration = Duration::from_millis(200);

/// Waits for the local read model's events position; cheap to clone.
#[derive(Debug, Clone)]
pub(crate) struct ReadPositions {
    watch: PositionWatch,
    db: SqlitePool,
    /// The event stream, whose end bounds the positions that exist.
    events: Stream,
    /// The stream's last sequence as last looked up.
    stream_end: Arc<AtomicU64>,
    wait: Duration,
}

impl ReadPositions {
    /// Positions of the read model `db`, heard of through `watch`, on the stream `events`;
    /// waits at most `wait`.
    pub(crate) fn new(watch: PositionWatch, db: SqlitePool, events: Stream, wait: Duration) -> Self {
        Self { watch, db, events, stream_end: Arc::new(AtomicU64::new(0)), wait }
    }

    /// Whether the stream holds a message at `position` (or held one): every position a
    /// write answer gave does. Asks JetStream only for a position past the end last seen,
    /// so an honest read of a write made elsewhere a moment ago costs one lookup, and a made-up
    /// position costs no wait.
    async fn exists(&self, position: u64) -> Result<bool, ApiError> {
        if position <= self.stream_end.load(Ordering::Relaxed) {
            return Ok(true);
        }
        let info = self.events.get_info().await.map_err(ApiError::event_store_unavailable)?;
        let end = info.state.last_sequence;
        self.stream_end.fetch_max(end, Ordering::Relaxed);
        Ok(position <= end)
    }

    /// The highest events position heard of: the read model has applied at least this much.
    pub(crate) fn through(&self) -> u64 {
        self.watch.through()
    }

    /// The read model's events position as it stands now, read from the read model.
    ///
    /// # Errors
    /// `503` when SQLite fails.
    pub(crate) async fn current(&self) -> Result<u64, ApiError> {
        let (events, _) = applied::positions(&self.db).await?;
        self.watch.reached(events);
        Ok(events)
    }

    /// Returns once the read model has applied every event up to `min` (at once without
    /// one), with the position an answer must be as of: `min`, or 0 when there is nothing to
    /// wait for.
    ///
    /// A position past the end of the event stream names no write, so there is nothing to
    /// wait for: the read answers from the read model (or the cache) as it stands.
    ///
    /// # Errors
    /// `503 behind` when the read model has not reached it within the sync wait; `503` when
    /// SQLite or JetStream fail.
    #[instrument(level = "debug", skip(self))]
    pub(crate) async fn reach(&self, min: Option<u64>) -> Result<u64, ApiError> {
        let Some(min) = min else { return Ok(0) };
        if self.watch.through() >= min {
            return Ok(min);
        }
        if !self.exists(min).await? {
            tracing::debug!(min, "a position past the end of the event stream: nothing to wait for");
            return Ok(0);
        }
        let deadline = tokio::time::Instant::now() + self.wait;
        loop {
            if self.current().await? >= min {
                return Ok(min);
            }
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            if left.is_zero() {
                tracing::debug!(
                    min,
                    through = self.watch.through(),
                    "the read model is behind the position asked for"
                );
                return Err(ApiError::Behind);
            }
            if self.watch.wait_for_position(min, left.min(LOOK_EVERY)).await {
                return Ok(min);
            }
        }
    }
}
