//! The console of auditors and moderators: who may use it, and what it shows and does.
//!
//! Every request names its admin by a bearer token (see [`AdminTokens`]); a missing or wrong
//! one is counted against the client's budget of failures before the token is even looked
//! at. Every console action is logged as a structured line (target `valentine::admin`) with
//! the admin's name; decisions about pages are events too, with their reason.

use async_nats::jetstream;
use futures::TryStreamExt;
use sqlx::SqlitePool;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use valentine_domain::page::timeline::PageVersion;
use valentine_eventstore::data_keys::{self, KeyLookup};
use valentine_eventstore::envelope::{Commit, header};
use valentine_eventstore::{JetStreamEventRepository, sealing};
use valentine_projections::moderation::{self, PageSummary, ReportedPage};
use valentine_projections::page_timeline::{self, AsOf, TimelineEntry};
use valentine_projections::parked::{DecideError, Decision, ParkedEvent, ParkedEvents};
use valentine_projections::workers::WorkerBeat;
use valentine_projections::{ReportRow, position, workers};

use crate::admin_tokens::AdminTokens;
use crate::error::ApiError;
use crate::rate_limit::{Bucket, RateLimiter};
use crate::use_cases::page_commands::PageCommands;
use crate::wire::admin::{
    ConsumerLagResponse, ConsumerStatus, MessageHeader, StoredMessageResponse as StoredMessage, StreamStatus,
};

/// An admin, by the name their token was issued to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Admin {
    /// Who.
    pub(crate) name: String,
}

/// A slug as of some point of its history.
#[derive(Debug, Clone)]
pub(crate) struct PageAsOf {
    /// The events up to that point.
    pub(crate) events: Vec<TimelineEntry>,
    /// The page then, if one was live (and not erased since).
    pub(crate) page: Option<PageVersion>,
}

/// A reported page and its reports.
#[derive(Debug, Clone)]
pub(crate) struct PageReports {
    /// The page.
    pub(crate) page: PageSummary,
    /// Its reports, newest first.
    pub(crate) reports: Vec<ReportRow>,
}

/// What the console works with.
#[derive(Debug, Clone)]
pub(crate) struct ConsoleParts {
    /// Who may use it.
    pub(crate) tokens: AdminTokens,
    /// Its budgets.
    pub(crate) limiter: RateLimiter,
    /// The event store's streams.
    pub(crate) js: jetstream::Context,
    /// The page event store.
    pub(crate) repo: JetStreamEventRepository,
    /// The streams whose durable consumers it reports on (page events, view tallies).
    pub(crate) consumed: Vec<String>,
    /// The workers' heartbeats.
    pub(crate) workers: jetstream::kv::Store,
    /// The events projectors parked.
    pub(crate) parked: ParkedEvents,
    /// The read model.
    pub(crate) db: SqlitePool,
    /// Decisions about pages.
    pub(crate) commands: PageCommands,
}

/// The console; cheap to clone.
#[derive(Debug, Clone)]
pub(crate) struct AdminConsole {
    inner: std::sync::Arc<ConsoleParts>,
}

impl std::ops::Deref for AdminConsole {
    type Target = ConsoleParts;

    fn deref(&self) -> &ConsoleParts {
        &self.inner
    }
}

impl AdminConsole {
    /// The console made of `parts`.
    pub(crate) fn new(parts: ConsoleParts) -> Self {
        Self { inner: std::sync::Arc::new(parts) }
    }

    /// The admin whose token `bearer` is, asking from `caller_key`; within their budget. A
    /// token is a guess until it is found right: the client's budget of failures is spent
    /// before it is looked at, and given back when it is right. Sending none guesses nothing.
    ///
    /// # Errors
    /// `403` when no admin is configured or the token is wrong, `401` without a token, `429`
    /// over the budget of failures (checked first) or of requests.
    pub(crate) async fn authorize(&self, bearer: Option<&str>, caller_key: &str) -> Result<Admin, ApiError> {
        if self.tokens.is_empty() {
            return Err(ApiError::AdminDisabled);
        }
        let Some(bearer) = bearer else { return Err(ApiError::AdminTokenRequired) };
        let attempt = self.limiter.check(Bucket::AdminFailures, caller_key).await?;
        let Some(name) = self.tokens.admin(bearer) else {
            tracing::warn!(target: "valentine::admin", "a console request with a wrong admin token");
            return Err(ApiError::WrongAdminToken);
        };
        self.limiter.refund(attempt).await;
        self.limiter.check(Bucket::Admin, name).await?;
        Ok(Admin { name: name.to_owned() })
    }

    /// Pages whose slug starts with `query` (any casing).
    ///
    /// # Errors
    /// `503` when SQLite fails.
    pub(crate) async fn search(&self, admin: &Admin, query: &str) -> Result<Vec<PageSummary>, ApiError> {
        let prefix = query.trim().to_ascii_lowercase();
        audit(admin, "search", &prefix, None);
        Ok(moderation::search(&self.db, &prefix).await?)
    }

    /// Every event of `slug_key`, every life, from the stream.
    ///
    /// # Errors
    /// `503` when the stream cannot be read.
    pub(crate) async fn events(&self, admin: &Admin, slug_key: &str) -> Result<Vec<TimelineEntry>, ApiError> {
        audit(admin, "events", slug_key, None);
        Ok(page_timeline::timeline(&self.repo, slug_key).await?)
    }

    /// `slug_key` as of `at`: its events up to there, and the page then.
    ///
    /// # Errors
    /// `503` when the stream cannot be read.
    pub(crate) async fn as_of(&self, admin: &Admin, slug_key: &str, at: AsOf) -> Result<PageAsOf, ApiError> {
        audit(admin, "as_of", slug_key, None);
        let history = page_timeline::timeline(&self.repo, slug_key).await?;
        let events = page_timeline::up_to(&history, at).to_vec();
        let page = events.last().and_then(|e| e.version.clone());
        Ok(PageAsOf { events, page })
    }

    /// The message at `stream_sequence` of the page event stream, as stored.
    ///
    /// # Errors
    /// `404` when there is none (never, or removed by an erasure), `503` when the stream
    /// cannot be read.
    pub(crate) async fn message(
        &self,
        admin: &Admin,
        stream_sequence: u64,
    ) -> Result<StoredMessage, ApiError> {
        audit(admin, "message", &stream_sequence.to_string(), None);
        let message = match self.repo.stream().direct_get(stream_sequence).await {
            Ok(message) => message,
            Err(e) if e.kind() == jetstream::stream::DirectGetErrorKind::NotFound => {
                return Err(ApiError::NotFound("No message at this sequence (never, or erased)"));
            }
            Err(e) => return Err(ApiError::event_store_unavailable(e)),
        };
        let headers: Vec<MessageHeader> = message
            .headers
            .iter()
            .flat_map(|(name, values)| {
                values
                    .iter()
                    .map(move |v| MessageHeader { name: name.to_string(), value: v.as_str().to_owned() })
            })
            .filter(|h| !h.name.starts_with("Nats-"))
            .collect();
        let stored_at = message.time.format(&Rfc3339).unwrap_or_default();
        let mut stored = Commit::decode(stream_sequence, &message.payload).map_err(ApiError::internal)?;
        let sealed = stored.commit.events.iter().any(|e| sealing::is_sealed(&e.payload));
        let mut erased = false;
        if sealed && let Some(id) = message.headers.get(header::DATA_KEY) {
            let keys =
                self.repo.keys().ok_or_else(|| ApiError::internal("the page store has no key store"))?;
            let found = keys.lookup_all([id.as_str().to_owned()]).await?;
            erased = found.values().any(|k| matches!(k, KeyLookup::Destroyed | KeyLookup::Missing));
            if !erased {
                data_keys::open_with(&mut stored, &found)?;
            }
        }
        let commit = serde_json::to_value(&stored.commit).map_err(ApiError::internal)?;
        Ok(StoredMessage {
            stream_sequence,
            subject: message.subject.to_string(),
            stored_at,
            headers,
            opened: sealed && !erased,
            erased,
            commit: page_timeline::redacted(commit),
        })
    }

    /// Every stream of the event store, with its consumers.
    ///
    /// # Errors
    /// `503` when NATS cannot be asked.
    pub(crate) async fn streams(&self, admin: &Admin) -> Result<Vec<StreamStatus>, ApiError> {
        audit(admin, "streams", "-", None);
        let infos: Vec<_> =
            self.js.streams().try_collect().await.map_err(ApiError::event_store_unavailable)?;
        let mut streams = Vec::with_capacity(infos.len());
        for info in infos {
            let stream = self
                .js
                .get_stream_no_info(&info.config.name)
                .await
                .map_err(ApiError::event_store_unavailable)?;
            let consumers: Vec<_> =
                stream.consumers().try_collect().await.map_err(ApiError::event_store_unavailable)?;
            let mut consumers: Vec<ConsumerStatus> = consumers
                .into_iter()
                .map(|c| ConsumerStatus {
                    name: c.name,
                    acknowledged_through: c.ack_floor.stream_sequence,
                    delivered_through: c.delivered.stream_sequence,
                    pending: c.num_pending,
                    unacknowledged: u64::try_from(c.num_ack_pending).unwrap_or(0),
                    redelivered: u64::try_from(c.num_redelivered).unwrap_or(0),
                    waiting: u64::try_from(c.num_waiting).unwrap_or(0),
                })
                .collect();
            consumers.sort_by(|a, b| a.name.cmp(&b.name));
            let state = info.state;
            streams.push(StreamStatus {
                name: info.config.name,
                subjects: info.config.subjects,
                messages: state.messages,
                bytes: state.bytes,
                first_sequence: state.first_sequence,
                last_sequence: state.last_sequence,
                last_at: (state.messages > 0)
                    .then(|| state.last_timestamp.format(&Rfc3339).unwrap_or_default()),
                consumers,
            });
        }
        streams.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(streams)
    }

    /// Live pages with reports, those waiting for a decision first.
    ///
    /// # Errors
    /// `503` when SQLite fails.
    pub(crate) async fn reported(&self, admin: &Admin) -> Result<Vec<ReportedPage>, ApiError> {
        audit(admin, "reports", "-", None);
        Ok(moderation::reported(&self.db).await?)
    }

    /// The reports of the page now at `slug_key`.
    ///
    /// # Errors
    /// `404` without such a slug, `503` when SQLite fails.
    pub(crate) async fn reports_of(&self, admin: &Admin, slug_key: &str) -> Result<PageReports, ApiError> {
        audit(admin, "reports_of", slug_key, None);
        let page =
            moderation::summary(&self.db, slug_key).await?.ok_or(ApiError::NotFound("Page not found"))?;
        let reports = moderation::reports_of(&self.db, slug_key, page.page_id).await?;
        Ok(PageReports { page, reports })
    }

    /// Takes the live page at `slug_key` down (`down`) or puts it back up, for `reason`; the
    /// stream position of the decision.
    ///
    /// # Errors
    /// `404` without a live page, `409` when it already is as asked, `422` for a blank or
    /// long reason, `503` when the event store is away.
    pub(crate) async fn moderate(
        &self,
        admin: &Admin,
        slug_key: &str,
        down: bool,
        reason: &str,
    ) -> Result<u64, ApiError> {
        let action = if down { "take_down" } else { "reinstate" };
        audit(admin, action, slug_key, Some(reason));
        self.commands.moderate(slug_key, &admin.name, reason, down).await
    }
}

impl AdminConsole {
    /// How far behind each durable consumer of the consumed streams is, from the streams
    /// themselves, and what each worker last said of itself.
    ///
    /// # Errors
    /// `503` when NATS cannot be asked.
    pub(crate) async fn lag(
        &self,
        admin: &Admin,
    ) -> Result<(Vec<ConsumerLagResponse>, Vec<WorkerBeat>), ApiError> {
        audit(admin, "lag", "-", None);
        let now = OffsetDateTime::now_utc();
        let mut consumers = Vec::new();
        for name in &self.consumed {
            let stream = self.js.get_stream(name).await.map_err(ApiError::event_store_unavailable)?;
            let names: Vec<String> =
                stream.consumer_names().try_collect().await.map_err(ApiError::event_store_unavailable)?;
            for consumer in names {
                let Some(lag) = position::lag(&stream, &consumer).await? else { continue };
                let oldest = (lag.lag_seconds > 0.0)
                    .then(|| now - time::Duration::seconds_f64(lag.lag_seconds))
                    .and_then(|at| at.format(&Rfc3339).ok());
                consumers.push(ConsumerLagResponse {
                    stream: lag.stream,
                    consumer: lag.consumer,
                    acknowledged_through: lag.position,
                    last_sequence: lag.last_sequence,
                    lag_events: lag.lag_events,
                    lag_seconds: lag.lag_seconds,
                    oldest_unapplied_at: oldest,
                });
            }
        }
        consumers.sort_by(|a, b| (&a.stream, &a.consumer).cmp(&(&b.stream, &b.consumer)));
        let beats = workers::list(&self.workers).await?;
        Ok((consumers, beats))
    }

    /// Every parked event, newest first.
    ///
    /// # Errors
    /// `503` when the bucket cannot be read.
    pub(crate) async fn parked(&self, admin: &Admin) -> Result<Vec<ParkedEvent>, ApiError> {
        audit(admin, "parked", "-", None);
        Ok(self.parked.list().await?)
    }

    /// Has a projector of `consumer` try the parked event at `stream_sequence` again
    /// (`retry`), or leaves it unapplied for good, for `reason`.
    ///
    /// # Errors
    /// `404` without such a record, `409` when it was decided already, `422` for a blank or
    /// long reason, `503` when the bucket cannot be written.
    pub(crate) async fn decide_parked(
        &self,
        admin: &Admin,
        consumer: &str,
        stream_sequence: u64,
        retry: bool,
        reason: &str,
    ) -> Result<ParkedEvent, ApiError> {
        let reason = valentine_domain::report::moderation_reason(reason)
            .map_err(|why| ApiError::invalid_field("reason", why))?;
        let (action, decision) = if retry { ("retry", Decision::Retry) } else { ("skip", Decision::Skip) };
        audit(admin, action, &format!("{consumer}/{stream_sequence}"), Some(&reason));
        self.parked.decide(consumer, stream_sequence, decision, &admin.name, &reason).await.map_err(|e| {
            match e {
                DecideError::NotFound => ApiError::NotFound("No such parked event"),
                DecideError::NotParked(state) => ApiError::NotParked(
                    format!("This event was decided already: it is {state:?}").to_lowercase(),
                ),
                DecideError::Store(e) => e.into(),
            }
        })
    }
}

/// Logs a console action: who, what, on what, and why.
fn audit(admin: &Admin, action: &'static str, target: &str, reason: Option<&str>) {
    tracing::info!(
        target: "valentine::admin",
        admin = %admin.name,
        action,
        target,
        reason,
        at = %OffsetDateTime::now_utc().format(&Rfc3339).unwrap_or_default(),
        "console action"
    );
}
