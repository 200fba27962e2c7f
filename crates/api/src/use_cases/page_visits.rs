//! What a read of a page records: its view (counted in memory, published as a tally), and
//! its first open. A read of a page nobody has opened yet (by the read model) sends the open
//! command in the background, after the read is answered, so a reader never waits for it. The aggregate records it once, whoever races; the author's own reads
//! (with the page's edit token) are never opens.
//!
//! Until the open is projected, every read of the page finds it unopened again. Each process
//! sends at most one open per page at a time, and at most [`IN_FLIGHT`] at once: a read that
//! finds no room sends none, and a later read of the page does.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::Semaphore;
use tracing::{Instrument, debug, info_span, warn};
use valentine_domain::{EditToken, EditTokenHash};

use crate::metrics::Metrics;
use crate::use_cases::page_commands::PageCommands;
use crate::use_cases::page_queries::PageQueries;
use crate::view_counts::ViewCounter;

/// Opens sent at once by one process.
const IN_FLIGHT: usize = 32;

/// Recording visits; cheap to clone.
#[derive(Debug, Clone)]
pub(crate) struct PageVisits {
    inner: Arc<Visits>,
}

#[derive(Debug)]
struct Visits {
    views: ViewCounter,
    metrics: Metrics,
    commands: PageCommands,
    queries: PageQueries,
    /// Slug keys whose open is on its way.
    sending: Mutex<HashSet<String>>,
    room: Arc<Semaphore>,
}

impl PageVisits {
    /// Views counted in `views` (and `metrics`); opens sent through `commands`, checked
    /// against `queries`.
    pub(crate) fn new(
        views: ViewCounter,
        metrics: Metrics,
        commands: PageCommands,
        queries: PageQueries,
    ) -> Self {
        Self {
            inner: Arc::new(Visits {
                views,
                metrics,
                commands,
                queries,
                sending: Mutex::new(HashSet::new()),
                room: Arc::new(Semaphore::new(IN_FLIGHT)),
            }),
        }
    }

    /// A reader who presented `presented` read the page `page_id` at `slug_key`, which the
    /// answer said was `opened` before or not: counts the view, and records the first open
    /// in the background.
    pub(crate) fn visited(&self, slug_key: &str, page_id: u64, opened: bool, presented: Option<EditToken>) {
        self.inner.views.count(slug_key, page_id);
        self.inner.metrics.view();
        if !opened {
            self.noticed(slug_key, page_id, presented);
        }
    }

    fn noticed(&self, slug_key: &str, page_id: u64, presented: Option<EditToken>) {
        let Ok(permit) = Arc::clone(&self.inner.room).try_acquire_owned() else { return };
        if !self.inner.sending.lock().unwrap_or_else(PoisonError::into_inner).insert(slug_key.to_owned()) {
            return;
        }
        let this = self.clone();
        let slug_key = slug_key.to_owned();
        let span = info_span!("first_open", slug = slug_key);
        tokio::spawn(
            async move {
                this.record(&slug_key, page_id, presented).await;
                this.inner.sending.lock().unwrap_or_else(PoisonError::into_inner).remove(&slug_key);
                drop(permit);
            }
            .instrument(span),
        );
    }

    async fn record(&self, slug_key: &str, page_id: u64, presented: Option<EditToken>) {
        let outcome = self.decide(slug_key, page_id, presented).await;
        debug!(outcome, "a read of a page nobody had opened");
        self.inner.metrics.first_open(outcome);
    }

    async fn decide(&self, slug_key: &str, page_id: u64, presented: Option<EditToken>) -> &'static str {
        let row = match self.inner.queries.live_page(slug_key) {
            Ok(Some(row)) if u64::try_from(row.page_id).ok() == Some(page_id) => row,
            Ok(_) => return "gone",
            Err(e) => {
                warn!(error = %e, "a first open was not recorded");
                return "failed";
            }
        };
        if row.first_opened_at.is_some() {
            return "already";
        }
        let Ok(life) = EditTokenHash::from_hex(&row.edit_token_hash) else { return "failed" };
        if presented.as_ref().is_some_and(|t| life.matches(t)) {
            return "author";
        }
        match self.inner.commands.open(slug_key, life, presented).await {
            Ok(true) => "recorded",
            Ok(false) => "already",
            Err(e) => {
                warn!(error = %e, "a first open was not recorded");
                "failed"
            }
        }
    }
}
