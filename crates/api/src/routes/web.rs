//! Everything outside the API: unknown API paths are a JSON `404`; with `WEB_DIST` set, every
//! other path belongs to the web app: its files, `index.html` for its own routes, and for
//! `/{slug}` an `index.html` carrying that page's link preview.

use std::path::Path;

use axum::body::Body;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tower::ServiceExt;
use tower_http::services::{ServeDir, ServeFile};
use valentine_domain::Slug;

use crate::caller::Caller;
use crate::error::ApiError;
use crate::preview::{self, Preview};
use crate::state::AppState;
use crate::use_cases::page_queries::PageAnswer;
use crate::wire::page::PageResponse;

/// Content-Security-Policy of the web app: its own scripts, styles, fonts and images only.
const WEB_CSP: &str = "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; \
    font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; frame-ancestors 'none'";

/// The router's fallback.
pub(super) async fn fallback(State(state): State<AppState>, mut request: Request) -> Response {
    let path = request.uri().path().to_owned();
    let for_web = path != "/api" && !path.starts_with("/api/");
    let Some(dist) = state.config.web_dist.clone().filter(|_| for_web) else {
        return ApiError::NotFound("Not found").into_response();
    };
    if !matches!(*request.method(), Method::GET | Method::HEAD) {
        return ApiError::MethodNotAllowed.into_response();
    }
    if !path.starts_with("/assets/") {
        // A link preview reads the page: within the reader's budget, like the API's own read.
        let (mut parts, body) = request.into_parts();
        if let Some(page) = app_page(&state, &dist, &path, &mut parts).await {
            return page;
        }
        request = Request::from_parts(parts, body);
    }
    // Vite puts content-hashed files under /assets/: they never change.
    let cache = if path.starts_with("/assets/") { "public, max-age=31536000, immutable" } else { "no-cache" };
    let files = ServeDir::new(&dist).fallback(ServeFile::new(dist.join("index.html")));
    let Ok(response) = files.oneshot(request).await;
    web_headers(response.map(Body::new), cache)
}

/// `/{slug}`, `/{slug}/edit` and `/{slug}/unsubscribe`, rendered from `index.html`; `None`
/// for any other path.
async fn app_page(state: &AppState, dist: &Path, path: &str, parts: &mut Parts) -> Option<Response> {
    let mut segments = path.trim_start_matches('/').split('/');
    let slug = Slug::parse(segments.next()?).ok()?;
    let rest = (segments.next(), segments.next());
    let index = tokio::fs::read_to_string(dist.join("index.html")).await.ok()?;
    let (status, html) = match rest {
        (None, None) => match read_page(state, parts, &slug).await {
            Ok(Some(answer)) => {
                let page: PageResponse = serde_json::from_slice(&answer.json).ok()?;
                let preview = Preview::of(&page, state.config.page_url(&page.slug));
                (StatusCode::OK, preview::render(&index, &preview))
            }
            // The app shows its friendly "not found"; crawlers see the status.
            Ok(None) => (StatusCode::NOT_FOUND, index),
            // Without the read model (or over the reader's budget) the app still loads and
            // asks the API itself.
            Err(_) => (StatusCode::OK, index),
        },
        (Some("edit" | "unsubscribe"), None) => (StatusCode::OK, preview::no_index(&index)),
        _ => return None,
    };
    let response =
        (status, [(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"))], html);
    Some(web_headers(response.into_response(), "no-cache"))
}

/// The page at `slug` for the reader who sent `parts`, within the reader's budget.
async fn read_page(state: &AppState, parts: &mut Parts, slug: &Slug) -> Result<Option<PageAnswer>, ApiError> {
    let caller = Caller::from_request_parts(parts, state).await?;
    state.queries.read(&slug.key(), &caller.key, None).await
}

fn web_headers(mut response: Response, cache: &'static str) -> Response {
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(WEB_CSP));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    response
}
