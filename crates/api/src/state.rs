//! What handlers share: the use cases, and the few things routes need directly. Extractors
//! take the part they need (`State<PageCommands>`, …) through axum's `FromRef`.
//!
//! The router hands every request its own copy of the state, so the state is one `Arc`:
//! a copy costs one count, and a handler clones only the part it extracts.

use std::ops::Deref;
use std::sync::Arc;

use axum::extract::FromRef;
use bytes::Bytes;

use crate::caller::CallerKeys;
use crate::config::ApiConfig;
use crate::metrics::Metrics;
use crate::use_cases::{
    AdminConsole, JobTracker, PageAccess, PageCommands, PageExports, PageInsights, PagePhotos, PageQueries,
    PageShare, PageVisits, ReadinessChecks, SlugChecks,
};
use crate::view_counts::ViewCounter;

/// Shared state of one API process; cheap to clone.
#[derive(Clone)]
pub(crate) struct AppState(Arc<AppParts>);

/// The parts of [`AppState`].
pub(crate) struct AppParts {
    /// Create, update, delete.
    pub(crate) commands: PageCommands,
    /// Pages and slugs from the read model.
    pub(crate) queries: PageQueries,
    /// Pages with their history, from the stream.
    pub(crate) exports: PageExports,
    /// PINs and reveal times.
    pub(crate) access: PageAccess,
    /// Photos.
    pub(crate) photos: PagePhotos,
    /// Link previews and QR codes.
    pub(crate) share: PageShare,
    /// Views and first opens, recorded by reads.
    pub(crate) visits: PageVisits,
    /// Opens, views and the reply, for the author.
    pub(crate) insights: PageInsights,
    /// Where a `202`'s job stands.
    pub(crate) jobs: JobTracker,
    /// Slug availability and suggestions.
    pub(crate) slugs: SlugChecks,
    /// Liveness and readiness.
    pub(crate) readiness: ReadinessChecks,
    /// The console of auditors and moderators.
    pub(crate) console: AdminConsole,
    /// Views counted since the last tally.
    pub(crate) view_counts: ViewCounter,
    /// Prometheus metrics.
    pub(crate) metrics: Metrics,
    /// Telling callers apart, for rate limits.
    pub(crate) caller_keys: CallerKeys,
    /// Settings.
    pub(crate) config: Arc<ApiConfig>,
    /// `GET /api/templates`, serialized once.
    pub(crate) templates_json: Bytes,
    /// `GET /api/openapi.json`, serialized once.
    pub(crate) openapi_json: Bytes,
}

impl AppState {
    /// The state made of `parts`.
    pub(crate) fn new(parts: AppParts) -> Self {
        Self(Arc::new(parts))
    }
}

impl Deref for AppState {
    type Target = AppParts;

    fn deref(&self) -> &AppParts {
        &self.0
    }
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState").field("bind_addr", &self.config.bind_addr).finish_non_exhaustive()
    }
}

/// `State<T>` for each part an extractor may ask for.
macro_rules! parts_for_extractors {
    ($($field:ident: $part:ty),* $(,)?) => {
        $(impl FromRef<AppState> for $part {
            fn from_ref(state: &AppState) -> Self {
                state.0.$field.clone()
            }
        })*
    };
}

parts_for_extractors!(
    commands: PageCommands,
    queries: PageQueries,
    exports: PageExports,
    visits: PageVisits,
    access: PageAccess,
    photos: PagePhotos,
    share: PageShare,
    insights: PageInsights,
    jobs: JobTracker,
    slugs: SlugChecks,
    readiness: ReadinessChecks,
    console: AdminConsole,
    view_counts: ViewCounter,
    metrics: Metrics,
    caller_keys: CallerKeys,
    config: Arc<ApiConfig>,
);
