//! Data keys: one random key per page life, kept in a JetStream key-value bucket of their
//! own (`<EVENTS>_KEYS`), never in the event stream. Destroying a key erases every sealed
//! event it sealed (see [`crate::sealing`]).
//!
//! A key is written before the first event it seals is appended, so a reader of that event
//! always finds it, or its tombstone once it is destroyed. Keys are stored ahead, many in one
//! atomic batch (one synced write for all of them where each alone would cost its own): a
//! page life takes one already stored. A process that stops leaves the keys it stored and did
//! not hand out; they seal nothing, and are 32 random bytes each. Destroying one erases its message
//! with JetStream's secure delete (the bytes on disk are overwritten) and then leaves a purge
//! marker, so a reader tells "destroyed" from "never there".

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_nats::HeaderMap;
use async_nats::header::{NATS_BATCH_COMMIT, NATS_BATCH_ID, NATS_BATCH_SEQUENCE};
use async_nats::jetstream::kv::{self, Operation};
use async_nats::jetstream::{self, stream::Stream};
use futures::{StreamExt, TryStreamExt};
use tracing::{debug, instrument, warn};
use ulid::Ulid;

use crate::envelope::StoredCommit;
use crate::error::EventStoreError;
use crate::sealing::{self, Binding, DataKey};
use crate::stream::StreamConfig;

/// A key kept in memory is looked up again after this long, so a process never holds a
/// destroyed key for longer.
const CACHED_FOR: Duration = Duration::from_secs(60);

/// Keys looked up at once by [`DataKeys::lookup_all`].
const LOOKUPS_AT_ONCE: usize = 64;

/// Keys kept in memory at most (about 120 bytes each); past it, those kept longest go. A
/// rebuild meets each page life's key again with each of its events, spread over the
/// stream: a small memory would look most of them up again.
const CACHE_LIMIT: usize = 200_000;

/// Keys stored ahead in one atomic batch. A create that finds none left stores the next batch,
/// and the creates behind it wait for that one write rather than each making its own.
pub const STORED_AHEAD: usize = 64;

/// How long a reader waits for a key it does not find (a replica that has not caught up
/// with a write acknowledged elsewhere) before reporting it missing.
const MISSING_PATIENCE: Duration = Duration::from_secs(2);

/// What a lookup found.
#[derive(Debug, Clone)]
pub enum KeyLookup {
    /// The key.
    Found(DataKey),
    /// It was destroyed: what it sealed is erased.
    Destroyed,
    /// The bucket has no trace of it (a key store restored from before it was written).
    Missing,
}

/// The key store; cheap to clone.
#[derive(Debug, Clone)]
pub struct DataKeys {
    store: kv::Store,
    stream: Stream,
    js: jetstream::Context,
    /// The subject of the key `id` is this followed by `id`.
    subject_prefix: String,
    cache: Arc<Mutex<HashMap<String, (DataKey, Instant)>>>,
    /// Keys stored and not handed out yet.
    ahead: Arc<tokio::sync::Mutex<Vec<DataKey>>>,
}

/// The bucket's name beside the event stream `events`.
pub fn bucket_name(events: &StreamConfig) -> String {
    format!("{}_KEYS", events.stream_name)
}

impl DataKeys {
    /// The key store beside the event stream `events`, created or updated first.
    ///
    /// # Errors
    /// When JetStream refuses the bucket.
    pub async fn open(js: &jetstream::Context, events: &StreamConfig) -> Result<Self, EventStoreError> {
        let bucket = bucket_name(events);
        let setup = |e: Box<dyn std::error::Error + Send + Sync>| EventStoreError::Setup {
            stream: bucket.clone(),
            source: e,
        };
        // A key-value bucket is a stream with these conventions; made by hand because the
        // client's buckets refuse message deletes, and destroying a key is a secure delete.
        let stream_name = format!("KV_{bucket}");
        js.create_or_update_stream(jetstream::stream::Config {
            name: stream_name.clone(),
            description: Some(
                "Valentine: the data key of each page life; destroying one erases its events".to_owned(),
            ),
            subjects: vec![format!("$KV.{bucket}.>")],
            max_messages_per_subject: 1,
            allow_rollup: true,
            deny_delete: false,
            deny_purge: false,
            allow_direct: true,
            allow_atomic_publish: true,
            discard: jetstream::stream::DiscardPolicy::New,
            storage: jetstream::stream::StorageType::File,
            num_replicas: events.replicas.unwrap_or(1),
            ..Default::default()
        })
        .await
        .map_err(|e| setup(e.into()))?;
        let store = js.get_key_value(&bucket).await.map_err(|e| setup(e.into()))?;
        let stream = js.get_stream(stream_name).await.map_err(|e| setup(e.into()))?;
        Ok(Self {
            store,
            stream,
            js: js.clone(),
            subject_prefix: format!("$KV.{bucket}."),
            cache: Arc::default(),
            ahead: Arc::default(),
        })
    }

    /// The bucket's stream, for backups.
    pub fn stream(&self) -> &Stream {
        &self.stream
    }

    /// A fresh key, stored: one of those stored ahead, or the first of a new batch.
    ///
    /// # Errors
    /// When JetStream does not take the batch.
    #[instrument(level = "debug", skip(self), fields(key_id))]
    pub async fn create(&self) -> Result<DataKey, EventStoreError> {
        let mut ahead = self.ahead.lock().await;
        if ahead.is_empty() {
            *ahead = self.store_batch(STORED_AHEAD).await?;
        }
        let key = ahead.pop().ok_or_else(|| EventStoreError::unavailable("no data key was stored"))?;
        drop(ahead);
        tracing::Span::current().record("key_id", key.id());
        self.remember(&key);
        Ok(key)
    }

    /// Takes back a key from [`DataKeys::create`] that sealed nothing now stored (its commit
    /// was refused, or an earlier attempt of the command is what the stream holds): the next
    /// create hands it out again, and no write removes it.
    pub async fn put_back(&self, key: DataKey) {
        self.ahead.lock().await.push(key);
    }

    /// Stores `count` fresh keys in one atomic batch: all of them or none, acknowledged once
    /// the last is stored (and, with `sync_interval: always`, synced once for all).
    async fn store_batch(&self, count: usize) -> Result<Vec<DataKey>, EventStoreError> {
        let keys: Vec<DataKey> = (0..count).map(|_| DataKey::generate()).collect();
        let batch = Ulid::new().to_string();
        let client = self.js.client();
        for (at, key) in keys.iter().enumerate() {
            let sequence = at + 1;
            let mut headers = HeaderMap::new();
            headers.insert(NATS_BATCH_ID, batch.as_str());
            headers.insert(NATS_BATCH_SEQUENCE, sequence.to_string().as_str());
            let subject = format!("{}{}", self.subject_prefix, key.id());
            if sequence < count {
                // Taken or refused with the batch as a whole, when its last message commits it.
                client
                    .publish_with_headers(subject, headers, key.bytes())
                    .await
                    .map_err(EventStoreError::unavailable)?;
                continue;
            }
            headers.insert(NATS_BATCH_COMMIT, "1");
            let ack = self
                .js
                .publish_with_headers(subject, headers, key.bytes())
                .await
                .map_err(EventStoreError::unavailable)?
                .await
                .map_err(EventStoreError::unavailable)?;
            if ack.batch_size != u64::try_from(count).ok() {
                return Err(EventStoreError::unavailable(format!(
                    "the key store took {:?} of a batch of {count} keys",
                    ack.batch_size
                )));
            }
        }
        debug!(count, "data keys stored ahead");
        Ok(keys)
    }

    /// The key `id`, waiting briefly for one not found (a lagging replica).
    ///
    /// # Errors
    /// When JetStream cannot be read.
    pub async fn lookup(&self, id: &str) -> Result<KeyLookup, EventStoreError> {
        if let Some(key) = self.cached(id) {
            return Ok(KeyLookup::Found(key));
        }
        let deadline = Instant::now() + MISSING_PATIENCE;
        let mut pause = Duration::from_millis(20);
        loop {
            let found = self.read(id).await?;
            if !matches!(found, KeyLookup::Missing) || Instant::now() >= deadline {
                return Ok(found);
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_millis(400));
        }
    }

    async fn read(&self, id: &str) -> Result<KeyLookup, EventStoreError> {
        let entry = self.store.entry(id).await.map_err(EventStoreError::unavailable)?;
        Ok(match entry {
            None => KeyLookup::Missing,
            Some(e) if e.operation != Operation::Put => KeyLookup::Destroyed,
            Some(e) => match DataKey::from_bytes(id, &e.value) {
                Some(key) => {
                    self.remember(&key);
                    KeyLookup::Found(key)
                }
                None => {
                    warn!(key_id = id, "a stored data key is not 32 bytes; treating it as destroyed");
                    KeyLookup::Destroyed
                }
            },
        })
    }

    /// Destroys the key `id`: its message is erased from the bucket's files, and a marker
    /// records that it was destroyed. Idempotent. Whether it was there to destroy.
    ///
    /// # Errors
    /// When JetStream cannot be reached.
    #[instrument(level = "debug", skip(self))]
    pub async fn destroy(&self, id: &str) -> Result<bool, EventStoreError> {
        self.forget(id);
        let entry = self.store.entry(id).await.map_err(EventStoreError::unavailable)?;
        let had = match &entry {
            Some(e) if e.operation == Operation::Put => {
                // Secure delete: the server overwrites the message where it is stored. Another
                // process destroying the same key may have done it first.
                match self.stream.delete_message(e.revision).await {
                    Ok(_) => true,
                    Err(error) => match self.store.entry(id).await.map_err(EventStoreError::unavailable)? {
                        Some(now) if now.operation == Operation::Put => {
                            return Err(EventStoreError::unavailable(error));
                        }
                        _ => false,
                    },
                }
            }
            Some(_) => return Ok(false),
            None => false,
        };
        self.store.purge(id).await.map_err(EventStoreError::unavailable)?;
        debug!(had, "data key destroyed");
        Ok(had)
    }

    /// Opens every sealed event of `stored` whose key exists; events whose key was destroyed
    /// stay sealed (readers decode them as [`sealing::Body::Erased`]). Whether any stayed.
    ///
    /// # Errors
    /// When a key is missing (the key store lost it), a sealed payload does not open, or
    /// JetStream cannot be read.
    pub async fn open_commit(&self, stored: &mut StoredCommit) -> Result<bool, EventStoreError> {
        let ids: Vec<String> = stored
            .commit
            .events
            .iter()
            .filter_map(|e| sealing::sealed_key_id(&e.payload).map(str::to_owned))
            .collect();
        let found = self.lookup_all(ids).await?;
        open_with(stored, &found)
    }

    /// Looks up every key of `ids` (at most a few at a time), for [`open_with`].
    ///
    /// # Errors
    /// When JetStream cannot be read.
    pub async fn lookup_all(
        &self,
        ids: impl IntoIterator<Item = String>,
    ) -> Result<HashMap<String, KeyLookup>, EventStoreError> {
        let mut wanted: Vec<String> = ids.into_iter().collect();
        wanted.sort_unstable();
        wanted.dedup();
        futures::stream::iter(wanted)
            .map(|id| async move { self.lookup(&id).await.map(|found| (id, found)) })
            .buffer_unordered(LOOKUPS_AT_ONCE)
            .try_collect()
            .await
    }

    fn forget(&self, id: &str) {
        self.cache.lock().unwrap_or_else(std::sync::PoisonError::into_inner).remove(id);
    }

    fn cached(&self, id: &str) -> Option<DataKey> {
        let cache = self.cache.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        cache.get(id).filter(|(_, at)| at.elapsed() < CACHED_FOR).map(|(key, _)| key.clone())
    }

    fn remember(&self, key: &DataKey) {
        let mut cache = self.cache.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if cache.len() >= CACHE_LIMIT {
            cache.retain(|_, (_, at)| at.elapsed() < CACHED_FOR / 2);
            if cache.len() >= CACHE_LIMIT {
                cache.clear();
            }
        }
        cache.insert(key.id().to_owned(), (key.clone(), Instant::now()));
    }
}

/// Opens every sealed event of `stored` with the keys `found` (from [`DataKeys::lookup_all`]);
/// events whose key was destroyed stay sealed. Whether any stayed.
///
/// # Errors
/// When a key is missing from `found` or from the key store, or a sealed payload does not
/// open.
pub fn open_with(
    stored: &mut StoredCommit,
    found: &HashMap<String, KeyLookup>,
) -> Result<bool, EventStoreError> {
    let mut erased = false;
    let stream_sequence = stored.stream_sequence;
    let failed = |reason: String| EventStoreError::Unreadable { stream_sequence, reason };
    let commit = &mut stored.commit;
    for event in &mut commit.events {
        let Some(sealed) = sealing::sealed(&event.payload) else { continue };
        match found.get(&sealed.key) {
            Some(KeyLookup::Found(key)) => {
                let binding = Binding::of(&commit.aggregate_type, &commit.aggregate_id, event);
                let opened = sealing::open(key, binding, &sealed).map_err(|e| failed(e.to_string()))?;
                event.payload = opened;
            }
            Some(KeyLookup::Destroyed) => erased = true,
            Some(KeyLookup::Missing) | None => {
                return Err(failed(format!("its data key {} is not in the key store", sealed.key)));
            }
        }
    }
    Ok(erased)
}
