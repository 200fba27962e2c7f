//! Running page commands: through cqrs-es onto the event stream, then waiting (briefly) for
//! the projection to show the result.
//!
//! A command's append is the one decision point: JetStream's per-subject expected sequence
//! lets exactly one of any number of racing commands on a page land. A loser is re-run once
//! the page has moved on, and the aggregate then decides on the new state (for a create:
//! `SlugTaken`, a `409`).

use std::collections::HashMap;

use cqrs_es::{Aggregate, AggregateError};
use tracing::{Instrument, info_span};
use ulid::Ulid;
use valentine_domain::{Page, PageCommand, PageError, PageEvent};
use valentine_eventstore::EventMeta;
use valentine_eventstore::envelope::meta;
use valentine_eventstore::{AppendReceipt, receipt, subjects};
use valentine_projections::{PageRow, pages};

use crate::error::ApiError;
use crate::read;
use crate::routes::pages::PageResponse;
use crate::state::AppState;

/// How many times a command that lost a race is re-run before giving up with a `503`. Each
/// round lets at least one of the racing commands land, and a create needs at most two.
const ATTEMPTS: u32 = 10;

/// Which command, for metrics and spans.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    /// `CreatePage`.
    Create,
    /// `UpdatePage`.
    Update,
    /// `DeletePage`.
    Delete,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Self::Create => "create",
            Self::Update => "update",
            Self::Delete => "delete",
        }
    }
}

/// Runs `command` on the page `slug_key` under `command_id`; returns where its events landed,
/// or `None` when it changed nothing.
///
/// # Errors
/// The domain's refusals as `4xx`; an unreachable event store as `503`.
pub async fn execute(
    state: &AppState,
    kind: Kind,
    slug_key: &str,
    command: PageCommand,
    command_id: Ulid,
) -> Result<Option<AppendReceipt>, ApiError> {
    let span = info_span!("command", command = kind.as_str(), aggregate_id = slug_key, %command_id, stream_sequence = tracing::field::Empty);
    async {
        let metadata = HashMap::from([(meta::COMMAND_ID.to_owned(), command_id.to_string())]);
        let mut attempt = 0;
        loop {
            attempt += 1;
            let run = state.cqrs().execute_with_metadata(slug_key, command.clone(), metadata.clone());
            let (result, receipt) = receipt::capture(run).await;
            match result {
                Ok(()) => {
                    if let Some(r) = receipt {
                        tracing::Span::current().record("stream_sequence", r.stream_sequence);
                    }
                    state.metrics().command(kind.as_str(), "ok");
                    return Ok(receipt);
                }
                Err(AggregateError::AggregateConflict) if attempt < ATTEMPTS => {
                    state.metrics().conflict();
                    tracing::debug!(attempt, "lost a race on the page; running the command again");
                    // A little jitter spreads the next round of racers apart.
                    tokio::time::sleep(jitter(attempt)).await;
                }
                Err(e) => {
                    let error = refusal(e);
                    state.metrics().command(kind.as_str(), error.code());
                    return Err(error);
                }
            }
        }
    }
    .instrument(span)
    .await
}

/// Up to 2 ms per attempt so far, at random.
fn jitter(attempt: u32) -> std::time::Duration {
    let mut byte = [0u8; 2];
    let _ = getrandom::fill(&mut byte);
    std::time::Duration::from_micros(u64::from(u16::from_le_bytes(byte)) % (2000 * u64::from(attempt)))
}

fn refusal(err: AggregateError<PageError>) -> ApiError {
    match err {
        AggregateError::UserError(PageError::Invalid(violations)) => ApiError::invalid(&violations),
        AggregateError::UserError(PageError::SlugTaken) => {
            ApiError::Conflict(PageError::SlugTaken.to_string())
        }
        AggregateError::UserError(PageError::NotFound) => ApiError::NotFound("Page not found"),
        AggregateError::UserError(PageError::WrongEditToken) => ApiError::WrongToken,
        AggregateError::AggregateConflict => ApiError::Unavailable {
            detail: "The page is being changed right now; try again",
            retry_after: 1,
            source: None,
        },
        AggregateError::DatabaseConnectionError(e) => {
            ApiError::unavailable("The event store is unavailable; try again shortly", e)
        }
        AggregateError::DeserializationError(e) | AggregateError::UnexpectedError(e) => ApiError::internal(e),
    }
}

/// When a create finds its slug taken: was it taken by an earlier attempt of this very
/// command (a retry under the same `Idempotency-Key`)? Then that attempt's receipt.
///
/// # Errors
/// When the stream cannot be read.
pub async fn earlier_attempt(
    state: &AppState,
    slug_key: &str,
    command_id: Ulid,
) -> Result<Option<AppendReceipt>, ApiError> {
    let subject = subjects::aggregate(&state.repo().config().subject_prefix, "Page", slug_key);
    let commits = state
        .repo()
        .load_commits(&subject)
        .await
        .map_err(|e| ApiError::unavailable("The event store is unavailable; try again shortly", e))?;
    let ours = commits.last().filter(|c| {
        c.commit.command_id == command_id.to_string()
            && c.commit.events.first().is_some_and(|e| e.event_type == PageEvent::CREATED)
    });
    Ok(ours.map(|c| AppendReceipt { stream_sequence: c.stream_sequence, duplicate: true, timestamp: None }))
}

/// Waits up to the sync wait for the event at `stream_sequence` on `slug_key` to be
/// projected; whether it was.
///
/// # Errors
/// When SQLite fails.
pub async fn await_projection(
    state: &AppState,
    slug_key: &str,
    stream_sequence: u64,
) -> Result<bool, ApiError> {
    if state.position().wait_for(stream_sequence, state.config().sync_wait).await {
        return Ok(true);
    }
    // Announcements are best effort: the read model has the last word.
    pages::is_projected(state.db(), slug_key, stream_sequence).await.map_err(read::read_failed)
}

/// Waits up to the sync wait for the event at `stream_sequence` on `slug_key` to be
/// projected; the row then, or `None` if the projection has not caught up.
///
/// # Errors
/// When SQLite fails.
pub async fn projected_row(
    state: &AppState,
    slug_key: &str,
    stream_sequence: u64,
) -> Result<Option<PageRow>, ApiError> {
    if !await_projection(state, slug_key, stream_sequence).await? {
        return Ok(None);
    }
    let row = read::row(state, slug_key).await?;
    Ok(row.filter(|r| u64::try_from(r.last_stream_sequence).unwrap_or(0) >= stream_sequence))
}

/// The page as the event stream has it now, for answering an update the projection has not
/// caught up with (the page may not even be projected yet). `stale` is the read model's row,
/// if any; its view count is kept when it is the same page.
///
/// # Errors
/// When the stream cannot be read, or there is no live page.
pub async fn current_page(
    state: &AppState,
    slug_key: &str,
    stale: Option<PageRow>,
) -> Result<PageResponse, ApiError> {
    let subject = subjects::aggregate(&state.repo().config().subject_prefix, "Page", slug_key);
    let commits = state
        .repo()
        .load_commits(&subject)
        .await
        .map_err(|e| ApiError::unavailable("The event store is unavailable; try again shortly", e))?;
    let mut page = Page::default();
    let mut created: Option<(u64, String)> = None;
    let mut updated_at = String::new();
    for stored in commits {
        for event in stored.commit.events {
            let typed: PageEvent = serde_json::from_value(event.payload).map_err(ApiError::internal)?;
            let meta: EventMeta = serde_json::from_value(event.metadata).map_err(ApiError::internal)?;
            if matches!(typed, PageEvent::PageCreated(_)) {
                created = Some((stored.stream_sequence, meta.timestamp.clone()));
            }
            updated_at = meta.timestamp;
            page.apply(typed);
        }
    }
    let (Some(live), Some((page_id, created_at))) = (page.live(), created) else {
        return Err(ApiError::NotFound("Page not found"));
    };
    let id = i64::try_from(page_id).map_err(ApiError::internal)?;
    let view_count = stale.filter(|r| r.page_id == id).map_or(0, |r| r.view_count);
    Ok(PageResponse {
        id,
        slug: live.slug.clone(),
        title: live.title.clone(),
        message: live.message.clone(),
        sender_name: live.sender_name.clone(),
        recipient_name: live.recipient_name.clone(),
        template_id: live.template_id.as_str().to_owned(),
        created_at,
        updated_at,
        view_count,
    })
}
