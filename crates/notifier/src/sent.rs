//! The ledger of mails: one key per event mailed about, in the JetStream key-value bucket
//! `<EVENTS>_MAILS`, so each event gets one mail however often it is delivered and however
//! many notifiers run.
//!
//! A notifier claims an event's mail before sending it (creating its key: exactly one of any
//! number of racers can), and marks it sent afterwards. A claim not marked sent within
//! [`CLAIM_FOR`] belonged to a notifier that died mid-send; another may take it over then,
//! and mail it again. That one window (a crash between the mail server's acceptance and the
//! mark) is the only way to a second mail, and the mail's `Message-ID` is the same then.

use std::time::Duration;

use async_nats::jetstream::kv::{self, CreateErrorKind, Operation};
use async_nats::jetstream::{self, stream::StorageType};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use valentine_eventstore::StreamConfig;

use crate::error::NotifierError;

/// How long a claim holds before another notifier may take it over. Longer than any send
/// (the SMTP transport gives up after 30 s).
pub const CLAIM_FOR: Duration = Duration::from_secs(120);

/// How long the ledger remembers a mail: longer than an event stays news (see
/// `NOTIFY_MAX_AGE_HOURS`), after which it is never mailed about anyway.
const KEPT_FOR: Duration = Duration::from_secs(14 * 24 * 3600);

/// The bucket's name for the event stream `events`.
pub fn bucket_name(events: &StreamConfig) -> String {
    format!("{}_MAILS", events.stream_name)
}

/// What the ledger says of one event's mail, for the caller that asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// Yours to send: mark it [sent](SentMails::sent) with this revision, or
    /// [release](SentMails::release) it.
    Yours(u64),
    /// Sent already.
    Sent,
    /// Another notifier is sending it now.
    Busy,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
enum Entry {
    /// Claimed at this Unix time.
    Sending { since: i64 },
    /// Sent.
    Sent,
}

/// The ledger; cheap to clone.
#[derive(Debug, Clone)]
pub struct SentMails {
    store: kv::Store,
}

impl SentMails {
    /// Opens the ledger of the event stream `events`, creating its bucket if missing.
    ///
    /// # Errors
    /// When JetStream refuses.
    pub async fn open(js: &jetstream::Context, events: &StreamConfig) -> Result<Self, NotifierError> {
        let store = js
            .create_or_update_key_value(kv::Config {
                bucket: bucket_name(events),
                description: "Valentine: mails sent about events, so each is sent once".to_owned(),
                history: 1,
                max_age: KEPT_FOR,
                storage: StorageType::File,
                num_replicas: events.replicas.unwrap_or(1),
                ..Default::default()
            })
            .await
            .map_err(NotifierError::nats)?;
        Ok(Self { store })
    }

    /// Claims the mail about the event at `stream_sequence`.
    ///
    /// # Errors
    /// When JetStream cannot be reached.
    pub async fn claim(&self, stream_sequence: u64) -> Result<Claim, NotifierError> {
        let key = stream_sequence.to_string();
        let now = OffsetDateTime::now_utc().unix_timestamp();
        let sending = encode(&Entry::Sending { since: now });
        match self.store.create(&key, sending.clone().into()).await {
            Ok(revision) => return Ok(Claim::Yours(revision)),
            Err(e) if e.kind() == CreateErrorKind::AlreadyExists => {}
            Err(e) => return Err(NotifierError::nats(e)),
        }
        let Some(entry) = self.store.entry(&key).await.map_err(NotifierError::nats)? else {
            // Removed in between (released): the next delivery claims it.
            return Ok(Claim::Busy);
        };
        let state = match entry.operation {
            Operation::Put => serde_json::from_slice::<Entry>(&entry.value).ok(),
            // Released: free to claim again.
            Operation::Delete | Operation::Purge => None,
        };
        let stale = i64::try_from(CLAIM_FOR.as_secs()).unwrap_or(i64::MAX);
        match state {
            Some(Entry::Sent) => Ok(Claim::Sent),
            Some(Entry::Sending { since }) if now.saturating_sub(since) < stale => Ok(Claim::Busy),
            // A claim whose notifier died, or a released one: take it over, unless another
            // notifier does first.
            _ => match self.store.update(&key, sending.into(), entry.revision).await {
                Ok(revision) => Ok(Claim::Yours(revision)),
                Err(_) => Ok(Claim::Busy),
            },
        }
    }

    /// Marks the mail claimed with `revision` sent.
    ///
    /// # Errors
    /// When JetStream cannot be reached, or the claim was taken over meanwhile.
    pub async fn sent(&self, stream_sequence: u64, revision: u64) -> Result<(), NotifierError> {
        self.store
            .update(stream_sequence.to_string(), encode(&Entry::Sent).into(), revision)
            .await
            .map(drop)
            .map_err(NotifierError::nats)
    }

    /// Gives up the claim with `revision` (the mail was not sent): the next delivery of the
    /// event may claim it at once.
    pub async fn release(&self, stream_sequence: u64, revision: u64) {
        let key = stream_sequence.to_string();
        if let Err(e) = self.store.delete_expect_revision(&key, Some(revision)).await {
            tracing::debug!(error = %e, "a claim stays until it runs out");
        }
    }
}

fn encode(entry: &Entry) -> Vec<u8> {
    serde_json::to_vec(entry).unwrap_or_default()
}
