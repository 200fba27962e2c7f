//! `/api/admin/*`: the console of auditors and moderators, behind an admin bearer token.
//! Answers are never cached and never indexed.

use axum::extract::{FromRef, FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::Response;
use serde::{Deserialize, Serialize};
use utoipa::IntoResponses;
use valentine_projections::page_timeline::AsOf;

use crate::caller::Caller;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{Json, PageSlug, Path, Query};
use crate::routes::pages::json;
use crate::routes::refusals::{BodyRefusals, RateLimited, Unavailable};
use crate::use_cases::AdminConsole;
use crate::use_cases::admin_console::Admin;
use crate::wire::admin::{
    AdminAsOfResponse, AdminEventsResponse, AdminPagesResponse, AdminReportsResponse, AdminSessionResponse,
    LagResponse, ModerationRequest, ModerationResponse, ParkedResponse, StoredMessageResponse,
    StreamsResponse,
};

/// How a console request is refused before it is looked at.
#[derive(IntoResponses)]
#[expect(dead_code, reason = "describes answers for the OpenAPI document; never built")]
pub(crate) enum AdminRefusals {
    /// No admin token (`admin_token_required`)
    #[response(status = 401)]
    Missing(ErrorBody),
    /// A wrong admin token (`wrong_admin_token`), or none configured (`admin_disabled`)
    #[response(status = 403)]
    Wrong(ErrorBody),
}

/// The admin a request's `Authorization: Bearer <token>` names, within the budgets.
#[derive(Debug, Clone)]
pub(crate) struct AdminCaller(pub(crate) Admin);

impl<S> FromRequestParts<S> for AdminCaller
where
    AdminConsole: FromRef<S>,
    crate::caller::CallerKeys: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let caller = Caller::from_request_parts(parts, state).await?;
        let bearer = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
            .map(str::trim)
            .filter(|t| !t.is_empty());
        let console = AdminConsole::from_ref(state);
        console.authorize(bearer, &caller.key).await.map(Self)
    }
}

/// Who the token belongs to: the console's sign-in.
#[utoipa::path(get, path = "/api/admin/session", tag = "admin", security(("admin" = [])),
    responses((status = 200, description = "The admin's name", body = AdminSessionResponse), AdminRefusals, RateLimited))]
pub(crate) async fn session(AdminCaller(admin): AdminCaller) -> Result<Response, ApiError> {
    json(StatusCode::OK, &AdminSessionResponse { admin: admin.name })
}

/// `?q=`: a slug prefix.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct SearchQuery {
    /// The start of a slug, in any casing (empty lists the first pages).
    #[param(max_length = 50)]
    #[serde(default)]
    q: String,
}

/// Pages whose slug starts with `q`: live, deleted and erased, at most 100.
#[utoipa::path(get, path = "/api/admin/pages", tag = "admin", security(("admin" = [])), params(SearchQuery),
    responses((status = 200, description = "The pages, in slug order", body = AdminPagesResponse),
        (status = 400, description = "A malformed query string", body = ErrorBody), AdminRefusals, RateLimited, Unavailable))]
pub(crate) async fn search_pages(
    State(console): State<AdminConsole>,
    AdminCaller(admin): AdminCaller,
    Query(query): Query<SearchQuery>,
) -> Result<Response, ApiError> {
    if query.q.chars().count() > 50 {
        return Err(ApiError::BadRequest("q must be at most 50 characters".to_owned()));
    }
    let pages = console.search(&admin, &query.q).await?;
    json(StatusCode::OK, &AdminPagesResponse { pages: values(&pages)? })
}

/// Every event of a slug from the stream, every life, oldest first; erased events as their
/// skeleton.
#[utoipa::path(get, path = "/api/admin/pages/{slug}/events", tag = "admin", security(("admin" = [])), params(PageSlug),
    responses((status = 200, description = "The events", body = AdminEventsResponse), AdminRefusals,
        (status = 404, description = "Not a slug", body = ErrorBody), RateLimited, Unavailable))]
pub(crate) async fn page_events(
    State(console): State<AdminConsole>,
    AdminCaller(admin): AdminCaller,
    page: PageSlug,
) -> Result<Response, ApiError> {
    let events = console.events(&admin, &page.key).await?;
    json(StatusCode::OK, &AdminEventsResponse { slug: page.key, events: values(&events)? })
}

/// `?at=`: where in the history.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct AsOfQuery {
    /// A stream sequence (e.g. `42`) or an RFC 3339 time (e.g. `2027-02-14T09:00:00Z`).
    #[param(
        max_length = 64,
        pattern = r"^([0-9]{1,19}|[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2}))$"
    )]
    at: String,
}

/// A slug as it stood at a stream sequence or a time: the page then, and the events up to it.
#[utoipa::path(get, path = "/api/admin/pages/{slug}/as-of", tag = "admin", security(("admin" = [])), params(PageSlug, AsOfQuery),
    responses((status = 200, description = "The page then", body = AdminAsOfResponse),
        (status = 400, description = "`at` is neither a sequence nor a time", body = ErrorBody), AdminRefusals,
        (status = 404, description = "Not a slug", body = ErrorBody), RateLimited, Unavailable))]
pub(crate) async fn page_as_of(
    State(console): State<AdminConsole>,
    AdminCaller(admin): AdminCaller,
    page: PageSlug,
    Query(query): Query<AsOfQuery>,
) -> Result<Response, ApiError> {
    let at = AsOf::parse(&query.at).map_err(ApiError::BadRequest)?;
    let found = console.as_of(&admin, &page.key, at).await?;
    let page_then = found.page.as_ref().map(serde_json::to_value).transpose().map_err(ApiError::internal)?;
    json(
        StatusCode::OK,
        &AdminAsOfResponse { slug: page.key, at: query.at, events: values(&found.events)?, page: page_then },
    )
}

/// The reports of the page at a slug, newest first.
#[utoipa::path(get, path = "/api/admin/pages/{slug}/reports", tag = "admin", security(("admin" = [])), params(PageSlug),
    responses((status = 200, description = "The page and its reports", body = AdminReportsResponse), AdminRefusals,
        (status = 404, description = "No such page", body = ErrorBody), RateLimited, Unavailable))]
pub(crate) async fn page_reports(
    State(console): State<AdminConsole>,
    AdminCaller(admin): AdminCaller,
    page: PageSlug,
) -> Result<Response, ApiError> {
    let found = console.reports_of(&admin, &page.key).await?;
    let summary = serde_json::to_value(&found.page).map_err(ApiError::internal)?;
    json(StatusCode::OK, &AdminReportsResponse { page: summary, reports: values(&found.reports)? })
}

/// Take a page down: everyone but its author gets `451` from now on, and it leaves link
/// previews. Recorded as an event with the admin's name and reason.
#[utoipa::path(post, path = "/api/admin/pages/{slug}/take-down", tag = "admin", security(("admin" = [])), params(PageSlug),
    request_body = ModerationRequest,
    responses((status = 200, description = "Taken down", body = ModerationResponse), AdminRefusals,
        (status = 404, description = "No live page", body = ErrorBody),
        (status = 409, description = "Taken down already (`already_taken_down`)", body = ErrorBody),
        BodyRefusals, RateLimited, Unavailable))]
pub(crate) async fn take_down(
    State(console): State<AdminConsole>,
    AdminCaller(admin): AdminCaller,
    page: PageSlug,
    Json(body): Json<ModerationRequest>,
) -> Result<Response, ApiError> {
    moderate(&console, admin, page, &body.reason, true).await
}

/// Put a page taken down back up. Recorded as an event with the admin's name and reason.
#[utoipa::path(post, path = "/api/admin/pages/{slug}/reinstate", tag = "admin", security(("admin" = [])), params(PageSlug),
    request_body = ModerationRequest,
    responses((status = 200, description = "Reinstated", body = ModerationResponse), AdminRefusals,
        (status = 404, description = "No live page", body = ErrorBody),
        (status = 409, description = "Not taken down (`not_taken_down`)", body = ErrorBody),
        BodyRefusals, RateLimited, Unavailable))]
pub(crate) async fn reinstate(
    State(console): State<AdminConsole>,
    AdminCaller(admin): AdminCaller,
    page: PageSlug,
    Json(body): Json<ModerationRequest>,
) -> Result<Response, ApiError> {
    moderate(&console, admin, page, &body.reason, false).await
}

async fn moderate(
    console: &AdminConsole,
    admin: Admin,
    page: PageSlug,
    reason: &str,
    down: bool,
) -> Result<Response, ApiError> {
    let position = console.moderate(&admin, &page.key, down, reason).await?;
    json(StatusCode::OK, &ModerationResponse { slug: page.key, taken_down: down, by: admin.name, position })
}

/// Live pages with reports: those waiting for a decision first, then by their latest report.
#[utoipa::path(get, path = "/api/admin/reports", tag = "admin", security(("admin" = [])),
    responses((status = 200, description = "The reported pages", body = AdminPagesResponse), AdminRefusals, RateLimited, Unavailable))]
pub(crate) async fn reports(
    State(console): State<AdminConsole>,
    AdminCaller(admin): AdminCaller,
) -> Result<Response, ApiError> {
    let pages = console.reported(&admin).await?;
    json(StatusCode::OK, &AdminPagesResponse { pages: values(&pages)? })
}

/// The message at a sequence of the page event stream as stored, with its sealed payloads
/// opened where their key exists (secrets redacted).
#[utoipa::path(get, path = "/api/admin/messages/{sequence}", tag = "admin", security(("admin" = [])),
    params(("sequence" = u64, Path, description = "The stream sequence")),
    responses((status = 200, description = "The message", body = StoredMessageResponse), AdminRefusals,
        (status = 404, description = "No message there (never, or erased)", body = ErrorBody), RateLimited, Unavailable))]
pub(crate) async fn message(
    State(console): State<AdminConsole>,
    AdminCaller(admin): AdminCaller,
    Path(raw): Path<String>,
) -> Result<Response, ApiError> {
    let sequence = raw
        .parse::<u64>()
        .ok()
        .filter(|s| *s > 0)
        .ok_or(ApiError::NotFound("No message at this sequence (never, or erased)"))?;
    json(StatusCode::OK, &console.message(&admin, sequence).await?)
}

/// The event store's streams, and where each consumer stands on them.
#[utoipa::path(get, path = "/api/admin/streams", tag = "admin", security(("admin" = [])),
    responses((status = 200, description = "The streams", body = StreamsResponse), AdminRefusals, RateLimited, Unavailable))]
pub(crate) async fn streams(
    State(console): State<AdminConsole>,
    AdminCaller(admin): AdminCaller,
) -> Result<Response, ApiError> {
    json(StatusCode::OK, &StreamsResponse { streams: console.streams(&admin).await? })
}

fn values<T: Serialize>(items: &[T]) -> Result<Vec<serde_json::Value>, ApiError> {
    items.iter().map(serde_json::to_value).collect::<Result<_, _>>().map_err(ApiError::internal)
}

/// How far behind each durable consumer is (in messages, and the age of the oldest waiting
/// one), read from the streams themselves, and each worker's last heartbeat.
#[utoipa::path(get, path = "/api/admin/lag", tag = "admin", security(("admin" = [])),
    responses((status = 200, description = "Consumers and workers", body = LagResponse), AdminRefusals, RateLimited, Unavailable))]
pub(crate) async fn lag(
    State(console): State<AdminConsole>,
    AdminCaller(admin): AdminCaller,
) -> Result<Response, ApiError> {
    let (consumers, beats) = console.lag(&admin).await?;
    let now = time::OffsetDateTime::now_utc();
    let workers = beats
        .into_iter()
        .map(|beat| {
            let age = time::OffsetDateTime::parse(
                &beat.heartbeat_at,
                &time::format_description::well_known::Rfc3339,
            )
            .map(|at| (now - at).as_seconds_f64().max(0.0))
            .ok();
            let mut value = serde_json::to_value(&beat).map_err(ApiError::internal)?;
            if let Some(fields) = value.as_object_mut() {
                fields.insert("heartbeat_age_seconds".to_owned(), age.into());
            }
            Ok(value)
        })
        .collect::<Result<Vec<_>, ApiError>>()?;
    json(StatusCode::OK, &LagResponse { consumers, workers })
}

/// Events projectors could not apply after their deliveries, newest first, with what was
/// decided about each.
#[utoipa::path(get, path = "/api/admin/parked", tag = "admin", security(("admin" = [])),
    responses((status = 200, description = "The parked events", body = ParkedResponse), AdminRefusals, RateLimited, Unavailable))]
pub(crate) async fn parked(
    State(console): State<AdminConsole>,
    AdminCaller(admin): AdminCaller,
) -> Result<Response, ApiError> {
    let parked = console.parked(&admin).await?;
    json(StatusCode::OK, &ParkedResponse { parked: values(&parked)? })
}

/// Has a projector of that consumer try a parked event again (its record says how it went).
#[utoipa::path(post, path = "/api/admin/parked/{consumer}/{sequence}/retry", tag = "admin", security(("admin" = [])),
    params(("consumer" = String, Path, description = "The durable consumer that parked it"),
        ("sequence" = u64, Path, description = "Its stream sequence")),
    request_body = ModerationRequest,
    responses((status = 200, description = "Marked for a retry", body = Object), AdminRefusals,
        (status = 404, description = "No such parked event", body = ErrorBody),
        (status = 409, description = "Decided already (`not_parked`)", body = ErrorBody),
        BodyRefusals, RateLimited, Unavailable))]
pub(crate) async fn retry_parked(
    State(console): State<AdminConsole>,
    AdminCaller(admin): AdminCaller,
    Path((consumer, sequence)): Path<(String, String)>,
    Json(body): Json<ModerationRequest>,
) -> Result<Response, ApiError> {
    decide_parked(&console, &admin, &consumer, &sequence, true, &body.reason).await
}

/// Leaves a parked event unapplied for good, recording who decided and why.
#[utoipa::path(post, path = "/api/admin/parked/{consumer}/{sequence}/skip", tag = "admin", security(("admin" = [])),
    params(("consumer" = String, Path, description = "The durable consumer that parked it"),
        ("sequence" = u64, Path, description = "Its stream sequence")),
    request_body = ModerationRequest,
    responses((status = 200, description = "Skipped", body = Object), AdminRefusals,
        (status = 404, description = "No such parked event", body = ErrorBody),
        (status = 409, description = "Decided already (`not_parked`)", body = ErrorBody),
        BodyRefusals, RateLimited, Unavailable))]
pub(crate) async fn skip_parked(
    State(console): State<AdminConsole>,
    AdminCaller(admin): AdminCaller,
    Path((consumer, sequence)): Path<(String, String)>,
    Json(body): Json<ModerationRequest>,
) -> Result<Response, ApiError> {
    decide_parked(&console, &admin, &consumer, &sequence, false, &body.reason).await
}

async fn decide_parked(
    console: &AdminConsole,
    admin: &Admin,
    consumer: &str,
    sequence: &str,
    retry: bool,
    reason: &str,
) -> Result<Response, ApiError> {
    // Consumer names are letters, digits, '-' and '_': anything else names no record.
    let named =
        !consumer.is_empty() && consumer.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    let sequence =
        sequence.parse::<u64>().ok().filter(|_| named).ok_or(ApiError::NotFound("No such parked event"))?;
    let decided = console.decide_parked(admin, consumer, sequence, retry, reason).await?;
    json(StatusCode::OK, &decided)
}
