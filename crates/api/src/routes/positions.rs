//! Read-your-writes at the HTTP edge: write answers carry `Valentine-Position`, and reads
//! that send `Valentine-Min-Position` wait for this node's read model (see
//! [`ReadPositions`]).

use axum::extract::{FromRef, FromRequestParts};
use axum::http::HeaderValue;
use axum::http::request::Parts;
use axum::response::Response;

use crate::error::ApiError;
use crate::extract::{MinPosition, POSITION};
use crate::use_cases::ReadPositions;

/// A read whose `Valentine-Min-Position`, if it sent one, the read model has reached: the
/// position, for the cache to take only answers as recent.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Synced(pub(crate) Option<u64>);

impl<S: Send + Sync> FromRequestParts<S> for Synced
where
    ReadPositions: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let MinPosition { position } = MinPosition::from_request_parts(parts, state).await?;
        ReadPositions::from_ref(state).reach(position).await?;
        Ok(Self(position))
    }
}

/// `response` with the stream position of the event the write recorded.
pub(crate) fn with_position(mut response: Response, position: u64) -> Response {
    response.headers_mut().insert(POSITION, HeaderValue::from(position));
    response
}
