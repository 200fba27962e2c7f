//! The projector worker: the durable consumers in, the read model and cache invalidation out.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use async_nats::jetstream::consumer::PullConsumer;
use async_nats::jetstream::consumer::pull::MessagesErrorKind;
use async_nats::jetstream::stream::Stream;
use async_nats::jetstream::{self, AckKind, Message};
use futures::{StreamExt, TryStreamExt};
use tokio_util::sync::CancellationToken;
use tracing::{Instrument, debug, debug_span, error, info, info_span, warn};
use valentine_domain::Page;
use valentine_eventstore::{DataKeys, JetStreamEventRepository, ensure_stream, subjects};
use valentine_projections::cache_keys::CacheKeys;
use valentine_projections::parked::{ParkedEvent, ParkedEvents, ParkedState, RetryClaim, now_rfc3339};
use valentine_projections::redis_connection::{RedisConnection, RedisTarget, Timeouts};
use valentine_projections::{
    ProjectionError, Verdict, applied, db, page_store, position, redis_connection, workers,
};

use crate::checkpointer;
use crate::config::ReadSideConfig;
use crate::consumers;
use crate::error::ProjectorError;
use crate::feeds::{Events, Feed, Order, Projected, Tallies};
use crate::health::{self, Health};

/// How long a deferred message first waits before it is offered again.
const DEFER_DELAY: Duration = Duration::from_millis(100);

/// The longest a message that could not be applied waits before it is offered again.
const LONGEST_DELAY: Duration = Duration::from_secs(30);

/// How long a batch SQLite refused waits before it is offered again.
const RETRY_DELAY: Duration = Duration::from_secs(1);

/// How often cache invalidations that failed (Redis away) are retried while no batch comes:
/// a cache that comes back with stale answers is cleaned even if nothing new is projected.
const INVALIDATION_RETRY: Duration = Duration::from_secs(1);

/// The longest a committed batch's messages wait for their acknowledgement: the write-ahead
/// log is synced (and they are acknowledged) at most this long after the first commit not yet
/// synced, so the batches committed in between share one fsync. Well within
/// [`consumers::ACK_WAIT`], after which JetStream would offer them again.
const SYNC_EVERY: Duration = Duration::from_millis(100);

/// One projector process: events and view tallies, each on its own writer connection.
#[derive(Debug)]
pub struct Projector {
    config: ReadSideConfig,
    client: async_nats::Client,
    /// Where it announces its read model's progress.
    announcements: String,
    /// The event stream and the durable consumer projectors share on it.
    events: (Stream, PullConsumer),
    /// The view tally stream and its durable consumer.
    views: (Stream, PullConsumer),
    /// Where view counts are checkpointed.
    checkpoints: jetstream::kv::Store,
    /// The page lives' data keys, to open sealed events.
    keys: DataKeys,
    /// The page event store, to carry out erasures.
    repo: JetStreamEventRepository,
    health: Health,
    js: jetstream::Context,
    /// Event messages no projector could apply, and the operators' decisions about them.
    parked: ParkedEvents,
    /// Where it puts its heartbeat.
    heartbeats: jetstream::kv::Store,
    /// This process's id in heartbeats and retry claims.
    instance: String,
}

impl Projector {
    /// Connects to NATS and makes sure the streams and the read model exist.
    ///
    /// # Errors
    /// When NATS, JetStream or SQLite refuse.
    pub async fn connect(config: ReadSideConfig) -> Result<Self, ProjectorError> {
        // A malformed URL is reported by the cache invalidation, which then stays off.
        if let Ok(Some(redis)) = redis_target(&config) {
            redis
                .check_login(redis_connection::LOGIN_CHECK_TIMEOUT)
                .await
                .map_err(ProjectorError::RedisLogin)?;
        }
        let client = config.nats.connect("valentine-projector").await.map_err(ProjectorError::nats)?;
        let js = jetstream::new(client.clone());
        let keys = DataKeys::open(&js, &config.events).await?;
        let repo = page_store::open_with(&js, &config.events, keys.clone()).await?;
        let events_stream = repo.stream().clone();
        let views_stream = ensure_stream(&js, &config.tallies).await?;
        db::prepare(&config.read_model.database_path).await?;
        let checkpoints = checkpointer::bucket(&js, &config.tallies).await?;
        // A new consumer starts where the read model stands (a copy resumes there).
        let reader = db::reader_connection(&config.read_model.database_path)?;
        let (events_through, views_through) =
            (applied::through(&reader, applied::EVENTS)?, applied::through(&reader, applied::VIEWS)?);
        drop(reader);
        let events_filter = subjects::everything(&config.events.subject_prefix);
        let events = consumers::durable(
            &events_stream,
            &config.read_model.events_consumer(),
            events_filter,
            events_through,
        )
        .await?;
        let views_filter = subjects::everything(&config.tallies.subject_prefix);
        let views = consumers::durable(
            &views_stream,
            &config.read_model.tallies_consumer(),
            views_filter,
            views_through,
        )
        .await?;
        let health = Health::new(client.clone(), config.stuck_after);
        let parked = ParkedEvents::open(&js, &config.events).await?;
        let heartbeats = workers::open(&js, &config.events).await?;
        Ok(Self {
            announcements: config.read_model.announcements(),
            config,
            client,
            events: (events_stream, events),
            views: (views_stream, views),
            checkpoints,
            keys,
            repo,
            health,
            js,
            parked,
            heartbeats,
            instance: workers::new_instance(),
        })
    }

    /// Makes sure every erasure a batch applied is carried out: its messages removed from the
    /// stream and its keys destroyed. The API did it when the page was deleted; this
    /// finishes what a failure there left undone. Idempotent, and a failure here is retried by
    /// no one else, so it is logged loudly.
    async fn finish_erasures(&self, erased: &[(String, u64)]) {
        for (slug, at) in erased {
            match self.repo.erase::<Page>(slug, *at).await {
                Ok(report) if report.keys_destroyed.is_empty() && report.messages_removed.is_empty() => {}
                Ok(report) => info!(
                    slug,
                    keys_destroyed = report.keys_destroyed.len(),
                    messages_removed = report.messages_removed.len(),
                    "erasure finished"
                ),
                Err(e) => error!(slug, error = %e, "erasure not finished; run `valentine erase --again`"),
            }
        }
    }

    /// Its health, which its batch loops keep up to date: serve it with
    /// [`health::serve`](crate::health::serve).
    pub fn health(&self) -> Health {
        self.health.clone()
    }

    /// Projects until `shutdown` is cancelled; in-flight batches finish first.
    ///
    /// # Errors
    /// When the consumers cannot be set up or their message streams end.
    pub async fn run(self, shutdown: CancellationToken) -> Result<(), ProjectorError> {
        let (events, views) = (self.events.clone(), self.views.clone());
        info!(read_model = %self.config.read_model.id, database = %self.config.read_model.database_path.display(), "projecting");
        let checkpointing = checkpointer::keep_checkpointing(
            self.config.read_model.database_path.clone(),
            self.checkpoints.clone(),
            self.config.views_checkpoint_every,
            shutdown.clone(),
        );
        let (a, b, (), (), ()) = tokio::join!(
            self.run_feed(Events::new(&self.config.events, self.keys.clone()), events, shutdown.clone())
                .instrument(info_span!("events")),
            self.run_feed(Tallies::new(&self.config.tallies), views, shutdown.clone())
                .instrument(info_span!("views")),
            checkpointing.instrument(info_span!("checkpoints")),
            self.monitor(shutdown.clone()).instrument(info_span!("monitor")),
            self.retry_parked(shutdown.clone()).instrument(info_span!("retries")),
        );
        // Acknowledgements are fire-and-forget publishes: make sure they are out.
        let _ = self.client.flush().await;
        a.and(b)
    }

    /// Projects `feed` from `consumer` batch by batch until `shutdown` is cancelled.
    async fn run_feed<F: Feed>(
        &self,
        feed: F,
        (stream, consumer): (Stream, PullConsumer),
        shutdown: CancellationToken,
    ) -> Result<(), ProjectorError> {
        let mut batches = Batches::open(&consumer, self.config.batch_size, F::NAME).await?;
        let mut writer = Writer::open(&self.config.read_model.database_path)?;
        let mut cache = Invalidator::new(&self.config);
        let name = consumer.cached_info().name.clone();
        let mut settled_at = tokio::time::Instant::now();
        loop {
            self.health.tick(F::HEALTH);
            if settled_at.elapsed() >= SETTLE_EVERY {
                settled_at = tokio::time::Instant::now();
                if let Some(through) = settle::<F>(&stream, &name, &mut writer).await
                    && F::POSITION == applied::EVENTS
                {
                    position::announce(&self.client, &self.announcements, &[], through).await;
                }
            }
            let idle_after = writer.sync_due_in().unwrap_or(INVALIDATION_RETRY);
            let messages = match batches.next(&shutdown, idle_after).await? {
                Next::Batch(messages) => messages,
                Next::Idle => {
                    writer.sync().await;
                    cache.retry().await;
                    continue;
                }
                Next::Stopped => break,
            };
            let projected = self.project_messages(&feed, messages, &mut writer, &mut cache).await;
            if projected.is_err() || writer.sync_due_in().is_some_and(|wait| wait.is_zero()) {
                writer.sync().await;
            }
            if projected.is_err() {
                // Logged and offered again; give the read model a moment first.
                tokio::time::sleep(RETRY_DELAY).await;
            }
        }
        writer.sync().await;
        Ok(())
    }

    /// Projects everything the streams hold now, events first, then view tallies, and returns
    /// once it is all projected: a drain, for tests and one-off tools, where [`Self::run`]
    /// would wait for more.
    ///
    /// It reads from the same durable consumers as running projectors, sharing the work with
    /// them, and waits for what they hold in flight. A view tally whose page is not in the
    /// stream stays deferred (projectors offer it again later) and is counted in
    /// [`Processed::deferred_tallies`] instead of waited for; one deferred before the call is
    /// waited for until it is offered again (at most 30 s), then counted so.
    ///
    /// # Errors
    /// When NATS fails or the read model refuses a batch; what was not applied is offered
    /// again, as in [`Self::run`].
    pub async fn process_available(&self) -> Result<Processed, ProjectorError> {
        let (config, events, views) = (&self.config, &self.events, &self.views);
        let events = self
            .drain(
                Events::new(&config.events, self.keys.clone()),
                &events.0,
                &events.1,
                &config.read_model.events_consumer(),
            )
            .instrument(info_span!("events"))
            .await?;
        let tallies = self
            .drain(Tallies::new(&config.tallies), &views.0, &views.1, &config.read_model.tallies_consumer())
            .instrument(info_span!("views"))
            .await?;
        Ok(Processed {
            commits: events.applied,
            tallies: tallies.applied,
            deferred_tallies: tallies.deferred,
        })
    }

    /// Projects `feed` from `consumer` (named `name`, reading `stream`) until every message
    /// of the stream up to its last one now is acknowledged, or, for a feed of counts,
    /// deferred here.
    async fn drain<F: Feed>(
        &self,
        feed: F,
        stream: &Stream,
        consumer: &PullConsumer,
        name: &str,
    ) -> Result<Drained, ProjectorError> {
        let until = stream.clone().info().await.map_err(ProjectorError::nats)?.state.last_sequence;
        let mut writer = Writer::open(&self.config.read_model.database_path)?;
        let mut cache = Invalidator::new(&self.config);
        let mut deferred = BTreeSet::new();
        let mut applied = 0;
        loop {
            let mut messages = fetch(consumer, self.config.batch_size, None).await?;
            if messages.is_empty() {
                // Acknowledgements are fire-and-forget publishes: have them out before asking.
                self.client.flush().await.map_err(ProjectorError::nats)?;
                let Some(progress) = position::progress(stream, name).await? else { break };
                let waiting_here = match F::ORDER {
                    // Its predecessor is in the stream: it comes.
                    Order::History => 0,
                    // Its page may never come.
                    Order::Counts => deferred.len() as u64,
                };
                if progress.acknowledged >= until
                    || (progress.pending == 0 && progress.unacknowledged <= waiting_here)
                {
                    break;
                }
                // Messages in flight elsewhere, or deferred for a moment: wait for them to
                // come back, or to be acknowledged.
                messages = fetch(consumer, self.config.batch_size, Some(DEFER_DELAY)).await?;
            }
            let projected = self.project_messages(&feed, messages, &mut writer, &mut cache).await?;
            // Acknowledged before the consumer's progress is looked at again.
            writer.sync().await;
            for (sequence, verdict) in projected {
                if verdict == Verdict::Deferred {
                    deferred.insert(sequence);
                } else {
                    deferred.remove(&sequence);
                    applied += u64::from(verdict == Verdict::Applied);
                }
            }
        }
        self.client.flush().await.map_err(ProjectorError::nats)?;
        Ok(Drained { applied, deferred: deferred.len() as u64 })
    }

    /// Decodes and projects one batch of `feed`, and after its commit invalidates the cached
    /// answers it made stale and announces what it applied. What it applied is acknowledged
    /// once the commit is on disk ([`Writer::sync`]); the rest is offered again or parked at
    /// once. Returns each projected message's stream sequence and verdict.
    ///
    /// # Errors
    /// When the read model refuses the batch; its messages are offered again after
    /// [`RETRY_DELAY`], and the writer reconnects for the next one.
    async fn project_messages<F: Feed>(
        &self,
        feed: &F,
        messages: Vec<Message>,
        writer: &mut Writer,
        cache: &mut Invalidator,
    ) -> Result<Vec<(u64, Verdict)>, ProjectorError> {
        let (messages, items) = self.decode(feed, messages).await?;
        if items.is_empty() {
            return Ok(Vec::new());
        }
        let sequences: Vec<u64> = items.iter().map(F::stream_sequence).collect();
        let projected = match self.commit::<F>(items, writer).await {
            Ok(projected) => projected,
            Err(e) => {
                for message in &messages {
                    acknowledge(message, AckKind::Nak(Some(RETRY_DELAY))).await;
                }
                return Err(e);
            }
        };
        let verdicts = sequences.into_iter().zip(projected.verdicts.iter().copied()).collect();
        for (message, verdict) in messages.into_iter().zip(&projected.verdicts) {
            match (verdict, F::ORDER) {
                (Verdict::Applied | Verdict::AlreadyApplied, _) => writer.hold(message),
                (Verdict::Deferred, Order::History) => {
                    let why = "its predecessor in the page's history was never applied";
                    self.not_applied(&message, why.to_owned()).await;
                }
                (Verdict::Deferred, Order::Counts) => {
                    acknowledge(&message, AckKind::Nak(Some(tally_deferral(&message)))).await;
                }
            }
        }
        self.follow_up(projected, writer, cache).await;
        Ok(verdicts)
    }

    /// Projects `items` of `F` in one transaction and records the outcome in the health.
    ///
    /// # Errors
    /// When the read model refuses them; the writer reconnects for the next batch.
    async fn commit<F: Feed>(
        &self,
        items: Vec<F::Item>,
        writer: &mut Writer,
    ) -> Result<Projected, ProjectorError> {
        let first = items.first().map(F::stream_sequence);
        let span = info_span!("batch", size = items.len(), first);
        match writer.with(move |conn| F::project(conn, items)).instrument(span).await {
            Ok(projected) => {
                writer.committed();
                self.health.committed(F::HEALTH);
                debug!(
                    applied = projected.applied.len(),
                    touched = projected.touched.len(),
                    "batch committed"
                );
                Ok(projected)
            }
            Err(e) => {
                error!(error = %e, "batch not applied; it will be offered again");
                self.health.refused(F::HEALTH, &e);
                writer.reset();
                Err(e)
            }
        }
    }

    /// What follows a commit: the cached answers it made stale are invalidated, what it
    /// applied is announced, and the erasures it applied are carried out.
    async fn follow_up(&self, projected: Projected, writer: &mut Writer, cache: &mut Invalidator) {
        // An erasure's old content leaves the write-ahead log before it is announced,
        // so a deletion is answered once the text is gone from the files too.
        writer.log_to_truncate |= !projected.erased.is_empty();
        writer.older_generations_to_remove |= !projected.erased.is_empty();
        writer.truncate_log_if_erased().await;
        cache.invalidate(projected.touched).await;
        if let Some(through) = projected.through {
            position::announce(&self.client, &self.announcements, &projected.applied, through).await;
        }
        if projected.erased.is_empty() {
            return;
        }
        // The events and keys go only once the deletion is on disk: a power cut cannot bring
        // back content whose stream could no longer correct it.
        if writer.sync().await {
            self.finish_erasures(&projected.erased).await;
        } else {
            for (slug, _) in &projected.erased {
                error!(slug, "erasure not finished; run `valentine erase --again`");
            }
        }
    }

    /// Decodes each message of `feed`. An event message that cannot be is offered again
    /// later, and parked once its deliveries run out; an unreadable view tally is terminated
    /// (never redelivered) and reported, since no retry can make it readable and it counts
    /// for nothing.
    ///
    /// # Errors
    /// When what decoding needs cannot be had now (a data key): every message is offered
    /// again after [`RETRY_DELAY`].
    async fn decode<F: Feed>(
        &self,
        feed: &F,
        messages: Vec<Message>,
    ) -> Result<(Vec<Message>, Vec<F::Item>), ProjectorError> {
        let context = match feed.prepare(&messages.iter().collect::<Vec<_>>()).await {
            Ok(context) => context,
            Err(e) => {
                error!(error = %e, "batch not decoded; it will be offered again");
                for message in &messages {
                    acknowledge(message, AckKind::Nak(Some(RETRY_DELAY))).await;
                }
                return Err(e);
            }
        };
        let mut kept = Vec::with_capacity(messages.len());
        let mut items = Vec::with_capacity(messages.len());
        for message in messages {
            let sequence = match message.info() {
                Ok(info) => info.stream_sequence,
                Err(e) => {
                    warn!(error = %e, "message without JetStream metadata; dropped");
                    continue;
                }
            };
            match feed.decode(&message, sequence, &context) {
                Ok(item) => {
                    items.push(item);
                    kept.push(message);
                }
                Err(e) => match F::ORDER {
                    Order::History => self.not_applied(&message, format!("unreadable: {e}")).await,
                    Order::Counts => {
                        warn!(error = %e, "unreadable message; terminated");
                        acknowledge(&message, AckKind::Term).await;
                    }
                },
            }
        }
        Ok((kept, items))
    }

    /// An event message that could not be applied on this delivery, for the reason `error`:
    /// offered again after a delay that grows with every delivery, or, once it has had
    /// [`ReadSideConfig::max_deliveries`](crate::ReadSideConfig::max_deliveries), parked (its
    /// record written, then the message terminated so the consumer moves on). If the record
    /// cannot be written it is offered again: nothing is lost.
    async fn not_applied(&self, message: &Message, error: String) {
        let Ok(info) = message.info() else { return };
        let (stream_sequence, delivered) = (info.stream_sequence, u64::try_from(info.delivered).unwrap_or(1));
        if delivered < self.config.max_deliveries {
            debug!(stream_sequence, delivered, error, "not applied; offered again later");
            acknowledge(message, AckKind::Nak(Some(backoff(delivered)))).await;
            return;
        }
        let record = ParkedEvent {
            consumer: self.config.read_model.events_consumer(),
            stream: self.config.events.stream_name.clone(),
            stream_sequence,
            subject: message.subject.to_string(),
            error,
            attempts: delivered,
            parked_at: now_rfc3339(),
            state: ParkedState::Parked,
            decided_by: None,
            decision_reason: None,
            decided_at: None,
        };
        match self.parked.park(&record).await {
            Ok(()) => {
                error!(
                    stream_sequence,
                    subject = record.subject,
                    attempts = delivered,
                    error = record.error,
                    "event parked; `valentine parked` lists it for a retry or a skip"
                );
                acknowledge(message, AckKind::Term).await;
                self.health.parked(health::Feed::Events);
            }
            Err(e) => {
                warn!(stream_sequence, error = %e, "event not parked; offered again later");
                acknowledge(message, AckKind::Nak(Some(backoff(delivered)))).await;
            }
        }
    }

    /// Every [`ReadSideConfig::report_every`](crate::ReadSideConfig::report_every) until
    /// `shutdown`: looks at the consumers' lag and the parked events for the health, and puts
    /// the heartbeat.
    async fn monitor(&self, shutdown: CancellationToken) {
        let mut every = tokio::time::interval(self.config.report_every);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let consumers = [
            (health::Feed::Events, &self.events.0, self.config.read_model.events_consumer()),
            (health::Feed::Views, &self.views.0, self.config.read_model.tallies_consumer()),
        ];
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return,
                _ = every.tick() => {}
            }
            for (feed, stream, name) in &consumers {
                match position::lag(stream, name).await {
                    Ok(Some(lag)) => self.health.observed(*feed, lag),
                    Ok(None) => {}
                    Err(e) => debug!(error = %e, consumer = name, "lag unavailable"),
                }
            }
            match self.parked.list().await {
                Ok(records) => {
                    let waiting = |name: &str| {
                        let n = records.iter().filter(|r| r.consumer == name && waits(r.state)).count();
                        (name.to_owned(), n as u64)
                    };
                    self.health.parked_now(consumers.iter().map(|(_, _, name)| waiting(name)).collect());
                }
                Err(e) => debug!(error = %e, "parked events unavailable"),
            }
            let beat = self.health.beat(self.config.read_model.id.as_str(), &self.instance);
            if let Err(e) = workers::beat(&self.heartbeats, &beat).await {
                debug!(error = %e, "heartbeat not put");
            }
        }
    }

    /// Until `shutdown`: takes up the retries operators ask for on this read model's parked
    /// events, one claimed record at a time, as soon as the bucket changes (and every
    /// [`ReadSideConfig::report_every`](crate::ReadSideConfig::report_every), for claims
    /// whose projector died).
    async fn retry_parked(&self, shutdown: CancellationToken) {
        let consumer = self.config.read_model.events_consumer();
        let mut changes = match self.parked.watch().await {
            Ok(watch) => Some(watch),
            Err(e) => {
                warn!(error = %e, "cannot follow the parked events; retries are looked for every few seconds");
                None
            }
        };
        let mut every = tokio::time::interval(self.config.report_every);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut writer = None;
        let mut cache = Invalidator::new(&self.config);
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return,
                _ = every.tick() => {}
                () = changed(&mut changes) => {}
            }
            loop {
                let claim = match self.parked.claim_retry(&consumer, &self.instance).await {
                    Ok(Some(claim)) => claim,
                    Ok(None) => break,
                    Err(e) => {
                        debug!(error = %e, "retries unavailable");
                        break;
                    }
                };
                self.retry(claim, &mut writer, &mut cache).await;
            }
        }
    }

    /// Projects the parked message `claim` names on its own, through the same steps as a
    /// batch, and records the outcome.
    async fn retry(&self, claim: RetryClaim, writer: &mut Option<Writer>, cache: &mut Invalidator) {
        let stream_sequence = claim.event.stream_sequence;
        let span = info_span!("retry", stream_sequence);
        let outcome = self.apply_stored(stream_sequence, writer, cache).instrument(span).await;
        match &outcome {
            Ok(()) => info!(stream_sequence, "parked event applied on retry"),
            Err(e) => warn!(stream_sequence, error = e, "parked event failed again; parked"),
        }
        if let Err(e) = self.parked.finish_retry(claim, outcome).await {
            warn!(stream_sequence, error = %e, "the retry's outcome was not recorded");
        }
    }

    /// Reads the event message at `stream_sequence` from the stream and projects it alone;
    /// `Ok` once it is applied (now or before), else why not.
    async fn apply_stored(
        &self,
        stream_sequence: u64,
        writer: &mut Option<Writer>,
        cache: &mut Invalidator,
    ) -> Result<(), String> {
        let stored = self
            .events
            .0
            .get_raw_message(stream_sequence)
            .await
            .map_err(|e| format!("not readable from the stream: {e}"))?;
        // Decoded as a delivered message would be; it is never acknowledged.
        let message = Message {
            message: async_nats::Message {
                subject: stored.subject,
                reply: None,
                payload: stored.payload,
                headers: Some(stored.headers),
                status: None,
                description: None,
                length: 0,
            },
            context: self.js.clone(),
        };
        let feed = Events::new(&self.config.events, self.keys.clone());
        let context = feed.prepare(&[&message]).await.map_err(|e| e.to_string())?;
        let item =
            feed.decode(&message, stream_sequence, &context).map_err(|e| format!("unreadable: {e}"))?;
        if writer.is_none() {
            *writer = Some(Writer::open(&self.config.read_model.database_path).map_err(|e| e.to_string())?);
        }
        let Some(writer) = writer.as_mut() else { return Err("no writer".to_owned()) };
        let projected = self.commit::<Events>(vec![item], writer).await.map_err(|e| e.to_string())?;
        let verdict = projected.verdicts.first().copied();
        self.follow_up(projected, writer, cache).await;
        if !writer.sync().await {
            return Err("the read model could not be synced to disk".to_owned());
        }
        match verdict {
            Some(Verdict::Applied | Verdict::AlreadyApplied) => Ok(()),
            _ => Err("its predecessor in the page's history is still not applied".to_owned()),
        }
    }
}

/// Whether a parked record counts as parked now: the read model still lacks it.
fn waits(state: ParkedState) -> bool {
    matches!(state, ParkedState::Parked | ParkedState::Retry)
}

/// Waits for the next change `watch` reports; for ever once it has ended, or without one.
async fn changed(watch: &mut Option<jetstream::kv::Watch>) {
    let Some(changes) = watch.as_mut() else { return std::future::pending().await };
    if changes.next().await.is_none() {
        *watch = None;
    }
}

/// How often a projector moves the read model's position up to what the shared consumer has
/// acknowledged, passing over messages no projector applies (unreadable ones, terminated).
const SETTLE_EVERY: Duration = Duration::from_secs(5);

/// Moves the read model's position on `F`'s stream up to the consumer `name`'s
/// acknowledgement floor: a projector acknowledges only after its commit, so every message
/// up to the floor is settled in the read model, applied or known to count for nothing.
/// Returns the position then.
async fn settle<F: Feed>(stream: &Stream, name: &str, writer: &mut Writer) -> Option<u64> {
    let floor = match position::progress(stream, name).await {
        Ok(Some(progress)) => progress.acknowledged,
        Ok(None) => return None,
        Err(e) => {
            debug!(error = %e, "consumer progress unavailable; position settles later");
            return None;
        }
    };
    match writer.with(move |c| applied::settle_through(c, F::POSITION, floor)).await {
        Ok(through) => Some(through),
        Err(e) => {
            warn!(error = %e, "could not settle the read model's position");
            writer.reset();
            None
        }
    }
}

/// What [`Projector::process_available`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Processed {
    /// Event messages (commits) it applied; those other projectors applied are not counted.
    pub commits: u64,
    /// View tallies it applied.
    pub tallies: u64,
    /// View tallies left deferred: their page is not in the event stream (yet).
    pub deferred_tallies: u64,
}

/// What draining one feed did.
#[derive(Debug, Clone, Copy)]
struct Drained {
    applied: u64,
    deferred: u64,
}

/// The messages `consumer` has for this process now, at most `size`; with `wait`, waiting up
/// to that long for the first.
async fn fetch(
    consumer: &PullConsumer,
    size: usize,
    wait: Option<Duration>,
) -> Result<Vec<Message>, ProjectorError> {
    let batch = match wait {
        None => consumer.fetch().max_messages(size).messages().await,
        Some(wait) => consumer.batch().max_messages(size).expires(wait).messages().await,
    }
    .map_err(ProjectorError::nats)?;
    batch.map(|message| message.map_err(ProjectorError::nats)).try_collect().await
}

/// How long a pull request waits for messages before the worker asks again.
const PULL_EXPIRES: Duration = Duration::from_secs(10);

/// How often the server confirms an open pull request while it has nothing to deliver. When
/// two in a row do not come, the request is lost (the consumer's leader moved to another node,
/// which does not know it) and the worker pulls anew instead of waiting for it to expire.
const PULL_HEARTBEAT: Duration = Duration::from_secs(2);

/// Messages of a durable consumer in batches of whatever has arrived, up to a size.
struct Batches {
    what: &'static str,
    consumer: PullConsumer,
    size: usize,
    messages: futures::stream::ReadyChunks<jetstream::consumer::pull::Stream>,
}

impl Batches {
    async fn open(consumer: &PullConsumer, size: usize, what: &'static str) -> Result<Self, ProjectorError> {
        let messages = pull(consumer, size).await?;
        Ok(Self { what, consumer: consumer.clone(), size, messages })
    }

    /// The next batch; [`Next::Idle`] when none came within `idle_after`.
    async fn next(
        &mut self,
        shutdown: &CancellationToken,
        idle_after: Duration,
    ) -> Result<Next, ProjectorError> {
        let idle = tokio::time::sleep(idle_after);
        tokio::pin!(idle);
        loop {
            let batch = tokio::select! {
                () = shutdown.cancelled() => return Ok(Next::Stopped),
                () = &mut idle => return Ok(Next::Idle),
                batch = self.messages.next() => batch,
            };
            let Some(batch) = batch else {
                return Err(ProjectorError::nats(format!(
                    "the {} consumer's message stream ended",
                    self.what
                )));
            };
            let mut messages = Vec::with_capacity(batch.len());
            let mut lost = false;
            for message in batch {
                match message {
                    Ok(message) => messages.push(message),
                    Err(e) if e.kind() == MessagesErrorKind::MissingHeartbeat => lost = true,
                    Err(e) => warn!(error = %e, consumer = self.what, "consumer error"),
                }
            }
            if lost {
                self.pull_again().await;
            }
            if !messages.is_empty() {
                return Ok(Next::Batch(messages));
            }
        }
    }

    /// Replaces a pull request that went unanswered with a new one. Messages already on
    /// their way to the old one are offered again after the ack wait.
    async fn pull_again(&mut self) {
        match pull(&self.consumer, self.size).await {
            Ok(messages) => {
                info!(consumer = self.what, "no heartbeat for the pull request; pulled anew");
                self.messages = messages;
            }
            // NATS is away: the current stream pulls again itself once it reconnects.
            Err(e) => debug!(error = %e, consumer = self.what, "cannot pull anew yet"),
        }
    }
}

async fn pull(
    consumer: &PullConsumer,
    size: usize,
) -> Result<futures::stream::ReadyChunks<jetstream::consumer::pull::Stream>, ProjectorError> {
    Ok(consumer
        .stream()
        .max_messages_per_batch(size)
        .expires(PULL_EXPIRES)
        .heartbeat(PULL_HEARTBEAT)
        .messages()
        .await
        .map_err(ProjectorError::nats)?
        .ready_chunks(size))
}

/// What waiting for a batch brought.
enum Next {
    Batch(Vec<Message>),
    /// Nothing for a while: time for deferred chores (a sync, cache invalidations).
    Idle,
    /// `shutdown` was cancelled.
    Stopped,
}

/// How long a message that could not be applied on its `delivered`th delivery waits before
/// it is offered again: doubling from [`DEFER_DELAY`], at most [`LONGEST_DELAY`]. An event's
/// predecessor is usually in another projector's batch, committing within milliseconds.
fn backoff(delivered: u64) -> Duration {
    let doublings = u32::try_from(delivered.saturating_sub(1)).unwrap_or(u32::MAX).min(20);
    (DEFER_DELAY * 2u32.pow(doublings)).min(LONGEST_DELAY)
}

/// How long a deferred view tally waits before it is offered again: its page is not
/// projected yet, so longer with every delivery, at most [`LONGEST_DELAY`].
fn tally_deferral(message: &Message) -> Duration {
    let deliveries = message.info().map_or(1, |i| i.delivered.max(1));
    (DEFER_DELAY * u32::try_from(deliveries).unwrap_or(u32::MAX)).min(LONGEST_DELAY)
}

async fn acknowledge(message: &Message, kind: AckKind) {
    if let Err(e) = message.ack_with(kind).await {
        // The message will be redelivered after the ack wait; the sequence guards make that
        // harmless.
        warn!(error = %e, "acknowledgement not sent");
    }
}

/// A writer connection that follows the read model link across rebuild swaps, used from a
/// blocking thread.
///
/// Its commits are not synced one by one (`synchronous=NORMAL`): the messages a batch applied
/// are held, and acknowledged once [`Writer::sync`] has put the write-ahead log on disk. A
/// power cut may take back the last commits, never an acknowledged one: their messages come
/// again and are applied again.
struct Writer {
    link: PathBuf,
    current: Option<(rusqlite::Connection, PathBuf)>,
    /// Pages were erased and the write-ahead log may still hold what they said.
    log_to_truncate: bool,
    /// Pages were erased, and a generation a rebuild replaced may still hold what they said.
    older_generations_to_remove: bool,
    /// Messages applied by commits not yet synced, acknowledged after the sync.
    held: Vec<Message>,
    /// The generations committed to since the last sync (one, but for a swap in between).
    unsynced: Vec<PathBuf>,
    /// When the first commit not yet synced was made.
    unsynced_since: Option<tokio::time::Instant>,
}

impl Writer {
    fn open(link: &Path) -> Result<Self, ProjectorError> {
        Ok(Self {
            link: link.to_owned(),
            current: Some(db::batch_connection(link)?),
            log_to_truncate: false,
            older_generations_to_remove: false,
            held: Vec::new(),
            unsynced: Vec::new(),
            unsynced_since: None,
        })
    }

    /// Records that a batch was committed on the current connection.
    fn committed(&mut self) {
        if let Some((_, file)) = &self.current
            && !self.unsynced.contains(file)
        {
            self.unsynced.push(file.clone());
        }
        self.unsynced_since.get_or_insert_with(tokio::time::Instant::now);
    }

    /// Holds `message`, applied by a commit, until the next [`Writer::sync`].
    fn hold(&mut self, message: Message) {
        self.held.push(message);
    }

    /// How long until the commits not yet synced are due to be; `None` without any.
    fn sync_due_in(&self) -> Option<Duration> {
        self.unsynced_since.map(|since| SYNC_EVERY.saturating_sub(since.elapsed()))
    }

    /// Syncs the write-ahead log of every generation committed to since the last sync, then
    /// acknowledges the messages held. Whether the commits are on disk. When the sync fails
    /// they are offered again instead (and found applied, or applied again) after
    /// [`RETRY_DELAY`], and the connection is reopened.
    async fn sync(&mut self) -> bool {
        if self.unsynced.is_empty() && self.held.is_empty() {
            return true;
        }
        let files = std::mem::take(&mut self.unsynced);
        self.unsynced_since = None;
        let held = std::mem::take(&mut self.held);
        let span = debug_span!("sync", generations = files.len(), messages = held.len());
        let synced =
            tokio::task::spawn_blocking(move || files.iter().try_for_each(|file| db::sync_log(file)))
                .instrument(span)
                .await
                .map_err(|e| e.to_string())
                .and_then(|synced| synced.map_err(|e| e.to_string()));
        match synced {
            Ok(()) => {
                for message in &held {
                    acknowledge(message, AckKind::Ack).await;
                }
                true
            }
            Err(e) => {
                error!(error = %e, messages = held.len(), "the read model was not synced; its messages will be offered again");
                for message in &held {
                    acknowledge(message, AckKind::Nak(Some(RETRY_DELAY))).await;
                }
                self.reset();
                false
            }
        }
    }

    /// Truncates the write-ahead log if an erasure left content in it (trying a few times
    /// while readers finish with older snapshots, then leaving it for after the next batch),
    /// and removes the generation a rebuild replaced once no reader can be on it.
    async fn truncate_log_if_erased(&mut self) {
        if self.older_generations_to_remove {
            match db::remove_older_generations(&self.link, READERS_GONE_AFTER) {
                Ok(done) => self.older_generations_to_remove = !done,
                Err(e) => warn!(error = %e, "an older generation of the read model was not removed"),
            }
        }
        if !self.log_to_truncate {
            return;
        }
        for attempt in 1..=LOG_TRUNCATE_ATTEMPTS {
            match self.with(|conn| db::truncate_log(conn)).await {
                Ok(true) => {
                    self.log_to_truncate = false;
                    debug!(attempt, "write-ahead log truncated after an erasure");
                    return;
                }
                Ok(false) => tokio::time::sleep(Duration::from_millis(20 * u64::from(attempt))).await,
                Err(e) => {
                    warn!(error = %e, "write-ahead log not truncated after an erasure; trying again later");
                    return;
                }
            }
        }
        warn!("readers kept the write-ahead log busy; it is truncated after a later batch");
    }

    /// Runs `f` on the connection to the generation the link points to now (reopened after a
    /// swap), on a blocking thread.
    async fn with<R, F>(&mut self, f: F) -> Result<R, ProjectorError>
    where
        R: Send + 'static,
        F: FnOnce(&mut rusqlite::Connection) -> Result<R, ProjectionError> + Send + 'static,
    {
        let target = std::fs::canonicalize(&self.link).map_err(ProjectionError::from)?;
        let (conn, file) = match self.current.take() {
            Some(current) if current.1 == target => current,
            previous => {
                if previous.is_some() {
                    info!(generation = %target.display(), "read model swapped; reconnecting");
                }
                db::batch_connection(&self.link)?
            }
        };
        let (conn, result) = db::blocking(conn, f).await;
        self.current = Some((conn, file));
        Ok(result?)
    }

    /// Drops the connection so the next batch opens a fresh one.
    fn reset(&mut self) {
        self.current = None;
    }
}

/// How long after a rebuild's swap no API reader is left on the generation it replaced: they
/// reopen their connections every minute.
const READERS_GONE_AFTER: Duration = Duration::from_secs(120);

/// How many times a projector tries to truncate the write-ahead log after an erasure before
/// leaving it for after its next batch.
const LOG_TRUNCATE_ATTEMPTS: u32 = 10;

/// Most slugs invalidated in one Redis call.
const INVALIDATION_CHUNK: usize = 500;

/// Deletes cached answers the projected changes made stale. When Redis is unreachable the
/// keys are kept and deleted with the next batch, or within [`INVALIDATION_RETRY`] when none
/// comes, so a cache that comes back is cleaned before it can serve them for long.
struct Invalidator {
    keys: CacheKeys,
    redis: Option<RedisTarget>,
    connection: Option<RedisConnection>,
    pending: BTreeSet<String>,
}

/// How long the projector waits for Redis before it keeps a batch's invalidations for later.
const REDIS_TIMEOUTS: Timeouts =
    Timeouts { connect: Duration::from_secs(1), response: Duration::from_secs(1), max_reconnect_delay: None };

/// The Redis `config` names, if any.
fn redis_target(config: &ReadSideConfig) -> redis::RedisResult<Option<RedisTarget>> {
    RedisTarget::from_settings(
        config.redis_url.as_deref(),
        config.redis_cluster,
        config.redis_password.as_ref(),
    )
}

impl Invalidator {
    fn new(config: &ReadSideConfig) -> Self {
        let redis = redis_target(config)
            .map_err(|e| error!(error = %e, "invalid REDIS_URL; cache invalidation off"))
            .ok()
            .flatten();
        Self { keys: config.read_model.cache_keys(), redis, connection: None, pending: BTreeSet::new() }
    }

    /// Retries the invalidations that failed, if any.
    async fn retry(&mut self) {
        self.invalidate(Vec::new()).await;
    }

    async fn invalidate(&mut self, touched: Vec<String>) {
        let Some(redis) = &self.redis else { return };
        self.pending.extend(touched);
        if self.pending.is_empty() {
            return;
        }
        if self.connection.is_none() {
            match redis.connect(REDIS_TIMEOUTS).await {
                Ok(connection) => self.connection = Some(connection),
                Err(e) => {
                    warn!(error = %e, pending = self.pending.len(), "redis unreachable; invalidation deferred");
                    return;
                }
            }
        }
        let Some(connection) = self.connection.as_mut() else { return };
        // After a long outage many slugs wait: a chunk at a time keeps each Redis call short.
        while !self.pending.is_empty() {
            let chunk: Vec<String> = self.pending.iter().take(INVALIDATION_CHUNK).cloned().collect();
            match self.keys.invalidate(connection, &chunk).await {
                Ok(()) => {
                    for key in &chunk {
                        self.pending.remove(key);
                    }
                }
                Err(e) => {
                    warn!(error = %e, pending = self.pending.len(), "invalidation failed; will retry");
                    return;
                }
            }
        }
    }
}
