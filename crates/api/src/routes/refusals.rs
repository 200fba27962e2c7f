//! Refusals several endpoints share, described once for the OpenAPI document. The answers
//! themselves are [`ApiError`](crate::error::ApiError)s; these types only name them.

use utoipa::IntoResponses;

use crate::error::ErrorBody;

/// How a request on a page with its edit token is refused.
#[derive(IntoResponses)]
#[expect(dead_code, reason = "describes answers for the OpenAPI document; never built")]
pub(crate) enum AuthorRefusals {
    /// No edit token
    #[response(status = 401)]
    MissingToken(ErrorBody),
    /// Wrong edit token
    #[response(status = 403)]
    WrongToken(ErrorBody),
    /// No such page
    #[response(status = 404)]
    NotFound(ErrorBody),
}

/// How a request with a JSON body is refused before anything is done with it.
#[derive(IntoResponses)]
#[expect(dead_code, reason = "describes answers for the OpenAPI document; never built")]
pub(crate) enum BodyRefusals {
    /// Malformed JSON or header
    #[response(status = 400)]
    Malformed(ErrorBody),
    /// Body too large
    #[response(status = 413)]
    TooLarge(ErrorBody),
    /// Body not JSON
    #[response(status = 415)]
    NotJson(ErrorBody),
    /// Content breaks the rules
    #[response(status = 422)]
    Invalid(ErrorBody),
}

/// Too many requests from this client; `Retry-After` says when to try again.
#[derive(IntoResponses)]
#[response(status = 429, headers(("Retry-After" = u64, description = "Seconds until a slot frees up")))]
#[expect(dead_code, reason = "describes answers for the OpenAPI document; never built")]
pub(crate) struct RateLimited(ErrorBody);

/// A service it needs is unavailable, or the backlog too large; retry after `Retry-After`.
#[derive(IntoResponses)]
#[response(status = 503, headers(("Retry-After" = u64, description = "Seconds after which a retry is sensible")))]
#[expect(dead_code, reason = "describes answers for the OpenAPI document; never built")]
pub(crate) struct Unavailable(ErrorBody);

/// A `Valentine-Min-Position` that is not a whole number.
#[derive(IntoResponses)]
#[response(status = 400)]
#[expect(dead_code, reason = "describes answers for the OpenAPI document; never built")]
pub(crate) struct BadPosition(ErrorBody);
