//! Read-your-writes across nodes: a read that names a position waits for this node's read
//! model to reach it.
//!
//! Every write answer carries the stream position of its event (`Valentine-Position`). A
//! client that sends it back on a read (`Valentine-Min-Position`) is answered only once the
//! local read model has applied every event up to it, so an author who wrote through one
//! node and reads through another sees their change, never a `404` or an older page.

use std::time::Duration;

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
    wait: Duration,
}

impl ReadPositions {
    /// Positions of the read model `db`, heard of through `watch`; waits at most `wait`.
    pub(crate) fn new(watch: PositionWatch, db: SqlitePool, wait: Duration) -> Self {
        Self { watch, db, wait }
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
    /// one).
    ///
    /// # Errors
    /// `503 behind` when it has not within the sync wait; `503` when SQLite fails.
    #[instrument(level = "debug", skip(self))]
    pub(crate) async fn reach(&self, min: Option<u64>) -> Result<(), ApiError> {
        let Some(min) = min else { return Ok(()) };
        if self.watch.through() >= min {
            return Ok(());
        }
        let deadline = tokio::time::Instant::now() + self.wait;
        loop {
            if self.current().await? >= min {
                return Ok(());
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
                return Ok(());
            }
        }
    }
}
