//! CPU-bound work (hashing PINs, decoding and drawing images) run on blocking threads, a
//! bounded number at once: more wait their turn, and give up with a `503` after a while.

use std::time::Duration;

use tokio::sync::Semaphore;

use crate::error::ApiError;

/// How long work waits for a turn before the request is answered `503`.
const PATIENCE: Duration = Duration::from_secs(5);

/// Runs `work` on a blocking thread once one of `turns` is free.
///
/// # Errors
/// `503` (saying `busy`) when no turn frees up within five seconds; `500` if `work` panics.
pub(crate) async fn run_bounded<T: Send + 'static>(
    turns: &Semaphore,
    busy: &'static str,
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, ApiError> {
    let refused = || ApiError::Unavailable { detail: busy, retry_after: 2, source: None };
    let _turn = tokio::time::timeout(PATIENCE, turns.acquire())
        .await
        .map_err(|_| refused())?
        .map_err(|_| refused())?;
    tokio::task::spawn_blocking(work).await.map_err(ApiError::internal)
}
