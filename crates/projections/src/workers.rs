//! Worker heartbeats, shared through NATS so that anyone (the API's admin console,
//! `valentine status`) sees every projector and notifier without scraping them.
//!
//! Each worker process puts a [`WorkerBeat`] every few seconds into the key-value bucket
//! `<EVENTS stream>_WORKERS`, at `<role>.<read model id>.<instance>` (a notifier, which
//! serves no read model, uses `-`). The bucket keeps one value per key and forgets it a
//! minute after its last put, so a worker that died drops out of [`list`] by itself.

use std::time::Duration;

use async_nats::jetstream::kv::{self, Store};
use async_nats::jetstream::{self, stream::StorageType};
use futures::TryStreamExt;
use serde::{Deserialize, Serialize};
use valentine_eventstore::StreamConfig;

use crate::error::ProjectionError;

/// How long a heartbeat stays in the bucket after its last put.
pub const BEAT_TTL: Duration = Duration::from_secs(60);

/// The bucket's name for the event stream `events`.
pub fn bucket_name(events: &StreamConfig) -> String {
    format!("{}_WORKERS", events.stream_name)
}

/// What one worker process last said about itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkerBeat {
    /// `projector` or `notifier`.
    pub role: String,
    /// The read model it projects into (`READ_MODEL_ID`); `-` for a notifier.
    pub read_model: String,
    /// A short random id of the process, drawn at its start.
    pub instance: String,
    /// When it put this beat (RFC 3339).
    pub heartbeat_at: String,
    /// When it last committed a batch (RFC 3339), if it has.
    pub last_commit_at: Option<String>,
    /// Whether its `/ready` answers 200.
    pub ready: bool,
    /// Whether work waits and it has committed nothing for too long.
    pub stuck: bool,
    /// Why it is unready or stuck.
    pub reason: Option<String>,
    /// Where each of its durable consumers stands.
    pub consumers: Vec<ConsumerLag>,
}

/// Where one durable consumer stands on its stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConsumerLag {
    /// The consumer's name.
    pub consumer: String,
    /// The stream it reads.
    pub stream: String,
    /// Every message at or below this stream sequence is acknowledged (the ack floor).
    pub position: u64,
    /// The stream's last sequence.
    pub last_sequence: u64,
    /// Messages not yet acknowledged: pending plus delivered and unacknowledged.
    pub lag_events: u64,
    /// How old the oldest unacknowledged message is, in seconds; 0 when none waits.
    pub lag_seconds: f64,
}

/// A short random id for a worker process, for its heartbeat's key.
pub fn new_instance() -> String {
    let id = ulid::Ulid::new().to_string().to_ascii_lowercase();
    // The random part's tail: the leading characters are the time, alike for processes
    // started together.
    id[id.len() - 8..].to_owned()
}

/// The heartbeat bucket of the event stream `events`, created if missing.
///
/// # Errors
/// When JetStream refuses.
pub async fn open(js: &jetstream::Context, events: &StreamConfig) -> Result<Store, ProjectionError> {
    js.create_or_update_key_value(kv::Config {
        bucket: bucket_name(events),
        description: "Valentine: the workers' heartbeats".to_owned(),
        history: 1,
        max_age: BEAT_TTL,
        storage: StorageType::File,
        num_replicas: events.replicas.unwrap_or(1),
        ..Default::default()
    })
    .await
    .map_err(|e| ProjectionError::Bucket(e.into()))
}

/// The key of `beat`.
fn key(beat: &WorkerBeat) -> String {
    format!("{}.{}.{}", beat.role, beat.read_model, beat.instance)
}

/// Puts `beat` under its key.
///
/// # Errors
/// When JetStream refuses or does not answer.
pub async fn beat(kv: &Store, beat: &WorkerBeat) -> Result<(), ProjectionError> {
    let value = serde_json::to_vec(beat).map_err(|e| ProjectionError::Bucket(e.into()))?;
    kv.put(key(beat), value.into()).await.map_err(|e| ProjectionError::Bucket(e.into()))?;
    Ok(())
}

/// Every live heartbeat, sorted by role, read model and instance. Values that do not decode
/// (a newer version's) are left out.
///
/// # Errors
/// When JetStream refuses or does not answer.
pub async fn list(kv: &Store) -> Result<Vec<WorkerBeat>, ProjectionError> {
    let keys: Vec<String> = kv
        .keys()
        .await
        .map_err(|e| ProjectionError::Bucket(e.into()))?
        .try_collect()
        .await
        .map_err(|e| ProjectionError::Bucket(e.into()))?;
    let mut beats = Vec::with_capacity(keys.len());
    for key in keys {
        let value = kv.get(&key).await.map_err(|e| ProjectionError::Bucket(e.into()))?;
        if let Some(beat) = value.and_then(|v| serde_json::from_slice::<WorkerBeat>(&v).ok()) {
            beats.push(beat);
        }
    }
    beats.sort_by(|a, b| (&a.role, &a.read_model, &a.instance).cmp(&(&b.role, &b.read_model, &b.instance)));
    Ok(beats)
}
