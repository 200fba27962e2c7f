//! What a projector, a rebuild and the operator commands need to know. Built by the
//! `valentine` binary from environment variables; tests build it directly. Each part is
//! owned by the crate of the resource it describes; this type only gathers them.

use std::time::Duration;

use valentine_eventstore::{NatsSettings, Password, StreamConfig};
use valentine_projections::ReadModelSettings;

/// Settings of the read side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadSideConfig {
    /// `NATS_URL`: where the event store is.
    pub nats: NatsSettings,
    /// `REDIS_URL`; `None` disables cache invalidation (and the API's cache).
    pub redis_url: Option<String>,
    /// `REDIS_CLUSTER`: whether `redis_url` names nodes of a Redis Cluster (comma separated)
    /// instead of one server.
    pub redis_cluster: bool,
    /// `REDIS_PASSWORD`: what Redis requires, if anything.
    pub redis_password: Option<Password>,
    /// The read model and what its id names (`DATABASE_PATH`, `READ_MODEL_ID`).
    pub read_model: ReadModelSettings,
    /// `PROJECTOR_BATCH_SIZE`: most events projected in one transaction.
    pub batch_size: usize,
    /// The event stream.
    pub events: StreamConfig,
    /// The view tally stream.
    pub tallies: StreamConfig,
    /// How long a rebuild's (or verification's) pause of the live consumers lasts unless
    /// renewed; it is renewed every third of that while the rebuild works, so a rebuild that
    /// dies holds live projection back at most this long.
    pub pause_lease: Duration,
    /// How often the views counted since the last checkpoint are checkpointed (projectors of
    /// one read model take turns). The VIEWS stream's `max_age` must be far longer.
    pub views_checkpoint_every: Duration,
    /// `PROJECTOR_MAX_DELIVERIES`: how many times an event message is offered to projectors
    /// before one that still cannot apply it parks it (see
    /// [`valentine_projections::parked`]).
    pub max_deliveries: u64,
    /// `PROJECTOR_STUCK_AFTER_SECS`: how long work may wait on a feed while nothing is
    /// committed for it before the projector reports itself stuck (and unready).
    pub stuck_after: Duration,
    /// How often a projector looks at its consumers' lag and the parked events, and puts its
    /// heartbeat.
    pub report_every: Duration,
}

impl Default for ReadSideConfig {
    fn default() -> Self {
        Self {
            nats: NatsSettings::default(),
            redis_url: Some("redis://127.0.0.1:6379".to_owned()),
            redis_cluster: false,
            redis_password: None,
            read_model: ReadModelSettings::default(),
            batch_size: 512,
            events: StreamConfig::events(),
            tallies: StreamConfig::tallies(),
            pause_lease: Duration::from_secs(30),
            views_checkpoint_every: Duration::from_secs(60),
            max_deliveries: 8,
            stuck_after: Duration::from_secs(60),
            report_every: Duration::from_secs(5),
        }
    }
}
