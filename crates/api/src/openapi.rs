//! The OpenAPI document, generated from the handlers and types themselves.

use axum::response::{IntoResponse, Response};
use utoipa::OpenApi;

use crate::error::{ErrorBody, FieldError};
use crate::routes::{health, jobs, pages, slugs, templates};

/// Valentine's HTTP API.
#[derive(Debug, OpenApi)]
#[openapi(
    info(
        title = "Valentine",
        description = "Shareable pages for loved ones. Every error answers `{\"detail\": …, \"code\": …}`."
    ),
    paths(
        templates::list_templates,
        templates::get_template,
        slugs::check_slug,
        slugs::suggest_slugs,
        pages::create_page,
        jobs::job_status,
        pages::get_page,
        pages::update_page,
        pages::delete_page,
        pages::page_history,
        health::health,
        health::ready,
        health::metrics,
        serve,
    ),
    components(schemas(ErrorBody, FieldError)),
    tags(
        (name = "pages", description = "Create, read, change and delete pages"),
        (name = "slugs", description = "Slug availability and suggestions"),
        (name = "templates", description = "The eight designs"),
        (name = "operations", description = "Health, readiness, metrics and this document"),
    )
)]
pub struct ApiDoc;

/// This document.
#[utoipa::path(get, path = "/api/openapi.json", tag = "operations", responses((status = 200, description = "OpenAPI 3.1 JSON")))]
pub async fn serve() -> Response {
    axum::Json(ApiDoc::openapi()).into_response()
}
