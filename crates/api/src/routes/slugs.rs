//! `/api/slugs`: is a slug free, and what else would be.

use axum::extract::State;
use axum::response::{IntoResponse, Response};

use crate::caller::Caller;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{MinPosition, Path, Query};
use crate::routes::refusals::{BadPosition, RateLimited, Unavailable};
use crate::use_cases::SlugChecks;
use crate::use_cases::slug_checks::CHECK_SUGGESTIONS;
use crate::wire::slug::{SlugCheck, SuggestQuery, Suggestions};

/// Most suggestions `GET /api/slugs/suggest` gives.
const SUGGEST_MAX: usize = 10;

/// Longest slug echoed back in an answer; longer input is cut (it is invalid anyway).
const ECHO_MAX: usize = 60;

/// Check whether a slug is available.
#[utoipa::path(get, path = "/api/slugs/check/{slug}", tag = "slugs",
    params(("slug" = String, Path, description = "The slug to check, exactly as it would be sent"), MinPosition),
    responses((status = 200, description = "The verdict; invalid, reserved and taken slugs are `available: false` with a reason", body = SlugCheck), BadPosition, RateLimited, Unavailable))]
pub(crate) async fn check_slug(
    State(slugs): State<SlugChecks>,
    caller: Caller,
    Path(raw): Path<String>,
    MinPosition { position }: MinPosition,
) -> Result<Response, ApiError> {
    let verdict = slugs.check(&raw, &caller.key, position).await?;
    let echo: String = raw.chars().take(ECHO_MAX).collect();
    let answer = SlugCheck {
        slug: echo,
        available: verdict.available,
        reason: verdict.reason,
        suggestions: verdict.suggestions,
    };
    Ok(axum::Json(answer).into_response())
}

/// Suggest available slugs based on any text.
#[utoipa::path(get, path = "/api/slugs/suggest", tag = "slugs",
    params(("base" = String, Query, description = "Any text to base suggestions on"), ("count" = Option<usize>, Query, minimum = 1, description = "How many, 1 to 10 (default 5); more is capped at 10")),
    responses((status = 200, description = "Available slugs", body = Suggestions),
        (status = 400, description = "Missing base, or a count of 0 (above 10 is capped at 10)", body = ErrorBody), RateLimited))]
pub(crate) async fn suggest_slugs(
    State(slugs): State<SlugChecks>,
    caller: Caller,
    Query(query): Query<SuggestQuery>,
) -> Result<Response, ApiError> {
    // Above the maximum is capped, as the original did; none at all is a mistake.
    let count = query.count.unwrap_or(CHECK_SUGGESTIONS).min(SUGGEST_MAX);
    if count == 0 {
        return Err(ApiError::BadRequest("count must be at least 1".to_owned()));
    }
    let suggestions = slugs.suggest(&query.base, count, &caller.key).await?;
    Ok(axum::Json(Suggestions { suggestions }).into_response())
}
