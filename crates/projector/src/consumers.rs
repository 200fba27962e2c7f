//! The durable consumers projectors share, and pausing them for a rebuild's swap.

use std::time::Duration;

use async_nats::jetstream::consumer::{AckPolicy, DeliverPolicy, PullConsumer, pull};
use async_nats::jetstream::context::ConsumerInfoErrorKind;
use async_nats::jetstream::stream::Stream;
use time::OffsetDateTime;
use tracing::info;
use valentine_projections::position;

use crate::error::ProjectorError;

/// How long a delivered message may stay unacknowledged before JetStream offers it again.
/// This bounds how long a crashed projector's messages wait. It may be shorter than a slow
/// batch: a message offered twice is applied once (the second is skipped as already applied).
pub const ACK_WAIT: Duration = Duration::from_secs(5);

/// Messages delivered but not yet acknowledged, across all projectors.
const MAX_ACK_PENDING: i64 = 20_000;

/// Creates the durable pull consumer reading `stream` from just after `settled_through` (the
/// read model's position: a copied read model resumes where it stands), or brings an existing
/// one up to this configuration, keeping where it delivers from. Every projector process
/// binds the same one, and JetStream spreads messages over them.
///
/// Redelivery is unlimited: a message a projector could not apply (its predecessor was still
/// in flight elsewhere, or SQLite refused) must come back until it is applied.
///
/// # Errors
/// When JetStream refuses.
pub async fn durable(
    stream: &Stream,
    name: &str,
    filter: String,
    settled_through: u64,
) -> Result<PullConsumer, ProjectorError> {
    let deliver_policy = match stream.consumer_info(name).await {
        // A consumer's starting point cannot change; it has moved on from there anyway.
        Ok(info) => info.config.deliver_policy,
        Err(e) if e.kind() == ConsumerInfoErrorKind::NotFound => match settled_through {
            0 => DeliverPolicy::All,
            through => DeliverPolicy::ByStartSequence { start_sequence: through + 1 },
        },
        Err(e) => return Err(ProjectorError::nats(e)),
    };
    stream
        .create_consumer(pull::Config {
            durable_name: Some(name.to_owned()),
            description: Some("Valentine projectors".to_owned()),
            filter_subject: filter,
            deliver_policy,
            ack_policy: AckPolicy::Explicit,
            ack_wait: ACK_WAIT,
            max_deliver: -1,
            max_ack_pending: MAX_ACK_PENDING,
            ..Default::default()
        })
        .await
        .map_err(ProjectorError::nats)
}

/// A paused durable consumer, resumed on [`Paused::resume`] or, should the pauser die, by
/// JetStream itself when the pause expires.
#[derive(Debug, Clone)]
pub struct Paused {
    stream: Stream,
    name: String,
}

impl Paused {
    /// Extends the pause to `pause_for` from now.
    ///
    /// # Errors
    /// When JetStream refuses or does not answer.
    pub async fn renew(&self, pause_for: Duration) -> Result<(), ProjectorError> {
        let until = OffsetDateTime::now_utc() + pause_for;
        self.stream.pause_consumer(&self.name, until).await.map_err(ProjectorError::nats)?;
        Ok(())
    }

    /// Resumes delivery.
    ///
    /// # Errors
    /// When JetStream refuses.
    pub async fn resume(self) -> Result<(), ProjectorError> {
        self.stream.resume_consumer(&self.name).await.map_err(ProjectorError::nats)?;
        info!(consumer = %self.name, "resumed");
        Ok(())
    }
}

/// Pauses `name` on `stream` (if it exists) for at most `pause_for`, and waits until no
/// message is in flight, so everything delivered so far has been applied.
///
/// Returns `None` when there is no such consumer: no projector has run.
///
/// # Errors
/// When JetStream refuses or cannot tell where the consumer stands, or projectors do not
/// settle within `settle_within`.
pub async fn pause_and_settle(
    stream: &Stream,
    name: &str,
    pause_for: Duration,
    settle_within: Duration,
) -> Result<Option<Paused>, ProjectorError> {
    let stream = stream.clone();
    if position::progress(&stream, name).await?.is_none() {
        return Ok(None);
    }
    let until = OffsetDateTime::now_utc() + pause_for;
    stream.pause_consumer(name, until).await.map_err(ProjectorError::nats)?;
    info!(consumer = name, "paused");
    let deadline = tokio::time::Instant::now() + settle_within;
    loop {
        let progress = position::progress(&stream, name)
            .await?
            .ok_or_else(|| ProjectorError::nats(format!("the consumer {name} vanished while paused")))?;
        if progress.unacknowledged == 0 {
            return Ok(Some(Paused { stream: stream.clone(), name: name.to_owned() }));
        }
        if tokio::time::Instant::now() >= deadline {
            stream.resume_consumer(name).await.map_err(ProjectorError::nats)?;
            return Err(ProjectorError::NotSettled(settle_within));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
