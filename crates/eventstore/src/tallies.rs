//! View tallies: how page views reach the read model without an event per view.
//!
//! The API counts views in memory and, about once a second, publishes what it counted as one
//! message, a [`TallyBatch`] on `<prefix>._batch`, with a message id that makes a resent batch
//! count once. Projectors add each page's views to its `view_count`. Views never touch a
//! page's event subject, so they neither slow reads nor contend with commands.
//!
//! Streams written before batches hold one [`ViewTally`] per message on `<prefix>.<slug>`;
//! readers still take those.

use async_nats::jetstream;
use async_nats::jetstream::context::PublishError;
use async_nats::jetstream::message::PublishMessage;
use serde::{Deserialize, Serialize};

use crate::stream::StreamConfig;

/// The subject token of tally batches: no slug key can be it (slugs have no `_`).
pub const BATCH_TOKEN: &str = "_batch";

/// Pages in one batch at most: about 60 bytes each keeps a batch far below NATS's 1 MiB
/// message limit.
pub const MAX_BATCH_PAGES: usize = 4096;

/// Views of one page since the previous tally (the single-page messages of older streams).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ViewTally {
    /// Which life of the slug was viewed: the page's id (stream sequence of its creation).
    pub page_id: u64,
    /// How many views.
    pub count: u64,
}

/// Views of one page, in a batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageViews {
    /// The page's lowercase slug.
    pub slug: String,
    /// Which life of the slug was viewed: the page's id.
    pub page_id: u64,
    /// How many views.
    pub count: u64,
}

/// The views one API process counted in one flush, for many pages.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TallyBatch {
    /// One entry per page viewed.
    pub pages: Vec<PageViews>,
}

/// Subject of a page's single-page tallies (older streams).
pub fn subject(config: &StreamConfig, slug_key: &str) -> String {
    format!("{}.{slug_key}", config.subject_prefix)
}

/// Subject of tally batches.
pub fn batch_subject(config: &StreamConfig) -> String {
    format!("{}.{BATCH_TOKEN}", config.subject_prefix)
}

/// Publishes one batch and waits for JetStream to store it; returns its stream sequence.
/// `message_id` must be unique per batch and reused when resending it.
///
/// # Errors
/// When JetStream does not store it; resending with the same `message_id` is safe.
pub async fn publish(
    js: &jetstream::Context,
    config: &StreamConfig,
    batch: &TallyBatch,
    message_id: &str,
) -> Result<u64, PublishError> {
    let payload = serde_json::to_vec(batch).unwrap_or_default();
    let message = PublishMessage::build().payload(payload.into()).message_id(message_id);
    Ok(js.send_publish(batch_subject(config), message).await?.await?.sequence)
}
