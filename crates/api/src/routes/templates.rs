//! `/api/templates`: the eight designs.
//!
//! They are part of the code, so the answers are built once at start and served from memory,
//! with `Cache-Control` letting browsers and proxies keep them for the spec's 24 hours.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;
use valentine_domain::{TEMPLATES, Template};

use crate::error::{ApiError, ErrorBody};
use crate::extract::Path;
use crate::state::AppState;

/// How long clients may cache template answers.
const CACHE_CONTROL: &str = "public, max-age=86400";

/// A design as the API lists it.
#[derive(Debug, Serialize, ToSchema)]
pub struct TemplateResponse {
    /// Stable id: classic, modern, playful, elegant, proposal, envelope, scratch, countdown.
    pub id: &'static str,
    /// Display name.
    pub name: &'static str,
    /// What it looks like or does.
    pub description: &'static str,
    /// Main colour, `#rrggbb`.
    pub primary_color: &'static str,
    /// Background colour, `#rrggbb`.
    pub secondary_color: &'static str,
    /// Font family of its lettering.
    pub font: &'static str,
    /// Whether visitors interact with it before the message shows.
    pub interactive: bool,
}

impl From<&Template> for TemplateResponse {
    fn from(t: &Template) -> Self {
        Self {
            id: t.id.as_str(),
            name: t.name,
            description: t.description,
            primary_color: t.primary_color,
            secondary_color: t.secondary_color,
            font: t.font,
            interactive: t.interactive,
        }
    }
}

/// `GET /api/templates` answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct TemplateList {
    /// All eight, in a fixed order.
    pub templates: Vec<TemplateResponse>,
}

/// The list answer, serialized.
pub fn list_json() -> Bytes {
    let list = TemplateList { templates: TEMPLATES.iter().map(TemplateResponse::from).collect() };
    Bytes::from(serde_json::to_vec(&list).unwrap_or_default())
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
#[utoipa::path(
    get, path = "/api/templates", tag = "templates",
    responses((status = 200, description = "All templates", body = TemplateList))
)]
pub async fn list_templates(State(state): State<AppState>) -> Response {
    cached_json(state.templates_json().clone())
}

/// One template.
#[utoipa::path(
    get, path = "/api/templates/{id}", tag = "templates",
    params(("id" = String, Path, description = "Template id")),
    responses(
        (status = 200, description = "The template", body = TemplateResponse),
        (status = 404, description = "No such template", body = ErrorBody),
    )
)]
pub async fn get_template(Path(id): Path<String>) -> Result<Response, ApiError> {
    let template =
        TEMPLATES.iter().find(|t| t.id.as_str() == id).ok_or(ApiError::NotFound("Template not found"))?;
    let body = serde_json::to_vec(&TemplateResponse::from(template)).map_err(ApiError::internal)?;
    Ok(cached_json(Bytes::from(body)))
}
