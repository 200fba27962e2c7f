//! Errors of the event store, and how they become cqrs-es errors.

use async_nats::jetstream::context::{PublishError, PublishErrorKind};
use async_nats::jetstream::{self, ErrorCode};
use cqrs_es::persist::PersistenceError;

use crate::envelope::MalformedCommit;

type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// What can go wrong talking to the event stream.
#[derive(Debug, thiserror::Error)]
pub enum EventStoreError {
    /// Another command appended to the aggregate after this one loaded it. Retry the command.
    #[error("the aggregate changed since it was loaded")]
    Conflict,
    /// JetStream did not answer, or the connection failed.
    #[error("the event stream is unavailable: {0}")]
    Unavailable(#[source] BoxError),
    /// JetStream refused the append for a reason other than concurrency.
    #[error("the event stream refused the append: {0}")]
    Rejected(#[source] BoxError),
    /// A stored message is not a well-formed commit.
    #[error("malformed event message at {0}")]
    Malformed(#[from] MalformedCommit),
    /// The aggregate id cannot be a subject token.
    #[error("invalid aggregate id {0:?}")]
    InvalidAggregateId(String),
    /// An aggregate's commits do not form one contiguous history.
    #[error("the history of {aggregate_id} is broken at aggregate sequence {sequence}")]
    BrokenHistory {
        /// Whose history.
        aggregate_id: String,
        /// The first sequence that is missing or out of place.
        sequence: usize,
    },
    /// A sealed event cannot be opened: its key is missing from the key store (restored from
    /// before it was written) or the ciphertext does not open.
    #[error("the event at stream sequence {stream_sequence} cannot be read: {reason}")]
    Unreadable {
        /// Where it is.
        stream_sequence: u64,
        /// Why.
        reason: String,
    },
    /// The stream could not be created or updated.
    #[error("cannot set up stream {stream}: {source}")]
    Setup {
        /// Which stream.
        stream: String,
        /// Why.
        #[source]
        source: BoxError,
    },
}

impl EventStoreError {
    pub(crate) fn unavailable(err: impl Into<BoxError>) -> Self {
        Self::Unavailable(err.into())
    }
}

impl From<EventStoreError> for PersistenceError {
    fn from(err: EventStoreError) -> Self {
        match err {
            EventStoreError::Conflict => Self::OptimisticLockError,
            EventStoreError::Unavailable(_) => Self::ConnectionError(Box::new(err)),
            EventStoreError::Malformed(_)
            | EventStoreError::BrokenHistory { .. }
            | EventStoreError::Unreadable { .. } => Self::DeserializationError(Box::new(err)),
            EventStoreError::Rejected(_)
            | EventStoreError::InvalidAggregateId(_)
            | EventStoreError::Setup { .. } => Self::UnknownError(Box::new(err)),
        }
    }
}

/// What a failed publish means for the append.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PublishFailure {
    /// Someone else wrote to the subject first.
    Conflict,
    /// The ack was lost or the server was busy: retrying with the same message id is safe.
    Retryable,
    /// The server is unreachable or the stream is gone.
    Unavailable,
    /// Anything else.
    Rejected,
}

/// Sorts a publish error. Both the standalone "wrong last sequence" (10071) and the clustered
/// variant for a concurrent in-flight write to the same subject (10164, which async-nats
/// reports as `Other`) are conflicts.
pub(crate) fn classify(err: &PublishError) -> PublishFailure {
    match err.kind() {
        PublishErrorKind::WrongLastSequence => PublishFailure::Conflict,
        PublishErrorKind::TimedOut | PublishErrorKind::MaxAckPending => PublishFailure::Retryable,
        PublishErrorKind::StreamNotFound | PublishErrorKind::BrokenPipe => PublishFailure::Unavailable,
        PublishErrorKind::Other => match server_error_code(err) {
            Some(ErrorCode::STREAM_WRONG_LAST_SEQUENCE | ErrorCode::STREAM_WRONG_LAST_SEQUENCE_CONSTANT) => {
                PublishFailure::Conflict
            }
            _ => PublishFailure::Rejected,
        },
        _ => PublishFailure::Rejected,
    }
}

fn server_error_code(err: &PublishError) -> Option<ErrorCode> {
    std::error::Error::source(err)?.downcast_ref::<jetstream::Error>().map(jetstream::Error::error_code)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server_error(err_code: u64) -> jetstream::Error {
        serde_json::from_value(serde_json::json!({
            "code": 400, "err_code": err_code, "description": "wrong last sequence"
        }))
        .expect("a server error")
    }

    #[test]
    fn both_wrong_last_sequence_codes_are_conflicts() {
        let standalone = PublishError::with_source(PublishErrorKind::WrongLastSequence, server_error(10071));
        assert_eq!(classify(&standalone), PublishFailure::Conflict);
        let clustered = PublishError::with_source(PublishErrorKind::Other, server_error(10164));
        assert_eq!(classify(&clustered), PublishFailure::Conflict);
    }

    #[test]
    fn other_failures_are_not_conflicts() {
        assert_eq!(classify(&PublishError::new(PublishErrorKind::TimedOut)), PublishFailure::Retryable);
        assert_eq!(
            classify(&PublishError::new(PublishErrorKind::StreamNotFound)),
            PublishFailure::Unavailable
        );
        let too_big = PublishError::with_source(PublishErrorKind::Other, server_error(10054));
        assert_eq!(classify(&too_big), PublishFailure::Rejected);
    }

    #[test]
    fn a_conflict_becomes_cqrs_es_optimistic_lock_error() {
        let err: PersistenceError = EventStoreError::Conflict.into();
        assert!(matches!(err, PersistenceError::OptimisticLockError));
    }
}
