//! The streams' configuration, created or updated idempotently at start.

use std::time::Duration;

use async_nats::jetstream::context::{CreateStreamErrorKind, GetStreamErrorKind};
use async_nats::jetstream::stream::{self, DiscardPolicy, RetentionPolicy, StorageType};
use async_nats::jetstream::{self, ErrorCode};
use tracing::{info, instrument};

use crate::error::EventStoreError;
use crate::subjects;

/// How long the view tally stream keeps a tally unless configured otherwise: 30 days.
pub const VIEWS_MAX_AGE: Duration = Duration::from_secs(30 * 86_400);

/// One JetStream stream of the store: the events (the default) or the view tallies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamConfig {
    /// JetStream stream name.
    pub stream_name: String,
    /// First subject token of every event subject.
    pub subject_prefix: String,
    /// Replica count. `None` keeps an existing stream's count and creates new streams with 1;
    /// set it (3 in a cluster) to change it.
    pub replicas: Option<usize>,
    /// How long JetStream remembers message ids to drop duplicate appends.
    pub duplicate_window: Duration,
    /// The stream's quota in bytes: once it holds this much, JetStream refuses new messages
    /// (it never drops stored ones to make room). JetStream reserves a quota up front, so it
    /// must fit in the server's `max_file_store`. `None` keeps an existing stream's quota and
    /// creates new streams with none of their own (bounded by `max_file_store` only), so a
    /// process started without the setting never lifts an operator's quota.
    pub max_bytes: Option<u64>,
    /// How long the stream keeps a message: zero (the default) keeps every one forever. Only
    /// the view tallies may age, and only because checkpoints keep their counts (see
    /// `valentine_projections::view_checkpoints`).
    pub max_age: Duration,
}

impl Default for StreamConfig {
    fn default() -> Self {
        Self {
            stream_name: "EVENTS".to_owned(),
            subject_prefix: "events".to_owned(),
            replicas: None,
            duplicate_window: Duration::from_secs(120),
            max_bytes: None,
            max_age: Duration::ZERO,
        }
    }
}

impl StreamConfig {
    /// The stream of events: every page's every change.
    pub fn events() -> Self {
        Self::default()
    }

    /// The stream of view tallies (`VIEWS`), kept apart from the events so that counting
    /// views never touches a page's own subject (see `crate::tallies`).
    pub fn tallies() -> Self {
        Self {
            stream_name: "VIEWS".to_owned(),
            subject_prefix: "views".to_owned(),
            max_age: VIEWS_MAX_AGE,
            ..Self::default()
        }
    }

    /// Applies what this service requires of the stream to `config`, keeping anything else an
    /// operator set (placement, compression, metadata, …).
    fn require(&self, config: &mut stream::Config) {
        config.name.clone_from(&self.stream_name);
        config.description = Some(format!("Valentine {}", self.stream_name.to_ascii_lowercase()));
        config.subjects = vec![subjects::everything(&self.subject_prefix)];
        config.storage = StorageType::File;
        // The store keeps every event forever: limits retention with no limits but the quota
        // (and, for view tallies, an age), and a full stream refuses what is new instead of
        // dropping what it holds.
        config.retention = RetentionPolicy::Limits;
        config.discard = DiscardPolicy::New;
        config.max_age = self.max_age;
        config.max_messages = -1;
        match self.max_bytes {
            Some(quota) => config.max_bytes = i64::try_from(quota).unwrap_or(i64::MAX),
            None if config.max_bytes == 0 => config.max_bytes = -1,
            None => {}
        }
        config.max_messages_per_subject = -1;
        // JetStream refuses a duplicate window longer than the messages live.
        config.duplicate_window = if self.max_age.is_zero() {
            self.duplicate_window
        } else {
            self.duplicate_window.min(self.max_age)
        };
        // Direct get lets any replica answer "last message of this page" cheaply.
        config.allow_direct = true;
        if let Some(replicas) = self.replicas {
            config.num_replicas = replicas;
        }
    }
}

/// Creates the stream, or brings an existing one up to [`StreamConfig`]; a no-op when it
/// already matches. Safe to call from many processes at once.
///
/// # Errors
/// When JetStream is unreachable or refuses the configuration.
pub async fn ensure_stream(
    js: &jetstream::Context,
    config: &StreamConfig,
) -> Result<stream::Stream, EventStoreError> {
    ensure_stream_from(js, config, None).await
}

/// As [`ensure_stream`]; a stream it creates numbers its first message `first_sequence`
/// (a restore of a stream whose oldest messages had aged out, so every message keeps its
/// sequence). An existing stream keeps its numbering.
///
/// # Errors
/// When JetStream is unreachable or refuses the configuration.
#[instrument(skip_all, fields(stream = %config.stream_name))]
pub async fn ensure_stream_from(
    js: &jetstream::Context,
    config: &StreamConfig,
    first_sequence: Option<u64>,
) -> Result<stream::Stream, EventStoreError> {
    let setup = |source: Box<dyn std::error::Error + Send + Sync>| EventStoreError::Setup {
        stream: config.stream_name.clone(),
        source,
    };
    // Two processes may race to create it; the loser goes round again and finds it.
    for _ in 0..3 {
        match js.get_stream(&config.stream_name).await {
            Ok(mut existing) => {
                let current = existing.info().await.map_err(|e| setup(e.into()))?.config.clone();
                let mut wanted = current.clone();
                config.require(&mut wanted);
                if wanted != current {
                    info!("updating stream configuration");
                    js.update_stream(wanted).await.map_err(|e| setup(e.into()))?;
                }
                return Ok(existing);
            }
            Err(e) if is_api_error(&e.kind(), ErrorCode::STREAM_NOT_FOUND) => {
                let mut wanted = stream::Config {
                    num_replicas: 1,
                    first_sequence: first_sequence.filter(|&f| f > 1),
                    ..Default::default()
                };
                config.require(&mut wanted);
                match js.create_stream(wanted).await {
                    Ok(created) => {
                        info!("created stream");
                        return Ok(created);
                    }
                    Err(e)
                        if matches!(e.kind(), CreateStreamErrorKind::JetStream(ref api)
                        if api.error_code() == ErrorCode::STREAM_NAME_EXIST) =>
                    {
                        tracing::debug!("another process created the stream first; looking again");
                    }
                    Err(e) => return Err(setup(e.into())),
                }
            }
            Err(e) => return Err(setup(e.into())),
        }
    }
    Err(setup("the stream kept changing while it was set up".into()))
}

fn is_api_error(kind: &GetStreamErrorKind, code: ErrorCode) -> bool {
    matches!(kind, GetStreamErrorKind::JetStream(api) if api.error_code() == code)
}
