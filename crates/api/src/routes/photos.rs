//! `/api/pages/{slug}/photo`: the page's photo, attached, replaced or removed by its author,
//! and served to its readers.

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use valentine_media::photo::MAX_UPLOAD_BYTES;

use crate::caller::Caller;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{EditTokenHeader, PageAuthor, PagePin, PageSlug, ReaderKeys};
use crate::routes::pages::json;
use crate::routes::positions::with_position;
use crate::routes::refusals::{AuthorRefusals, RateLimited, Unavailable};
use crate::use_cases::PagePhotos;
use crate::use_cases::page_photos::Served;
use crate::wire::page::PageResponse;

/// An uploaded image, as the request body's schema: any bytes (whether they are an image
/// of the declared type only decoding can tell: `415` or `422` otherwise).
#[derive(utoipa::ToSchema)]
#[schema(value_type = String, format = Binary)]
#[expect(dead_code, reason = "only its schema is used")]
pub(crate) struct PhotoUpload(Vec<u8>);

/// Content-Security-Policy of a served photo: an image, never a document.
const PHOTO_CSP: &str = "default-src 'none'; sandbox";

/// Attach or replace the page's photo: the raw image as the body (JPEG, PNG, WebP or GIF, at
/// most 8 MiB), with its edit token. The server decodes it, turns it upright, shrinks it to
/// fit 1600 pixels and re-encodes it (JPEG, or PNG with transparency) without any metadata.
#[utoipa::path(put, path = "/api/pages/{slug}/photo", tag = "pages", params(PageSlug, EditTokenHeader),
    request_body(description = "The image, at most 8 MiB", content(
        (PhotoUpload = "image/jpeg"), (PhotoUpload = "image/png"), (PhotoUpload = "image/webp"), (PhotoUpload = "image/gif"))),
    responses((status = 200, description = "The page with its photo", body = PageResponse, headers(("Valentine-Position" = u64, description = "The stream position of the event recorded: send it as Valentine-Min-Position on later reads"))),
        AuthorRefusals,
        (status = 409, description = "The page has reached its limit of changes", body = ErrorBody),
        (status = 413, description = "More than 8 MiB (`payload_too_large`)", body = ErrorBody),
        (status = 415, description = "Not JPEG, PNG, WebP or GIF, or not the type declared (`unsupported_media_type`, `type_mismatch`)", body = ErrorBody),
        (status = 422, description = "Over 8192 pixels a side or 24 megapixels (`too_many_pixels`), or damaged (`undecodable`)", body = ErrorBody),
        RateLimited, Unavailable))]
pub(crate) async fn put_photo(
    State(photos): State<PagePhotos>,
    caller: Caller,
    author: PageAuthor,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let content_type =
        headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    photos.may_upload(&author.key, &author.token, &caller.key).await?;
    let upload = axum::body::to_bytes(body, MAX_UPLOAD_BYTES + 1).await.map_err(|e| {
        if std::error::Error::source(&e).is_some_and(|s| s.is::<http_body_util::LengthLimitError>()) {
            ApiError::BadPhoto {
                status: 413,
                code: "payload_too_large",
                detail: "Photos can be at most 8 MB".to_owned(),
            }
        } else {
            ApiError::BadRequest("The upload was cut short".to_owned())
        }
    })?;
    let (page, position) = photos.upload(&author.key, author.token, &content_type, upload).await?;
    Ok(with_position(json(StatusCode::OK, &PageResponse::from(&page))?, position))
}

/// Remove the page's photo, with its edit token.
#[utoipa::path(delete, path = "/api/pages/{slug}/photo", tag = "pages", params(PageSlug, EditTokenHeader),
    responses((status = 200, description = "The page without a photo", body = PageResponse, headers(("Valentine-Position" = u64, description = "The stream position of the event recorded: send it as Valentine-Min-Position on later reads"))),
        AuthorRefusals,
        (status = 409, description = "The page has reached its limit of changes", body = ErrorBody),
        RateLimited, Unavailable))]
pub(crate) async fn delete_photo(
    State(photos): State<PagePhotos>,
    caller: Caller,
    author: PageAuthor,
) -> Result<Response, ApiError> {
    let (page, position) = photos.remove(&author.key, author.token, &caller.key).await?;
    Ok(with_position(json(StatusCode::OK, &PageResponse::from(&page))?, position))
}

/// The page's photo. With the `v` its page names, it never changes and is cached for a year
/// (privately for a page with a PIN); its ETag is its SHA-256.
#[utoipa::path(get, path = "/api/pages/{slug}/photo", tag = "pages", params(PageSlug, PagePin,
        ("v" = Option<String>, Query, description = "The version the page's `photo.url` names")),
    responses((status = 200, description = "The image", content_type = "image/jpeg"),
        (status = 304, description = "The copy named in If-None-Match is current"),
        (status = 401, description = "The page is private: its PIN is missing or wrong (`pin_required`)", body = ErrorBody),
        (status = 403, description = "The page has not opened yet (`not_revealed`)", body = ErrorBody),
        (status = 404, description = "No such page, or it has no photo", body = ErrorBody),
        RateLimited, Unavailable))]
pub(crate) async fn get_photo(
    State(photos): State<PagePhotos>,
    caller: Caller,
    page: PageSlug,
    headers: HeaderMap,
    ReaderKeys { author, pin }: ReaderKeys,
    axum::extract::RawQuery(query): axum::extract::RawQuery,
) -> Result<Response, ApiError> {
    let if_none_match = headers.get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok());
    let served = photos.serve(&page.key, author.as_ref(), pin.as_deref(), &caller.key, if_none_match).await?;
    let versioned = |sha256: &str| {
        query.as_deref().and_then(|q| q.split('&').find_map(|p| p.strip_prefix("v="))) == sha256.get(..16)
    };
    let caching = |sha256: &str, private: bool| match (versioned(sha256), private) {
        (true, false) => "public, max-age=31536000, immutable",
        (true, true) => "private, max-age=31536000, immutable",
        (false, _) => "no-cache",
    };
    let (status, body, content_type, sha256, private) = match served {
        Served::NotModified { sha256, private } => {
            (StatusCode::NOT_MODIFIED, Body::empty(), None, sha256, private)
        }
        Served::Photo { bytes, content_type, sha256, private } => {
            (StatusCode::OK, Body::from(bytes), Some(content_type), sha256, private)
        }
    };
    let mut response = (status, body).into_response();
    let out = response.headers_mut();
    if let Some(content_type) = content_type.and_then(|t| HeaderValue::from_str(&t).ok()) {
        out.insert(header::CONTENT_TYPE, content_type);
    }
    if let Ok(etag) = HeaderValue::from_str(&format!("\"{sha256}\"")) {
        out.insert(header::ETAG, etag);
    }
    out.insert(header::CACHE_CONTROL, HeaderValue::from_static(caching(&sha256, private)));
    out.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(PHOTO_CSP));
    out.insert("cross-origin-resource-policy", HeaderValue::from_static("same-origin"));
    out.insert(header::CONTENT_DISPOSITION, HeaderValue::from_static("inline"));
    if private {
        out.insert(header::VARY, HeaderValue::from_static("X-Page-Pin"));
    }
    Ok(response)
}
