//! `/api/pages`: create, read, update, delete, and the author's history. Each handler parses
//! the request, calls one use case and renders its result.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde::Serialize;
use time::OffsetDateTime;
use valentine_domain::{RevealInput, Slug, SlugError, UpdatePage};

use crate::caller::Caller;
use crate::config::ApiConfig;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{EditTokenHeader, Json, MinPosition, PageAuthor, PagePin, PageSlug, ReaderKeys};
use crate::routes::positions::with_position;
use crate::routes::refusals::{AuthorRefusals, BadPosition, BodyRefusals, RateLimited, Unavailable};
use crate::use_cases::{CreateOutcome, PageAccess, PageCommands, PageExports, PageQueries, PageVisits};
use crate::wire::page::{
    CreatePageRequest, CreatedResponse, DeletedResponse, ExportResponse, ExportedEventResponse, HistoryEvent,
    HistoryResponse, LockedPageResponse, PageResponse, QueuedResponse, RestoreRequest, UpdatePageRequest,
};

/// Header making a create safe to retry.
pub(crate) const IDEMPOTENCY_KEY: &str = "idempotency-key";

/// Longest accepted `Idempotency-Key`.
const IDEMPOTENCY_KEY_MAX: usize = 255;

/// Shortest `Idempotency-Key` accepted in URL-safe characters: 22 of them carry 132 bits.
const IDEMPOTENCY_KEY_MIN: usize = 22;

/// Create a page.
///
/// Answers `201` once the page shows in reads, or `202` with a job id when the projection
/// has not caught up within the sync wait; either way the page is stored and the answer
/// carries its edit token. Send an `Idempotency-Key` to make retries safe: the same key with
/// the same body creates at most one page and gets the same answer.
#[utoipa::path(post, path = "/api/pages", tag = "pages", request_body = CreatePageRequest,
    params(("Idempotency-Key" = Option<String>, Header, nullable = false, description = "Makes retries of this create safe: a UUID, or 22–255 letters, digits, '-' and '_' drawn at random",
        pattern = r"^([0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}|[A-Za-z0-9_-]{22,255})$")),
    responses(
        (status = 201, description = "Created and visible", body = CreatedResponse, headers(("Valentine-Position" = u64, description = "The stream position of the event recorded: send it as Valentine-Min-Position on later reads")), links(
            ("GetPage" = (operation_id = "get_page", parameters(("slug" = "$response.body#/page/slug")))),
            ("UpdatePage" = (operation_id = "update_page", parameters(("slug" = "$response.body#/page/slug"), ("header.X-Edit-Token" = "$response.body#/edit_token")))),
            ("DeletePage" = (operation_id = "delete_page", parameters(("slug" = "$response.body#/page/slug"), ("header.X-Edit-Token" = "$response.body#/edit_token")))),
            ("PageHistory" = (operation_id = "page_history", parameters(("slug" = "$response.body#/page/slug"), ("header.X-Edit-Token" = "$response.body#/edit_token")))),
        )),
        (status = 202, description = "Stored; not yet visible: poll the job", body = QueuedResponse, headers(("Valentine-Position" = u64, description = "The stream position of the event recorded: send it as Valentine-Min-Position on later reads")), links(
            ("JobStatus" = (operation_id = "job_status", parameters(("job_id" = "$response.body#/job_id")))),
            ("UpdatePage" = (operation_id = "update_page", parameters(("slug" = "$request.body#/slug"), ("header.X-Edit-Token" = "$response.body#/edit_token")))),
        )),
        (status = 409, description = "Slug taken or reserved; or a retry whose page was since deleted, or whose Idempotency-Key is past its replay window", body = ErrorBody),
        BodyRefusals, RateLimited, Unavailable))]
pub(crate) async fn create_page(
    State(commands): State<PageCommands>,
    State(config): State<Arc<ApiConfig>>,
    caller: Caller,
    headers: HeaderMap,
    Json(body): Json<CreatePageRequest>,
) -> Result<Response, ApiError> {
    let raw_slug = body.slug.as_deref().ok_or_else(|| ApiError::invalid_field("slug", "slug is required"))?;
    let slug = Slug::parse(raw_slug).map_err(|e| match e {
        SlugError::Reserved => ApiError::SlugReserved(e.to_string()),
        _ => ApiError::invalid_field("slug", e.to_string()),
    })?;
    let idempotency_key = idempotency_key(&headers)?;
    match commands.create(slug, body, idempotency_key.as_deref(), &caller.key).await? {
        CreateOutcome::Created { page, edit_token, position } => {
            let url = config.page_url(&page.slug);
            let page = PageResponse::from(&*page);
            let answer = json(
                StatusCode::CREATED,
                &CreatedResponse { page, edit_token: edit_token.expose().to_owned(), url },
            )?;
            Ok(with_position(answer, position))
        }
        CreateOutcome::Queued { job_id, edit_token, position } => {
            let answer = json(
                StatusCode::ACCEPTED,
                &QueuedResponse {
                    job_id: job_id.to_string(),
                    status: "queued".to_owned(),
                    message: "Your page is saved and will be live in a moment; poll the job for its status"
                        .to_owned(),
                    edit_token: edit_token.expose().to_owned(),
                },
            )?;
            Ok(with_position(answer, position))
        }
    }
}

/// Read a page, and count the view.
///
/// The first read by someone other than its author is recorded as the page's first open,
/// for the author's insights. A read that sends the page's edit token in `X-Edit-Token` is
/// its author's: never an open, and it sees the page whole, PIN and reveal time regardless.
/// A private page needs its PIN in `X-Page-Pin`; a page read before its reveal time answers
/// its design, names and the time only (`"locked": "scheduled"`).
#[utoipa::path(get, path = "/api/pages/{slug}", tag = "pages", params(PageSlug, MinPosition, PagePin), responses(
    (status = 200, description = "The page; or, before its reveal time, a `LockedPageResponse` (its design and names only)", body = PageResponse),
    (status = 401, description = "The page is private: its PIN is missing or wrong (`pin_required`)", body = ErrorBody),
    (status = 404, description = "No such page, or deleted", body = ErrorBody), BadPosition, RateLimited, Unavailable))]
pub(crate) async fn get_page(
    State(queries): State<PageQueries>,
    State(visits): State<PageVisits>,
    State(access): State<PageAccess>,
    caller: Caller,
    page: PageSlug,
    MinPosition { position }: MinPosition,
    ReaderKeys { author, pin }: ReaderKeys,
) -> Result<Response, ApiError> {
    let answer =
        queries.read(&page.key, &caller.key, position).await?.ok_or(ApiError::NotFound("Page not found"))?;
    let admission = access.admit(&page.key, &answer, author.as_ref(), pin.as_deref(), &caller.key).await?;
    // A read before the reveal time is a view, not an open: nothing of the page was shown.
    visits.visited(&page.key, answer.page_id, answer.opened || admission.scheduled, author);
    let json = if admission.scheduled { locked(&answer.json)? } else { answer.json };
    let json = PageResponse::with_one_more_view(&json).map_or(json, Bytes::from);
    Ok(([(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], json).into_response())
}

/// The answer to a read before the reveal time, from the page's whole answer `json`.
pub(crate) fn locked(json: &[u8]) -> Result<Bytes, ApiError> {
    let page: PageResponse = serde_json::from_slice(json).map_err(ApiError::internal)?;
    Ok(Bytes::from(serde_json::to_vec(&LockedPageResponse::of(page)).map_err(ApiError::internal)?))
}

/// Change any subset of a page's fields, with its edit token.
#[utoipa::path(patch, path = "/api/pages/{slug}", tag = "pages", params(PageSlug, EditTokenHeader),
    request_body = UpdatePageRequest,
    responses((status = 200, description = "The updated page", body = PageResponse, headers(("Valentine-Position" = u64, description = "The stream position of the event recorded: send it as Valentine-Min-Position on later reads"))), AuthorRefusals,
        (status = 409, description = "The page has reached its limit of changes (`MAX_EVENTS_PER_PAGE`); it can still be deleted", body = ErrorBody),
        BodyRefusals, RateLimited, Unavailable))]
pub(crate) async fn update_page(
    State(commands): State<PageCommands>,
    caller: Caller,
    author: Result<PageAuthor, ApiError>,
    Json(body): Json<UpdatePageRequest>,
) -> Result<Response, ApiError> {
    // A malformed body is refused first (by `Json`), then an unknown page, then the token.
    let PageAuthor { key, token } = author?;
    let changes = UpdatePage {
        edit_token: token,
        title: body.title,
        message: body.message,
        sender_name: body.sender_name.map(Option::unwrap_or_default),
        recipient_name: body.recipient_name.map(Option::unwrap_or_default),
        template_id: body.template_id,
        notify: None,
        song_url: body.song_url.map(Option::unwrap_or_default),
        reveal: body
            .reveal_at
            .map(|raw| RevealInput { raw: raw.unwrap_or_default(), now: OffsetDateTime::now_utc() }),
        pin: None,
    };
    let (updated, position) =
        commands.update(&key, changes, body.notify_email, body.pin, &caller.key).await?;
    Ok(with_position(json(StatusCode::OK, &PageResponse::from(&updated))?, position))
}

/// Delete a page, with its edit token; its slug is free again.
#[utoipa::path(delete, path = "/api/pages/{slug}", tag = "pages", params(PageSlug, EditTokenHeader),
    responses((status = 200, description = "Deleted", body = DeletedResponse, headers(("Valentine-Position" = u64, description = "The stream position of the event recorded: send it as Valentine-Min-Position on later reads"))), AuthorRefusals, RateLimited, Unavailable))]
pub(crate) async fn delete_page(
    State(commands): State<PageCommands>,
    caller: Caller,
    author: PageAuthor,
) -> Result<Response, ApiError> {
    let position = commands.delete(&author.key, author.token, &caller.key).await?;
    let answer = json(StatusCode::OK, &DeletedResponse { message: "Page deleted successfully".to_owned() })?;
    Ok(match position {
        Some(position) => with_position(answer, position),
        None => answer,
    })
}

/// The page's events, oldest first, for its author.
#[utoipa::path(get, path = "/api/pages/{slug}/history", tag = "pages", params(PageSlug, EditTokenHeader, MinPosition),
    responses((status = 200, description = "The page's events", body = HistoryResponse), AuthorRefusals, BadPosition, RateLimited, Unavailable))]
pub(crate) async fn page_history(
    State(queries): State<PageQueries>,
    State(exports): State<PageExports>,
    caller: Caller,
    author: PageAuthor,
    MinPosition { position }: MinPosition,
) -> Result<Response, ApiError> {
    let (row, events) = queries.history(&author.key, &author.token, &caller.key, position).await?;
    let mut changes = exports.changes(&author.key, row.page_id).await?;
    let events = events
        .into_iter()
        .map(|event| {
            let at = (
                u64::try_from(event.stream_sequence).unwrap_or_default(),
                usize::try_from(event.sequence).unwrap_or_default(),
            );
            let changed = changes.remove(&at).unwrap_or_default();
            HistoryEvent::of(event, changed)
        })
        .collect();
    json(StatusCode::OK, &HistoryResponse { slug: row.slug, page_id: row.page_id, events })
}

/// Bring back the page's words and design as they were after one event of its history: a
/// new change, so the history stays whole. Title, message, names, design and song come back;
/// the reveal time, PIN, photo and mail address stay as they are now.
#[utoipa::path(post, path = "/api/pages/{slug}/restore", tag = "pages", params(PageSlug, EditTokenHeader),
    request_body = RestoreRequest,
    responses((status = 200, description = "The page as restored", body = PageResponse, headers(("Valentine-Position" = u64, description = "The stream position of the event recorded: send it as Valentine-Min-Position on later reads"))), AuthorRefusals,
        (status = 409, description = "The page has reached its limit of changes", body = ErrorBody),
        BodyRefusals, RateLimited, Unavailable))]
pub(crate) async fn restore_page(
    State(commands): State<PageCommands>,
    State(exports): State<PageExports>,
    caller: Caller,
    author: Result<PageAuthor, ApiError>,
    Json(body): Json<RestoreRequest>,
) -> Result<Response, ApiError> {
    let PageAuthor { key, token } = author?;
    let then = exports.version(&key, &token, body.stream_sequence, &caller.key).await?;
    let changes = UpdatePage {
        title: Some(then.title),
        message: Some(then.message),
        sender_name: Some(then.sender_name.unwrap_or_default()),
        recipient_name: Some(then.recipient_name.unwrap_or_default()),
        template_id: Some(then.template_id.as_str().to_owned()),
        song_url: Some(then.song_url.unwrap_or_default()),
        ..UpdatePage::with_token(token)
    };
    let (restored, position) = commands.update(&key, changes, None, None, &caller.key).await?;
    Ok(with_position(json(StatusCode::OK, &PageResponse::from(&restored))?, position))
}

/// The page and every event of it, read from the event stream, for its author to keep: a
/// JSON file with everything the page ever said (the edit token's hash left out).
#[utoipa::path(get, path = "/api/pages/{slug}/export", tag = "pages", params(PageSlug, EditTokenHeader),
    responses((status = 200, description = "The page and its complete history", body = ExportResponse), AuthorRefusals, RateLimited, Unavailable))]
pub(crate) async fn export_page(
    State(exports): State<PageExports>,
    caller: Caller,
    author: PageAuthor,
) -> Result<Response, ApiError> {
    let export = exports.export(&author.key, &author.token, &caller.key).await?;
    let events = export
        .events
        .into_iter()
        .map(|e| ExportedEventResponse {
            sequence: e.sequence,
            stream_sequence: e.stream_sequence,
            event_type: e.event_type,
            event_version: e.event_version,
            occurred_at: e.occurred_at,
            command_id: e.command_id,
            data: e.data,
        })
        .collect();
    let body = ExportResponse {
        slug: export.page.slug.clone(),
        page_id: export.page.page_id,
        exported_at: export.exported_at,
        page: PageResponse::from(&export.page),
        events,
    };
    json(StatusCode::OK, &body)
}

/// The `Idempotency-Key` header, if sent: `400` unless 1 to 255 visible ASCII characters.
fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(value) = headers.get(IDEMPOTENCY_KEY) else { return Ok(None) };
    let key = value.to_str().map_err(|_| bad_idempotency_key())?;
    if key.is_empty() || key.len() > IDEMPOTENCY_KEY_MAX || !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(bad_idempotency_key());
    }
    // Whoever knows the key and the page's public content gets its edit token back from a
    // replay, so the key must be as hard to guess as the token: at least 128 bits.
    let url_safe = |b: u8| b.is_ascii_alphanumeric() || b == b'-' || b == b'_';
    if !(is_uuid(key) || (key.len() >= IDEMPOTENCY_KEY_MIN && key.bytes().all(url_safe))) {
        return Err(ApiError::invalid_field(
            "Idempotency-Key",
            format!(
                "Idempotency-Key must carry at least 128 random bits: a UUID, or {IDEMPOTENCY_KEY_MIN} or more \
                 letters, digits, '-' or '_' drawn at random"
            ),
        ));
    }
    Ok(Some(key.to_owned()))
}

/// Whether `key` is written as a UUID (`8-4-4-4-12` hexadecimal digits).
fn is_uuid(key: &str) -> bool {
    key.len() == 36
        && key.bytes().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => b == b'-',
            _ => b.is_ascii_hexdigit(),
        })
}

fn bad_idempotency_key() -> ApiError {
    ApiError::BadRequest(format!(
        "Idempotency-Key must be 1 to {IDEMPOTENCY_KEY_MAX} visible ASCII characters"
    ))
}

/// `body` as JSON with `status`.
pub(super) fn json(status: StatusCode, body: &impl Serialize) -> Result<Response, ApiError> {
    let bytes = serde_json::to_vec(body).map_err(ApiError::internal)?;
    Ok((status, [(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], bytes)
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idempotency_keys_are_short_visible_ascii_and_carry_128_bits() {
        let mut headers = HeaderMap::new();
        assert_eq!(idempotency_key(&headers).expect("absent is fine"), None);
        for good in
            ["5f0c2c1e-8d5b-4f7e-9c0e-2b1d7a6e3f10", "AbCdEfGhIjKlMnOpQrSt_-", "01JCOMMAND0123456789ABCDEF"]
        {
            headers.insert(IDEMPOTENCY_KEY, HeaderValue::from_static(good));
            assert_eq!(idempotency_key(&headers).expect("valid").as_deref(), Some(good));
        }
        for bad in ["", "a b", &"x".repeat(IDEMPOTENCY_KEY_MAX + 1)] {
            headers.insert(IDEMPOTENCY_KEY, HeaderValue::from_str(bad).expect("header"));
            assert_eq!(idempotency_key(&headers).expect_err("refused").code(), "bad_request", "{bad:?}");
        }
        for weak in ["1", "abc-123", "AbCdEfGhIjKlMnOpQrSt_", "AbCdEfGhIjKlMnOpQrSt:uv", "5f0c2c1e-8d5b-4f7e"]
        {
            headers.insert(IDEMPOTENCY_KEY, HeaderValue::from_str(weak).expect("header"));
            let refused = idempotency_key(&headers).expect_err("too weak");
            assert_eq!((refused.status().as_u16(), refused.code()), (422, "invalid"), "{weak:?}");
        }
    }
}
