//! Errors of the projector workers and the rebuild.

use valentine_eventstore::EventStoreError;
use valentine_projections::ProjectionError;

type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// What stops a projector worker or a rebuild.
#[derive(Debug, thiserror::Error)]
pub enum ProjectorError {
    /// NATS or JetStream failed.
    #[error("NATS: {0}")]
    Nats(#[source] BoxError),
    /// The event store failed.
    #[error(transparent)]
    EventStore(#[from] EventStoreError),
    /// The read model failed.
    #[error(transparent)]
    Projection(#[from] ProjectionError),
    /// A stored message cannot be read, so the history cannot be rebuilt from the stream.
    #[error("unreadable {feed} message: {source}")]
    Unreadable {
        /// Which feed it belongs to.
        feed: &'static str,
        /// What is wrong with it.
        #[source]
        source: BoxError,
    },
    /// A sealed event's data key is not in the key store.
    #[error("data key {0} is not in the key store (restored from before it was written?)")]
    KeyMissing(String),
    /// A replayed history is not in order: the stream is damaged.
    #[error("the stream's history is out of order at stream sequence {0}")]
    OutOfOrder(u64),
    /// Redis refuses the login: `REDIS_PASSWORD` is wrong, or missing. Cache invalidation
    /// would fail for ever and the API serve stale pages, so the projector does not start.
    #[error("Redis refuses the login (check REDIS_PASSWORD): {0}")]
    RedisLogin(#[source] redis::RedisError),
    /// Live projectors did not settle in time for a rebuild's final step.
    #[error("projectors did not finish their in-flight batches within {0:?}")]
    NotSettled(std::time::Duration),
    /// The live projectors' pause could not be renewed in time: a rebuild does not swap in
    /// (the live read model goes on), a verification does not compare.
    #[error(
        "the live projectors' pause could not be kept (JetStream did not take its renewal in time); nothing was swapped in"
    )]
    PauseLost,
    /// A rebuild or verification of this read model is running already.
    #[error(
        "a rebuild or verification of this read model is running already; try again once it has finished"
    )]
    RebuildRunning,
}

impl ProjectorError {
    pub(crate) fn nats(err: impl Into<BoxError>) -> Self {
        Self::Nats(err.into())
    }
}
