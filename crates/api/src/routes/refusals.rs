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
