//! How full the event store is: the EVENTS stream's size against its quota (`EVENTS_MAX_BYTES`),
//! looked up every few seconds, exported as metrics, and asked before a command adds content.
//!
//! Past [`REFUSE_AT_PERCENT`] of the quota, creates and updates answer `503`, while deletions
//! still append: the last part of the quota is kept for them, so that a person can always take
//! their page down. Without a quota the wall is the server's `max_file_store`, where JetStream
//! itself refuses every append (`503` as well, see `ApiError::StoreRefusing`).
//!
//! Between looks, each event this process appends counts as [`EVENT_BYTES_ESTIMATE`], more
//! than a real one, so the figure runs ahead of the store, never behind it. When only that
//! estimate crosses the line, the store is looked up at once (one look for all who ask at that
//! moment) and the true size decides.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_nats::jetstream::stream::Stream;
use tokio_util::sync::CancellationToken;
use tracing::{debug, warn};

use crate::error::ApiError;
use crate::metrics::Metrics;

/// How often the stream's size is looked up.
pub(crate) const LOOK_EVERY: Duration = Duration::from_secs(5);

/// The share of the quota past which new content is refused.
pub(crate) const REFUSE_AT_PERCENT: u64 = 95;

/// Seconds a refused author is told to wait: growing the store takes an operator.
const RETRY_AFTER: u64 = 300;

/// What one appended event is taken to add until the next look: more than a typical event
/// with its headers (about 1 KiB), so that between looks the figure runs ahead of the store.
const EVENT_BYTES_ESTIMATE: u64 = 2048;

/// The event store's size and quota as last looked up, and what this process appended since;
/// cheap to clone and to ask.
#[derive(Debug, Clone)]
pub(crate) struct StoreUsage {
    inner: Arc<Sizes>,
}

#[derive(Debug)]
struct Sizes {
    stream: Stream,
    metrics: Metrics,
    /// Bytes at the last look.
    looked: AtomicU64,
    /// Estimated bytes appended by this process since the last look.
    since: AtomicU64,
    /// 0: no quota.
    quota: AtomicU64,
    /// Looks made so far: one look serves everyone who waited for it.
    looks: AtomicU64,
    looking: tokio::sync::Mutex<()>,
}

impl StoreUsage {
    /// Usage of `stream`, exported through `metrics`; unknown until the first look.
    pub(crate) fn new(stream: Stream, metrics: Metrics) -> Self {
        Self {
            inner: Arc::new(Sizes {
                stream,
                metrics,
                looked: AtomicU64::new(0),
                since: AtomicU64::new(0),
                quota: AtomicU64::new(0),
                looks: AtomicU64::new(0),
                looking: tokio::sync::Mutex::new(()),
            }),
        }
    }

    /// Records what the stream holds and its quota, as just looked up.
    fn record(&self, bytes: u64, quota: Option<u64>) {
        self.inner.looked.store(bytes, Ordering::Relaxed);
        self.inner.since.store(0, Ordering::Relaxed);
        self.inner.quota.store(quota.unwrap_or(0), Ordering::Relaxed);
        self.inner.looks.fetch_add(1, Ordering::Release);
    }

    /// Counts an event this process appended, until the next look tells the true size.
    pub(crate) fn appended(&self) {
        self.inner.since.fetch_add(EVENT_BYTES_ESTIMATE, Ordering::Relaxed);
    }

    /// Whether `bytes` is past [`REFUSE_AT_PERCENT`] of the quota.
    fn past_the_line(&self, bytes: u64) -> bool {
        past_the_line(bytes, self.inner.quota.load(Ordering::Relaxed))
    }

    /// Whether the store was past the line at the last look.
    fn nearly_full(&self) -> bool {
        self.past_the_line(self.inner.looked.load(Ordering::Relaxed))
    }

    /// `Ok` while there is room for new content.
    ///
    /// # Errors
    /// `503` once the store is nearly full.
    pub(crate) async fn room_for_content(&self) -> Result<(), ApiError> {
        let looked = self.inner.looked.load(Ordering::Relaxed);
        let estimate = looked.saturating_add(self.inner.since.load(Ordering::Relaxed));
        if self.past_the_line(estimate) && !self.nearly_full() {
            self.look_now().await;
        }
        if self.nearly_full() {
            return Err(ApiError::Unavailable {
                detail: "The event store is nearly full: new pages and changes wait until it is grown. \
                         Deleting a page still works",
                retry_after: RETRY_AFTER,
                source: None,
            });
        }
        Ok(())
    }

    /// Looks the stream up, unless a look finished while this one waited its turn.
    async fn look_now(&self) {
        let before = self.inner.looks.load(Ordering::Acquire);
        let _turn = self.inner.looking.lock().await;
        if self.inner.looks.load(Ordering::Acquire) == before {
            self.look().await;
        }
    }

    /// Looks the stream up and exports what it holds; `true` when it is nearly full.
    async fn look(&self) -> bool {
        let mut handle = self.inner.stream.clone();
        match handle.info().await {
            Ok(info) => {
                let quota = u64::try_from(info.config.max_bytes).ok().filter(|q| *q > 0);
                self.record(info.state.bytes, quota);
                self.inner.metrics.set_store_usage(info.state.bytes, info.state.messages, quota.unwrap_or(0));
            }
            // Unknown for now: the last figures stand, and appends find out for themselves.
            Err(e) => debug!(error = %e, "cannot look up the event store's size"),
        }
        self.nearly_full()
    }
}

/// Whether `bytes` is past [`REFUSE_AT_PERCENT`] of `quota` (0: none, never).
fn past_the_line(bytes: u64, quota: u64) -> bool {
    quota > 0 && u128::from(bytes) * 100 >= u128::from(quota) * u128::from(REFUSE_AT_PERCENT)
}

/// Looks up the stream's size every [`LOOK_EVERY`] until `stop`.
pub(crate) async fn watch(usage: StoreUsage, stop: CancellationToken) {
    let mut was_full = false;
    loop {
        let full = {
            let _turn = usage.inner.looking.lock().await;
            usage.look().await
        };
        if full && !was_full {
            warn!(
                bytes = usage.inner.looked.load(Ordering::Relaxed),
                quota = usage.inner.quota.load(Ordering::Relaxed),
                "the event store is nearly full: creates and updates are refused until EVENTS_MAX_BYTES grows"
            );
        }
        was_full = full;
        tokio::select! {
            () = tokio::time::sleep(LOOK_EVERY) => {}
            () = stop.cancelled() => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_is_at_the_share_of_the_quota_and_never_without_one() {
        assert!(!past_the_line(u64::MAX, 0), "no quota");
        assert!(!past_the_line(949, 1000));
        assert!(past_the_line(950, 1000));
        assert!(past_the_line(u64::MAX, u64::MAX), "no overflow at the top");
        assert!(!past_the_line(u64::MAX / 100 * 94, u64::MAX));
    }
}
