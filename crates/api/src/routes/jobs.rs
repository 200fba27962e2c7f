//! `/api/pages/job/{job_id}`: how a create answered with `202` is getting on.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use ulid::Ulid;
use utoipa::ToSchema;

use crate::error::{ApiError, ErrorBody};
use crate::extract::Path;
use crate::jobs::{self, JobState};
use crate::read;
use crate::routes::pages::PageResponse;
use crate::state::AppState;

/// A job's status.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct JobStatus {
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
pub struct JobResult {
    /// The page.
    pub page: PageResponse,
    /// Where it is shared.
    pub url: String,
}

/// The status of a page creation answered with `202`.
#[utoipa::path(
    get, path = "/api/pages/job/{job_id}", tag = "pages",
    params(("job_id" = String, Path, description = "The job id from the 202 answer (a ULID)")),
    responses(
        (status = 200, description = "Where the job stands", body = JobStatus),
        (status = 404, description = "No such job", body = ErrorBody),
        (status = 503, description = "Backlog too large to look the job up; retry", body = ErrorBody),
    )
)]
pub async fn job_status(
    State(state): State<AppState>,
    Path(raw): Path<String>,
) -> Result<Response, ApiError> {
    let job_id = Ulid::from_string(&raw).map_err(|_| ApiError::NotFound("Job not found"))?.to_string();
    let (status, result, error) = match jobs::status(&state, &job_id).await? {
        JobState::Unknown => return Err(ApiError::NotFound("Job not found")),
        JobState::Queued => ("queued", None, None),
        JobState::Started => ("started", None, None),
        JobState::Finished(event) => {
            let row = read::row(&state, &event.slug_key).await?;
            match row.filter(|r| r.page_id == event.page_id && !r.deleted) {
                Some(row) => {
                    let url = state.config().page_url(&row.slug);
                    ("finished", Some(JobResult { page: PageResponse::from(&row), url }), None)
                }
                None => {
                    ("finished", None, Some("The page was created and has since been deleted".to_owned()))
                }
            }
        }
    };
    Ok(axum::Json(JobStatus { job_id, status: status.to_owned(), result, error }).into_response())
}
