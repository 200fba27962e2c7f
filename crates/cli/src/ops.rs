//! Operator commands: the work behind `valentine replay`, `status`, `backup`, `restore`,
//! `bootstrap`, `erase` and `parked`.
//!
//! They read the streams and the read model for people, and write neither (a restore only
//! fills empty streams, a bootstrap only creates a read model that did not exist, an erasure
//! appends one event and destroys what it erases), so they
//! belong to the binary rather than to the projector library
//! that every worker links. They use the read side's settings, [`ReadSideConfig`].
//!
//! [`ReadSideConfig`]: valentine_projector::ReadSideConfig

pub mod backup;
pub mod bootstrap;
pub mod erase;
pub mod parked;
pub mod replay;
pub mod status;

use valentine_eventstore::EventStoreError;
use valentine_projections::ProjectionError;

type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// What stops an operator command.
#[derive(Debug, thiserror::Error)]
pub enum OpsError {
    /// NATS or JetStream failed.
    #[error("NATS: {0}")]
    Nats(#[source] BoxError),
    /// The event store failed.
    #[error(transparent)]
    EventStore(#[from] EventStoreError),
    /// The read model failed.
    #[error(transparent)]
    Projection(#[from] ProjectionError),
    /// Reading or writing files or output failed.
    #[error("output: {0}")]
    Output(#[from] std::io::Error),
    /// The command was refused: doing it would lose or overwrite something.
    #[error("{0}")]
    Refused(String),
}

impl OpsError {
    fn nats(err: impl Into<BoxError>) -> Self {
        Self::Nats(err.into())
    }
}
