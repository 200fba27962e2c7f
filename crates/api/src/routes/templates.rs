//! `/api/templates`: the eight designs.
//!
//! They are part of the code, so the answers are built once at start and served from memory,
//! with `Cache-Control` letting browsers and proxies keep them for the spec's 24 hours.

use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use valentine_domain::TEMPLATES;

use crate::error::{ApiError, ErrorBody};
use crate::extract::Path;
use crate::state::AppState;
use crate::wire::template::{TemplateList, TemplateResponse};

/// How long clients may cache template answers.
const CACHE_CONTROL: &str = "public, max-age=86400";

/// The list answer, serialized.
pub(crate) fn list_json() -> Bytes {
    Bytes::from(serde_json::to_vec(&TemplateList::all()).unwrap_or_default())
}

fn cached_json(body: Bytes) -> Response {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("application/json")),
            (header::CACHE_CONTROL, HeaderValue::from_static(CACHE_CONTROL)),
        ],
        body,
    )
        .into_response()
}

/// List the templates.
#[utoipa::path(get, path = "/api/templates", tag = "templates",
    responses((status = 200, description = "All templates", body = TemplateList)))]
pub(crate) async fn list_templates(State(state): State<AppState>) -> Response {
    cached_json(state.templates_json.clone())
}

/// One template.
#[utoipa::path(get, path = "/api/templates/{id}", tag = "templates", params(("id" = String, Path, description = "Template id")),
    responses((status = 200, description = "The template", body = TemplateResponse),
        (status = 404, description = "No such template", body = ErrorBody)))]
pub(crate) async fn get_template(Path(id): Path<String>) -> Result<Response, ApiError> {
    let template =
        TEMPLATES.iter().find(|t| t.id.as_str() == id).ok_or(ApiError::NotFound("Template not found"))?;
    let body = serde_json::to_vec(&TemplateResponse::from(template)).map_err(ApiError::internal)?;
    Ok(cached_json(Bytes::from(body)))
}
