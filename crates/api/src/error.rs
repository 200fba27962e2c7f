//! `ApiError`: every way a request can fail, and the status and JSON body each one gets.
//!
//! Every error body is `{"detail": "<human readable>", "code": "<stable id>"}`, the shape the
//! original API used plus a machine-readable `code`; validation errors add `errors`, one entry
//! per broken rule. Internal failures are logged once here and reach the client only as a
//! generic message.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;
use valentine_domain::Violations;
use valentine_eventstore::EventStoreError;
use valentine_projections::ProjectionError;

type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// A failed request.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// `400`: the request is malformed (not JSON, bad header, bad query string).
    #[error("{0}")]
    BadRequest(String),
    /// `422`: well-formed, but the content breaks the rules; one entry per broken rule.
    #[error("{detail}")]
    Invalid {
        /// All broken rules in one sentence.
        detail: String,
        /// Each broken rule.
        errors: Vec<FieldError>,
    },
    /// `401`: the `X-Edit-Token` header is missing.
    #[error("The X-Edit-Token header is required")]
    MissingToken,
    /// `403`: the edit token is not this page's.
    #[error("Invalid edit token")]
    WrongToken,
    /// `404`: no such page, job, template or route.
    #[error("{0}")]
    NotFound(&'static str),
    /// `405`: the route exists, the method does not.
    #[error("Method not allowed")]
    MethodNotAllowed,
    /// `409`: a live page has the slug, in some casing.
    #[error("{0}")]
    SlugTaken(String),
    /// `409`: the slug is reserved for the site's own routes.
    #[error("{0}")]
    SlugReserved(String),
    /// `409`: a retried create (same `Idempotency-Key` and body) whose page has since been
    /// deleted; the retry must not create it again.
    #[error("This request already created a page, which has since been deleted")]
    AlreadyCreated,
    /// `409`: a create retried with an `Idempotency-Key` first used longer ago than replays
    /// are answered; the retry gets no edit token.
    #[error("This Idempotency-Key was first used too long ago to be replayed; send a new key")]
    IdempotencyKeyExpired,
    /// `409`: the page has recorded as many changes as one page may (`MAX_EVENTS_PER_PAGE`).
    #[error("This page has reached its limit of {0} changes; it can still be deleted")]
    TooManyChanges(u32),
    /// `409`: the page has its reply already; a page takes one.
    #[error("This page has already been answered")]
    AlreadyAnswered,
    /// `409`: the reply does not fit the page's design (it changed since the page was read).
    #[error("{0}")]
    WrongAnswer(&'static str),
    /// `401`: the page is private and the request did not bring its PIN (`X-Page-Pin`), or
    /// brought another.
    #[error("{0}")]
    PinRequired(&'static str),
    /// `409`: a reveal time of the right shape that is no time ahead, or too far ahead.
    #[error("{0}")]
    RevealOutOfRange(&'static str),
    /// `409`: the reveal time has come; it can no longer change.
    #[error("This page has opened already: its reveal time can no longer change")]
    AlreadyRevealed,
    /// `409` (`403` for its photo): the page has not opened yet.
    #[error("This page has not opened yet")]
    NotRevealed,
    /// `403`: the page's photo is asked for before the page opens.
    #[error("This page has not opened yet: its photo shows once it does")]
    PhotoNotRevealed,
    /// `413`, `415` or `422`: an image the photo upload refuses.
    #[error("{detail}")]
    BadPhoto {
        /// The status.
        status: u16,
        /// The stable code.
        code: &'static str,
        /// What is wrong, in plain words.
        detail: String,
    },
    /// `451`: a moderator took the page down.
    #[error("This page was taken down by its moderators")]
    TakenDown,
    /// `409`: the page is taken down already.
    #[error("This page is taken down already")]
    AlreadyTakenDown,
    /// `409`: the page is not taken down: there is nothing to reinstate.
    #[error("This page is not taken down")]
    NotTakenDown,
    /// `409`: a parked event decided already (retried, resolved or skipped).
    #[error("{0}")]
    NotParked(String),
    /// `401`: an admin route was called without `Authorization: Bearer <admin token>`.
    #[error("An admin token is required (Authorization: Bearer <token>)")]
    AdminTokenRequired,
    /// `403`: the bearer token is not an admin token of this server.
    #[error("Invalid admin token")]
    WrongAdminToken,
    /// `403`: this server has no admin tokens (`ADMIN_TOKEN_HASH` is empty).
    #[error("Admin access is off on this server: ADMIN_TOKEN_HASH is empty")]
    AdminDisabled,
    /// `403`: an unsubscribe link that is not (or no longer) the page's.
    #[error("This unsubscribe link is not valid for this page")]
    WrongUnsubscribeLink,
    /// `503`: this process serves as many live streams as it may; retry later.
    #[error("Too many live updates are open right now; try again in a moment")]
    TooManyStreams,
    /// `413`: the body is larger than the limit.
    #[error("Request body is too large")]
    PayloadTooLarge,
    /// `415`: the body is not declared as JSON.
    #[error("Request body must be JSON (Content-Type: application/json)")]
    UnsupportedMediaType,
    /// `429`: too many requests from this client; `Retry-After` says when to try again.
    #[error("Too many requests; try again in {retry_after} seconds")]
    RateLimited {
        /// Seconds until a slot frees up.
        retry_after: u64,
    },
    /// `503`: a service the request needs is unreachable, or the request timed out; safe to
    /// retry (creates with the same `Idempotency-Key`).
    #[error("{detail}")]
    Unavailable {
        /// What is unavailable, in plain words.
        detail: &'static str,
        /// Seconds after which a retry is sensible.
        retry_after: u64,
        /// The cause, for the log only.
        #[source]
        source: Option<BoxError>,
    },
    /// `503`: the request asked for a read model position (`Valentine-Min-Position`) this
    /// node's read model has not reached within the sync wait; safe to retry at once.
    #[error("This server has not caught up with your latest change yet; try again in a moment")]
    Behind,
    /// `503`: the event store refuses new events (full, or over a limit); safe to retry later.
    #[error("The event store is not accepting new events right now; try again later")]
    StoreRefusing(#[source] BoxError),
    /// `500`: a bug or an unexpected failure; logged with its cause, never shown.
    #[error("internal error: {0}")]
    Internal(#[source] BoxError),
}

/// One broken rule of a request's content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct FieldError {
    /// The field, as named in the request.
    pub field: String,
    /// What is wrong with it, fit to show as is.
    pub message: String,
}

/// The body of every error response.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ErrorBody {
    /// What went wrong, fit to show to people.
    pub detail: String,
    /// A stable identifier of the kind of error, e.g. `slug_taken`.
    pub code: &'static str,
    /// For `422`: each broken rule.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<FieldError>>,
}

impl ApiError {
    /// A `500` from any error.
    pub fn internal(err: impl Into<BoxError>) -> Self {
        Self::Internal(err.into())
    }

    /// A `503` with a cause for the log.
    pub fn unavailable(detail: &'static str, err: impl Into<BoxError>) -> Self {
        Self::Unavailable { detail, retry_after: 1, source: Some(err.into()) }
    }

    /// A `422` from the domain's content rules.
    pub fn invalid(violations: &Violations) -> Self {
        let errors = violations
            .as_slice()
            .iter()
            .map(|v| FieldError { field: v.field().as_str().to_owned(), message: v.to_string() })
            .collect();
        Self::Invalid { detail: violations.to_string(), errors }
    }

    /// A `422` about one field.
    pub fn invalid_field(field: &str, message: impl Into<String>) -> Self {
        let message = message.into();
        Self::Invalid {
            detail: message.clone(),
            errors: vec![FieldError { field: field.to_owned(), message }],
        }
    }

    /// The status this error is answered with.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Invalid { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            Self::MissingToken | Self::AdminTokenRequired => StatusCode::UNAUTHORIZED,
            Self::WrongToken
            | Self::WrongUnsubscribeLink
            | Self::PhotoNotRevealed
            | Self::WrongAdminToken
            | Self::AdminDisabled => StatusCode::FORBIDDEN,
            Self::TakenDown => StatusCode::UNAVAILABLE_FOR_LEGAL_REASONS,
            Self::PinRequired(_) => StatusCode::UNAUTHORIZED,
            Self::AlreadyRevealed | Self::NotRevealed | Self::RevealOutOfRange(_) => StatusCode::CONFLICT,
            Self::BadPhoto { status, .. } => {
                StatusCode::from_u16(*status).unwrap_or(StatusCode::UNPROCESSABLE_ENTITY)
            }
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::SlugTaken(_)
            | Self::SlugReserved(_)
            | Self::AlreadyCreated
            | Self::IdempotencyKeyExpired
            | Self::TooManyChanges(_)
            | Self::AlreadyAnswered
            | Self::AlreadyTakenDown
            | Self::NotTakenDown
            | Self::NotParked(_)
            | Self::WrongAnswer(_) => StatusCode::CONFLICT,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Unavailable { .. } | Self::Behind | Self::StoreRefusing(_) | Self::TooManyStreams => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The stable `code` of the body.
    pub fn code(&self) -> &'static str {
        match self {
            Self::BadRequest(_) => "bad_request",
            Self::Invalid { .. } => "invalid",
            Self::MissingToken => "missing_token",
            Self::WrongToken => "wrong_token",
            Self::NotFound(_) => "not_found",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::SlugTaken(_) => "slug_taken",
            Self::SlugReserved(_) => "slug_reserved",
            Self::AlreadyCreated => "already_created",
            Self::IdempotencyKeyExpired => "idempotency_key_expired",
            Self::TooManyChanges(_) => "too_many_changes",
            Self::AlreadyAnswered => "already_answered",
            Self::WrongAnswer(_) => "wrong_answer",
            Self::WrongUnsubscribeLink => "wrong_token",
            Self::TakenDown => "taken_down",
            Self::AlreadyTakenDown => "already_taken_down",
            Self::NotTakenDown => "not_taken_down",
            Self::NotParked(_) => "not_parked",
            Self::AdminTokenRequired => "admin_token_required",
            Self::WrongAdminToken => "wrong_admin_token",
            Self::AdminDisabled => "admin_disabled",
            Self::PinRequired(_) => "pin_required",
            Self::AlreadyRevealed => "already_revealed",
            Self::RevealOutOfRange(_) => "reveal_out_of_range",
            Self::NotRevealed | Self::PhotoNotRevealed => "not_revealed",
            Self::BadPhoto { code, .. } => code,
            Self::TooManyStreams => "unavailable",
            Self::PayloadTooLarge => "payload_too_large",
            Self::UnsupportedMediaType => "unsupported_media_type",
            Self::RateLimited { .. } => "rate_limited",
            Self::Unavailable { .. } | Self::StoreRefusing(_) => "unavailable",
            Self::Behind => "behind",
            Self::Internal(_) => "internal",
        }
    }
}

/// Seconds a client is asked to wait when the event store refuses new events: an operator
/// has to act, so there is no point in retrying at once.
const STORE_REFUSING_RETRY_AFTER: u64 = 30;

/// What a `503` says when the event store cannot be reached.
const EVENT_STORE_UNAVAILABLE: &str = "The event store is unavailable; try again shortly";

/// What a `503` says when the read model cannot be read.
const READ_MODEL_UNAVAILABLE: &str = "The read model is unavailable; try again shortly";

impl From<EventStoreError> for ApiError {
    fn from(err: EventStoreError) -> Self {
        Self::unavailable(EVENT_STORE_UNAVAILABLE, err)
    }
}

impl From<ProjectionError> for ApiError {
    fn from(err: ProjectionError) -> Self {
        match err {
            // The projectors' position comes from the event stream.
            ProjectionError::Stream(_) => Self::unavailable(EVENT_STORE_UNAVAILABLE, err),
            _ => Self::unavailable(READ_MODEL_UNAVAILABLE, err),
        }
    }
}

impl ApiError {
    /// A `503` about the event store, for failures of NATS calls made directly.
    pub fn event_store_unavailable(err: impl Into<BoxError>) -> Self {
        Self::unavailable(EVENT_STORE_UNAVAILABLE, err)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let (detail, errors, retry_after) = match &self {
            Self::Internal(cause) => {
                tracing::error!(error = %cause, cause = ?cause, "request failed");
                ("Internal server error".to_owned(), None, None)
            }
            Self::Unavailable { detail, retry_after, source } => {
                if let Some(cause) = source {
                    tracing::warn!(error = %cause, "{detail}");
                }
                ((*detail).to_owned(), None, Some(*retry_after))
            }
            Self::StoreRefusing(cause) => {
                tracing::error!(error = %cause, "the event store refuses new events");
                (self.to_string(), None, Some(STORE_REFUSING_RETRY_AFTER))
            }
            Self::Invalid { detail, errors } => (detail.clone(), Some(errors.clone()), None),
            Self::RateLimited { retry_after } => (self.to_string(), None, Some(*retry_after)),
            Self::Behind => (self.to_string(), None, Some(1)),
            Self::TooManyStreams => (self.to_string(), None, Some(10)),
            _ => (self.to_string(), None, None),
        };
        let body = ErrorBody { detail, code: self.code(), errors };
        let mut response = (status, axum::Json(body)).into_response();
        if let Some(seconds) = retry_after {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds.max(1)));
        }
        response
    }
}
