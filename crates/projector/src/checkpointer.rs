//! Writing view count checkpoints, and reading them back for a rebuild.
//!
//! Checkpoints live in a JetStream key-value bucket beside the VIEWS stream,
//! `<VIEWS stream>_CHECKPOINTS`: one key per slug (its latest count, see
//! [`SavedCount`]) and [`COMPLETE_KEY`], the position of the last run that saved every page
//! counted up to it. A checkpoint never moves back: one at a later position is never
//! overwritten by an earlier one (read models on several nodes all write them).
//!
//! The VIEWS stream may forget tallies at or below [`COMPLETE_KEY`]'s position: every page
//! they counted has a checkpoint that holds them.

use std::path::Path;
use std::time::Duration;

use async_nats::jetstream::consumer::{DeliverPolicy, pull};
use async_nats::jetstream::kv::{self, Operation};
use async_nats::jetstream::{self, stream::StorageType};
use futures::{StreamExt, TryStreamExt};
use serde::Deserialize;
use tracing::{debug, info, warn};
use valentine_eventstore::StreamConfig;
use valentine_projections::db;
use valentine_projections::view_checkpoints::{self, SavedCount};

use crate::error::ProjectorError;

/// The key of the last complete run's position.
pub const COMPLETE_KEY: &str = "_complete";

/// Pages read from the read model, and saved, per step.
const STEP: usize = 1024;

/// Checkpoints written at once.
const IN_FLIGHT: usize = 64;

/// Longest wait for the next checkpoint while loading them, before the load gives up.
const LOAD_PATIENCE: Duration = Duration::from_secs(30);

/// The bucket's name for the tally stream `tallies`.
pub fn bucket_name(tallies: &StreamConfig) -> String {
    format!("{}_CHECKPOINTS", tallies.stream_name)
}

/// The checkpoint bucket, created if missing.
///
/// # Errors
/// When JetStream refuses.
pub async fn bucket(js: &jetstream::Context, tallies: &StreamConfig) -> Result<kv::Store, ProjectorError> {
    let name = bucket_name(tallies);
    if let Ok(store) = js.get_key_value(&name).await {
        return Ok(store);
    }
    let created = js
        .create_key_value(kv::Config {
            bucket: name.clone(),
            description: "Valentine view count checkpoints".to_owned(),
            history: 1,
            storage: StorageType::File,
            num_replicas: tallies.replicas.unwrap_or(1),
            ..Default::default()
        })
        .await;
    match created {
        Ok(store) => Ok(store),
        // Another projector created it first.
        Err(e) => js.get_key_value(&name).await.map_err(|_| ProjectorError::nats(e)),
    }
}

#[derive(Deserialize)]
struct Through {
    through: u64,
}

/// Stores `value` (whose position is `through`) at `key`, unless the bucket already holds one
/// at the same or a later position.
async fn save_at_least(
    store: &kv::Store,
    key: &str,
    through: u64,
    value: Vec<u8>,
) -> Result<(), ProjectorError> {
    for _ in 0..5 {
        let current = store.entry(key).await.map_err(ProjectorError::nats)?;
        let done = match current {
            Some(entry) if entry.operation == Operation::Put => {
                if serde_json::from_slice::<Through>(&entry.value).is_ok_and(|t| t.through >= through) {
                    return Ok(());
                }
                store.update(key, value.clone().into(), entry.revision).await.is_ok()
            }
            _ => store.create(key, value.clone().into()).await.is_ok(),
        };
        if done {
            return Ok(());
        }
        // Another writer got there in between: look again.
    }
    Err(ProjectorError::nats(format!("checkpoint {key} kept changing under this writer")))
}

/// What one checkpoint run did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CheckpointRun {
    /// Pages whose counts were saved.
    pub pages: u64,
    /// The position every page counted up to is now saved at.
    pub complete_through: u64,
}

/// Runs one checkpoint of the read model at `link` if no projector of it ran one within
/// `every`; `None` when it was not this one's turn, or the read model cannot be checkpointed
/// yet.
///
/// # Errors
/// When SQLite or JetStream fail; what was not saved stays unsaved for the next run.
pub async fn run_once(
    link: &Path,
    store: &kv::Store,
    every: Duration,
) -> Result<Option<CheckpointRun>, ProjectorError> {
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let (conn, _) = db::projector_connection(link)?;
    let (mut conn, claimed) = db::blocking(conn, move |c| {
        let claimed = view_checkpoints::claim(c, every, now)?;
        if claimed {
            view_checkpoints::forget_passed(c)?;
        }
        Ok(claimed)
    })
    .await;
    if !claimed? {
        return Ok(None);
    }
    let mut run = CheckpointRun::default();
    let mut after = String::new();
    let mut first: Option<u64> = None;
    loop {
        let from = after.clone();
        let (back, due) = db::blocking(conn, move |c| view_checkpoints::due(c, &from, STEP)).await;
        conn = back;
        let Some(due) = due? else {
            debug!("the views position has not reached where checkpoints may start");
            return Ok(None);
        };
        first.get_or_insert(due.through);
        let Some((last, _)) = due.pages.last() else { break };
        after.clone_from(last);
        let saves: Vec<_> = due
            .pages
            .iter()
            .map(|(key, saved)| {
                let (store, key, through) = (store.clone(), key.clone(), saved.through);
                let value = serde_json::to_vec(saved).unwrap_or_default();
                async move { save_at_least(&store, &key, through, value).await }
            })
            .collect();
        futures::stream::iter(saves).buffer_unordered(IN_FLIGHT).try_collect::<()>().await?;
        let keys: Vec<String> = due.pages.iter().map(|(k, _)| k.clone()).collect();
        run.pages += keys.len() as u64;
        let through = due.through;
        let (back, marked) = db::blocking(conn, move |c| view_checkpoints::saved(c, through, &keys)).await;
        conn = back;
        marked?;
    }
    // Every page counted up to the first step's position is saved at or after it.
    run.complete_through = first.unwrap_or(0);
    let value =
        serde_json::to_vec(&serde_json::json!({ "through": run.complete_through })).unwrap_or_default();
    save_at_least(store, COMPLETE_KEY, run.complete_through, value).await?;
    if run.pages > 0 {
        info!(pages = run.pages, through = run.complete_through, "view counts checkpointed");
    }
    Ok(Some(run))
}

/// Checkpoints every `every` until `shutdown`.
pub async fn keep_checkpointing(
    link: std::path::PathBuf,
    store: kv::Store,
    every: Duration,
    shutdown: tokio_util::sync::CancellationToken,
) {
    // Projectors of one read model take turns through the claim; looking a few times per
    // period keeps the turns close to `every` apart.
    let look = (every / 4).max(Duration::from_millis(250));
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(look) => {}
        }
        if let Err(e) = run_once(&link, &store, every).await {
            warn!(error = %e, "view counts not checkpointed; will try again");
        }
    }
}

/// The position up to which every page's count is checkpointed (0 when none is).
///
/// # Errors
/// When JetStream fails.
pub async fn complete_through(store: &kv::Store) -> Result<u64, ProjectorError> {
    let entry = store.entry(COMPLETE_KEY).await.map_err(ProjectorError::nats)?;
    Ok(entry
        .filter(|e| e.operation == Operation::Put)
        .and_then(|e| serde_json::from_slice::<Through>(&e.value).ok())
        .map_or(0, |t| t.through))
}

/// Copies every page's checkpoint into the build `conn`, a batch at a time; returns the
/// connection and how many pages have one.
///
/// Other projectors (of this read model or of other nodes') may be checkpointing meanwhile.
/// The bucket keeps one entry per key (its latest), so its messages are read in stream
/// order from the first: a key rewritten before it is read has moved to the end, one
/// rewritten after it was read comes again there, and a later entry of a key replaces the
/// earlier. Reading ends only once it has reached the stream's last sequence: a consumer
/// may count a rewritten key's old entry gone before it counts the new one, so its own
/// "nothing pending" can come a moment early. (A consumer of the last entry per subject
/// is no shortcut: it works from a list taken when it starts.)
///
/// # Errors
/// When JetStream or SQLite fail, or the bucket's end stays out of reach for
/// [`LOAD_PATIENCE`].
pub async fn load_into(
    js: &jetstream::Context,
    tallies: &StreamConfig,
    mut conn: rusqlite::Connection,
) -> Result<(rusqlite::Connection, u64), ProjectorError> {
    let bucket = bucket_name(tallies);
    let Ok(stream) = js.get_stream(format!("KV_{bucket}")).await else { return Ok((conn, 0)) };
    let prefix = format!("$KV.{bucket}.");
    let consumer = stream
        .create_consumer(pull::OrderedConfig {
            filter_subject: format!("{prefix}>"),
            deliver_policy: DeliverPolicy::All,
            ..Default::default()
        })
        .await
        .map_err(ProjectorError::nats)?;
    let mut messages = consumer.messages().await.map_err(ProjectorError::nats)?;
    let mut batch = Vec::with_capacity(STEP);
    let mut read_through = 0;
    loop {
        let state = stream.get_info().await.map_err(ProjectorError::nats)?.state;
        let end = state.last_sequence;
        if state.messages == 0 || read_through >= end {
            break;
        }
        // Read up to the end seen, and past it as far as the consumer has more.
        let mut pending = 1;
        while read_through < end || pending > 0 {
            let next = tokio::time::timeout(LOAD_PATIENCE, messages.next()).await;
            let Ok(Some(message)) = next else {
                return Err(ProjectorError::nats(format!(
                    "the checkpoint bucket's end ({end}) stayed out of reach at {read_through}"
                )));
            };
            let message = message.map_err(ProjectorError::nats)?;
            let info = message.info().map_err(ProjectorError::nats)?;
            (read_through, pending) = (info.stream_sequence, info.pending);
            let deleted = message
                .headers
                .as_ref()
                .and_then(|h| h.get("KV-Operation"))
                .is_some_and(|op| op.as_str() != "PUT");
            let key = message.subject.as_str().strip_prefix(&prefix).unwrap_or_default();
            if key != COMPLETE_KEY {
                if deleted {
                    batch.push((key.to_owned(), None));
                } else {
                    match serde_json::from_slice::<SavedCount>(&message.payload) {
                        Ok(saved) => batch.push((key.to_owned(), Some(saved))),
                        Err(e) => warn!(key, error = %e, "unreadable view checkpoint; skipped"),
                    }
                }
            }
            if batch.len() == STEP {
                let full = std::mem::replace(&mut batch, Vec::with_capacity(STEP));
                let (back, done) = db::blocking(conn, move |c| view_checkpoints::load(c, &full)).await;
                conn = back;
                done?;
            }
        }
    }
    let (conn, loaded) = db::blocking(conn, move |c| {
        view_checkpoints::load(c, &batch)?;
        view_checkpoints::loaded(c)
    })
    .await;
    Ok((conn, loaded?))
}

/// Whether every tally the VIEWS stream no longer holds (those below `first_sequence`, its
/// first kept message) is held by a checkpoint run complete up to `complete_through`.
pub fn forgotten_views_are_saved(first_sequence: u64, complete_through: u64) -> bool {
    first_sequence <= complete_through.saturating_add(1)
}
