//! `/api/pages`: create, read, update, delete, and the author's history.

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Deserializer, Serialize};
use ulid::Ulid;
use utoipa::ToSchema;
use valentine_domain::{
    CreatePage, DeletePage, EditToken, EditTokenHash, PageCommand, PageError, Slug, SlugError, UpdatePage,
};
use valentine_eventstore::envelope::format_timestamp;
use valentine_projections::{PageRow, pages};

use crate::client::Client;
use crate::commands::{self, Kind};
use crate::error::{ApiError, ErrorBody};
use crate::extract::{Json, Path};
use crate::rate_limit::Bucket;
use crate::read;
use crate::secret::fresh_token;
use crate::state::AppState;

/// Header carrying the edit token.
pub const EDIT_TOKEN: &str = "x-edit-token";

/// Header making a create safe to retry.
pub const IDEMPOTENCY_KEY: &str = "idempotency-key";

/// Longest accepted `Idempotency-Key`.
const IDEMPOTENCY_KEY_MAX: usize = 255;

/// A page as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PageResponse {
    /// The page's id: unique for each page ever created, even at a reused slug.
    pub id: i64,
    /// The slug in the author's casing.
    pub slug: String,
    /// Title, 1–100 characters.
    pub title: String,
    /// Message, 1–2000 characters.
    pub message: String,
    /// Who it is from.
    pub sender_name: Option<String>,
    /// Who it is for.
    pub recipient_name: Option<String>,
    /// One of the eight template ids.
    pub template_id: String,
    /// When it was created (RFC 3339, UTC).
    pub created_at: String,
    /// When it last changed (RFC 3339, UTC).
    pub updated_at: String,
    /// Views counted so far; trails the views received by about a second.
    pub view_count: i64,
}

impl From<&PageRow> for PageResponse {
    fn from(row: &PageRow) -> Self {
        Self {
            id: row.page_id,
            slug: row.slug.clone(),
            title: row.title.clone(),
            message: row.message.clone(),
            sender_name: row.sender_name.clone(),
            recipient_name: row.recipient_name.clone(),
            template_id: row.template_id.clone(),
            created_at: row.created_at.clone(),
            updated_at: row.updated_at.clone(),
            view_count: row.view_count,
        }
    }
}

/// `POST /api/pages` body. Text is trimmed; blank counts as missing.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct CreatePageRequest {
    /// 3–50 letters, digits and inner hyphens; unique in any casing.
    #[serde(default)]
    pub slug: Option<String>,
    /// Required, 1–100 characters.
    #[serde(default)]
    pub title: Option<String>,
    /// Required, 1–2000 characters.
    #[serde(default)]
    pub message: Option<String>,
    /// Optional, at most 50 characters.
    #[serde(default)]
    pub sender_name: Option<String>,
    /// Optional, at most 50 characters.
    #[serde(default)]
    pub recipient_name: Option<String>,
    /// One of the eight template ids; `classic` when absent.
    #[serde(default)]
    pub template_id: Option<String>,
}

/// `201`: the page exists and shows in reads.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CreatedResponse {
    /// The new page.
    pub page: PageResponse,
    /// The secret that edits or deletes it; shown only in this answer.
    pub edit_token: String,
    /// Where it is shared.
    pub url: String,
}

/// `202`: the page is stored but not yet visible; poll the job.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct QueuedResponse {
    /// Poll `GET /api/pages/job/{job_id}`.
    pub job_id: String,
    /// Always `queued`.
    pub status: String,
    /// What to do, in plain words.
    pub message: String,
    /// The secret that edits or deletes the page; keep it.
    pub edit_token: String,
}

/// `PATCH /api/pages/{slug}` body: any subset of the fields. A blank or `null` name removes
/// it; `null` title, message or template leaves them as they are.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct UpdatePageRequest {
    /// New title, 1–100 characters.
    #[serde(default)]
    pub title: Option<String>,
    /// New message, 1–2000 characters.
    #[serde(default)]
    pub message: Option<String>,
    /// New sender name; blank or `null` removes it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub sender_name: Option<Option<String>>,
    /// New recipient name; blank or `null` removes it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub recipient_name: Option<Option<String>>,
    /// New template id.
    #[serde(default)]
    pub template_id: Option<String>,
}

/// Tells a field set to `null` (`Some(None)`) from an absent one (`None`).
fn present<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(deserializer).map(Some)
}

/// `DELETE /api/pages/{slug}` answer.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct DeletedResponse {
    /// Confirmation.
    pub message: String,
}

/// One event in a page's history.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct HistoryEvent {
    /// The page's own sequence: 1 for its creation, then 2, 3, …
    pub sequence: i64,
    /// Where the event sits in the whole event stream.
    pub stream_sequence: i64,
    /// `PageCreated`, `PageUpdated` or `PageDeleted`.
    pub event_type: String,
    /// When it happened (RFC 3339, UTC).
    pub occurred_at: String,
    /// The fields it set.
    pub changed_fields: Vec<String>,
}

/// `GET /api/pages/{slug}/history` answer.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct HistoryResponse {
    /// The slug in the author's casing.
    pub slug: String,
    /// The page's id.
    pub page_id: i64,
    /// Its events, oldest first.
    pub events: Vec<HistoryEvent>,
}

/// The lowercase key of a slug in a path, or `404` for anything that cannot be a page.
fn page_key(raw: &str) -> Result<String, ApiError> {
    Slug::parse(raw).map(|s| s.key()).map_err(|_| ApiError::NotFound("Page not found"))
}

/// The `X-Edit-Token` header: `401` when absent or blank.
fn edit_token(headers: &HeaderMap) -> Result<EditToken, ApiError> {
    let value = headers.get(EDIT_TOKEN).ok_or(ApiError::MissingToken)?;
    let text = value.to_str().map_err(|_| ApiError::WrongToken)?.trim();
    if text.is_empty() {
        return Err(ApiError::MissingToken);
    }
    Ok(EditToken::presented(text))
}

fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(value) = headers.get(IDEMPOTENCY_KEY) else { return Ok(None) };
    let key = value.to_str().map_err(|_| bad_idempotency_key())?;
    if key.is_empty() || key.len() > IDEMPOTENCY_KEY_MAX || !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(bad_idempotency_key());
    }
    Ok(Some(key.to_owned()))
}

fn bad_idempotency_key() -> ApiError {
    ApiError::BadRequest(format!(
        "Idempotency-Key must be 1 to {IDEMPOTENCY_KEY_MAX} visible ASCII characters"
    ))
}

fn json(status: StatusCode, body: &impl Serialize) -> Result<Response, ApiError> {
    let bytes = serde_json::to_vec(body).map_err(ApiError::internal)?;
    Ok((status, [(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], bytes)
        .into_response())
}

/// Create a page.
///
/// Answers `201` once the page shows in reads, or `202` with a job id when the projection
/// has not caught up within the sync wait; either way the page is stored and the answer
/// carries its edit token. Send an `Idempotency-Key` to make retries safe: the same key with
/// the same body creates at most one page and gets the same answer.
#[utoipa::path(
    post, path = "/api/pages", tag = "pages",
    request_body = CreatePageRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes retries of this create safe")),
    responses(
        (status = 201, description = "Created and visible", body = CreatedResponse),
        (status = 202, description = "Stored; not yet visible: poll the job", body = QueuedResponse),
        (status = 400, description = "Malformed JSON or header", body = ErrorBody),
        (status = 409, description = "Slug taken or reserved", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 415, description = "Body not JSON", body = ErrorBody),
        (status = 422, description = "Content breaks the rules", body = ErrorBody),
        (status = 429, description = "Too many creates from this client", body = ErrorBody),
        (status = 503, description = "Event store unavailable; retry", body = ErrorBody),
    )
)]
pub async fn create_page(
    State(state): State<AppState>,
    client: Client,
    headers: HeaderMap,
    Json(body): Json<CreatePageRequest>,
) -> Result<Response, ApiError> {
    let raw_slug = body.slug.as_deref().ok_or_else(|| ApiError::invalid_field("slug", "slug is required"))?;
    let slug = Slug::parse(raw_slug).map_err(|e| match e {
        SlugError::Reserved => ApiError::Conflict(e.to_string()),
        _ => ApiError::invalid_field("slug", e.to_string()),
    })?;
    let idempotency = idempotency_key(&headers)?;
    let (command_id, token) = match &idempotency {
        Some(key) => {
            let fingerprint = serde_json::to_vec(&body).map_err(ApiError::internal)?;
            let derived = state.secret().idempotent_create(key, &fingerprint);
            (derived.command_id, derived.edit_token)
        }
        None => (Ulid::new(), fresh_token().map_err(ApiError::internal)?),
    };
    let command = CreatePage {
        slug,
        title: body.title.unwrap_or_default(),
        message: body.message.unwrap_or_default(),
        sender_name: body.sender_name,
        recipient_name: body.recipient_name,
        template_id: body.template_id,
        edit_token_hash: token.hash(),
    };
    let event = command.check().map_err(|e| match e {
        PageError::Invalid(v) => ApiError::invalid(&v),
        other => ApiError::internal(other),
    })?;
    let slug_key = command.aggregate_id();

    // A retry of a create that already went through is answered as the first time was,
    // without using quota.
    if idempotency.is_some()
        && let Some(event) =
            pages::event_of_command(state.db(), &command_id.to_string()).await.map_err(read::read_failed)?
    {
        let row = read::row(&state, &event.slug_key).await?;
        return created(&state, row, u64::try_from(event.page_id).unwrap_or_default(), command_id, &token);
    }

    state.limiter().check(Bucket::Pages, &client.key).await?;
    let receipt =
        match commands::execute(&state, Kind::Create, &slug_key, PageCommand::Create(command), command_id)
            .await
        {
            Ok(Some(receipt)) => receipt,
            Ok(None) => return Err(ApiError::internal("a create recorded no event")),
            Err(ApiError::Conflict(taken)) if idempotency.is_some() => {
                commands::earlier_attempt(&state, &slug_key, command_id)
                    .await?
                    .ok_or(ApiError::Conflict(taken))?
            }
            Err(e) => return Err(e),
        };
    if !commands::await_projection(&state, &slug_key, receipt.stream_sequence).await? {
        return json(
            StatusCode::ACCEPTED,
            &QueuedResponse {
                job_id: command_id.to_string(),
                status: "queued".to_owned(),
                message: "Your page is saved and will be live in a moment; poll the job for its status"
                    .to_owned(),
                edit_token: token.expose().to_owned(),
            },
        );
    }
    match receipt.timestamp {
        // This attempt stored the page: the answer is what it stored, as the read model now
        // shows it, without reading it back.
        Some(at) => {
            let timestamp = format_timestamp(at);
            let page = PageResponse {
                id: i64::try_from(receipt.stream_sequence).map_err(ApiError::internal)?,
                slug: event.slug,
                title: event.title,
                message: event.message,
                sender_name: event.sender_name,
                recipient_name: event.recipient_name,
                template_id: event.template_id.as_str().to_owned(),
                created_at: timestamp.clone(),
                updated_at: timestamp,
                view_count: 0,
            };
            let url = state.config().page_url(&page.slug);
            json(StatusCode::CREATED, &CreatedResponse { page, edit_token: token.expose().to_owned(), url })
        }
        // An earlier attempt stored it: answer from the read model.
        None => {
            let row = read::row(&state, &slug_key).await?;
            created(&state, row, receipt.stream_sequence, command_id, &token)
        }
    }
}

/// The `201` answer, provided `row` is still the page created at `page_id`.
fn created(
    state: &AppState,
    row: Option<PageRow>,
    page_id: u64,
    command_id: Ulid,
    token: &EditToken,
) -> Result<Response, ApiError> {
    let row =
        row.filter(|r| u64::try_from(r.page_id).ok() == Some(page_id) && !r.deleted).ok_or_else(|| {
            tracing::info!(%command_id, "a retried create's page has since been deleted");
            ApiError::Conflict("This request already created a page, which has since been deleted".to_owned())
        })?;
    let url = state.config().page_url(&row.slug);
    json(
        StatusCode::CREATED,
        &CreatedResponse { page: PageResponse::from(&row), edit_token: token.expose().to_owned(), url },
    )
}

/// Read a page, and count the view.
#[utoipa::path(
    get, path = "/api/pages/{slug}", tag = "pages", params(("slug" = String, Path, description = "The page's slug, in any casing")),
    responses(
        (status = 200, description = "The page", body = PageResponse),
        (status = 404, description = "No such page, or deleted", body = ErrorBody),
    )
)]
pub async fn get_page(State(state): State<AppState>, Path(raw): Path<String>) -> Result<Response, ApiError> {
    let slug_key = page_key(&raw)?;
    let answer = read::page(&state, &slug_key).await?.ok_or(ApiError::NotFound("Page not found"))?;
    state.views().count(&slug_key, answer.page_id);
    state.metrics().view();
    Ok(([(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], answer.json).into_response())
}

/// Change any subset of a page's fields, with its edit token.
#[utoipa::path(
    patch, path = "/api/pages/{slug}", tag = "pages", params(("slug" = String, Path, description = "The page's slug, in any casing"), ("X-Edit-Token" = String, Header)),
    request_body = UpdatePageRequest,
    responses(
        (status = 200, description = "The updated page", body = PageResponse),
        (status = 401, description = "No edit token", body = ErrorBody),
        (status = 403, description = "Wrong edit token", body = ErrorBody),
        (status = 404, description = "No such page", body = ErrorBody),
        (status = 422, description = "Content breaks the rules", body = ErrorBody),
    )
)]
pub async fn update_page(
    State(state): State<AppState>,
    Path(raw): Path<String>,
    headers: HeaderMap,
    Json(body): Json<UpdatePageRequest>,
) -> Result<Response, ApiError> {
    let slug_key = page_key(&raw)?;
    let token = edit_token(&headers)?;
    let command = UpdatePage {
        edit_token: token,
        title: body.title,
        message: body.message,
        sender_name: body.sender_name.map(Option::unwrap_or_default),
        recipient_name: body.recipient_name.map(Option::unwrap_or_default),
        template_id: body.template_id,
    };
    let receipt =
        commands::execute(&state, Kind::Update, &slug_key, PageCommand::Update(command), Ulid::new()).await?;
    let projected = match receipt {
        Some(r) => commands::projected_row(&state, &slug_key, r.stream_sequence).await?,
        None => None,
    };
    let page = match projected.filter(|r| !r.deleted) {
        Some(row) => PageResponse::from(&row),
        // Not projected yet (or nothing changed and the read model may trail): the stream
        // has the authoritative content.
        None => commands::current_page(&state, &slug_key, read::row(&state, &slug_key).await?).await?,
    };
    json(StatusCode::OK, &page)
}

/// Delete a page, with its edit token; its slug is free again.
#[utoipa::path(
    delete, path = "/api/pages/{slug}", tag = "pages", params(("slug" = String, Path, description = "The page's slug, in any casing"), ("X-Edit-Token" = String, Header)),
    responses(
        (status = 200, description = "Deleted", body = DeletedResponse),
        (status = 401, description = "No edit token", body = ErrorBody),
        (status = 403, description = "Wrong edit token", body = ErrorBody),
        (status = 404, description = "No such page", body = ErrorBody),
    )
)]
pub async fn delete_page(
    State(state): State<AppState>,
    Path(raw): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let slug_key = page_key(&raw)?;
    let token = edit_token(&headers)?;
    let command = PageCommand::Delete(DeletePage { edit_token: token });
    if let Some(receipt) = commands::execute(&state, Kind::Delete, &slug_key, command, Ulid::new()).await? {
        // Answer once reads agree, when that comes within the sync wait; the deletion is
        // stored either way.
        commands::await_projection(&state, &slug_key, receipt.stream_sequence).await?;
    }
    json(StatusCode::OK, &DeletedResponse { message: "Page deleted successfully".to_owned() })
}

/// The page's events, oldest first, for its author.
#[utoipa::path(
    get, path = "/api/pages/{slug}/history", tag = "pages", params(("slug" = String, Path, description = "The page's slug, in any casing"), ("X-Edit-Token" = String, Header)),
    responses(
        (status = 200, description = "The page's events", body = HistoryResponse),
        (status = 401, description = "No edit token", body = ErrorBody),
        (status = 403, description = "Wrong edit token", body = ErrorBody),
        (status = 404, description = "No such page", body = ErrorBody),
    )
)]
pub async fn page_history(
    State(state): State<AppState>,
    Path(raw): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let slug_key = page_key(&raw)?;
    let token = edit_token(&headers)?;
    let row = read::live_page(&state, &slug_key).await?.ok_or(ApiError::NotFound("Page not found"))?;
    let hash = EditTokenHash::from_hex(&row.edit_token_hash).map_err(ApiError::internal)?;
    if !hash.matches(&token) {
        return Err(ApiError::WrongToken);
    }
    let events = pages::history(state.db(), &slug_key, row.page_id).await.map_err(read::read_failed)?;
    let events = events
        .into_iter()
        .map(|e| HistoryEvent {
            sequence: e.sequence,
            stream_sequence: e.stream_sequence,
            event_type: e.event_type,
            occurred_at: e.occurred_at,
            changed_fields: serde_json::from_str(&e.changed_fields).unwrap_or_default(),
        })
        .collect();
    json(StatusCode::OK, &HistoryResponse { slug: row.slug, page_id: row.page_id, events })
}
