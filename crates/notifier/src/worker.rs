//! One notifier process: reads page events through the shared durable consumer and mails
//! the author about first opens and replies, once each (see [`crate::sent`]).

use std::time::Duration;

use async_nats::jetstream::consumer::{AckPolicy, DeliverPolicy, PullConsumer, pull};
use async_nats::jetstream::context::ConsumerInfoErrorKind;
use async_nats::jetstream::{self, AckKind, Message};
use cqrs_es::Aggregate;
use futures::StreamExt;
use lettre::message::Mailbox;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use secrecy::ExposeSecret;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tokio_util::sync::CancellationToken;
use tracing::{Instrument, debug, info, info_span, warn};
use valentine_domain::{Page, PageEvent};
use valentine_eventstore::envelope::{Commit, meta};
use valentine_eventstore::sealing::Body;
use valentine_eventstore::{JetStreamEventRepository, subjects};
use valentine_projections::{page_store, position, workers};

use crate::config::NotifierConfig;
use crate::error::NotifierError;
use crate::health::Health;
use crate::mail::{self, News, Notice};
use crate::sent::{Claim, SentMails};

/// How long a delivered event may stay unacknowledged before JetStream offers it again:
/// longer than a mail takes.
const ACK_WAIT: Duration = Duration::from_secs(60);

/// How long sending one mail may take.
const SEND_TIMEOUT: Duration = Duration::from_secs(30);

/// When an event is offered again after its mail could not be sent.
const RETRY_AFTER: Duration = Duration::from_secs(15);

/// When an event is offered again while another notifier sends its mail.
const BUSY_RETRY_AFTER: Duration = Duration::from_secs(5);

/// Events pulled at once.
const BATCH: usize = 16;

/// How often the loop goes round while no event comes, to show it lives.
const IDLE_TICK: Duration = Duration::from_secs(1);

/// What became of one delivered event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    /// Nothing (more) to do: acknowledge it.
    Done,
    /// Offer it again after this long.
    Later(Duration),
}

/// One notifier worker.
#[derive(Debug)]
pub struct Notifier {
    config: NotifierConfig,
    repo: JetStreamEventRepository,
    consumer: PullConsumer,
    sent: SentMails,
    mailer: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    health: Health,
    /// Where it puts its heartbeat.
    heartbeats: jetstream::kv::Store,
    /// This process's id in heartbeats.
    instance: String,
}

impl Notifier {
    /// Connects to NATS, opens the ledger and binds the shared consumer (creating it, for a
    /// new deployment, at the events of the last `NOTIFY_MAX_AGE_HOURS`).
    ///
    /// # Errors
    /// Unusable mail settings; NATS failures.
    pub async fn connect(config: NotifierConfig) -> Result<Self, NotifierError> {
        let from = mail::sender(&config.mail_from)?;
        let mailer = AsyncSmtpTransport::<Tokio1Executor>::from_url(config.smtp_url.expose_secret())
            .map_err(|e| NotifierError::Settings(format!("SMTP_URL: {e}")))?
            .timeout(Some(SEND_TIMEOUT))
            .build();
        let client = config.nats.connect("valentine-notifier").await?;
        let health = Health::new(client.clone());
        let js = jetstream::new(client);
        let repo = page_store::open(&js, &config.events).await?;
        let sent = SentMails::open(&js, &config.events).await?;
        let consumer = bind(&repo, &config).await?;
        let heartbeats = workers::open(&js, &config.events).await.map_err(NotifierError::nats)?;
        let instance = workers::new_instance();
        Ok(Self { config, repo, consumer, sent, mailer, from, health, heartbeats, instance })
    }

    /// Its health, kept up to date as it mails: serve it with
    /// [`health::serve`](crate::health::serve).
    pub fn health(&self) -> Health {
        self.health.clone()
    }

    /// Mails until `shutdown` is cancelled; the event in hand is finished first.
    ///
    /// # Errors
    /// When the consumer cannot be read at all.
    pub async fn run(self, shutdown: CancellationToken) -> Result<(), NotifierError> {
        info!(consumer = self.config.consumer, "notifying");
        let (notified, ()) = tokio::join!(
            self.notify_loop(&shutdown),
            self.monitor(&shutdown).instrument(info_span!("monitor"))
        );
        notified
    }

    /// Every [`NotifierConfig::report_every`] until `shutdown`: looks at the consumer's lag
    /// for the health, and puts the heartbeat.
    async fn monitor(&self, shutdown: &CancellationToken) {
        let mut every = tokio::time::interval(self.config.report_every);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return,
                _ = every.tick() => {}
            }
            match position::lag(self.repo.stream(), &self.config.consumer).await {
                Ok(Some(lag)) => self.health.observed(lag),
                Ok(None) => {}
                Err(e) => debug!(error = %e, "lag unavailable"),
            }
            if let Err(e) = workers::beat(&self.heartbeats, &self.health.beat(&self.instance)).await {
                debug!(error = %e, "heartbeat not put");
            }
        }
    }

    async fn notify_loop(&self, shutdown: &CancellationToken) -> Result<(), NotifierError> {
        let mut messages = self.pull().await?;
        loop {
            self.health.tick();
            let next = tokio::select! {
                () = shutdown.cancelled() => return Ok(()),
                // Going round while idle shows the loop lives.
                () = tokio::time::sleep(IDLE_TICK) => continue,
                next = messages.next() => next,
            };
            match next {
                Some(Ok(message)) => self.settle(&message).await,
                Some(Err(e)) => {
                    // A missed heartbeat or a reconnect: pull anew.
                    debug!(error = %e, "pulling anew");
                    tokio::select! {
                        () = shutdown.cancelled() => return Ok(()),
                        () = tokio::time::sleep(Duration::from_secs(1)) => {}
                    }
                    messages = self.pull().await?;
                }
                None => messages = self.pull().await?,
            }
        }
    }

    async fn pull(&self) -> Result<pull::Stream, NotifierError> {
        self.consumer
            .stream()
            .max_messages_per_batch(BATCH)
            .expires(Duration::from_secs(30))
            .heartbeat(Duration::from_secs(5))
            .messages()
            .await
            .map_err(NotifierError::nats)
    }

    async fn settle(&self, message: &Message) {
        let outcome = match self.handle(message).await {
            Verdict::Done => message.ack().await,
            Verdict::Later(delay) => message.ack_with(AckKind::Nak(Some(delay))).await,
        };
        if let Err(e) = outcome {
            // It comes back after the ack wait; the ledger keeps it to one mail.
            debug!(error = %e, "an event was not acknowledged");
        }
    }

    async fn handle(&self, message: &Message) -> Verdict {
        let Ok(info) = message.info() else { return Verdict::Done };
        let (stream_sequence, published) = (info.stream_sequence, info.published);
        let Ok(stored) = Commit::decode(stream_sequence, &message.payload) else {
            warn!(stream_sequence, "an event message does not decode; no mail about it");
            return Verdict::Done;
        };
        let kinds: Vec<&str> = stored.commit.events.iter().map(|e| e.event_type.as_str()).collect();
        // A reply that is also the first open gets one mail, about the reply.
        let answered = kinds.contains(&PageEvent::ANSWERED);
        if !answered && !kinds.contains(&PageEvent::OPENED) {
            return Verdict::Done;
        }
        // The event's own time, not the message's: a restored stream stores every message
        // anew, and its old opens are no news.
        let happened = stored
            .commit
            .events
            .first()
            .and_then(|e| e.metadata.get(meta::TIMESTAMP))
            .and_then(|t| t.as_str())
            .and_then(|t| OffsetDateTime::parse(t, &Rfc3339).ok())
            .unwrap_or(published);
        if OffsetDateTime::now_utc() - happened > self.config.max_age {
            debug!(stream_sequence, "too old to be news");
            return Verdict::Done;
        }
        let slug_key = stored.commit.aggregate_id.clone();
        let span = info_span!("notify", slug = slug_key, stream_sequence);
        match self.notify(stream_sequence, &slug_key, answered).instrument(span).await {
            Ok(verdict) => verdict,
            Err(e) => {
                warn!(slug = slug_key, stream_sequence, error = %e, "a mail was not sent; trying again later");
                Verdict::Later(RETRY_AFTER)
            }
        }
    }

    /// Mails the author of the page at `slug_key` about its event at `stream_sequence`,
    /// unless the ledger says it was mailed, the page is gone, or it has no address.
    async fn notify(
        &self,
        stream_sequence: u64,
        slug_key: &str,
        answered: bool,
    ) -> Result<Verdict, NotifierError> {
        let commits = page_store::load_life(&self.repo, slug_key).await?;
        let Some(this) = commits.iter().find(|c| c.stream_sequence == stream_sequence) else {
            // The page was deleted (and its events erased) since.
            return Ok(Verdict::Done);
        };
        let mut page = Page::default();
        for event in commits.iter().flat_map(|c| &c.commit.events) {
            if let Body::Open(event) = &event.payload {
                page.apply(event.clone());
            }
        }
        let Some(live) = page.live() else { return Ok(Verdict::Done) };
        let (Some(to), Some(key)) = (live.notify_email.as_deref(), live.unsubscribe_key.as_deref()) else {
            return Ok(Verdict::Done);
        };
        let news = if answered {
            let reply = this.commit.events.iter().find_map(|e| match &e.payload {
                Body::Open(PageEvent::PageAnswered(a)) => {
                    Some(News::Answered { answer: a.answer, dodges: a.dodges })
                }
                _ => None,
            });
            let Some(news) = reply else { return Ok(Verdict::Done) };
            news
        } else {
            News::Opened
        };
        let at = this
            .commit
            .events
            .first()
            .and_then(|e| OffsetDateTime::parse(&e.metadata.timestamp, &Rfc3339).ok())
            .unwrap_or_else(OffsetDateTime::now_utc);
        let notice = Notice {
            news,
            at,
            stream_sequence,
            slug: &live.slug,
            title: &live.title,
            recipient_name: live.recipient_name.as_deref(),
            to,
            unsubscribe_key: key,
        };
        let revision = match self.sent.claim(stream_sequence).await? {
            Claim::Yours(revision) => revision,
            Claim::Sent => return Ok(Verdict::Done),
            Claim::Busy => return Ok(Verdict::Later(BUSY_RETRY_AFTER)),
        };
        let message = match mail::compose(&notice, &self.from, &self.config.frontend_domain) {
            Ok(message) => message,
            Err(e) => {
                // No retry writes this mail: the ledger keeps it from being tried again.
                warn!(error = %e, "a mail cannot be written; none is sent");
                self.sent.sent(stream_sequence, revision).await?;
                return Ok(Verdict::Done);
            }
        };
        if let Err(e) = self.mailer.send(message).await {
            self.sent.release(stream_sequence, revision).await;
            self.health.mailed(Some(format!("the last mail was not sent: {e}")));
            return Err(NotifierError::Smtp(Box::new(e)));
        }
        self.health.mailed(None);
        self.sent.sent(stream_sequence, revision).await?;
        info!(news = news.kind(), "mail sent");
        Ok(Verdict::Done)
    }
}

/// Binds the shared consumer of page events, creating it when missing.
async fn bind(
    repo: &JetStreamEventRepository,
    config: &NotifierConfig,
) -> Result<PullConsumer, NotifierError> {
    let stream = repo.stream();
    let deliver_policy = match stream.consumer_info(&config.consumer).await {
        // A consumer's starting point cannot change; it has moved on from there anyway.
        Ok(info) => info.config.deliver_policy,
        Err(e) if e.kind() == ConsumerInfoErrorKind::NotFound => {
            DeliverPolicy::ByStartTime { start_time: OffsetDateTime::now_utc() - config.max_age }
        }
        Err(e) => return Err(NotifierError::nats(e)),
    };
    stream
        .create_consumer(pull::Config {
            durable_name: Some(config.consumer.clone()),
            description: Some("Valentine notifiers".to_owned()),
            filter_subject: subjects::everything(&config.events.subject_prefix),
            deliver_policy,
            ack_policy: AckPolicy::Explicit,
            ack_wait: ACK_WAIT,
            max_deliver: -1,
            max_ack_pending: 1_000,
            ..Default::default()
        })
        .await
        .map_err(NotifierError::nats)
}
