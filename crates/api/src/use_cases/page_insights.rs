//! What the author sees of their page's life: its first open, views per day, the
//! recipient's reply, where mails go; once, or followed live while the editor is open.
//!
//! Following re-reads the page after each announcement of newly projected events (an open or
//! a reply is one) and every [`VIEWS_EVERY`] (view counts are not announced), at most once per
//! [`AT_MOST_EVERY`], and yields only what changed. A process follows at most
//! `MAX_INSIGHT_STREAMS` pages at once, and one client at most [`STREAMS_PER_CLIENT`] of
//! them (so no one client can take every place); each stream ends after [`STREAM_FOR`] (the
//! client reconnects, and its token is checked again) and when the server shuts down.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tokio_util::sync::CancellationToken;
use valentine_domain::{EditToken, EditTokenHash};
use valentine_projections::{PageRow, PositionWatch};

use crate::error::ApiError;
use crate::use_cases::page_queries::PageQueries;

/// How often a followed page is read again for its view counts.
const VIEWS_EVERY: Duration = Duration::from_secs(5);

/// The shortest time between two reads of a followed page.
const AT_MOST_EVERY: Duration = Duration::from_millis(200);

/// How long one stream lasts.
const STREAM_FOR: Duration = Duration::from_secs(300);

/// Streams one client may hold open at once, in one process: an author with the editor open
/// in a few tabs.
pub(crate) const STREAMS_PER_CLIENT: usize = 4;

/// When a client holding as many streams as it may is told to try again.
const STREAMS_RETRY_AFTER: u64 = 10;

/// A page's insights: its row and its views per day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Insights {
    /// The page.
    pub row: PageRow,
    /// Views per UTC day, oldest first.
    pub by_day: Vec<(String, i64)>,
}

impl Insights {
    /// Whether `other` shows the author anything different.
    fn differs_from(&self, other: &Self) -> bool {
        let seen = |i: &Self| {
            (
                i.row.first_opened_at.clone(),
                i.row.view_count,
                i.row.answer.clone(),
                i.row.answered_at.clone(),
                i.row.notify_email.clone(),
                i.by_day.clone(),
            )
        };
        seen(self) != seen(other)
    }
}

/// Reading insights; cheap to clone.
#[derive(Debug, Clone)]
pub(crate) struct PageInsights {
    queries: PageQueries,
    position: PositionWatch,
    streams: Arc<Semaphore>,
    /// Streams open per client key.
    holders: Arc<Mutex<HashMap<String, usize>>>,
    closing: CancellationToken,
}

impl PageInsights {
    /// Insights from `queries`, followed through `position`, at most `max_streams` at once.
    pub(crate) fn new(queries: PageQueries, position: PositionWatch, max_streams: usize) -> Self {
        Self {
            queries,
            position,
            streams: Arc::new(Semaphore::new(max_streams)),
            holders: Arc::default(),
            closing: CancellationToken::new(),
        }
    }

    /// Cancelled when the server shuts down: every stream ends.
    pub(crate) fn closing(&self) -> CancellationToken {
        self.closing.clone()
    }

    /// The insights of the live page at `slug_key` for the holder of its edit token, read by
    /// `caller_key` within its budget once the read model has reached `min_position`.
    ///
    /// # Errors
    /// `429` over the budget, `404` without a live page, `403` for another token, `503` when
    /// SQLite fails or the read model stays behind.
    pub(crate) async fn read(
        &self,
        slug_key: &str,
        token: &EditToken,
        caller_key: &str,
        min_position: Option<u64>,
    ) -> Result<Insights, ApiError> {
        self.queries.budgeted_reach(caller_key, min_position).await?;
        self.authorized(slug_key, token).await
    }

    /// Starts following the page at `slug_key` for the holder of its edit token: the first
    /// insights come at once.
    ///
    /// # Errors
    /// As [`Self::read`], and `503` when this process follows as many pages as it may.
    pub(crate) async fn follow(
        &self,
        slug_key: &str,
        token: EditToken,
        caller_key: &str,
    ) -> Result<InsightsFeed, ApiError> {
        self.queries.budgeted_reach(caller_key, None).await?;
        let held = self.hold(caller_key)?;
        let permit = Arc::clone(&self.streams).try_acquire_owned().map_err(|_| ApiError::TooManyStreams)?;
        let first = self.authorized(slug_key, &token).await?;
        let mut changes = self.position.changes();
        changes.mark_unchanged();
        Ok(InsightsFeed {
            insights: self.clone(),
            slug_key: slug_key.to_owned(),
            token,
            last: None,
            pending: Some(first),
            changes,
            ends: tokio::time::Instant::now() + STREAM_FOR,
            _permit: permit,
            _held: held,
        })
    }

    /// Counts one more stream for `caller_key`, unless it holds as many as it may.
    fn hold(&self, caller_key: &str) -> Result<Held, ApiError> {
        let mut holders = self.holders.lock().unwrap_or_else(PoisonError::into_inner);
        let count = holders.entry(caller_key.to_owned()).or_default();
        if *count >= STREAMS_PER_CLIENT {
            return Err(ApiError::RateLimited { retry_after: STREAMS_RETRY_AFTER });
        }
        *count += 1;
        Ok(Held { holders: Arc::clone(&self.holders), caller_key: caller_key.to_owned() })
    }

    async fn authorized(&self, slug_key: &str, token: &EditToken) -> Result<Insights, ApiError> {
        let row = self.queries.live_page(slug_key)?.ok_or(ApiError::NotFound("Page not found"))?;
        let hash = EditTokenHash::from_hex(&row.edit_token_hash).map_err(ApiError::internal)?;
        if !hash.matches(token) {
            return Err(ApiError::WrongToken);
        }
        let by_day = self.queries.views_by_day(slug_key, row.page_id).await?;
        Ok(Insights { row, by_day })
    }
}

/// One author following one page.
#[derive(Debug)]
pub(crate) struct InsightsFeed {
    insights: PageInsights,
    slug_key: String,
    token: EditToken,
    last: Option<Insights>,
    pending: Option<Insights>,
    changes: watch::Receiver<u64>,
    ends: tokio::time::Instant,
    _permit: OwnedSemaphorePermit,
    _held: Held,
}

/// One client's hold on a stream; given back when the stream ends.
#[derive(Debug)]
struct Held {
    holders: Arc<Mutex<HashMap<String, usize>>>,
    caller_key: String,
}

impl Drop for Held {
    fn drop(&mut self) {
        let mut holders = self.holders.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(count) = holders.get_mut(&self.caller_key) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                holders.remove(&self.caller_key);
            }
        }
    }
}

impl InsightsFeed {
    /// The next insights that differ from the last ones; `None` when the stream is over (its
    /// time is up, the server is closing, or the page is gone or no longer the token's).
    pub(crate) async fn next(&mut self) -> Option<Insights> {
        loop {
            if let Some(found) = self.pending.take()
                && self.last.as_ref().is_none_or(|last| found.differs_from(last))
            {
                self.last = Some(found.clone());
                return Some(found);
            }
            tokio::select! {
                changed = self.changes.changed() => changed.ok()?,
                () = tokio::time::sleep(VIEWS_EVERY) => {}
                () = tokio::time::sleep_until(self.ends) => return None,
                () = self.insights.closing.cancelled() => return None,
            }
            tokio::time::sleep(AT_MOST_EVERY).await;
            self.changes.mark_unchanged();
            match self.insights.authorized(&self.slug_key, &self.token).await {
                Ok(found) => self.pending = Some(found),
                Err(ApiError::NotFound(_) | ApiError::WrongToken) => return None,
                // A passing failure of the read model: try again on the next change.
                Err(e) => tracing::debug!(error = %e, "insights not read"),
            }
        }
    }
}
