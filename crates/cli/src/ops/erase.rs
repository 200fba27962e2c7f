//! `valentine erase`: an operator's erasure of a slug's pages, without the edit token (a
//! legal request), recorded in the stream with its reason and the skeleton of what it
//! erased; and `valentine erase --again`,
//! which carries out every erasure the stream records once more (after a restore of the key
//! store, whose older copy may hold keys erased since).

use std::collections::HashMap;
use std::time::Duration;

use async_nats::jetstream;
use async_nats::jetstream::consumer::{DeliverPolicy, pull};
use cqrs_es::AggregateError;
use futures::StreamExt;
use serde::Serialize;
use tracing::info;
use ulid::Ulid;
use valentine_domain::page::versions;
use valentine_domain::{ErasePage, Page, PageCommand, PageError, PageEvent, PageRules};
use valentine_eventstore::envelope::{header, meta};
use valentine_eventstore::{
    JetStreamEventRepository, PhotoStore, execute_with_receipt, jetstream_cqrs, subjects,
};
use valentine_projections::page_store;
use valentine_projector::ReadSideConfig;

use super::OpsError;

/// How many times an erasure that lost a race with a change of the page is run again.
const ATTEMPTS: u32 = 5;

/// What one erasure did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Erasure {
    /// The slug, lowercase.
    pub slug: String,
    /// The stream sequence of its `PageErased`.
    pub stream_sequence: u64,
    /// Data keys this run destroyed (a projector applying the erasure carries it out too, and
    /// may have destroyed some first).
    pub keys_destroyed: usize,
    /// Messages this run removed from the stream (likewise).
    pub messages_removed: usize,
}

/// Erases whatever `slug` still holds (its live page and pages deleted before deletion
/// erased), recording `reason`.
///
/// # Errors
/// [`OpsError::Refused`] when the slug holds nothing to erase; NATS failures.
pub async fn erase(config: &ReadSideConfig, slug: &str, reason: &str) -> Result<Erasure, OpsError> {
    let key = slug.to_ascii_lowercase();
    if !subjects::is_valid_id(&key) {
        return Err(OpsError::Refused(format!("{slug:?} is not a slug")));
    }
    let repo = open(config, "valentine-erase").await?;
    let cqrs = jetstream_cqrs::<Page>(repo.clone(), PageRules::default(), versions::upcasters());
    let metadata = HashMap::from([(meta::COMMAND_ID.to_owned(), Ulid::new().to_string())]);
    let mut attempt = 0;
    let receipt = loop {
        attempt += 1;
        let erasing = page_store::erasure_skeleton(&repo, &key).await?;
        let command = PageCommand::Erase(ErasePage { reason: reason.to_owned(), erasing });
        let (result, receipt) = execute_with_receipt(&cqrs, &key, command, metadata.clone()).await;
        match result {
            Ok(()) => break receipt,
            Err(AggregateError::AggregateConflict) if attempt < ATTEMPTS => {
                tokio::time::sleep(Duration::from_millis(50 * u64::from(attempt))).await;
            }
            Err(AggregateError::UserError(PageError::NotFound)) => {
                return Err(OpsError::Refused(format!("{slug:?} holds nothing to erase")));
            }
            Err(e) => return Err(OpsError::Refused(format!("the erasure was not recorded: {e}"))),
        }
    };
    let at = receipt
        .map(|r| r.stream_sequence)
        .ok_or_else(|| OpsError::Refused("no erasure recorded".to_owned()))?;
    let report = repo.erase::<Page>(&key, at).await?;
    let photos_removed = photos(config, "valentine-erase").await?.delete_lives(&report.key_ids).await?;
    info!(slug = key, stream_sequence = at, photos_removed, "erased by an operator");
    Ok(Erasure {
        slug: key,
        stream_sequence: at,
        keys_destroyed: report.keys_destroyed.len(),
        messages_removed: report.messages_removed.len(),
    })
}

/// Carries out every erasure recorded in the event stream again, oldest first: keys a
/// restored key store brought back are destroyed, messages left in the stream removed. Returns what each
/// did (most, nothing).
///
/// # Errors
/// NATS failures.
pub async fn erase_again(config: &ReadSideConfig) -> Result<Vec<Erasure>, OpsError> {
    let repo = open(config, "valentine-erase").await?;
    let mut done = Vec::new();
    let mut key_ids = Vec::new();
    for (slug, at) in recorded_erasures(&repo, 1).await? {
        let report = repo.erase::<Page>(&slug, at).await?;
        key_ids.extend(report.key_ids);
        done.push(Erasure {
            slug,
            stream_sequence: at,
            keys_destroyed: report.keys_destroyed.len(),
            messages_removed: report.messages_removed.len(),
        });
    }
    // A restored photo store brings back the photos of erased lives too: they go again.
    let photos_removed = photos(config, "valentine-erase").await?.delete_lives(&key_ids).await?;
    info!(photos_removed, "photos of erased pages removed");
    Ok(done)
}

/// The photo store beside the event stream.
async fn photos(config: &ReadSideConfig, name: &str) -> Result<PhotoStore, OpsError> {
    let client = config.nats.connect(name).await.map_err(OpsError::nats)?;
    Ok(PhotoStore::open(&jetstream::new(client), &config.events).await?)
}

async fn open(config: &ReadSideConfig, name: &str) -> Result<JetStreamEventRepository, OpsError> {
    let client = config.nats.connect(name).await.map_err(OpsError::nats)?;
    Ok(page_store::open(&jetstream::new(client), &config.events).await?)
}

/// Every erasure in the stream from stream sequence `from` on, as (slug, stream sequence),
/// oldest first: read from the messages' headers only, never their payloads.
///
/// # Errors
/// NATS failures.
pub async fn recorded_erasures(
    repo: &JetStreamEventRepository,
    from: u64,
) -> Result<Vec<(String, u64)>, OpsError> {
    let mut consumer = repo
        .stream()
        .create_consumer(pull::OrderedConfig {
            headers_only: true,
            deliver_policy: DeliverPolicy::ByStartSequence { start_sequence: from.max(1) },
            ..Default::default()
        })
        .await
        .map_err(OpsError::nats)?;
    let mut remaining = consumer.info().await.map_err(OpsError::nats)?.num_pending;
    let mut found = Vec::new();
    if remaining == 0 {
        return Ok(found);
    }
    let mut messages = consumer.messages().await.map_err(OpsError::nats)?;
    while remaining > 0 {
        let Some(message) = messages.next().await else { break };
        let message = message.map_err(OpsError::nats)?;
        remaining -= 1;
        let Some(headers) = message.headers.as_ref() else { continue };
        let erases = headers
            .get(header::EVENT_TYPES)
            .is_some_and(|types| types.as_str().split(',').any(|t| t == PageEvent::ERASED));
        if let (true, Some(id)) = (erases, headers.get(header::AGGREGATE_ID)) {
            let sequence = message.info().map_err(OpsError::nats)?.stream_sequence;
            found.push((id.as_str().to_owned(), sequence));
        }
    }
    Ok(found)
}
