//! The `Page` aggregate's event store as every role opens it: restarts at deletions and
//! erasures, personal events sealed with their page life's data key, and older event
//! versions upcast on every read.

use async_nats::jetstream;
use valentine_domain::page::versions;
use valentine_domain::{ErasedEvent, Page};
use valentine_eventstore::repository::Sealing;
use valentine_eventstore::sealing::Body;
use valentine_eventstore::{DataKeys, EventStoreError, JetStreamEventRepository, StoredCommit, StreamConfig};

use crate::pages::PageCommit;

/// What pages seal, where their lives begin, and what erases them.
pub const PAGE_SEALING: Sealing =
    Sealing { personal: Page::PERSONAL, begins_life: Page::BEGINS_LIFE, erases: Page::ERASES };

/// The page event store on `events`, with its key store (both created if missing).
///
/// # Errors
/// When the stream or the key bucket cannot be set up.
pub async fn open(
    js: &jetstream::Context,
    events: &StreamConfig,
) -> Result<JetStreamEventRepository, EventStoreError> {
    open_with(js, events, DataKeys::open(js, events).await?).await
}

/// The page event store on `events` with the key store `keys`.
///
/// # Errors
/// When the stream cannot be set up.
pub async fn open_with(
    js: &jetstream::Context,
    events: &StreamConfig,
    keys: DataKeys,
) -> Result<JetStreamEventRepository, EventStoreError> {
    Ok(JetStreamEventRepository::new(js.clone(), events.clone())
        .await?
        .restarting_at(Page::RESTARTS)
        .sealing(keys, PAGE_SEALING))
}

/// A loaded (and opened) commit brought to the current event versions and decoded; events
/// whose key was destroyed decode as erased.
///
/// # Errors
/// When an event's version is unknown or its payload does not decode.
/// The current life of the page at `slug_key` (from its latest erasure or deletion on),
/// oldest first, opened and decoded.
///
/// # Errors
/// When the stream cannot be read or holds a malformed commit.
pub async fn load_life(
    repo: &JetStreamEventRepository,
    slug_key: &str,
) -> Result<Vec<PageCommit>, EventStoreError> {
    let commits = repo.load_life::<Page>(slug_key).await?;
    Ok(commits.into_iter().map(decode).collect::<Result<Vec<PageCommit>, _>>()?)
}

/// A stored page commit, brought to the current event versions and decoded.
pub fn decode(
    mut stored: StoredCommit,
) -> Result<PageCommit, valentine_eventstore::envelope::MalformedCommit> {
    let upcasters = versions::upcasters();
    stored.upcast(|e| versions::upcast_with(&upcasters, e))?;
    stored.typed_with(Body::decode)
}

/// The skeleton of what erasing the slug `slug_key` would erase now: every event since its
/// latest erasure, as the erasure records it.
///
/// # Errors
/// When the stream cannot be read.
pub async fn erasure_skeleton(
    repo: &JetStreamEventRepository,
    slug_key: &str,
) -> Result<Vec<ErasedEvent>, EventStoreError> {
    let commits = repo.erasable::<Page>(slug_key).await?;
    Ok(commits
        .into_iter()
        .flat_map(|stored| {
            let stream_sequence = stored.stream_sequence;
            stored.commit.events.into_iter().map(move |e| ErasedEvent {
                sequence: e.sequence,
                stream_sequence,
                event_type: e.event_type,
                occurred_at: e
                    .metadata
                    .get(valentine_eventstore::envelope::meta::TIMESTAMP)
                    .and_then(serde_json::Value::as_str)
                    .unwrap_or_default()
                    .to_owned(),
            })
        })
        .collect())
}
