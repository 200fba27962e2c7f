//! The router: every route, the fallbacks, and the layers around them.
//!
//! # Layout
//! - [`pages`]: create, read, update, delete, history.
//! - [`jobs`]: job status of a `202`.
//! - [`slugs`]: availability and suggestions.
//! - [`templates`]: the eight designs.
//! - [`health`]: liveness, readiness, metrics.

pub mod health;
pub mod jobs;
pub mod pages;
pub mod slugs;
pub mod templates;

use std::any::Any;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{HeaderName, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use tower::{ServiceBuilder, ServiceExt};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::services::{ServeDir, ServeFile};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

use valentine_domain::Slug;

use crate::error::ApiError;
use crate::routes::pages::PageResponse;
use crate::share::{self, Preview};
use crate::state::AppState;
use crate::{openapi, read};

/// Longest a request may take before it is answered `503`. A create waits at most the sync
/// wait for its projection, plus its append.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);

/// Content-Security-Policy of API answers: JSON only, never framed.
const API_CSP: &str = "default-src 'none'; frame-ancestors 'none'";

/// Content-Security-Policy of the web app: its own scripts, styles, fonts and images only.
const WEB_CSP: &str = "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; \
    font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; frame-ancestors 'none'";

/// The whole application.
pub fn router(state: AppState) -> Router {
    let config = state.config().clone();
    let api = Router::new()
        .route("/api/templates", get(templates::list_templates))
        .route("/api/templates/{id}", get(templates::get_template))
        .route("/api/slugs/check/{slug}", get(slugs::check_slug))
        .route("/api/slugs/suggest", get(slugs::suggest_slugs))
        .route("/api/pages", post(pages::create_page))
        .route("/api/pages/job/{job_id}", get(jobs::job_status))
        .route("/api/pages/{slug}", get(pages::get_page).patch(pages::update_page).delete(pages::delete_page))
        .route("/api/pages/{slug}/history", get(pages::page_history))
        .route("/api/openapi.json", get(openapi::serve))
        .route("/health", get(health::health))
        .route("/ready", get(health::ready))
        .route("/metrics", get(health::metrics))
        .fallback(fallback)
        .method_not_allowed_fallback(method_not_allowed);

    let app = api;

    app.layer(
        ServiceBuilder::new()
            .layer(CatchPanicLayer::custom(panicked))
            .layer(middleware::from_fn_with_state(state.clone(), observe))
            .layer(TraceLayer::new_for_http().make_span_with(|request: &Request| {
                let route = request.extensions().get::<MatchedPath>().map_or("", MatchedPath::as_str);
                tracing::info_span!("request", method = %request.method(), route)
            }))
            .layer(middleware::from_fn(time_limit))
            .layer(cors(&config.allowed_origins))
            .layer(SetResponseHeaderLayer::overriding(
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ))
            .layer(SetResponseHeaderLayer::overriding(
                header::X_FRAME_OPTIONS,
                HeaderValue::from_static("DENY"),
            ))
            .layer(SetResponseHeaderLayer::overriding(
                header::REFERRER_POLICY,
                HeaderValue::from_static("no-referrer"),
            ))
            .layer(SetResponseHeaderLayer::overriding(
                HeaderName::from_static("cross-origin-opener-policy"),
                HeaderValue::from_static("same-origin"),
            ))
            .layer(SetResponseHeaderLayer::if_not_present(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(API_CSP),
            ))
            .layer(SetResponseHeaderLayer::if_not_present(
                header::CACHE_CONTROL,
                HeaderValue::from_static("no-store"),
            ))
            .layer(DefaultBodyLimit::max(config.max_body_bytes)),
    )
    .with_state(state)
}

/// Unknown API paths are a JSON `404`; with `WEB_DIST` set, every other path belongs to the
/// web app: its files, `index.html` for its own routes, and for `/{slug}` an `index.html`
/// carrying that page's link preview.
async fn fallback(State(state): State<AppState>, request: Request) -> Response {
    let path = request.uri().path().to_owned();
    let for_web = path != "/api" && !path.starts_with("/api/");
    let Some(dist) = state.config().web_dist.clone().filter(|_| for_web) else {
        return ApiError::NotFound("Not found").into_response();
    };
    if !matches!(*request.method(), Method::GET | Method::HEAD) {
        return ApiError::MethodNotAllowed.into_response();
    }
    if let Some(page) = app_page(&state, &dist, &path).await {
        return page;
    }
    // Vite puts content-hashed files under /assets/: they never change.
    let cache = if path.starts_with("/assets/") { "public, max-age=31536000, immutable" } else { "no-cache" };
    let files = ServeDir::new(&dist).fallback(ServeFile::new(dist.join("index.html")));
    let Ok(response) = files.oneshot(request).await;
    web_headers(response.map(Body::new), cache)
}

/// `/{slug}` and `/{slug}/edit`, rendered from `index.html`; `None` for any other path.
async fn app_page(state: &AppState, dist: &std::path::Path, path: &str) -> Option<Response> {
    let mut segments = path.trim_start_matches('/').split('/');
    let slug = Slug::parse(segments.next()?).ok()?;
    let rest = (segments.next(), segments.next());
    let index = tokio::fs::read_to_string(dist.join("index.html")).await.ok()?;
    let (status, html) = match rest {
        (None, None) => match read::page(state, &slug.key()).await {
            Ok(Some(answer)) => {
                let page: PageResponse = serde_json::from_slice(&answer.json).ok()?;
                let preview = Preview::of(&page, state.config().page_url(&page.slug));
                (StatusCode::OK, share::render(&index, &preview))
            }
            // The app shows its friendly "not found"; crawlers see the status.
            Ok(None) => (StatusCode::NOT_FOUND, index),
            // Without the read model the app still loads and asks the API itself.
            Err(_) => (StatusCode::OK, index),
        },
        (Some("edit"), None) => (StatusCode::OK, share::no_index(&index)),
        _ => return None,
    };
    let response =
        (status, [(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"))], html);
    Some(web_headers(response.into_response(), "no-cache"))
}

fn web_headers(mut response: Response, cache: &'static str) -> Response {
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(WEB_CSP));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    response
}

async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}

fn panicked(_: Box<dyn Any + Send + 'static>) -> Response {
    tracing::error!("a request handler panicked");
    ApiError::internal("handler panicked").into_response()
}

/// Records each request's latency by its route pattern (never the raw path).
async fn observe(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let route = request.extensions().get::<MatchedPath>().map_or("unmatched", MatchedPath::as_str).to_owned();
    let response = next.run(request).await;
    state.metrics().request(&method, route, response.status().as_u16(), started.elapsed());
    response
}

async fn time_limit(request: Request, next: Next) -> Response {
    match tokio::time::timeout(REQUEST_TIMEOUT, next.run(request)).await {
        Ok(response) => response,
        Err(_) => ApiError::Unavailable {
            detail: "The request took too long; try again",
            retry_after: 1,
            source: None,
        }
        .into_response(),
    }
}

fn cors(origins: &[String]) -> CorsLayer {
    let origins: Vec<HeaderValue> =
        origins.iter().filter_map(|o| HeaderValue::from_str(o.trim()).ok()).collect();
    CorsLayer::new()
        .allow_origin(AllowOrigin::list(origins))
        .allow_methods([Method::GET, Method::POST, Method::PATCH, Method::DELETE])
        .allow_headers([
            header::CONTENT_TYPE,
            HeaderName::from_static(pages::EDIT_TOKEN),
            HeaderName::from_static(pages::IDEMPOTENCY_KEY),
        ])
        .expose_headers([header::RETRY_AFTER])
        .max_age(Duration::from_secs(600))
}
