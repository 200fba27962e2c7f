//! What a projector, a rebuild and a replay need to know. Built by the `valentine` binary
//! from environment variables; tests build it directly.

use std::path::PathBuf;

use valentine_eventstore::EventStoreConfig;

/// Settings of the read side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadSideConfig {
    /// NATS server URL.
    pub nats_url: String,
    /// Redis URL; `None` disables cache invalidation (and the API's cache).
    pub redis_url: Option<String>,
    /// The read model: a link to its current generation (see `valentine_projections::db`).
    pub database_path: PathBuf,
    /// Most events projected in one transaction.
    pub batch_size: usize,
    /// Durable consumer name prefix shared by all projector processes of one read model:
    /// `<name>` reads events, `<name>-views` reads view tallies.
    pub consumer: String,
    /// The event stream.
    pub events: EventStoreConfig,
    /// The view tally stream.
    pub views: EventStoreConfig,
}

impl Default for ReadSideConfig {
    fn default() -> Self {
        Self {
            nats_url: "nats://127.0.0.1:4222".to_owned(),
            redis_url: Some("redis://127.0.0.1:6379".to_owned()),
            database_path: PathBuf::from("data/valentine.db"),
            batch_size: 512,
            consumer: "projector".to_owned(),
            events: EventStoreConfig::default(),
            views: EventStoreConfig::views(),
        }
    }
}

impl ReadSideConfig {
    /// Durable consumer of the event stream.
    pub fn events_consumer(&self) -> String {
        self.consumer.clone()
    }

    /// Durable consumer of the view tally stream.
    pub fn views_consumer(&self) -> String {
        format!("{}-views", self.consumer)
    }
}
