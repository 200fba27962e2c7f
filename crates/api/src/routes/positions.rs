//! Read-your-writes at the HTTP edge: write answers carry `Valentine-Position`; reads take
//! `Valentine-Min-Position` (parsed by [`MinPosition`](crate::extract::MinPosition)) and
//! hand it to their use case, which waits for the read model after the caller's budget.

use axum::http::HeaderValue;
use axum::response::Response;

use crate::extract::POSITION;

/// `response` with the stream position of the event the write recorded.
pub(crate) fn with_position(mut response: Response, position: u64) -> Response {
    response.headers_mut().insert(POSITION, HeaderValue::from(position));
    response
}
