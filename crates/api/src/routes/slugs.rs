//! `/api/slugs`: is a slug free, and what else would be.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use valentine_domain::{PageError, Slug, SlugError, suggestions};

use crate::client::Client;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{Path, Query};
use crate::rate_limit::Bucket;
use crate::read;
use crate::state::AppState;

/// Suggestions a taken or reserved slug comes with.
const CHECK_SUGGESTIONS: usize = 5;

/// Most suggestions `GET /api/slugs/suggest` gives.
const SUGGEST_MAX: usize = 10;

/// Longest slug echoed back in an answer; longer input is cut (it is invalid anyway).
const ECHO_MAX: usize = 60;

/// `GET /api/slugs/check/{slug}` answer.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SlugCheck {
    /// The slug asked about (cut short if absurdly long).
    pub slug: String,
    /// Whether a page can be created at it now.
    pub available: bool,
    /// Why not, in plain words; `null` when available.
    pub reason: Option<String>,
    /// Up to 5 available alternatives when it is taken or reserved.
    pub suggestions: Vec<String>,
}

/// `GET /api/slugs/suggest` answer.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Suggestions {
    /// Available slugs, best first.
    pub suggestions: Vec<String>,
}

/// Query of `GET /api/slugs/suggest`.
#[derive(Debug, Deserialize)]
pub struct SuggestQuery {
    /// What to base the suggestions on: any text.
    pub base: String,
    /// How many, 1–10 (default 5).
    pub count: Option<usize>,
}

/// Check whether a slug is available.
#[utoipa::path(
    get, path = "/api/slugs/check/{slug}", tag = "slugs",
    params(("slug" = String, Path, description = "The slug to check, exactly as it would be sent")),
    responses(
        (status = 200, description = "The verdict; invalid, reserved and taken slugs are `available: false` with a reason", body = SlugCheck),
        (status = 429, description = "Too many checks from this client", body = ErrorBody),
    )
)]
pub async fn check_slug(
    State(state): State<AppState>,
    client: Client,
    Path(raw): Path<String>,
) -> Result<Response, ApiError> {
    state.limiter().check(Bucket::SlugChecks, &client.key).await?;
    let echo: String = raw.chars().take(ECHO_MAX).collect();
    let answer = match Slug::parse(&raw) {
        Ok(slug) => {
            if read::slug_taken(&state, &slug.key()).await? {
                let suggestions = available_suggestions(&state, &raw, CHECK_SUGGESTIONS).await?;
                SlugCheck {
                    slug: echo,
                    available: false,
                    reason: Some(PageError::SlugTaken.to_string()),
                    suggestions,
                }
            } else {
                SlugCheck { slug: echo, available: true, reason: None, suggestions: Vec::new() }
            }
        }
        Err(SlugError::Reserved) => SlugCheck {
            slug: echo,
            available: false,
            reason: Some(SlugError::Reserved.to_string()),
            suggestions: available_suggestions(&state, &raw, CHECK_SUGGESTIONS).await?,
        },
        Err(e) => {
            SlugCheck { slug: echo, available: false, reason: Some(e.to_string()), suggestions: Vec::new() }
        }
    };
    Ok(axum::Json(answer).into_response())
}

/// Suggest available slugs based on any text.
#[utoipa::path(
    get, path = "/api/slugs/suggest", tag = "slugs", params(("base" = String, Query, description = "Any text to base suggestions on"), ("count" = Option<usize>, Query, description = "How many, 1 to 10 (default 5)")),
    responses(
        (status = 200, description = "Available slugs", body = Suggestions),
        (status = 400, description = "Missing base, or count outside 1–10", body = ErrorBody),
        (status = 429, description = "Too many checks from this client", body = ErrorBody),
    )
)]
pub async fn suggest_slugs(
    State(state): State<AppState>,
    client: Client,
    Query(query): Query<SuggestQuery>,
) -> Result<Response, ApiError> {
    let count = query.count.unwrap_or(CHECK_SUGGESTIONS);
    if !(1..=SUGGEST_MAX).contains(&count) {
        return Err(ApiError::BadRequest(format!("count must be between 1 and {SUGGEST_MAX}")));
    }
    state.limiter().check(Bucket::SlugChecks, &client.key).await?;
    let suggestions = available_suggestions(&state, &query.base, count).await?;
    Ok(axum::Json(Suggestions { suggestions }).into_response())
}

/// Up to `count` available alternatives to `base`. Bounded work for every input: a fixed
/// number of candidates, checked in one query (plus one more round with fresh random
/// numbers if most of them were taken).
async fn available_suggestions(state: &AppState, base: &str, count: usize) -> Result<Vec<String>, ApiError> {
    let mut found: Vec<String> = Vec::with_capacity(count);
    for round in 0..2 {
        let numbers: Vec<u32> = (0..if round == 0 { 2 } else { 8 }).map(|_| random_number()).collect();
        let candidates = suggestions(base, &numbers);
        let keys: Vec<&str> = candidates.iter().map(String::as_str).collect();
        let taken = read::taken(state, &keys).await?;
        for candidate in candidates {
            if found.len() == count {
                return Ok(found);
            }
            if !taken.contains(&candidate) && !found.contains(&candidate) {
                found.push(candidate);
            }
        }
    }
    Ok(found)
}

/// A number from 10 to 9999 for a suggestion suffix.
fn random_number() -> u32 {
    let mut bytes = [0u8; 4];
    // A failing random source only makes suggestions less varied.
    let _ = getrandom::fill(&mut bytes);
    10 + u32::from_le_bytes(bytes) % 9990
}
