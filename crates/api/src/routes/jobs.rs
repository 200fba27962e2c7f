//! `/api/pages/job/{job_id}`: how a create answered with `202` is getting on.

use std::sync::Arc;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use ulid::Ulid;

use crate::caller::Caller;
use crate::config::ApiConfig;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{MinPosition, Path};
use crate::routes::refusals::{BadPosition, RateLimited, Unavailable};
use crate::use_cases::{JobState, JobTracker};
use crate::wire::job::{JobResult, JobStatus};
use crate::wire::page::PageResponse;

/// The status of a page creation answered with `202`.
#[utoipa::path(get, path = "/api/pages/job/{job_id}", tag = "pages",
    params(("job_id" = String, Path, description = "The job id from the 202 answer (a ULID)"), MinPosition),
    responses((status = 200, description = "Where the job stands", body = JobStatus),
        (status = 404, description = "No such job", body = ErrorBody), BadPosition, RateLimited, Unavailable))]
pub(crate) async fn job_status(
    State(jobs): State<JobTracker>,
    State(config): State<Arc<ApiConfig>>,
    caller: Caller,
    Path(raw): Path<String>,
    MinPosition { position }: MinPosition,
) -> Result<Response, ApiError> {
    let job_id = Ulid::from_string(&raw).map_err(|_| ApiError::NotFound("Job not found"))?.to_string();
    let (status, result, error) = match jobs.status(&job_id, &caller.key, position).await? {
        JobState::Unknown => return Err(ApiError::NotFound("Job not found")),
        JobState::Queued => ("queued", None, None),
        JobState::Started => ("started", None, None),
        JobState::Created(page) => {
            let url = config.page_url(&page.slug);
            ("finished", Some(JobResult { page: PageResponse::from(&*page), url }), None)
        }
        JobState::CreatedThenDeleted => {
            ("finished", None, Some("The page was created and has since been deleted".to_owned()))
        }
    };
    Ok(axum::Json(JobStatus { job_id, status: status.to_owned(), result, error }).into_response())
}
