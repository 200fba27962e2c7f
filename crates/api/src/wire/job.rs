//! A job on the wire: how a create answered with `202` is getting on.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::page::PageResponse;

/// A job's status.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub(crate) struct JobStatus {
    /// The job id.
    pub job_id: String,
    /// `queued`, `started`, `finished` or `failed`.
    pub status: String,
    /// For `finished`: the page and its URL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<JobResult>,
    /// Why there is no result, in plain words.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// What a finished job made.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub(crate) struct JobResult {
    /// The page.
    pub page: PageResponse,
    /// Where it is shared.
    pub url: String,
}
