//! Writing view count checkpoints, and reading them back for a rebuild.
//!
//! Checkpoints live in a JetStream key-value bucket beside the VIEWS stream,
//! `<VIEWS stream>_CHECKPOINTS`: [`Chunk`]s of many pages' counts, each under a key of its
//! own (`c.<position>.<id>`), and [`COMPLETE_KEY`], the position of the last run that saved
//! every page counted up to it. A page may be in several chunks; the one at the latest
//! position holds its count, so a checkpoint never moves back, whichever read model (of
//! whichever node) wrote it last.
//!
//! A run saves the pages counted since their last checkpoint. Once the bucket holds about
//! twice as many chunks as the read model has pages to fill, a run saves every counted page
//! instead and then removes the chunks it supersedes: those at or below its first position.
//!
//! The VIEWS stream may forget tallies at or below [`COMPLETE_KEY`]'s position: every page
//! they counted has a checkpoint that holds them.
//!
//! Buckets written before chunks hold one key per page (its slug key, the value a
//! [`SavedCount`]). They are still read; runs no longer write them.

use std::collections::HashSet;
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
use valentine_projections::view_checkpoints::{self, Chunk, SavedCount, Scope};

use crate::error::ProjectorError;

/// The key of the last complete run's position.
pub const COMPLETE_KEY: &str = "_complete";

/// Pages read from the read model, and saved, per step.
const STEP: usize = 1024;

/// The most a chunk's message may weigh; a step's pages that weigh more are split.
const CHUNK_BYTES: usize = 256 * 1024;

/// The prefix of chunk keys.
const CHUNK_PREFIX: &str = "c.";

/// Chunks a bucket may hold before a run saves every page: this many per chunk a run saving
/// every page would write, and [`CHUNKS_SPARE`] more.
const CHUNKS_PER_FULL_RUN: u64 = 2;

/// Chunks a bucket may hold beyond [`CHUNKS_PER_FULL_RUN`]'s share, so that a small read
/// model does not save every page at almost every run.
const CHUNKS_SPARE: u64 = 8;

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
    /// Chunks written.
    pub chunks: u64,
    /// Older chunks removed, superseded by this run's (which then saved every counted page).
    pub removed: u64,
    /// The position every page counted up to is now saved at.
    pub complete_through: u64,
}

/// The key of a chunk exact at `through`.
fn chunk_key(through: u64) -> String {
    format!("{CHUNK_PREFIX}{through}.{}", ulid::Ulid::new())
}

/// The position of the chunk at `key`; `None` when the key is not a chunk's.
fn chunk_through(key: &str) -> Option<u64> {
    key.strip_prefix(CHUNK_PREFIX)?.split('.').next()?.parse().ok()
}

/// The keys of every chunk in the bucket.
async fn chunk_keys(store: &kv::Store) -> Result<Vec<String>, ProjectorError> {
    let filter = format!("{}{CHUNK_PREFIX}>", store.prefix);
    let subjects = store.stream.info_with_subjects(&filter).await.map_err(ProjectorError::nats)?;
    let subjects: Vec<(String, usize)> = subjects.try_collect().await.map_err(ProjectorError::nats)?;
    Ok(subjects
        .into_iter()
        .filter_map(|(subject, _)| subject.strip_prefix(&store.prefix).map(str::to_owned))
        .collect())
}

/// `pages` (exact at `through`) as the values of one chunk, or of several when one would
/// weigh more than `limit` bytes (a single page is a chunk whatever it weighs).
fn chunk_values(
    through: u64,
    pages: &[(String, SavedCount)],
    limit: usize,
) -> Result<Vec<Vec<u8>>, serde_json::Error> {
    let mut values = Vec::new();
    let mut parts = vec![pages];
    while let Some(part) = parts.pop() {
        let value = serde_json::to_vec(&Chunk::of(through, part))?;
        if value.len() > limit && part.len() > 1 {
            let (left, right) = part.split_at(part.len() / 2);
            parts.extend([right, left]);
            continue;
        }
        values.push(value);
    }
    Ok(values)
}

/// Stores `pages` (exact at `through`) in chunks of at most [`CHUNK_BYTES`]; returns their
/// keys.
async fn write_chunks(
    store: &kv::Store,
    through: u64,
    pages: &[(String, SavedCount)],
) -> Result<Vec<String>, ProjectorError> {
    let mut keys = Vec::new();
    for value in chunk_values(through, pages, CHUNK_BYTES).map_err(ProjectorError::nats)? {
        let key = chunk_key(through);
        store.put(&key, value.into()).await.map_err(ProjectorError::nats)?;
        keys.push(key);
    }
    Ok(keys)
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
        if !claimed {
            return Ok((false, 0));
        }
        view_checkpoints::forget_passed(c)?;
        Ok((true, view_checkpoints::pages_bound(c)?))
    })
    .await;
    let (claimed, pages_bound) = claimed?;
    if !claimed {
        return Ok(None);
    }
    let older = chunk_keys(store).await?;
    let full_run_chunks = pages_bound.div_ceil(STEP as u64).max(1);
    let scope = if older.len() as u64 > CHUNKS_PER_FULL_RUN * full_run_chunks + CHUNKS_SPARE {
        Scope::Counted
    } else {
        Scope::Unsaved
    };
    let mut run = CheckpointRun::default();
    let mut written = HashSet::new();
    let mut after = String::new();
    let mut first: Option<u64> = None;
    loop {
        let from = after.clone();
        let (back, due) = db::blocking(conn, move |c| view_checkpoints::due(c, &from, STEP, scope)).await;
        conn = back;
        let Some(due) = due? else {
            debug!("the views position has not reached where checkpoints may start");
            return Ok(None);
        };
        first.get_or_insert(due.through);
        let Some((last, _)) = due.pages.last() else { break };
        after.clone_from(last);
        let keys = write_chunks(store, due.through, &due.pages).await?;
        run.chunks += keys.len() as u64;
        written.extend(keys);
        let slugs: Vec<String> = due.pages.iter().map(|(k, _)| k.clone()).collect();
        run.pages += slugs.len() as u64;
        let through = due.through;
        let (back, marked) = db::blocking(conn, move |c| view_checkpoints::saved(c, through, &slugs)).await;
        conn = back;
        marked?;
    }
    // Every page counted up to the first step's position is saved at or after it.
    run.complete_through = first.unwrap_or(0);
    if scope == Scope::Counted {
        // Every page with a view is now in a chunk at or after the first position: a chunk at
        // or below it, whoever wrote it, holds nothing newer.
        for key in chunk_keys(store).await? {
            let superseded = chunk_through(&key).is_some_and(|t| t <= run.complete_through);
            if superseded && !written.contains(&key) {
                store
                    .stream
                    .purge()
                    .filter(format!("{}{key}", store.prefix))
                    .await
                    .map_err(ProjectorError::nats)?;
                run.removed += 1;
            }
        }
    }
    let value =
        serde_json::to_vec(&serde_json::json!({ "through": run.complete_through })).unwrap_or_default();
    save_at_least(store, COMPLETE_KEY, run.complete_through, value).await?;
    if run.pages > 0 {
        info!(
            pages = run.pages,
            chunks = run.chunks,
            removed = run.removed,
            through = run.complete_through,
            "view counts checkpointed"
        );
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
/// The bucket's messages are read in stream order from the first: a chunk written after
/// reading began comes at the end, a chunk removed before it is read is superseded by chunks
/// written before its removal (so further on), and of a page's counts the latest position's
/// stays.
/// Reading ends only once it has reached the stream's last sequence: a consumer may count a
/// removed or rewritten key's old entry gone before it counts the new one, so its own
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
            if deleted || key == COMPLETE_KEY {
                // A key deleted is superseded, like a chunk removed.
            } else if key.starts_with(CHUNK_PREFIX) {
                match serde_json::from_slice::<Chunk>(&message.payload) {
                    Ok(chunk) => batch.extend(chunk.into_counts()),
                    Err(e) => warn!(key, error = %e, "unreadable view checkpoint chunk; skipped"),
                }
            } else {
                match serde_json::from_slice::<SavedCount>(&message.payload) {
                    Ok(saved) => batch.push((key.to_owned(), saved)),
                    Err(e) => warn!(key, error = %e, "unreadable view checkpoint; skipped"),
                }
            }
            if batch.len() >= STEP {
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

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn page(i: usize, days: usize) -> (String, SavedCount) {
        let by_day: BTreeMap<String, u64> =
            (0..days).map(|d| (format!("2026-{:02}-{:02}", d / 28 + 1, d % 28 + 1), 1)).collect();
        (format!("page-{i:05}"), SavedCount { page_id: 1, count: days as u64, through: 9, by_day })
    }

    #[test]
    fn pages_too_heavy_for_one_chunk_are_split_in_order_and_none_is_lost() {
        // A step of 1,024 pages each viewed on a year of days weighs far more than a chunk.
        let pages: Vec<_> = (0..1024).map(|i| page(i, 336)).collect();
        let values = chunk_values(9, &pages, CHUNK_BYTES).expect("encodes");
        assert!(values.len() > 1, "{} chunks", values.len());
        let mut read = Vec::new();
        for value in &values {
            assert!(value.len() <= CHUNK_BYTES, "a chunk of {} bytes", value.len());
            let chunk: Chunk = serde_json::from_slice(value).expect("decodes");
            read.extend(chunk.into_counts());
        }
        assert_eq!(read, pages);
    }

    #[test]
    fn a_light_step_is_one_chunk_and_a_single_heavy_page_is_still_saved() {
        let light: Vec<_> = (0..1024).map(|i| page(i, 1)).collect();
        assert_eq!(chunk_values(9, &light, CHUNK_BYTES).expect("encodes").len(), 1);
        let heavy = [page(0, 336)];
        let values = chunk_values(9, &heavy, 100).expect("encodes");
        assert_eq!(values.len(), 1, "one page cannot be split");
        assert!(values[0].len() > 100);
    }

    #[test]
    fn chunk_keys_carry_their_position() {
        let key = chunk_key(4711);
        assert_eq!(chunk_through(&key), Some(4711));
        assert!(key.starts_with("c.4711."));
        assert_eq!(chunk_through("page-00001"), None);
        assert_eq!(chunk_through(COMPLETE_KEY), None);
    }
}
