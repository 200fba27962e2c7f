//! `POST /api/pages/{slug}/report`: anyone tells the moderators about a page.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;

use crate::caller::Caller;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{Json, PageSlug};
use crate::routes::pages::json;
use crate::routes::refusals::{BodyRefusals, RateLimited, Unavailable};
use crate::use_cases::{PageCommands, PageQueries};
use crate::wire::admin::{ReportRequest, ReportResponse};

/// Report a page to its moderators, with a reason and, if you like, a note. The page's author
/// never sees reports; moderators do, in the console.
#[utoipa::path(post, path = "/api/pages/{slug}/report", tag = "pages", params(PageSlug),
    request_body = ReportRequest,
    responses(
        (status = 202, description = "Received", body = ReportResponse),
        (status = 404, description = "No such page", body = ErrorBody),
        (status = 451, description = "The page is taken down already (`taken_down`)", body = ErrorBody),
        BodyRefusals, RateLimited, Unavailable))]
pub(crate) async fn report_page(
    State(commands): State<PageCommands>,
    State(queries): State<PageQueries>,
    caller: Caller,
    page: Result<PageSlug, ApiError>,
    Json(body): Json<ReportRequest>,
) -> Result<Response, ApiError> {
    let page = page?;
    let row = queries.live_page(&page.key)?.ok_or(ApiError::NotFound("Page not found"))?;
    if row.taken_down_at.is_some() {
        return Err(ApiError::TakenDown);
    }
    commands.report(&page.key, body.reason, body.note, &caller.key).await?;
    json(StatusCode::ACCEPTED, &ReportResponse { status: "received" })
}
