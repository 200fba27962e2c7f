//! Running page commands: through cqrs-es onto the event stream, then waiting (briefly) for
//! the projection to show the result.
//!
//! A command's append is the one decision point: JetStream's per-subject expected sequence
//! lets exactly one of any number of racing commands on a page land. A loser is re-run once
//! the page has moved on, and the aggregate then decides on the new state (for a create:
//! `SlugTaken`, a `409`).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use cqrs_es::AggregateError;
use time::OffsetDateTime;
use tracing::{Instrument, info_span};
use ulid::Ulid;
use valentine_domain::{
    AnswerPage, CreatePage, DeletePage, EditToken, EditTokenHash, ModeratePage, NotifyChange, OpenPage, Page,
    PageCommand, PageCreated, PageError, PageEvent, PageExtras, PageRules, PhotoRef, PinInput, Reply,
    ReportPage, ReportReason, RevealInput, SetPhoto, Slug, Unsubscribe, UpdatePage, pin,
};
use valentine_eventstore::envelope::{format_timestamp, meta};
use valentine_eventstore::{
    AppendReceipt, EventStoreError, JetStreamCqrs, JetStreamEventRepository, JetStreamStore, PhotoStore,
    execute_new_with_receipt, execute_with_receipt,
};
use valentine_projections::{PageCommit, PageRow, PositionWatch, page_store, pages};

use crate::error::ApiError;
use crate::job_ledger::JobLedger;
use crate::metrics::Metrics;
use crate::rate_limit::{Bucket, RateLimiter};
use crate::secret::{ServerSecret, fresh_token};
use crate::store_usage::StoreUsage;
use crate::use_cases::page_access::PageAccess;
use crate::use_cases::page_queries::PageQueries;
use crate::wire::page::CreatePageRequest;

/// Command handling for pages on JetStream.
pub(crate) type PageCqrs = JetStreamCqrs<Page>;

/// How many times a command that lost a race is re-run before giving up with a `503`. Each
/// round lets at least one of the racing commands land, and a create needs at most two.
const ATTEMPTS: u32 = 10;

/// How a create ended.
#[derive(Debug)]
pub(crate) enum CreateOutcome {
    /// Stored and visible in reads: the page as reads show it.
    Created {
        /// The page.
        page: Box<PageRow>,
        /// The token that edits it.
        edit_token: EditToken,
        /// The stream position of its creation.
        position: u64,
    },
    /// Stored, not yet visible within the sync wait: its job id.
    Queued {
        /// The create command's id.
        job_id: Ulid,
        /// The token that edits it.
        edit_token: EditToken,
        /// The stream position of its creation.
        position: u64,
    },
}

/// A reply as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Answered {
    /// What the recipient sent back.
    pub answer: Reply,
    /// How many times "No" ran away first.
    pub dodges: u32,
    /// When (RFC 3339).
    pub answered_at: String,
    /// The stream position of the reply.
    pub position: u64,
}

/// Creating, changing and deleting pages; cheap to clone.
#[derive(Clone)]
pub(crate) struct PageCommands {
    inner: Arc<CommandHandles>,
}

/// What page commands need.
pub(crate) struct CommandHandles {
    /// Command handling on the event stream.
    pub(crate) cqrs: PageCqrs,
    /// The same event stream, for creates that append without reading first.
    pub(crate) fresh: JetStreamStore<Page>,
    /// The rules `cqrs` hands the aggregate, for those creates.
    pub(crate) rules: PageRules,
    /// The event stream, for reading a page's history.
    pub(crate) repo: JetStreamEventRepository,
    /// Photos, removed with their page.
    pub(crate) photos: PhotoStore,
    /// Projection announcements, to wait for a command's projection.
    pub(crate) position: PositionWatch,
    /// The read model.
    pub(crate) queries: PageQueries,
    /// Hashes PINs.
    pub(crate) access: PageAccess,
    /// The budgets of creates and edits.
    pub(crate) limiter: RateLimiter,
    /// Where creates answered `202` landed, for their job status.
    pub(crate) ledger: JobLedger,
    /// Derives the ids and tokens of idempotent creates.
    pub(crate) secret: ServerSecret,
    /// How full the event store is: near its quota, only deletions go on.
    pub(crate) store: StoreUsage,
    /// How long a command waits for its projection.
    pub(crate) sync_wait: Duration,
    /// How long after a keyed create its retries are replayed.
    pub(crate) idempotency_window: Duration,
    /// Command counts and conflicts.
    pub(crate) metrics: Metrics,
}

impl std::fmt::Debug for PageCommands {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PageCommands").field("sync_wait", &self.inner.sync_wait).finish_non_exhaustive()
    }
}

impl PageCommands {
    /// Commands on these handles.
    pub(crate) fn new(handles: CommandHandles) -> Self {
        Self { inner: Arc::new(handles) }
    }

    /// Creates the page `body` asks for at `slug` (parsed from it), for the caller with key
    /// `caller_key` (rate-limited per caller).
    ///
    /// With an `idempotency_key`, the command id and edit token derive from the key and the
    /// body, and a retry of a create that already went through is answered as the first
    /// attempt was, without using quota.
    ///
    /// # Errors
    /// `422` for content that breaks the rules, `409` for a taken slug (or a retried create
    /// whose page was deleted since), `429` over the rate limit, `503` when the event store
    /// or read model is away.
    pub(crate) async fn create(
        &self,
        slug: Slug,
        body: CreatePageRequest,
        idempotency_key: Option<&str>,
        caller_key: &str,
    ) -> Result<CreateOutcome, ApiError> {
        let h = &self.inner;
        let idempotent = idempotency_key.is_some();
        let (command_id, edit_token) = match idempotency_key {
            Some(key) => {
                let fingerprint = serde_json::to_vec(&body).map_err(ApiError::internal)?;
                let derived = h.secret.idempotent_create(key, &fingerprint);
                (derived.command_id, derived.edit_token)
            }
            None => (Ulid::new(), fresh_token().map_err(ApiError::internal)?),
        };
        let notify = body.notify_email.clone().map(notify_change).transpose()?;
        let raw_pin = body.pin.clone();
        let extras = PageExtras {
            song_url: body.song_url.clone(),
            reveal: body.reveal_at.clone().map(|raw| RevealInput { raw, now: OffsetDateTime::now_utc() }),
            pin: raw_pin.as_deref().map(unhashed),
        };
        let mut command = CreatePage {
            slug,
            title: body.title.unwrap_or_default(),
            message: body.message.unwrap_or_default(),
            sender_name: body.sender_name,
            recipient_name: body.recipient_name,
            template_id: body.template_id,
            edit_token_hash: edit_token.hash(),
            notify,
            extras,
        };
        let event = command.check().map_err(|e| match e {
            PageError::Invalid(v) => ApiError::invalid(&v),
            PageError::RevealOutOfRange(why) => ApiError::RevealOutOfRange(why),
            other => ApiError::internal(other),
        })?;
        let slug_key = command.aggregate_id();

        if idempotent && let Some(stored) = h.queries.event_of_command(&command_id.to_string())? {
            self.still_replayable(&stored.occurred_at)?;
            let page = self.still_created(&stored.slug_key, stored.page_id, command_id).await?;
            let position = u64::try_from(stored.page_id).map_err(ApiError::internal)?;
            return Ok(CreateOutcome::Created { page: Box::new(page), edit_token, position });
        }

        h.store.room_for_content().await?;
        let attempt = h.limiter.check(Bucket::Pages, caller_key).await?;
        // The PIN is hashed only for a create within its budget: hashing is costly.
        let hashed = match raw_pin {
            Some(raw) if command.extras.pin.as_ref().is_some_and(Result::is_ok) => {
                Some(h.access.hash(raw).await)
            }
            _ => None,
        };
        if let Some(hashed) = hashed {
            match hashed {
                Ok(hash) => command.extras.pin = Some(Ok(hash)),
                Err(e) => {
                    h.limiter.refund(attempt).await;
                    return Err(e);
                }
            }
        }
        let event = match &command.extras.pin {
            Some(Ok(hash)) => PageCreated { pin_hash: Some(hash.clone()), ..event },
            _ => event,
        };
        let stored = self.store(&slug_key, command, command_id, idempotent).await;
        // Only a create that stored a new page uses quota: not a refused or failed one, and
        // not a retry of one already stored.
        if !matches!(&stored, Ok(receipt) if !receipt.duplicate) {
            h.limiter.refund(attempt).await;
        }
        let receipt = stored?;
        if !self.await_projection(&slug_key, receipt.stream_sequence).await? {
            h.ledger.record(&command_id.to_string(), receipt.stream_sequence).await;
            return Ok(CreateOutcome::Queued {
                job_id: command_id,
                edit_token,
                position: receipt.stream_sequence,
            });
        }
        let page_id = i64::try_from(receipt.stream_sequence).map_err(ApiError::internal)?;
        let page = match receipt.timestamp {
            // This attempt stored the page: the answer is what it stored, as the read model
            // now shows it, without reading it back.
            Some(at) => created_row(&slug_key, event, page_id, at, command_id),
            // An earlier attempt stored it: answer from the read model.
            None => self.still_created(&slug_key, page_id, command_id).await?,
        };
        Ok(CreateOutcome::Created { page: Box::new(page), edit_token, position: receipt.stream_sequence })
    }

    /// Applies `changes` to the page at `slug_key` for the caller `caller_key`; the page as it
    /// is afterwards, and the stream position of its latest event then. Counts against the caller's budget of edits, and (when it records a
    /// change) against the page's.
    ///
    /// # Errors
    /// `401`/`403` for a missing or wrong token, `404` without a live page, `409` when the
    /// page has reached its limit of changes, `422` for content that breaks the rules, `429`
    /// over a budget, `503` when the event store or read model is away.
    pub(crate) async fn update(
        &self,
        slug_key: &str,
        mut changes: UpdatePage,
        notify_email: Option<Option<String>>,
        new_pin: Option<Option<String>>,
        caller_key: &str,
    ) -> Result<(PageRow, u64), ApiError> {
        let h = &self.inner;
        changes.notify = notify_email.map(|e| notify_change(e.unwrap_or_default())).transpose()?;
        h.limiter.check(Bucket::Edits, caller_key).await?;
        self.refuse_a_wrong_token(slug_key, &changes.edit_token, "update").await?;
        if let Some(Some(raw)) = new_pin {
            // Hashed only for the page's author, and only a PIN that keeps the rules.
            changes.pin = Some(Some(match pin::pin(&raw) {
                Ok(_) => Ok(h.access.hash(raw).await?),
                Err(violation) => Err(violation),
            }));
        } else if let Some(None) = new_pin {
            changes.pin = Some(None);
        }
        h.store.room_for_content().await?;
        // Only the author gets this far (or a stranger while the read model trails): the
        // page's own budget cannot be spent by someone without its token.
        let page_attempt = h.limiter.check(Bucket::PageEdits, slug_key).await?;
        let executed = self.execute(slug_key, PageCommand::Update(changes), Ulid::new()).await;
        if !matches!(executed, Ok(Some(_))) {
            // Nothing recorded: the page's budget is untouched.
            h.limiter.refund(page_attempt).await;
        }
        self.after_change(slug_key, executed?).await
    }

    /// Attaches `photo` (already stored) to the page at `slug_key`, or with `None` removes its
    /// photo, for its author presenting `token`; the page as it is afterwards, the stream
    /// position of its latest event then, and the photo it had before. The caller has
    /// checked the token and spent the caller's budget.
    ///
    /// # Errors
    /// `403` for a wrong token, `404` without a live page, `409` at the page's limit of
    /// changes, `429` over the page's budget, `503` when the event store or read model is
    /// away.
    pub(crate) async fn set_photo(
        &self,
        slug_key: &str,
        token: EditToken,
        photo: Option<PhotoRef>,
    ) -> Result<(PageRow, u64), ApiError> {
        let h = &self.inner;
        if photo.is_some() {
            h.store.room_for_content().await?;
        }
        let page_attempt = h.limiter.check(Bucket::PageEdits, slug_key).await?;
        let command = PageCommand::SetPhoto(SetPhoto { edit_token: token, photo });
        let executed = self.execute(slug_key, command, Ulid::new()).await;
        if !matches!(executed, Ok(Some(_))) {
            h.limiter.refund(page_attempt).await;
        }
        self.after_change(slug_key, executed?).await
    }

    /// The page at `slug_key` after a change recorded as `recorded` (or none), as reads will
    /// show it, with the position of its latest event.
    async fn after_change(
        &self,
        slug_key: &str,
        recorded: Option<AppendReceipt>,
    ) -> Result<(PageRow, u64), ApiError> {
        let projected = match &recorded {
            Some(r) => self.projected_row(slug_key, r.stream_sequence).await?,
            None => None,
        };
        let row = match projected.filter(|r| !r.deleted) {
            Some(row) => row,
            // Not projected yet (or nothing changed and the read model may trail): the stream
            // has the authoritative content.
            None => self.current_page(slug_key).await?,
        };
        let position = match recorded {
            Some(r) => r.stream_sequence,
            None => u64::try_from(row.last_stream_sequence).map_err(ApiError::internal)?,
        };
        Ok((row, position))
    }

    /// Deletes the page at `slug_key` for the caller `caller_key`; answers once reads agree,
    /// when that comes within the sync wait (the deletion is stored either way), with the
    /// stream position of the deletion. Counts against the caller's budget of edits only: an
    /// author can always end a page.
    ///
    /// # Errors
    /// `401`/`403` for a missing or wrong token, `404` without a live page, `429` over the
    /// budget, `503` when the event store or read model is away.
    pub(crate) async fn delete(
        &self,
        slug_key: &str,
        edit_token: EditToken,
        caller_key: &str,
    ) -> Result<Option<u64>, ApiError> {
        self.inner.limiter.check(Bucket::Edits, caller_key).await?;
        self.refuse_a_wrong_token(slug_key, &edit_token, "delete").await?;
        let erasing = page_store::erasure_skeleton(&self.inner.repo, slug_key).await?;
        // The photo's object, to remove with the page (its key's destruction erases it anyway).
        let photo = match self.inner.queries.live_page(slug_key)?.and_then(|row| row.photo_sha256) {
            Some(sha256) => self.inner.repo.life_key::<Page>(slug_key).await?.map(|key| (key, sha256)),
            None => None,
        };
        let command = PageCommand::Delete(DeletePage { edit_token, erasing });
        let Some(receipt) = self.execute(slug_key, command, Ulid::new()).await? else { return Ok(None) };
        self.erase(slug_key, receipt.stream_sequence).await;
        if let Some((key, sha256)) = photo
            && let Err(e) = self.inner.photos.delete(key.id(), &sha256).await
        {
            tracing::warn!(error = %e, "an erased page's photo stays in the photo store, unreadable without its key");
        }
        self.await_projection(slug_key, receipt.stream_sequence).await?;
        Ok(Some(receipt.stream_sequence))
    }

    /// Records the recipient's reply to the page at `slug_key`, for the caller `caller_key`
    /// (within its budget of replies). The first reply wins; any later one is refused.
    ///
    /// # Errors
    /// `404` without a live page, `409` when it has its reply already, `422` for a reply that
    /// does not fit its design, `429` over the budget, `503` when the event store is away.
    pub(crate) async fn answer(
        &self,
        slug_key: &str,
        answer: Reply,
        dodges: u32,
        caller_key: &str,
    ) -> Result<Answered, ApiError> {
        let h = &self.inner;
        h.limiter.check(Bucket::Answers, caller_key).await?;
        h.store.room_for_content().await?;
        let command = PageCommand::Answer(AnswerPage { answer, dodges, now: OffsetDateTime::now_utc() });
        let receipt = self
            .execute(slug_key, command, Ulid::new())
            .await?
            .ok_or_else(|| ApiError::internal("a reply recorded no event"))?;
        let at = receipt.timestamp.ok_or_else(|| ApiError::internal("a new reply has no time"))?;
        Ok(Answered { answer, dodges, answered_at: format_timestamp(at), position: receipt.stream_sequence })
    }

    /// Records the first open of the page at `slug_key` whose edit token hash is `life`, by
    /// a reader who presented `presented` (its author's reads are not opens). Whether an event
    /// was recorded.
    ///
    /// # Errors
    /// When the event store is away.
    pub(crate) async fn open(
        &self,
        slug_key: &str,
        life: EditTokenHash,
        presented: Option<EditToken>,
    ) -> Result<bool, ApiError> {
        if self.inner.store.room_for_content().await.is_err() {
            // Near the store's quota an open is not worth one of the last events.
            return Ok(false);
        }
        let command = PageCommand::Open(OpenPage { life, presented });
        Ok(self.execute(slug_key, command, Ulid::new()).await?.is_some())
    }

    /// Stops mails about the page at `slug_key`, with the key of an unsubscribe link, for the
    /// caller `caller_key` (within its budget of replies); the position of the change, if one
    /// was recorded (a second unsubscribe records none).
    ///
    /// # Errors
    /// `403` for a key that is not the page's, `404` without a live page, `429` over the
    /// budget, `503` when the event store is away.
    pub(crate) async fn unsubscribe(
        &self,
        slug_key: &str,
        key: String,
        caller_key: &str,
    ) -> Result<Option<u64>, ApiError> {
        self.inner.limiter.check(Bucket::Answers, caller_key).await?;
        let command = PageCommand::Unsubscribe(Unsubscribe { key });
        Ok(self.execute(slug_key, command, Ulid::new()).await?.map(|r| r.stream_sequence))
    }

    /// Records a report of the page at `slug_key` by the caller `caller_key` (within its
    /// budget of reports); past the reports one page records, it is taken and adds nothing.
    ///
    /// # Errors
    /// `404` without a live page, `422` for a long note, `429` over the budget, `503` when the
    /// event store is away or nearly full.
    pub(crate) async fn report(
        &self,
        slug_key: &str,
        reason: ReportReason,
        note: Option<String>,
        caller_key: &str,
    ) -> Result<(), ApiError> {
        let h = &self.inner;
        h.limiter.check(Bucket::Reports, caller_key).await?;
        h.store.room_for_content().await?;
        let command = PageCommand::Report(ReportPage { reason, note });
        self.execute(slug_key, command, Ulid::new()).await?;
        Ok(())
    }

    /// Takes the page at `slug_key` down (`down`) or puts it back up, on the decision of the
    /// moderator `by` for `reason`; answers once reads agree (within the sync wait), with the
    /// stream position of the decision.
    ///
    /// # Errors
    /// `404` without a live page, `409` when it already is as asked, `422` for a blank or long
    /// reason, `503` when the event store is away.
    pub(crate) async fn moderate(
        &self,
        slug_key: &str,
        by: &str,
        reason: &str,
        down: bool,
    ) -> Result<u64, ApiError> {
        let decision = ModeratePage { by: by.to_owned(), reason: reason.to_owned() };
        let command = if down { PageCommand::TakeDown(decision) } else { PageCommand::Reinstate(decision) };
        let receipt = self
            .execute(slug_key, command, Ulid::new())
            .await?
            .ok_or_else(|| ApiError::internal("a moderation decision recorded no event"))?;
        self.await_projection(slug_key, receipt.stream_sequence).await?;
        Ok(receipt.stream_sequence)
    }

    /// Carries out the erasure recorded at `stream_sequence` on `slug_key`: removes the
    /// messages it erased from the stream and destroys their data keys. When that fails the
    /// erasure is still recorded, and the projectors carry it out when they apply it.
    async fn erase(&self, slug_key: &str, stream_sequence: u64) {
        match self.inner.repo.erase::<Page>(slug_key, stream_sequence).await {
            Ok(report) => tracing::info!(
                keys_destroyed = report.keys_destroyed.len(),
                messages_removed = report.messages_removed.len(),
                "page erased"
            ),
            Err(e) => tracing::warn!(error = %e, "erasure recorded; the projectors finish it"),
        }
    }

    /// Refuses a token that is not the page's from the read model's token hash (compared in
    /// constant time) before any event is loaded, so a stranger's PATCH or DELETE costs a
    /// point query and one direct get, not the page's whole history. Only when the read
    /// model's row reflects the page's newest event: if it trails (the page was deleted and
    /// created anew moments ago), the aggregate decides, as for a page not projected yet.
    pub(crate) async fn refuse_a_wrong_token(
        &self,
        slug_key: &str,
        token: &EditToken,
        command: &'static str,
    ) -> Result<(), ApiError> {
        let h = &self.inner;
        let Some(row) = h.queries.row(slug_key).await?.filter(|r| !r.deleted) else { return Ok(()) };
        let hash = EditTokenHash::from_hex(&row.edit_token_hash).map_err(ApiError::internal)?;
        if hash.matches(token) {
            return Ok(());
        }
        if h.repo.head_of::<Page>(slug_key).await? != u64::try_from(row.last_stream_sequence).ok() {
            return Ok(());
        }
        h.metrics.command(command, ApiError::WrongToken.code());
        Err(ApiError::WrongToken)
    }

    /// Stores a create; for a keyed create whose slug turns out taken, finds whether it was
    /// taken by an earlier attempt of this very command.
    async fn store(
        &self,
        slug_key: &str,
        command: CreatePage,
        command_id: Ulid,
        idempotent: bool,
    ) -> Result<AppendReceipt, ApiError> {
        // A slug the read model knows as taken goes the usual way (which refuses it, or finds
        // an earlier attempt); any other create first appends as the slug's first event.
        let assume_new = !self.inner.queries.slug_taken(slug_key)?;
        match self.run(slug_key, PageCommand::Create(command), command_id, assume_new).await {
            Ok(Some(receipt)) => Ok(receipt),
            Ok(None) => Err(ApiError::internal("a create recorded no event")),
            Err(ApiError::SlugTaken(taken)) if idempotent => {
                self.earlier_attempt(slug_key, command_id).await?.ok_or(ApiError::SlugTaken(taken))
            }
            Err(e) => Err(e),
        }
    }

    /// Runs `command` on the page `slug_key` under `command_id`; returns where its events
    /// landed, or `None` when it changed nothing.
    async fn execute(
        &self,
        slug_key: &str,
        command: PageCommand,
        command_id: Ulid,
    ) -> Result<Option<AppendReceipt>, ApiError> {
        self.run(slug_key, command, command_id, false).await
    }

    /// [`Self::execute`]; with `assume_new`, the first attempt does not read the page's
    /// history but appends as its first event, which JetStream refuses atomically when the
    /// slug has a history after all; the command then runs the usual way.
    async fn run(
        &self,
        slug_key: &str,
        command: PageCommand,
        command_id: Ulid,
        mut assume_new: bool,
    ) -> Result<Option<AppendReceipt>, ApiError> {
        let h = &self.inner;
        let name = command.name();
        let span = info_span!("command", command = name, aggregate_id = slug_key, %command_id, stream_sequence = tracing::field::Empty);
        async {
            let metadata = HashMap::from([(meta::COMMAND_ID.to_owned(), command_id.to_string())]);
            let mut attempt = 0;
            loop {
                attempt += 1;
                let (result, receipt) = if assume_new {
                    execute_new_with_receipt(&h.fresh, &h.rules, slug_key, command.clone(), metadata.clone())
                        .await
                } else {
                    execute_with_receipt(&h.cqrs, slug_key, command.clone(), metadata.clone()).await
                };
                match result {
                    Ok(()) => {
                        if let Some(r) = receipt {
                            tracing::Span::current().record("stream_sequence", r.stream_sequence);
                            if !r.duplicate {
                                h.store.appended();
                            }
                        }
                        h.metrics.command(name, "ok");
                        return Ok(receipt);
                    }
                    Err(AggregateError::AggregateConflict) if assume_new => {
                        // The slug has a history after all: decide on it the usual way, at once.
                        tracing::debug!("the slug has a history; loading it");
                        assume_new = false;
                        attempt -= 1;
                    }
                    Err(AggregateError::AggregateConflict) if attempt < ATTEMPTS => {
                        h.metrics.conflict();
                        tracing::debug!(attempt, "lost a race on the page; running the command again");
                        // A little jitter spreads the next round of racers apart.
                        tokio::time::sleep(jitter(attempt)).await;
                    }
                    Err(e) => {
                        let error = refusal(e);
                        if matches!(error, ApiError::StoreRefusing(_)) {
                            h.metrics.store_refusal();
                        }
                        h.metrics.command(name, error.code());
                        return Err(error);
                    }
                }
            }
        }
        .instrument(span)
        .await
    }

    /// When a create finds its slug taken: was it taken by an earlier attempt of this very
    /// command (a retry under the same `Idempotency-Key`)? Then that attempt's receipt.
    async fn earlier_attempt(
        &self,
        slug_key: &str,
        command_id: Ulid,
    ) -> Result<Option<AppendReceipt>, ApiError> {
        let commits = self.inner.repo.load_history::<Page>(slug_key).await?;
        let ours = commits.last().filter(|c| {
            c.commit.command_id == command_id.to_string()
                && c.commit.events.first().is_some_and(|e| e.event_type == PageEvent::CREATED)
        });
        let Some(ours) = ours else { return Ok(None) };
        let first = ours.commit.events.first();
        let at = first.and_then(|e| e.metadata.get(meta::TIMESTAMP)).and_then(|t| t.as_str());
        self.still_replayable(at.unwrap_or_default())?;
        Ok(Some(AppendReceipt { stream_sequence: ours.stream_sequence, duplicate: true, timestamp: None }))
    }

    /// Whether a keyed create stored at `stored_at` (RFC 3339) may still be replayed with its
    /// edit token: only within the idempotency window, so an old key is no lasting way in.
    fn still_replayable(&self, stored_at: &str) -> Result<(), ApiError> {
        let stored = OffsetDateTime::parse(stored_at, &time::format_description::well_known::Rfc3339)
            .map_err(ApiError::internal)?;
        let age = OffsetDateTime::now_utc() - stored;
        if age > self.inner.idempotency_window {
            tracing::info!(%stored_at, "a keyed create was retried after its replay window");
            return Err(ApiError::IdempotencyKeyExpired);
        }
        Ok(())
    }

    /// The page created at `page_id`, provided the read model still shows it live.
    async fn still_created(
        &self,
        slug_key: &str,
        page_id: i64,
        command_id: Ulid,
    ) -> Result<PageRow, ApiError> {
        let row = self.inner.queries.row(slug_key).await?;
        row.filter(|r| r.page_id == page_id && !r.deleted).ok_or_else(|| {
            tracing::info!(%command_id, "a retried create's page has since been deleted");
            ApiError::AlreadyCreated
        })
    }

    /// Waits up to the sync wait for the event at `stream_sequence` on `slug_key` to be
    /// projected; whether it was.
    async fn await_projection(&self, slug_key: &str, stream_sequence: u64) -> Result<bool, ApiError> {
        let h = &self.inner;
        if h.position.wait_for(stream_sequence, h.sync_wait).await {
            return Ok(true);
        }
        // Announcements are best effort: the read model has the last word.
        h.queries.is_projected(slug_key, stream_sequence).await
    }

    /// Waits up to the sync wait for the event at `stream_sequence` on `slug_key` to be
    /// projected; the row then, or `None` if the projection has not caught up.
    async fn projected_row(&self, slug_key: &str, stream_sequence: u64) -> Result<Option<PageRow>, ApiError> {
        if !self.await_projection(slug_key, stream_sequence).await? {
            return Ok(None);
        }
        let row = self.inner.queries.row(slug_key).await?;
        Ok(row.filter(|r| u64::try_from(r.last_stream_sequence).unwrap_or(0) >= stream_sequence))
    }

    /// The page as the event stream has it now, for answering an update the projection has
    /// not caught up with (the page may not even be projected yet). The read model's view
    /// count is kept when it is the same page.
    async fn current_page(&self, slug_key: &str) -> Result<PageRow, ApiError> {
        let stale = self.inner.queries.row(slug_key).await?;
        let commits = self.inner.repo.load_history::<Page>(slug_key).await?;
        let commits = commits
            .into_iter()
            .map(page_store::decode)
            .collect::<Result<Vec<PageCommit>, _>>()
            .map_err(ApiError::internal)?;
        let mut page = pages::fold_history(commits)
            .filter(|r| !r.deleted)
            .ok_or(ApiError::NotFound("Page not found"))?;
        if let Some(stale) = stale.filter(|r| r.page_id == page.page_id) {
            page.view_count = stale.view_count;
        }
        Ok(page)
    }
}

/// The row a create just stored makes, as projectors will write it.
fn created_row(
    slug_key: &str,
    event: PageCreated,
    page_id: i64,
    at: OffsetDateTime,
    command_id: Ulid,
) -> PageRow {
    PageRow::created(slug_key, event, page_id, &format_timestamp(at), &command_id.to_string())
}

/// A PIN as checked before it is hashed: the rule it broke, or a placeholder hash that the
/// real one replaces once the command is worth hashing for.
fn unhashed(raw: &str) -> PinInput {
    pin::pin(raw).map(|_| valentine_domain::PinHash::new(String::new()))
}

/// A new mail address (raw) with a fresh key for its unsubscribe link.
fn notify_change(email: String) -> Result<NotifyChange, ApiError> {
    let key = fresh_token().map_err(ApiError::internal)?;
    Ok(NotifyChange { email, unsubscribe_key: key.expose().to_owned() })
}

/// Up to 2 ms per attempt so far, at random.
fn jitter(attempt: u32) -> Duration {
    let mut byte = [0u8; 2];
    let _ = getrandom::fill(&mut byte);
    Duration::from_micros(u64::from(u16::from_le_bytes(byte)) % (2000 * u64::from(attempt)))
}

/// The one mapping of the aggregate's refusals (and the framework's failures) to API errors.
fn refusal(err: AggregateError<PageError>) -> ApiError {
    match err {
        AggregateError::UserError(PageError::Invalid(violations)) => ApiError::invalid(&violations),
        AggregateError::UserError(PageError::SlugTaken) => {
            ApiError::SlugTaken(PageError::SlugTaken.to_string())
        }
        AggregateError::UserError(PageError::NotFound) => ApiError::NotFound("Page not found"),
        AggregateError::UserError(PageError::WrongEditToken) => ApiError::WrongToken,
        AggregateError::UserError(PageError::TooManyChanges { limit }) => ApiError::TooManyChanges(limit),
        AggregateError::UserError(PageError::AlreadyAnswered) => ApiError::AlreadyAnswered,
        AggregateError::UserError(PageError::BadReply(why)) => ApiError::WrongAnswer(why),
        AggregateError::UserError(PageError::WrongUnsubscribeKey) => ApiError::WrongUnsubscribeLink,
        AggregateError::UserError(PageError::AlreadyRevealed) => ApiError::AlreadyRevealed,
        AggregateError::UserError(PageError::RevealOutOfRange(why)) => ApiError::RevealOutOfRange(why),
        AggregateError::UserError(PageError::NotRevealed) => ApiError::NotRevealed,
        AggregateError::UserError(PageError::TakenDown) => ApiError::TakenDown,
        AggregateError::UserError(PageError::AlreadyTakenDown) => ApiError::AlreadyTakenDown,
        AggregateError::UserError(PageError::NotTakenDown) => ApiError::NotTakenDown,
        AggregateError::UserError(PageError::BadModeration(why)) => {
            ApiError::invalid_field(if why.starts_with("note") { "note" } else { "reason" }, why)
        }
        AggregateError::AggregateConflict => ApiError::Unavailable {
            detail: "The page is being changed right now; try again",
            retry_after: 1,
            source: None,
        },
        AggregateError::DatabaseConnectionError(e) => ApiError::event_store_unavailable(e),
        AggregateError::UnexpectedError(e)
            if matches!(e.downcast_ref::<EventStoreError>(), Some(EventStoreError::Rejected(_))) =>
        {
            ApiError::StoreRefusing(e)
        }
        AggregateError::DeserializationError(e) | AggregateError::UnexpectedError(e) => ApiError::internal(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_map_to_their_statuses_and_codes() {
        let cases = [
            (AggregateError::UserError(PageError::SlugTaken), 409, "slug_taken"),
            (AggregateError::UserError(PageError::NotFound), 404, "not_found"),
            (AggregateError::UserError(PageError::WrongEditToken), 403, "wrong_token"),
            (AggregateError::UserError(PageError::TooManyChanges { limit: 5 }), 409, "too_many_changes"),
            (AggregateError::UserError(PageError::AlreadyAnswered), 409, "already_answered"),
            (AggregateError::UserError(PageError::BadReply("no")), 409, "wrong_answer"),
            (AggregateError::UserError(PageError::WrongUnsubscribeKey), 403, "wrong_token"),
            (AggregateError::UserError(PageError::AlreadyRevealed), 409, "already_revealed"),
            (AggregateError::UserError(PageError::NotRevealed), 409, "not_revealed"),
            (AggregateError::UserError(PageError::TakenDown), 451, "taken_down"),
            (AggregateError::UserError(PageError::AlreadyTakenDown), 409, "already_taken_down"),
            (AggregateError::UserError(PageError::NotTakenDown), 409, "not_taken_down"),
            (AggregateError::UserError(PageError::BadModeration("reason is required")), 422, "invalid"),
            (AggregateError::AggregateConflict, 503, "unavailable"),
            (
                AggregateError::UnexpectedError(Box::new(EventStoreError::Rejected("full".into()))),
                503,
                "unavailable",
            ),
            (AggregateError::UnexpectedError("a bug".into()), 500, "internal"),
        ];
        for (error, status, code) in cases {
            let mapped = refusal(error);
            assert_eq!(mapped.status().as_u16(), status);
            assert_eq!(mapped.code(), code);
        }
    }

    #[test]
    fn jitter_grows_with_the_attempt_and_stays_bounded() {
        for attempt in 1..=ATTEMPTS {
            assert!(jitter(attempt) < Duration::from_millis(2 * u64::from(attempt)));
        }
    }
}
