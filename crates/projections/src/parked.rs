//! Parked events: messages a projector could not apply after its deliveries ran out, set
//! aside so the rest of the stream goes on being projected, until an operator decides.
//!
//! A record per message lives in the key-value bucket `<EVENTS stream>_PARKED` at
//! `<consumer>.<stream sequence>`, and stays there for audit whatever becomes of it:
//!
//! - [`ParkedState::Parked`]: set aside; the read model lacks it.
//! - [`ParkedState::Retry`]: an operator asked for another attempt ([`ParkedEvents::decide`]);
//!   a projector of that consumer claims it ([`ParkedEvents::claim_retry`]), projects it and
//!   records the outcome ([`ParkedEvents::finish_retry`]): `Resolved`, or `Parked` again.
//! - [`ParkedState::Resolved`]: applied by a retry (or found applied already).
//! - [`ParkedState::Skipped`]: an operator decided it is not to be applied.
//!
//! Every change is a compare-and-swap on the record's revision, so two operators, or two
//! projectors, never both act on one record.

use std::time::Duration;

use async_nats::jetstream::kv::{self, Operation, Store};
use async_nats::jetstream::{self, stream::StorageType};
use futures::TryStreamExt;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use valentine_eventstore::StreamConfig;

use crate::error::ProjectionError;

/// How many versions of a record the bucket keeps: its history of decisions.
const HISTORY: i64 = 5;

/// How long a projector's claim on a retry holds before another may take it over (the first
/// died while retrying).
pub const CLAIM_FOR: Duration = Duration::from_secs(120);

/// The bucket's name for the event stream `events`.
pub fn bucket_name(events: &StreamConfig) -> String {
    format!("{}_PARKED", events.stream_name)
}

/// The key of the record of the message at `stream_sequence` for `consumer`.
pub fn key(consumer: &str, stream_sequence: u64) -> String {
    format!("{consumer}.{stream_sequence}")
}

/// Where a parked event stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ParkedState {
    /// Set aside: the read model lacks it.
    Parked,
    /// An operator asked for another attempt; a projector takes it up.
    Retry,
    /// Applied by a retry.
    Resolved,
    /// An operator decided it is not to be applied.
    Skipped,
}

/// One parked message and what became of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParkedEvent {
    /// The durable consumer that could not apply it.
    pub consumer: String,
    /// The stream it is in.
    pub stream: String,
    /// Its sequence in the stream.
    pub stream_sequence: u64,
    /// Its subject.
    pub subject: String,
    /// Why it could not be applied, the last time it was tried.
    pub error: String,
    /// Deliveries and retries it has had.
    pub attempts: u64,
    /// When it was parked (RFC 3339).
    pub parked_at: String,
    /// Where it stands.
    pub state: ParkedState,
    /// Who made the last decision about it.
    pub decided_by: Option<String>,
    /// Why.
    pub decision_reason: Option<String>,
    /// When (RFC 3339).
    pub decided_at: Option<String>,
}

/// An operator's decision about a parked event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Try to apply it again.
    Retry,
    /// Leave it unapplied for good.
    Skip,
}

/// Why a decision was not recorded.
#[derive(Debug, thiserror::Error)]
pub enum DecideError {
    /// There is no record for that consumer and sequence.
    #[error("no such parked event")]
    NotFound,
    /// The record is not (or no longer) parked: decided already, or being retried.
    #[error("this event is {0:?}, not parked")]
    NotParked(ParkedState),
    /// The bucket failed.
    #[error(transparent)]
    Store(ProjectionError),
}

/// A record as stored: the event, and which projector is retrying it, if one is.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Stored {
    #[serde(flatten)]
    event: ParkedEvent,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    claimed: Option<Claimed>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Claimed {
    by: String,
    /// Unix time of the claim.
    at: i64,
}

/// A retry a projector has claimed: only it works on the record until it calls
/// [`ParkedEvents::finish_retry`] (or [`CLAIM_FOR`] passes).
#[derive(Debug, Clone)]
pub struct RetryClaim {
    /// The record as claimed.
    pub event: ParkedEvent,
    revision: u64,
}

/// The parked events of one event stream; cheap to clone.
#[derive(Clone, Debug)]
pub struct ParkedEvents {
    store: Store,
}

fn bucket_error(e: impl Into<Box<dyn std::error::Error + Send + Sync + 'static>>) -> ProjectionError {
    ProjectionError::Bucket(e.into())
}

/// Now, in RFC 3339.
pub fn now_rfc3339() -> String {
    OffsetDateTime::now_utc().format(&Rfc3339).unwrap_or_default()
}

fn encode(stored: &Stored) -> Result<Vec<u8>, ProjectionError> {
    serde_json::to_vec(stored).map_err(bucket_error)
}

impl ParkedEvents {
    /// The parked events of the event stream `events`, their bucket created if missing.
    ///
    /// # Errors
    /// When JetStream refuses.
    pub async fn open(js: &jetstream::Context, events: &StreamConfig) -> Result<Self, ProjectionError> {
        let store = js
            .create_or_update_key_value(kv::Config {
                bucket: bucket_name(events),
                description: "Valentine: events the projectors could not apply, and what became of them"
                    .to_owned(),
                history: HISTORY,
                storage: StorageType::File,
                num_replicas: events.replicas.unwrap_or(1),
                ..Default::default()
            })
            .await
            .map_err(bucket_error)?;
        Ok(Self { store })
    }

    /// Every record with its revision.
    async fn entries(&self) -> Result<Vec<(Stored, u64)>, ProjectionError> {
        let keys: Vec<String> =
            self.store.keys().await.map_err(bucket_error)?.try_collect().await.map_err(bucket_error)?;
        let mut entries = Vec::with_capacity(keys.len());
        for key in keys {
            if let Some(entry) = self.entry(&key).await? {
                entries.push(entry);
            }
        }
        Ok(entries)
    }

    async fn entry(&self, key: &str) -> Result<Option<(Stored, u64)>, ProjectionError> {
        let Some(entry) = self.store.entry(key).await.map_err(bucket_error)? else { return Ok(None) };
        if entry.operation != Operation::Put {
            return Ok(None);
        }
        // A value that does not decode is no record this version knows.
        Ok(serde_json::from_slice::<Stored>(&entry.value).ok().map(|s| (s, entry.revision)))
    }

    /// Every record, newest first.
    ///
    /// # Errors
    /// When JetStream refuses or does not answer.
    pub async fn list(&self) -> Result<Vec<ParkedEvent>, ProjectionError> {
        let mut events: Vec<ParkedEvent> = self.entries().await?.into_iter().map(|(s, _)| s.event).collect();
        let at = |e: &ParkedEvent| OffsetDateTime::parse(&e.parked_at, &Rfc3339).ok();
        events.sort_by(|a, b| {
            (at(b), b.stream_sequence, &b.consumer).cmp(&(at(a), a.stream_sequence, &a.consumer))
        });
        Ok(events)
    }

    /// The record of the message at `stream_sequence` for `consumer`, if there is one.
    ///
    /// # Errors
    /// When JetStream refuses or does not answer.
    pub async fn get(
        &self,
        consumer: &str,
        stream_sequence: u64,
    ) -> Result<Option<ParkedEvent>, ProjectionError> {
        Ok(self.entry(&key(consumer, stream_sequence)).await?.map(|(s, _)| s.event))
    }

    /// Records an operator's decision about a parked event: [`Decision::Retry`] hands it to a
    /// projector, [`Decision::Skip`] leaves it unapplied for good. Only a record in
    /// [`ParkedState::Parked`] takes a decision.
    ///
    /// # Errors
    /// [`DecideError::NotFound`], [`DecideError::NotParked`] (decided already, perhaps by
    /// someone else a moment ago), or the bucket failed.
    pub async fn decide(
        &self,
        consumer: &str,
        stream_sequence: u64,
        decision: Decision,
        by: &str,
        reason: &str,
    ) -> Result<ParkedEvent, DecideError> {
        let key = key(consumer, stream_sequence);
        let (mut stored, revision) =
            self.entry(&key).await.map_err(DecideError::Store)?.ok_or(DecideError::NotFound)?;
        if stored.event.state != ParkedState::Parked {
            return Err(DecideError::NotParked(stored.event.state));
        }
        stored.event.state = match decision {
            Decision::Retry => ParkedState::Retry,
            Decision::Skip => ParkedState::Skipped,
        };
        stored.event.decided_by = Some(by.to_owned());
        stored.event.decision_reason = Some(reason.to_owned());
        stored.event.decided_at = Some(now_rfc3339());
        stored.claimed = None;
        let value = encode(&stored).map_err(DecideError::Store)?;
        match self.store.update(&key, value.into(), revision).await {
            Ok(_) => Ok(stored.event),
            Err(e) => match self.entry(&key).await.map_err(DecideError::Store)? {
                // Someone else changed it in between.
                Some((now, _)) if now.event.state != ParkedState::Parked => {
                    Err(DecideError::NotParked(now.event.state))
                }
                _ => Err(DecideError::Store(bucket_error(e))),
            },
        }
    }

    /// Records `event` as parked (replacing any earlier record of the same message).
    ///
    /// # Errors
    /// When JetStream refuses or does not answer: the message must then not be given up.
    pub async fn park(&self, event: &ParkedEvent) -> Result<(), ProjectionError> {
        let value = encode(&Stored { event: event.clone(), claimed: None })?;
        self.store
            .put(key(&event.consumer, event.stream_sequence), value.into())
            .await
            .map_err(bucket_error)?;
        Ok(())
    }

    /// Claims one record of `consumer` waiting for a retry (unclaimed, or claimed longer than
    /// [`CLAIM_FOR`] ago), for the worker `by`; `None` when none waits or others claimed them
    /// first.
    ///
    /// # Errors
    /// When JetStream refuses or does not answer.
    pub async fn claim_retry(&self, consumer: &str, by: &str) -> Result<Option<RetryClaim>, ProjectionError> {
        let now = OffsetDateTime::now_utc().unix_timestamp();
        let stale = i64::try_from(CLAIM_FOR.as_secs()).unwrap_or(i64::MAX);
        for (mut stored, revision) in self.entries().await? {
            let free = stored.claimed.as_ref().is_none_or(|c| now.saturating_sub(c.at) >= stale);
            if stored.event.consumer != consumer || stored.event.state != ParkedState::Retry || !free {
                continue;
            }
            stored.claimed = Some(Claimed { by: by.to_owned(), at: now });
            let key = key(consumer, stored.event.stream_sequence);
            // Losing the race means another projector has it.
            if let Ok(revision) = self.store.update(&key, encode(&stored)?.into(), revision).await {
                return Ok(Some(RetryClaim { event: stored.event, revision }));
            }
        }
        Ok(None)
    }

    /// Records how a claimed retry went: `Ok` (applied, or applied already) resolves the
    /// record; an error parks it again, one attempt more, with that error.
    ///
    /// # Errors
    /// When JetStream refuses, or the claim was taken over meanwhile.
    pub async fn finish_retry(
        &self,
        claim: RetryClaim,
        outcome: Result<(), String>,
    ) -> Result<ParkedEvent, ProjectionError> {
        let mut event = claim.event;
        match outcome {
            Ok(()) => event.state = ParkedState::Resolved,
            Err(error) => {
                event.state = ParkedState::Parked;
                event.attempts += 1;
                event.error = error;
            }
        }
        let stored = Stored { event, claimed: None };
        let key = key(&stored.event.consumer, stored.event.stream_sequence);
        self.store.update(&key, encode(&stored)?.into(), claim.revision).await.map_err(bucket_error)?;
        Ok(stored.event)
    }

    /// Follows every change to the records (retries asked for, among others).
    ///
    /// # Errors
    /// When JetStream refuses.
    pub async fn watch(&self) -> Result<kv::Watch, ProjectionError> {
        self.store.watch_all().await.map_err(bucket_error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_reads_back_as_the_public_type_whatever_claim_it_carries() {
        let event = ParkedEvent {
            consumer: "projector-main".to_owned(),
            stream: "EVENTS".to_owned(),
            stream_sequence: 42,
            subject: "events.page.late".to_owned(),
            error: "its predecessor never came".to_owned(),
            attempts: 8,
            parked_at: now_rfc3339(),
            state: ParkedState::Retry,
            decided_by: Some("ops@host".to_owned()),
            decision_reason: Some("predecessor published".to_owned()),
            decided_at: Some(now_rfc3339()),
        };
        let stored = Stored { event: event.clone(), claimed: Some(Claimed { by: "abc".to_owned(), at: 1 }) };
        let bytes = encode(&stored).expect("encodes");
        let text = String::from_utf8(bytes.clone()).expect("utf-8");
        assert!(text.contains(r#""state":"retry""#) && text.contains(r#""claimed""#), "{text}");
        assert_eq!(serde_json::from_slice::<ParkedEvent>(&bytes).expect("decodes"), event);
        assert_eq!(key("projector-main", 42), "projector-main.42");
    }
}
