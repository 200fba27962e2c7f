//! The OpenAPI document, generated from the handlers and types themselves.

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
        health::openapi_json,
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

impl ApiDoc {
    /// The document as JSON bytes, built once at start.
    pub(crate) fn json() -> bytes::Bytes {
        bytes::Bytes::from(serde_json::to_vec(&Self::openapi()).unwrap_or_default())
    }
}
