//! The share kit: a page's link-preview image (`/{slug}/og.png`) and a QR code of its link.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

use crate::caller::Caller;
use crate::config::ApiConfig;
use crate::error::{ApiError, ErrorBody};
use crate::extract::PageSlug;
use crate::routes::refusals::{RateLimited, Unavailable};
use crate::use_cases::PageShare;

/// The page's link-preview image: 1200×630 PNG in its design's colours and lettering, with
/// its title; for a private page or one not yet opened, the generic card.
#[utoipa::path(get, path = "/{slug}/og.png", tag = "share", params(PageSlug,
        ("v" = Option<String>, Query, description = "The version the page's preview names; changes with its title and design")),
    responses((status = 200, description = "The image", content_type = "image/png"),
        (status = 404, description = "No such page", body = ErrorBody), RateLimited, Unavailable))]
pub(crate) async fn og_image(
    State(share): State<PageShare>,
    caller: Caller,
    page: PageSlug,
) -> Result<Response, ApiError> {
    let preview = share.preview(&page.key, &caller.key).await?;
    let mut response =
        ([(header::CONTENT_TYPE, HeaderValue::from_static("image/png"))], preview.png).into_response();
    let out = response.headers_mut();
    // Short-lived: the same address shows the page's current title; the page names a `v`
    // that changes with it.
    out.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=300"));
    if let Ok(etag) = HeaderValue::from_str(&format!("\"{}\"", preview.version)) {
        out.insert(header::ETAG, etag);
    }
    Ok(response)
}

/// A QR code of the page's link, as SVG.
#[utoipa::path(get, path = "/api/pages/{slug}/qr.svg", tag = "share", params(PageSlug),
    responses((status = 200, description = "The QR code", content_type = "image/svg+xml"),
        (status = 404, description = "No such page", body = ErrorBody), RateLimited, Unavailable))]
pub(crate) async fn qr_code(
    State(share): State<PageShare>,
    State(config): State<Arc<ApiConfig>>,
    caller: Caller,
    page: PageSlug,
) -> Result<Response, ApiError> {
    let svg = share.qr_code(&page.key, &config.page_url(&page.key), &caller.key).await?;
    let disposition = format!("inline; filename=\"{}-qr.svg\"", page.key);
    let mut response =
        ([(header::CONTENT_TYPE, HeaderValue::from_static("image/svg+xml; charset=utf-8"))], svg)
            .into_response();
    let out = response.headers_mut();
    out.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=3600"));
    out.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'; sandbox"),
    );
    if let Ok(value) = HeaderValue::from_str(&disposition) {
        out.insert(header::CONTENT_DISPOSITION, value);
    }
    Ok(response)
}
