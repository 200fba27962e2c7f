//! What a projector, a rebuild and a replay need to know. Built by the `valentine` binary
//! from environment variables; tests build it directly.

use std::path::PathBuf;

use valentine_eventstore::EventStoreConfig;

/// Settings of the read side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadSideConfig {
    /// NATS server URL; several, comma separated, for a cluster (see [`Self::nats_servers`]).
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
    /// The NATS servers to connect to: `nats_url` may list several, comma separated (every
    /// node of a cluster, so a process can start while one is down). Once connected, clients
    /// also learn the cluster's other nodes from the server and reconnect to any of them.
    pub fn nats_servers(&self) -> Vec<&str> {
        self.nats_url.split(',').map(str::trim).filter(|url| !url.is_empty()).collect()
    }

    /// Durable consumer of the event stream.
    pub fn events_consumer(&self) -> String {
        self.consumer.clone()
    }

    /// Durable consumer of the view tally stream.
    pub fn views_consumer(&self) -> String {
        format!("{}-views", self.consumer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nats_url_may_list_several_servers() {
        let config = ReadSideConfig {
            nats_url: "nats://a:4222, nats://b:4222,,nats://c:4222".to_owned(),
            ..ReadSideConfig::default()
        };
        assert_eq!(config.nats_servers(), ["nats://a:4222", "nats://b:4222", "nats://c:4222"]);
        assert_eq!(ReadSideConfig::default().nats_servers(), ["nats://127.0.0.1:4222"]);
    }
}
