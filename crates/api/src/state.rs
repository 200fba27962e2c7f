//! What handlers share: the use cases, and the few things routes need directly. Extractors
//! take the part they need (`State<PageCommands>`, …) through axum's `FromRef`.

use std::sync::Arc;

use axum::extract::FromRef;
use bytes::Bytes;

use crate::caller::CallerKeys;
use crate::config::ApiConfig;
use crate::metrics::Metrics;
use crate::use_cases::{JobTracker, PageCommands, PageQueries, ReadinessChecks, SlugChecks};
use crate::view_counts::ViewCounter;

/// Shared state of one API process; cheap to clone.
#[derive(Clone, FromRef)]
pub struct AppState {
    /// Create, update, delete.
    pub commands: PageCommands,
    /// Pages and slugs from the read model.
    pub queries: PageQueries,
    /// Where a `202`'s job stands.
    pub jobs: JobTracker,
    /// Slug availability and suggestions.
    pub slugs: SlugChecks,
    /// Liveness and readiness.
    pub readiness: ReadinessChecks,
    /// Views counted since the last tally.
    pub view_counts: ViewCounter,
    /// Prometheus metrics.
    pub metrics: Metrics,
    /// Telling callers apart, for rate limits.
    pub caller_keys: CallerKeys,
    /// Settings.
    pub config: Arc<ApiConfig>,
    /// `GET /api/templates`, serialized once.
    #[from_ref(skip)]
    pub templates_json: Bytes,
    /// `GET /api/openapi.json`, serialized once.
    #[from_ref(skip)]
    pub openapi_json: Bytes,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState").field("bind_addr", &self.config.bind_addr).finish_non_exhaustive()
    }
}
