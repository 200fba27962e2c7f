//! Everything outside the API: unknown API paths are a JSON `404`; with `WEB_DIST` set, every
//! other path belongs to the web app: its files, `index.html` for its own routes, and for
//! `/{slug}` an `index.html` carrying that page's link preview.

use std::path::Path;

use axum::body::Body;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderName, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use time::OffsetDateTime;
use tower::ServiceExt;
use tower_http::services::{ServeDir, ServeFile};
use valentine_domain::Slug;
use valentine_media::og::Design;

use crate::caller::Caller;
use crate::error::ApiError;
use crate::preview::{self, Preview};
use crate::state::AppState;
use crate::use_cases::page_queries::PageAnswer;
use crate::use_cases::page_share::preview_version;
use crate::wire::page::PageResponse;

/// Content-Security-Policy of the web app: its own scripts, styles, fonts and images only
/// (photos shown from memory too), and frames from exactly the four song players' hosts
/// ([`valentine_domain::song::EMBED_HOSTS`]).
const WEB_CSP: &str = "default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; \
    font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; frame-ancestors 'none'; \
    frame-src https://open.spotify.com https://www.youtube-nocookie.com https://embed.music.apple.com \
    https://w.soundcloud.com";

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
    let first = segments.next()?;
    if first == "admin" {
        // The console: never indexed, never previewed.
        let index = tokio::fs::read_to_string(dist.join("index.html")).await.ok()?;
        let response = (
            StatusCode::OK,
            [
                (header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8")),
                (HeaderName::from_static("x-robots-tag"), HeaderValue::from_static("noindex")),
            ],
            preview::no_index(&index),
        );
        return Some(web_headers(response.into_response(), "no-cache"));
    }
    let slug = Slug::parse(first).ok()?;
    let rest = (segments.next(), segments.next());
    let index = tokio::fs::read_to_string(dist.join("index.html")).await.ok()?;
    let (status, html) = match rest {
        (None, None) => match read_page(state, parts, &slug).await {
            // Taken down: nothing of it in the preview, and the app explains (its API read
            // answers 451 too, except to the author).
            Ok(Some(answer)) if answer.taken_down => {
                let url = state.config.page_url(slug.as_str());
                let image = format!("{url}/og.png");
                let html = preview::render(&index, &Preview::generic(url, image));
                (StatusCode::UNAVAILABLE_FOR_LEGAL_REASONS, preview::no_index(&html))
            }
            Ok(Some(answer)) => {
                let page: PageResponse = serde_json::from_slice(&answer.json).ok()?;
                let url = state.config.page_url(&page.slug);
                // A private page, or one not yet opened, shows nothing of itself to crawlers,
                // and asks not to be indexed.
                let waiting =
                    answer.reveal_at.is_some_and(|at| at > OffsetDateTime::now_utc().unix_timestamp());
                let private = answer.pin || waiting;
                let design = Design::from_id(&page.template_id).unwrap_or(Design::Classic);
                let version = preview_version(design, (!private).then_some(page.title.as_str()));
                let image = format!("{url}/og.png?v={version}");
                if private {
                    let html = preview::render(&index, &Preview::generic(url, image));
                    (StatusCode::OK, preview::no_index(&html))
                } else {
                    (StatusCode::OK, preview::render(&index, &Preview::of(&page, url, image)))
                }
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

#[cfg(test)]
mod tests {
    use valentine_domain::song::EMBED_HOSTS;

    use super::*;

    #[test]
    fn the_web_app_frames_exactly_the_song_players() {
        let frames = WEB_CSP.split(';').find_map(|d| d.trim().strip_prefix("frame-src ")).expect("frame-src");
        let allowed: Vec<&str> = frames.split_whitespace().collect();
        let expected: Vec<String> = EMBED_HOSTS.iter().map(|h| format!("https://{h}")).collect();
        assert_eq!(allowed, expected);
    }
}
