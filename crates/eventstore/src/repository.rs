//! `PersistedEventRepository` on JetStream.

use std::time::Duration;

use async_nats::jetstream;
use async_nats::jetstream::consumer::{DeliverPolicy, pull};
use async_nats::jetstream::context::PublishError;
use async_nats::jetstream::message::{PublishMessage, StreamMessage};
use async_nats::jetstream::stream::{DirectGetErrorKind, LastRawMessageErrorKind, Stream};
use cqrs_es::Aggregate;
use cqrs_es::persist::{
    PersistedEventRepository, PersistenceError, ReplayFeed, ReplayStream, SerializedEvent, SerializedSnapshot,
};
use futures::StreamExt;
use serde_json::Value;
use time::OffsetDateTime;
use tracing::{Instrument, debug, instrument, warn};

use crate::data_keys::{DataKeys, KeyLookup};
use crate::envelope::{self, Commit, MalformedCommit, StoredCommit, header};
use crate::error::{EventStoreError, PublishFailure, classify};
use crate::receipt::{self, AppendReceipt};
use crate::sealing::{self, Binding, DataKey};
use crate::stream::{StreamConfig, ensure_stream};
use crate::subjects;

/// Up to this many earlier commits, a load reads them one direct get at a time; beyond it,
/// one ordered consumer streams them, which costs a consumer setup but no round trip each.
const DIRECT_READ_LIMIT: usize = 16;

/// How often a publish whose ack went missing is resent (same message id, so at most once
/// stored) before the append is reported as unavailable.
const PUBLISH_ATTEMPTS: u32 = 3;

/// Messages buffered between a replay's reader task and its consumer.
const REPLAY_QUEUE: usize = 1024;

/// Events of every aggregate on one JetStream stream, one subject per aggregate instance.
///
/// Appends carry `Nats-Expected-Last-Subject-Sequence` (0 for a new aggregate), so two
/// commands racing on one aggregate cannot both land; the loser gets
/// [`PersistenceError::OptimisticLockError`], which cqrs-es reports as `AggregateConflict`.
/// They also carry `Nats-Msg-Id` = the command id, so resending an append is harmless.
///
/// Snapshots are not stored: pages have short histories, and the store runs in cqrs-es's
/// pure event-sourcing mode (`PersistedEventStore::new_event_store`).
#[derive(Debug, Clone)]
pub struct JetStreamEventRepository {
    js: jetstream::Context,
    stream: Stream,
    config: StreamConfig,
    restarts: &'static [&'static str],
    sealing: Option<(DataKeys, Sealing)>,
}

/// Which events carry personal data, and where a page life's key starts and ends.
#[derive(Debug, Clone, Copy)]
pub struct Sealing {
    /// Event types whose payload is personal: sealed with the life's data key.
    pub personal: &'static [&'static str],
    /// Event types that begin a life: a commit holding one is sealed with a fresh key.
    pub begins_life: &'static [&'static str],
    /// Event types that erase every earlier event of their aggregate (back to the previous
    /// one): their messages are removed from the stream, so a gap in the aggregate's
    /// sequences before one is expected.
    pub erases: &'static [&'static str],
}

/// What carrying out an erasure did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ErasureReport {
    /// The data keys of every life the erasure covers (ids), destroyed now or before: what
    /// else they sealed (photos) goes with them.
    pub key_ids: Vec<String>,
    /// Data keys destroyed (ids).
    pub keys_destroyed: Vec<String>,
    /// Messages securely deleted from the stream: their stream sequences.
    pub messages_removed: Vec<u64>,
}

impl JetStreamEventRepository {
    /// Connects to the stream, creating or updating it first.
    ///
    /// # Errors
    /// When the stream cannot be set up.
    pub async fn new(js: jetstream::Context, config: StreamConfig) -> Result<Self, EventStoreError> {
        let stream = ensure_stream(&js, &config).await?;
        Ok(Self { js, stream, config, restarts: &[], sealing: None })
    }

    /// Seals personal events with their page life's data key from `keys`, opens them on
    /// every load, and lets [`Self::erase`] destroy them.
    #[must_use]
    pub fn sealing(mut self, keys: DataKeys, sealing: Sealing) -> Self {
        self.sealing = Some((keys, sealing));
        self
    }

    /// The data keys, when events are sealed.
    pub fn keys(&self) -> Option<&DataKeys> {
        self.sealing.as_ref().map(|(keys, _)| keys)
    }

    /// Names the event types after which an aggregate is as if new (for a page: its
    /// deletion, which frees the slug). Commands then load an aggregate only from its latest
    /// such event: a slug that lived a thousand lives loads like a new one. Without them,
    /// every load reads the whole history.
    #[must_use]
    pub fn restarting_at(mut self, event_types: &'static [&'static str]) -> Self {
        self.restarts = event_types;
        self
    }

    /// The stream configuration in use.
    pub fn config(&self) -> &StreamConfig {
        &self.config
    }

    /// The JetStream stream handle.
    pub fn stream(&self) -> &Stream {
        &self.stream
    }

    fn subject(&self, aggregate_type: &str, id: &str) -> Result<String, EventStoreError> {
        if subjects::is_valid_id(id) {
            Ok(subjects::aggregate(&self.config.subject_prefix, aggregate_type, id))
        } else {
            Err(EventStoreError::InvalidAggregateId(id.to_owned()))
        }
    }

    /// The newest message on `subject`, or `None` when it has none.
    async fn last_message(&self, subject: &str) -> Result<Option<StreamMessage>, EventStoreError> {
        match self.stream.direct_get_last_for_subject(subject).await {
            Ok(message) => Ok(Some(message)),
            Err(e) if e.kind() == DirectGetErrorKind::NotFound => Ok(None),
            Err(e) => Err(EventStoreError::unavailable(e)),
        }
    }

    /// The data key of the current life of the aggregate `aggregate_id` of type `A`: the one
    /// its newest commit names, unless that commit ends the life (or there is none). `None`
    /// also for a life begun before sealing, or one whose key is gone.
    ///
    /// # Errors
    /// When the stream or the key store cannot be read.
    pub async fn life_key<A: Aggregate>(
        &self,
        aggregate_id: &str,
    ) -> Result<Option<DataKey>, EventStoreError> {
        let Some((keys, _)) = &self.sealing else { return Ok(None) };
        let subject = self.subject(A::TYPE, aggregate_id)?;
        let Some(last) = self.last_message(&subject).await? else { return Ok(None) };
        let ended = header_value(&last, header::EVENT_TYPES)
            .is_some_and(|types| types.split(',').any(|t| self.restarts.contains(&t)));
        let Some(id) = header_value(&last, header::DATA_KEY).filter(|_| !ended) else { return Ok(None) };
        match keys.lookup(id).await? {
            KeyLookup::Found(key) => Ok(Some(key)),
            KeyLookup::Destroyed | KeyLookup::Missing => Ok(None),
        }
    }

    /// The stream sequence of the newest commit of the aggregate `aggregate_id` of type `A`,
    /// or `None` without any: one direct get, whatever the history's length.
    ///
    /// # Errors
    /// When the stream cannot be read.
    pub async fn head_of<A: Aggregate>(&self, aggregate_id: &str) -> Result<Option<u64>, EventStoreError> {
        let subject = subjects::aggregate(&self.config.subject_prefix, A::TYPE, aggregate_id);
        Ok(self.last_message(&subject).await?.map(|message| message.sequence))
    }

    /// Every commit of the aggregate `aggregate_id` of type `A`, oldest first.
    ///
    /// # Errors
    /// When the stream cannot be read or holds a malformed commit.
    pub async fn load_history<A: Aggregate>(
        &self,
        aggregate_id: &str,
    ) -> Result<Vec<StoredCommit>, EventStoreError> {
        self.load_commits(&subjects::aggregate(&self.config.subject_prefix, A::TYPE, aggregate_id)).await
    }

    /// The commits of the aggregate `aggregate_id` of type `A` from its latest restarting
    /// event on (its current life, for a page), oldest first, opened.
    ///
    /// # Errors
    /// When the stream cannot be read or holds a malformed commit.
    pub async fn load_life<A: Aggregate>(
        &self,
        aggregate_id: &str,
    ) -> Result<Vec<StoredCommit>, EventStoreError> {
        self.load_current(&self.subject(A::TYPE, aggregate_id)?).await
    }

    /// Every commit of one aggregate, oldest first, reading only its subject.
    #[instrument(level = "debug", skip(self), fields(subject = %subject, commits))]
    pub async fn load_commits(&self, subject: &str) -> Result<Vec<StoredCommit>, EventStoreError> {
        let Some(last) = self.last_message(subject).await? else {
            return Ok(Vec::new());
        };
        let last = Commit::decode(last.sequence, &last.payload)?;
        let earlier_events = last.commit.first_sequence() - 1;
        let mut commits = if earlier_events == 0 {
            Vec::new()
        } else if earlier_events <= DIRECT_READ_LIMIT {
            self.read_directly(subject, 1, last.stream_sequence).await?
        } else {
            self.read_with_consumer(subject, 1, last.stream_sequence).await?
        };
        commits.push(last);
        self.check_history(&commits, 1)?;
        self.open_all(&mut commits).await?;
        tracing::Span::current().record("commits", commits.len());
        Ok(commits)
    }

    /// The commits a command needs to decide on the aggregate at `subject`: from its latest
    /// restarting event (see [`Self::restarting_at`]) on, oldest first; every commit when it
    /// never restarted or was written before restarts were recorded.
    #[instrument(level = "debug", skip(self), fields(subject = %subject, commits))]
    async fn load_current(&self, subject: &str) -> Result<Vec<StoredCommit>, EventStoreError> {
        let Some(last_message) = self.last_message(subject).await? else {
            return Ok(Vec::new());
        };
        let from = match header_value(&last_message, header::LOAD_FROM).and_then(|v| v.parse::<u64>().ok()) {
            Some(0) => last_message.sequence,
            Some(from) => from,
            None => return self.load_commits(subject).await,
        };
        let last = Commit::decode(last_message.sequence, &last_message.payload)?;
        let mut commits = if from >= last.stream_sequence {
            Vec::new()
        } else {
            let start = self.stream.direct_get(from).await.map_err(EventStoreError::unavailable)?;
            let start = Commit::decode(start.sequence, &start.payload)?;
            if start.commit.aggregate_id != last.commit.aggregate_id {
                warn!(from, "the load-from header points at another aggregate; loading everything");
                return self.load_commits(subject).await;
            }
            let between = last.commit.first_sequence().saturating_sub(start.commit.last_sequence() + 1);
            let mut commits = if between == 0 {
                Vec::new()
            } else if between <= DIRECT_READ_LIMIT {
                self.read_directly(subject, start.stream_sequence + 1, last.stream_sequence).await?
            } else {
                self.read_with_consumer(subject, start.stream_sequence + 1, last.stream_sequence).await?
            };
            commits.insert(0, start);
            commits
        };
        commits.push(last);
        self.drop_before_restart(&mut commits);
        let first = commits.first().map_or(1, |c| c.commit.first_sequence());
        self.check_history(&commits, first)?;
        self.open_all(&mut commits).await?;
        tracing::Span::current().record("commits", commits.len());
        Ok(commits)
    }

    fn check_history(&self, commits: &[StoredCommit], first: usize) -> Result<(), EventStoreError> {
        let erasing = self.sealing.as_ref().map_or(&[][..], |(_, s)| s.erases);
        check_history(commits, first, erasing)
    }

    /// Opens the sealed events of `commits` (those whose key was destroyed stay sealed).
    async fn open_all(&self, commits: &mut [StoredCommit]) -> Result<(), EventStoreError> {
        let Some((keys, _)) = &self.sealing else { return Ok(()) };
        for stored in commits {
            keys.open_commit(stored).await?;
        }
        Ok(())
    }

    /// The data key to seal a commit of `events` with, given the id of the key that sealed
    /// the aggregate's newest commit; whether it was made for this commit.
    async fn sealing_key(
        &self,
        events: &[SerializedEvent],
        last_key: Option<&str>,
    ) -> Result<Option<(DataKey, bool)>, EventStoreError> {
        let Some((keys, sealing)) = &self.sealing else { return Ok(None) };
        if !events.iter().any(|e| sealing.personal.contains(&e.event_type.as_str())) {
            return Ok(None);
        }
        let begins = events.iter().any(|e| sealing.begins_life.contains(&e.event_type.as_str()));
        if !begins && let Some(id) = last_key {
            return match keys.lookup(id).await? {
                KeyLookup::Found(key) => Ok(Some((key, false))),
                KeyLookup::Destroyed | KeyLookup::Missing => Err(EventStoreError::Conflict),
            };
        }
        // A new life, or one begun before sealing: a fresh key from here on.
        Ok(Some((keys.create().await?, true)))
    }

    /// Seals the personal events of `commit` with `key`.
    fn seal(&self, commit: &mut Commit, key: &DataKey) -> Result<(), EventStoreError> {
        let Some((_, sealing)) = &self.sealing else { return Ok(()) };
        for event in &mut commit.events {
            if !sealing.personal.contains(&event.event_type.as_str()) {
                continue;
            }
            let binding = Binding::of(&commit.aggregate_type, &commit.aggregate_id, event);
            let sealed = sealing::seal(key, binding, &event.payload)
                .map_err(|e| EventStoreError::Rejected(e.into()))?;
            event.payload = sealed;
        }
        Ok(())
    }

    /// The commits an erasure of the aggregate `aggregate_id` of type `A` would erase now:
    /// every one after its latest erasing event (all, without one), oldest first, as stored
    /// (sealed). For the erasure's audit skeleton.
    ///
    /// # Errors
    /// When the stream cannot be read.
    pub async fn erasable<A: Aggregate>(
        &self,
        aggregate_id: &str,
    ) -> Result<Vec<StoredCommit>, EventStoreError> {
        let subject = self.subject(A::TYPE, aggregate_id)?;
        let Some(last) = self.last_message(&subject).await? else { return Ok(Vec::new()) };
        self.since_latest_erasure(&subject, last.sequence).await
    }

    /// The commits of `subject` up to and including its commit at stream sequence `through`,
    /// after its latest erasing event, oldest first, as stored.
    async fn since_latest_erasure(
        &self,
        subject: &str,
        through: u64,
    ) -> Result<Vec<StoredCommit>, EventStoreError> {
        let mut commits = self.read_with_consumer(subject, 1, through).await?;
        let last = self.stream.direct_get(through).await.map_err(EventStoreError::unavailable)?;
        commits.push(Commit::decode(last.sequence, &last.payload)?);
        Ok(self.after_latest_erasure(commits))
    }

    fn after_latest_erasure(&self, mut commits: Vec<StoredCommit>) -> Vec<StoredCommit> {
        let erases = self.sealing.as_ref().map_or(&[][..], |(_, s)| s.erases);
        let erasing =
            |c: &StoredCommit| c.commit.events.iter().any(|e| erases.contains(&e.event_type.as_str()));
        let from = commits.iter().rposition(erasing).map_or(0, |at| at + 1);
        commits.drain(..from);
        commits
    }

    /// For a commit of `events` that erases, the data keys it destroys: those of the sealed
    /// commits of `subject` since its latest erasure, up to its newest commit `expected` (the
    /// append fails if another lands meanwhile, and is then decided again). Recorded on the
    /// erasing commit, so carrying the erasure out again finds them after the commits
    /// themselves are removed.
    async fn keys_an_erasure_destroys(
        &self,
        subject: &str,
        events: &[SerializedEvent],
        expected: u64,
    ) -> Result<Vec<String>, EventStoreError> {
        let Some((_, sealing)) = &self.sealing else { return Ok(Vec::new()) };
        if expected == 0 || !events.iter().any(|e| sealing.erases.contains(&e.event_type.as_str())) {
            return Ok(Vec::new());
        }
        Ok(sealed_keys(&self.since_latest_erasure(subject, expected).await?))
    }

    /// Carries out the erasure of the aggregate `aggregate_id` of type `A` recorded at stream
    /// sequence `before` (the stream sequence of a commit of it): every message of the
    /// aggregate before it, back to the previous erasure, is securely deleted from the
    /// stream (the server overwrites it where it is stored), and every data key they were
    /// sealed with is destroyed, so no copy of them elsewhere (a backup, a lagging replica)
    /// can be read either. Idempotent: running it again finds nothing more to do.
    ///
    /// # Errors
    /// When the stream or the key store cannot be reached.
    #[instrument(skip(self), fields(keys_destroyed, messages_removed))]
    pub async fn erase<A: Aggregate>(
        &self,
        aggregate_id: &str,
        before: u64,
    ) -> Result<ErasureReport, EventStoreError> {
        let Some((keys, _)) = &self.sealing else { return Ok(ErasureReport::default()) };
        let subject = self.subject(A::TYPE, aggregate_id)?;
        let commits = self.after_latest_erasure(self.read_with_consumer(&subject, 1, before).await?);
        let mut report = ErasureReport::default();
        let mut key_ids = sealed_keys(&commits);
        let erasure = self.stream.direct_get(before).await.map_err(EventStoreError::unavailable)?;
        if let Some(recorded) = header_value(&erasure, header::ERASED_DATA_KEYS) {
            for id in recorded.split(',').filter(|id| !id.is_empty()) {
                if !key_ids.iter().any(|k| k == id) {
                    key_ids.push(id.to_owned());
                }
            }
        }
        for stored in &commits {
            if self.remove(stored.stream_sequence).await? {
                report.messages_removed.push(stored.stream_sequence);
            }
        }
        for id in key_ids {
            if keys.destroy(&id).await? {
                report.keys_destroyed.push(id.clone());
            }
            report.key_ids.push(id);
        }
        let span = tracing::Span::current();
        span.record("keys_destroyed", report.keys_destroyed.len());
        span.record("messages_removed", report.messages_removed.len());
        Ok(report)
    }

    /// Securely deletes the message at `sequence`; whether it was there to delete (another
    /// process carrying out the same erasure may have deleted it first).
    async fn remove(&self, sequence: u64) -> Result<bool, EventStoreError> {
        match self.stream.delete_message(sequence).await {
            Ok(_) => Ok(true),
            Err(e) => match self.stream.direct_get(sequence).await {
                Err(gone) if gone.kind() == DirectGetErrorKind::NotFound => Ok(false),
                _ => Err(EventStoreError::unavailable(e)),
            },
        }
    }

    /// Drops what comes before the latest restarting event: the aggregate is as if new there.
    fn drop_before_restart(&self, commits: &mut Vec<StoredCommit>) {
        let restarts = |c: &StoredCommit| {
            c.commit.events.iter().rposition(|e| self.restarts.contains(&e.event_type.as_str()))
        };
        let Some(at) = commits.iter().rposition(|c| restarts(c).is_some()) else { return };
        commits.drain(..at);
        if let Some(first) = commits.first_mut()
            && let Some(event) = restarts(first)
        {
            first.commit.events.drain(..event);
        }
    }

    /// Where the [`header::LOAD_FROM`] of a new commit of `events` points, given the
    /// aggregate's newest commit `last` (`None` for its first): `Some(0)` for the commit
    /// itself, `None` to load from the start.
    fn load_from(&self, events: &[SerializedEvent], last: Option<&StreamMessage>) -> Option<u64> {
        if events.iter().any(|e| self.restarts.contains(&e.event_type.as_str())) {
            return Some(0);
        }
        let Some(last) = last else { return Some(0) };
        match header_value(last, header::LOAD_FROM)?.parse::<u64>().ok()? {
            0 => Some(last.sequence),
            from => Some(from),
        }
    }

    /// The commits on `subject` from stream sequence `from` to before `until`, by direct gets.
    async fn read_directly(
        &self,
        subject: &str,
        mut from: u64,
        until: u64,
    ) -> Result<Vec<StoredCommit>, EventStoreError> {
        let mut commits = Vec::new();
        loop {
            let message = self
                .stream
                .direct_get_next_for_subject(subject, Some(from))
                .await
                .map_err(EventStoreError::unavailable)?;
            if message.sequence >= until {
                return Ok(commits);
            }
            from = message.sequence + 1;
            commits.push(Commit::decode(message.sequence, &message.payload)?);
        }
    }

    /// The commits on `subject` from stream sequence `from` to before `until`, through an
    /// ordered consumer.
    async fn read_with_consumer(
        &self,
        subject: &str,
        from: u64,
        until: u64,
    ) -> Result<Vec<StoredCommit>, EventStoreError> {
        let consumer = self
            .stream
            .create_consumer(pull::OrderedConfig {
                filter_subject: subject.to_owned(),
                deliver_policy: DeliverPolicy::ByStartSequence { start_sequence: from },
                ..Default::default()
            })
            .await
            .map_err(EventStoreError::unavailable)?;
        let mut messages = consumer.messages().await.map_err(EventStoreError::unavailable)?;
        let mut commits = Vec::new();
        while let Some(message) = messages.next().await {
            let message = message.map_err(EventStoreError::unavailable)?;
            let sequence = message.info().map_err(EventStoreError::unavailable)?.stream_sequence;
            if sequence >= until {
                break;
            }
            commits.push(Commit::decode(sequence, &message.payload)?);
        }
        Ok(commits)
    }

    /// The expected last subject sequence for an append of `events`, and where its
    /// [`header::LOAD_FROM`] points; or the receipt of the same command when an earlier
    /// attempt of it is already the newest commit.
    async fn expectation(
        &self,
        subject: &str,
        events: &[SerializedEvent],
        command_id: &str,
    ) -> Result<Expectation, EventStoreError> {
        let first = events.first().map_or(1, |e| e.sequence);
        if first == 1 {
            return Ok(Expectation::Sequence {
                expected: 0,
                load_from: self.load_from(events, None),
                last_key: None,
            });
        }
        let Some(last) = self.last_message(subject).await? else {
            return Err(EventStoreError::Conflict);
        };
        if written_by(&last, command_id) {
            return Ok(Expectation::AlreadyStored(last.sequence));
        }
        let stored_last: Option<usize> =
            header_value(&last, header::LAST_SEQUENCE).and_then(|v| v.parse().ok());
        match stored_last {
            Some(seq) if seq + 1 == first => Ok(Expectation::Sequence {
                expected: last.sequence,
                load_from: self.load_from(events, Some(&last)),
                last_key: header_value(&last, header::DATA_KEY).map(str::to_owned),
            }),
            Some(_) => Err(EventStoreError::Conflict),
            None => Err(MalformedCommit {
                stream_sequence: last.sequence,
                reason: format!("no {} header", header::LAST_SEQUENCE),
            }
            .into()),
        }
    }

    /// Appends one commit with optimistic concurrency; retries lost acks with the same id.
    ///
    /// A receipt is `duplicate` only when the stream holds another attempt of the command:
    /// when a resend meets this very commit (its first send landed, its answer was lost), the
    /// commit is this append's. A failure says whether the commit may have landed all the same.
    #[instrument(level = "debug", skip(self, commit), fields(subject = %subject, expected, stream_sequence))]
    async fn append(
        &self,
        subject: &str,
        commit: &Commit,
        expected: u64,
        load_from: Option<u64>,
        erased_keys: &[String],
        life_key: Option<&str>,
    ) -> Result<AppendReceipt, AppendFailure> {
        tracing::Span::current().record("expected", expected);
        let payload =
            commit.encode().map_err(|e| AppendFailure::not_stored(EventStoreError::Rejected(e.into())))?;
        let mut headers = commit.headers();
        if !erased_keys.is_empty() {
            headers.insert(header::ERASED_DATA_KEYS, erased_keys.join(",").as_str());
        }
        if let Some(key) = commit.events.iter().find_map(|e| sealing::sealed_key_id(&e.payload)).or(life_key)
        {
            headers.insert(header::DATA_KEY, key);
        }
        if let Some(from) = load_from {
            headers.insert(header::LOAD_FROM, from.to_string().as_str());
        }
        let mut attempt = 0;
        // Whether a send went out whose fate is unknown (its answer never came).
        let mut unanswered = false;
        let failed = |error, unanswered| AppendFailure { error, may_have_landed: unanswered };
        loop {
            attempt += 1;
            let message = PublishMessage::build()
                .headers(headers.clone())
                .payload(payload.clone())
                .message_id(&commit.command_id)
                .expected_last_subject_sequence(expected);
            match self.publish(subject, message).await {
                Ok(ack) => {
                    tracing::Span::current().record("stream_sequence", ack.sequence);
                    // A duplicate after a lost answer may be this very commit.
                    let duplicate = ack.duplicate
                        && !(unanswered
                            && self.holds(ack.sequence, &payload).await.map_err(|e| failed(e, true))?);
                    return Ok(AppendReceipt { stream_sequence: ack.sequence, duplicate, timestamp: None });
                }
                Err(e) => match classify(&e) {
                    PublishFailure::Conflict => {
                        // A resent create whose first attempt landed outside the duplicate
                        // window looks like a conflict; the subject's head, read from the
                        // stream's leader (a replica may trail), tells.
                        let last = self
                            .last_message_from_leader(subject)
                            .await
                            .map_err(|e| failed(e, unanswered))?;
                        if let Some(last) = last.filter(|last| written_by(last, &commit.command_id)) {
                            return Ok(AppendReceipt {
                                stream_sequence: last.sequence,
                                duplicate: last.payload != payload,
                                timestamp: None,
                            });
                        }
                        return Err(failed(EventStoreError::Conflict, unanswered));
                    }
                    PublishFailure::Retryable if attempt < PUBLISH_ATTEMPTS => {
                        warn!(error = %e, attempt, "append not acknowledged; resending");
                        unanswered = true;
                        tokio::time::sleep(Duration::from_millis(50 * u64::from(attempt))).await;
                    }
                    PublishFailure::Retryable => return Err(failed(EventStoreError::unavailable(e), true)),
                    PublishFailure::Unavailable => {
                        return Err(failed(EventStoreError::unavailable(e), unanswered));
                    }
                    PublishFailure::Rejected => {
                        return Err(failed(EventStoreError::Rejected(e.into()), unanswered));
                    }
                },
            }
        }
    }

    /// Whether the stream's message at `sequence`, read from its leader, is `payload`.
    async fn holds(&self, sequence: u64, payload: &[u8]) -> Result<bool, EventStoreError> {
        let message = self.stream.get_raw_message(sequence).await.map_err(EventStoreError::unavailable)?;
        Ok(message.payload == payload)
    }

    /// The newest message on `subject` as the stream's leader has it, or `None`.
    async fn last_message_from_leader(
        &self,
        subject: &str,
    ) -> Result<Option<StreamMessage>, EventStoreError> {
        match self.stream.get_last_raw_message_by_subject(subject).await {
            Ok(message) => Ok(Some(message)),
            Err(e) if e.kind() == LastRawMessageErrorKind::NoMessageFound => Ok(None),
            Err(e) => Err(EventStoreError::unavailable(e)),
        }
    }

    async fn publish(
        &self,
        subject: &str,
        message: PublishMessage,
    ) -> Result<jetstream::publish::PublishAck, PublishError> {
        self.js.send_publish(subject.to_owned(), message).await?.await
    }

    /// Streams every commit matching `filter` up to the stream's current end into `feed`.
    fn spawn_replay(&self, filter: String, aggregate_type: &'static str) -> ReplayStream {
        let (feed, replay) = ReplayStream::new(REPLAY_QUEUE);
        let stream = self.stream.clone();
        let span = tracing::info_span!("replay", %filter, aggregate_type);
        tokio::spawn(
            async move {
                if let Err(e) = replay_into(stream, filter, feed).await {
                    warn!(error = %e, "replay ended early");
                }
            }
            .instrument(span),
        );
        replay
    }
}

/// Why an append failed, and whether its commit may have landed all the same (a send went
/// unanswered before it).
#[derive(Debug)]
struct AppendFailure {
    error: EventStoreError,
    may_have_landed: bool,
}

impl AppendFailure {
    fn not_stored(error: EventStoreError) -> Self {
        Self { error, may_have_landed: false }
    }
}

/// Whether an append should be sent, and with which expectation.
enum Expectation {
    Sequence { expected: u64, load_from: Option<u64>, last_key: Option<String> },
    AlreadyStored(u64),
}

/// Whether `message` was appended by the command `command_id` (an earlier attempt of it).
fn written_by(message: &StreamMessage, command_id: &str) -> bool {
    header_value(message, header::MSG_ID) == Some(command_id)
}

/// The ids of the data keys that sealed `commits`, each once, in order.
fn sealed_keys(commits: &[StoredCommit]) -> Vec<String> {
    let mut ids: Vec<String> = Vec::new();
    for event in commits.iter().flat_map(|c| &c.commit.events) {
        if let Some(id) = sealing::sealed_key_id(&event.payload)
            && !ids.iter().any(|k| k == id)
        {
            ids.push(id.to_owned());
        }
    }
    ids
}

fn header_value<'a>(message: &'a StreamMessage, name: &str) -> Option<&'a str> {
    message.headers.get(name).map(async_nats::HeaderValue::as_str)
}

/// Checks that commits hold aggregate sequences `first`, `first + 1`, … with no gap or
/// overlap, except for gaps before the latest event of a type in `erasing`: messages it
/// erased, removed from the stream (sequences still only grow there).
fn check_history(commits: &[StoredCommit], first: usize, erasing: &[&str]) -> Result<(), EventStoreError> {
    let events = commits.iter().flat_map(|c| c.commit.events.iter().map(move |e| (c, e)));
    let last_erasure = events
        .clone()
        .filter(|(_, e)| erasing.contains(&e.event_type.as_str()))
        .map(|(_, e)| e.sequence)
        .max()
        .unwrap_or(0);
    let mut next = first;
    for (stored, event) in events {
        if event.sequence > next && event.sequence <= last_erasure {
            next = event.sequence;
        }
        if event.sequence != next {
            return Err(EventStoreError::BrokenHistory {
                aggregate_id: stored.commit.aggregate_id.clone(),
                sequence: next,
            });
        }
        next += 1;
    }
    Ok(())
}

/// Reader task of a replay. The ordered consumer counts the messages matching `filter` when it
/// is created; exactly that many are read, so the replay ends at the stream's end as of its
/// start instead of following new events.
async fn replay_into(stream: Stream, filter: String, mut feed: ReplayFeed) -> Result<(), PersistenceError> {
    let connection = |e: Box<dyn std::error::Error + Send + Sync>| PersistenceError::ConnectionError(e);
    let mut consumer = stream
        .create_consumer(pull::OrderedConfig { filter_subject: filter, ..Default::default() })
        .await
        .map_err(|e| connection(e.into()))?;
    let mut remaining = consumer.info().await.map_err(|e| connection(e.into()))?.num_pending;
    if remaining == 0 {
        return Ok(());
    }
    let mut messages = consumer.messages().await.map_err(|e| connection(e.into()))?;
    while remaining > 0 {
        let Some(message) = messages.next().await else { break };
        let message = message.map_err(|e| connection(e.into()))?;
        let sequence = message.info().map_err(PersistenceError::UnknownError)?.stream_sequence;
        let stored = Commit::decode(sequence, &message.payload).map_err(EventStoreError::from)?;
        for event in stored.commit.into_serialized() {
            feed.push(Ok(event)).await?;
        }
        remaining -= 1;
    }
    Ok(())
}

impl PersistedEventRepository for JetStreamEventRepository {
    #[instrument(level = "debug", skip(self), fields(aggregate_type = A::TYPE))]
    async fn get_events<A: Aggregate>(
        &self,
        aggregate_id: &str,
    ) -> Result<Vec<SerializedEvent>, PersistenceError> {
        let subject = self.subject(A::TYPE, aggregate_id)?;
        let commits = self.load_current(&subject).await?;
        Ok(commits.into_iter().flat_map(|c| c.commit.into_serialized()).collect())
    }

    async fn get_last_events<A: Aggregate>(
        &self,
        aggregate_id: &str,
        last_sequence: usize,
    ) -> Result<Vec<SerializedEvent>, PersistenceError> {
        let mut events = self.get_events::<A>(aggregate_id).await?;
        events.retain(|e| e.sequence > last_sequence);
        Ok(events)
    }

    async fn get_snapshot<A: Aggregate>(
        &self,
        _aggregate_id: &str,
    ) -> Result<Option<SerializedSnapshot>, PersistenceError> {
        Ok(None)
    }

    #[instrument(level = "debug", skip_all, fields(aggregate_type = A::TYPE, aggregate_id, event_types, command_id))]
    async fn persist<A: Aggregate>(
        &self,
        events: &[SerializedEvent],
        _snapshot_update: Option<(String, Value, usize)>,
    ) -> Result<(), PersistenceError> {
        let Some(first) = events.first() else {
            return Ok(());
        };
        let span = tracing::Span::current();
        span.record("aggregate_id", first.aggregate_id.as_str());
        let types: Vec<&str> = events.iter().map(|e| e.event_type.as_str()).collect();
        span.record("event_types", types.join(",").as_str());
        if events.iter().any(|e| e.aggregate_id != first.aggregate_id) {
            return Err(EventStoreError::Rejected("a commit spans several aggregates".into()).into());
        }
        let subject = self.subject(A::TYPE, &first.aggregate_id)?;
        let command_id = envelope::command_id_of(first);
        span.record("command_id", command_id.as_str());

        let receipt = match self.expectation(&subject, events, &command_id).await? {
            Expectation::AlreadyStored(stream_sequence) => {
                debug!("this command's append is already stored");
                AppendReceipt { stream_sequence, duplicate: true, timestamp: None }
            }
            Expectation::Sequence { expected, load_from, last_key } => {
                let at = OffsetDateTime::now_utc();
                let mut commit = Commit::new(A::TYPE, events, &command_id, at);
                let key = self.sealing_key(events, last_key.as_deref()).await?;
                if let Some((key, _)) = &key {
                    self.seal(&mut commit, key)?;
                }
                let erased_keys = self.keys_an_erasure_destroys(&subject, events, expected).await?;
                // A commit with nothing personal in it (an open) still names its life's key,
                // so the next personal commit of the life finds it in the newest header.
                let restarts = events.iter().any(|e| self.restarts.contains(&e.event_type.as_str()));
                let life_key = if restarts { None } else { last_key.as_deref() };
                let appended =
                    self.append(&subject, &commit, expected, load_from, &erased_keys, life_key).await;
                // Nothing was stored under the key made for this commit when the append was
                // refused, or an earlier attempt of the command is what the stream holds: the
                // next new life takes it. Not after a failure the commit may have outlived: it
                // may need the key.
                let unused = match &appended {
                    Ok(receipt) => receipt.duplicate,
                    Err(failure) => !failure.may_have_landed,
                };
                if let (true, Some((key, true)), Some(keys)) = (unused, key, self.keys()) {
                    keys.put_back(key).await;
                }
                let receipt = appended.map_err(|failure| failure.error)?;
                AppendReceipt { timestamp: (!receipt.duplicate).then_some(at), ..receipt }
            }
        };
        receipt::record(receipt);
        Ok(())
    }

    async fn stream_events<A: Aggregate>(
        &self,
        aggregate_id: &str,
    ) -> Result<ReplayStream, PersistenceError> {
        let subject = self.subject(A::TYPE, aggregate_id)?;
        Ok(self.spawn_replay(subject, A::TYPE))
    }

    async fn stream_all_events<A: Aggregate>(&self) -> Result<ReplayStream, PersistenceError> {
        Ok(self.spawn_replay(subjects::all_of_type(&self.config.subject_prefix, A::TYPE), A::TYPE))
    }
}
