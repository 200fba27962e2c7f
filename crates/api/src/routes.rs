//! The router: every route, the fallbacks, and the layers around them.
//!
//! # Layout
//! - [`pages`]: create, read, update, delete, history.
//! - [`insights`]: the recipient's reply, the author's insights (live too), unsubscribing.
//! - [`photos`]: the page's photo: attached, replaced, removed, served.
//! - [`share`]: the link-preview image and the QR code of a page.
//! - [`jobs`]: job status of a `202`.
//! - [`slugs`]: availability and suggestions.
//! - [`templates`]: the eight designs.
//! - [`reports`]: anyone reports a page to its moderators.
//! - [`admin`]: the console: the stream browser, time travel, reports and decisions.
//! - [`health`]: liveness, readiness, metrics, the OpenAPI document.
//! - [`web`]: the web app and its link previews, and `404` for unknown API paths.

pub(crate) mod admin;
pub(crate) mod health;
pub(crate) mod insights;
pub(crate) mod jobs;
pub(crate) mod pages;
pub(crate) mod photos;
mod positions;
mod refusals;
pub(crate) mod reports;
pub(crate) mod share;
pub(crate) mod slugs;
pub(crate) mod templates;
mod web;

use std::any::Any;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{HeaderName, HeaderValue, Method, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

use crate::error::ApiError;
use crate::extract::{EDIT_TOKEN, MIN_POSITION, PAGE_PIN, POSITION};
use crate::metrics::Metrics;
use crate::state::AppState;

/// Longest a request may take before it is answered `503`. A create waits at most the sync
/// wait for its projection, plus its append.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);

/// Content-Security-Policy of API answers: JSON only, never framed.
const API_CSP: &str = "default-src 'none'; frame-ancestors 'none'";

/// The whole application.
pub(crate) fn router(state: AppState) -> Router {
    let config = state.config.clone();
    let api = Router::new()
        .route("/api/templates", get(templates::list_templates))
        .route("/api/templates/{id}", get(templates::get_template))
        .route("/api/slugs/check/{slug}", get(slugs::check_slug))
        .route("/api/slugs/suggest", get(slugs::suggest_slugs))
        .route("/api/pages", post(pages::create_page))
        .route("/api/pages/job/{job_id}", get(jobs::job_status))
        .route("/api/pages/{slug}", get(pages::get_page).patch(pages::update_page).delete(pages::delete_page))
        .route("/api/pages/{slug}/history", get(pages::page_history))
        .route("/api/pages/{slug}/restore", post(pages::restore_page))
        .route("/api/pages/{slug}/export", get(pages::export_page))
        .route("/api/pages/{slug}/answer", post(insights::answer_page))
        .route("/api/pages/{slug}/insights", get(insights::page_insights))
        .route("/api/pages/{slug}/insights/stream", get(insights::insights_stream))
        .route("/api/pages/{slug}/unsubscribe", post(insights::unsubscribe))
        .route(
            "/api/pages/{slug}/photo",
            get(photos::get_photo).put(photos::put_photo).delete(photos::delete_photo),
        )
        .route("/api/pages/{slug}/qr.svg", get(share::qr_code))
        .route("/api/pages/{slug}/report", post(reports::report_page))
        .route("/api/admin/session", get(admin::session))
        .route("/api/admin/pages", get(admin::search_pages))
        .route("/api/admin/pages/{slug}/events", get(admin::page_events))
        .route("/api/admin/pages/{slug}/as-of", get(admin::page_as_of))
        .route("/api/admin/pages/{slug}/reports", get(admin::page_reports))
        .route("/api/admin/pages/{slug}/take-down", post(admin::take_down))
        .route("/api/admin/pages/{slug}/reinstate", post(admin::reinstate))
        .route("/api/admin/reports", get(admin::reports))
        .route("/api/admin/messages/{sequence}", get(admin::message))
        .route("/api/admin/streams", get(admin::streams))
        .route("/api/admin/lag", get(admin::lag))
        .route("/api/admin/parked", get(admin::parked))
        .route("/api/admin/parked/{consumer}/{sequence}/retry", post(admin::retry_parked))
        .route("/api/admin/parked/{consumer}/{sequence}/skip", post(admin::skip_parked))
        .route("/{slug}/og.png", get(share::og_image))
        .route("/api/openapi.json", get(health::openapi_json))
        .route("/health", get(health::health))
        .route("/ready", get(health::ready))
        .route("/metrics", get(health::metrics))
        .fallback(web::fallback)
        .method_not_allowed_fallback(method_not_allowed);

    let app = api.layer(middleware::from_fn(no_index_for_admin));

    app.layer(
        ServiceBuilder::new()
            .layer(CatchPanicLayer::custom(panicked))
            .layer(middleware::from_fn_with_state(state.metrics.clone(), observe))
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

/// The console's answers are never indexed, whatever links to them.
async fn no_index_for_admin(request: Request, next: Next) -> Response {
    let admin = request.uri().path().starts_with("/api/admin/");
    let mut response = next.run(request).await;
    if admin {
        response
            .headers_mut()
            .insert(HeaderName::from_static("x-robots-tag"), HeaderValue::from_static("noindex"));
    }
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
async fn observe(State(metrics): State<Metrics>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let route = request.extensions().get::<MatchedPath>().map_or("unmatched", MatchedPath::as_str).to_owned();
    let response = next.run(request).await;
    metrics.request(&method, route, response.status().as_u16(), started.elapsed());
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
        .allow_methods([Method::GET, Method::POST, Method::PUT, Method::PATCH, Method::DELETE])
        .allow_headers([
            header::CONTENT_TYPE,
            HeaderName::from_static(EDIT_TOKEN),
            HeaderName::from_static(PAGE_PIN),
            HeaderName::from_static(pages::IDEMPOTENCY_KEY),
            HeaderName::from_static(MIN_POSITION),
        ])
        .expose_headers([header::RETRY_AFTER, HeaderName::from_static(POSITION), header::DATE, header::ETAG])
        .max_age(Duration::from_secs(600))
}
