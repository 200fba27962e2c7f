//! What stops a notifier.

type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// A notifier's failure.
#[derive(Debug, thiserror::Error)]
pub enum NotifierError {
    /// NATS or JetStream failed.
    #[error("NATS: {0}")]
    Nats(#[source] BoxError),
    /// The event store failed.
    #[error(transparent)]
    EventStore(#[from] valentine_eventstore::EventStoreError),
    /// `SMTP_URL` or `MAIL_FROM` is not usable.
    #[error("mail settings: {0}")]
    Settings(String),
    /// The mail server refused or could not be reached.
    #[error("SMTP: {0}")]
    Smtp(#[source] BoxError),
}

impl NotifierError {
    /// A NATS failure from any error.
    pub fn nats(e: impl Into<BoxError>) -> Self {
        Self::Nats(e.into())
    }
}

impl From<valentine_eventstore::NatsConnectError> for NotifierError {
    fn from(e: valentine_eventstore::NatsConnectError) -> Self {
        Self::Nats(Box::new(e))
    }
}
