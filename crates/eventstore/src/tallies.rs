//! View tallies: how page views reach the read model without an event per view.
//!
//! The API counts views in memory and, about once a second, publishes one tally per viewed
//! page to the VIEWS stream (`views.<slug>`), with a message id that makes a resent tally
//! count once. Projectors add tallies to the page's `view_count`. Views never touch a page's
//! event subject, so they neither slow reads nor contend with commands.

use async_nats::jetstream;
use async_nats::jetstream::context::PublishError;
use async_nats::jetstream::message::PublishMessage;
use serde::{Deserialize, Serialize};

use crate::stream::StreamConfig;
use crate::subjects;

/// Views of one page since the previous tally.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ViewTally {
    /// Which life of the slug was viewed: the page's id (stream sequence of its creation).
    pub page_id: u64,
    /// How many views.
    pub count: u64,
}

/// Subject of a page's tallies.
pub fn subject(config: &StreamConfig, slug_key: &str) -> String {
    format!("{}.{slug_key}", config.subject_prefix)
}

/// Publishes one tally and waits for JetStream to store it. `message_id` must be unique per
/// tally and reused when resending it.
///
/// # Errors
/// When JetStream does not store it; resending with the same `message_id` is safe.
pub async fn publish(
    js: &jetstream::Context,
    config: &StreamConfig,
    slug_key: &str,
    tally: ViewTally,
    message_id: &str,
) -> Result<u64, PublishError> {
    debug_assert!(subjects::is_valid_id(slug_key));
    let payload = serde_json::to_vec(&tally).unwrap_or_default();
    let message = PublishMessage::build().payload(payload.into()).message_id(message_id);
    Ok(js.send_publish(subject(config, slug_key), message).await?.await?.sequence)
}
