//! A page's complete history for its author, read from the event stream and opened with
//! the page's data key: what the person who wrote it may take away (GDPR art. 15 and 20).

use std::collections::HashMap;

use time::OffsetDateTime;
use valentine_domain::page::timeline::{FieldChange, PageVersion};
use valentine_domain::{EditToken, EditTokenHash, PageEvent};
use valentine_eventstore::JetStreamEventRepository;
use valentine_eventstore::envelope::format_timestamp;
use valentine_eventstore::sealing::Body;
use valentine_projections::page_timeline::{self, TimelineEntry};
use valentine_projections::{PageRow, page_store, pages};

use crate::error::ApiError;
use crate::rate_limit::{Bucket, RateLimiter};
use crate::use_cases::page_queries::PageQueries;

/// One event of an export.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ExportedEvent {
    /// The page's own sequence.
    pub(crate) sequence: usize,
    /// Where it sits in the event stream.
    pub(crate) stream_sequence: u64,
    /// Its type.
    pub(crate) event_type: String,
    /// Its shape's version.
    pub(crate) event_version: String,
    /// When it happened (RFC 3339).
    pub(crate) occurred_at: String,
    /// The command that produced it.
    pub(crate) command_id: String,
    /// What it recorded (the token's hash left out).
    pub(crate) data: serde_json::Value,
}

/// A page and every event of it.
#[derive(Debug, Clone)]
pub(crate) struct PageExport {
    /// The page as it is.
    pub(crate) page: PageRow,
    /// When the export was made (RFC 3339).
    pub(crate) exported_at: String,
    /// Its events, oldest first.
    pub(crate) events: Vec<ExportedEvent>,
}

/// Exports of pages; cheap to clone.
#[derive(Debug, Clone)]
pub(crate) struct PageExports {
    repo: JetStreamEventRepository,
    queries: PageQueries,
    limiter: RateLimiter,
}

impl PageExports {
    /// Exports from `repo`, with view counts from `queries`, within the read budget of
    /// `limiter`.
    pub(crate) fn new(repo: JetStreamEventRepository, queries: PageQueries, limiter: RateLimiter) -> Self {
        Self { repo, queries, limiter }
    }

    /// The live page at `slug_key` with every event of it, for the holder of its edit token,
    /// asked by `caller_key` (counted against its read budget).
    ///
    /// # Errors
    /// `429` over the budget, `404` without a live page, `403` for another token, `503` when
    /// the event store is away.
    pub(crate) async fn export(
        &self,
        slug_key: &str,
        token: &EditToken,
        caller_key: &str,
    ) -> Result<PageExport, ApiError> {
        self.limiter.check(Bucket::Reads, caller_key).await?;
        let commits = page_store::load_life(&self.repo, slug_key).await?;
        let mut page = pages::fold_history(commits.iter().cloned())
            .filter(|r| !r.deleted)
            .ok_or(ApiError::NotFound("Page not found"))?;
        let hash = EditTokenHash::from_hex(&page.edit_token_hash).map_err(ApiError::internal)?;
        if !hash.matches(token) {
            return Err(ApiError::WrongToken);
        }
        if let Some(row) = self.queries.row(slug_key).await?.filter(|r| r.page_id == page.page_id) {
            page.view_count = row.view_count;
        }
        let mut events = Vec::new();
        for stored in commits {
            for event in stored.commit.events {
                let Body::Open(payload) = event.payload else { continue };
                // Reports belong to the moderators: a reporter's note never reaches the author.
                if matches!(payload, PageEvent::PageReported(_)) {
                    continue;
                }
                events.push(ExportedEvent {
                    sequence: event.sequence,
                    stream_sequence: stored.stream_sequence,
                    event_type: event.event_type,
                    event_version: event.event_version,
                    occurred_at: event.metadata.timestamp,
                    command_id: stored.commit.command_id.clone(),
                    data: event_data(&payload),
                });
            }
        }
        Ok(PageExport { page, exported_at: format_timestamp(OffsetDateTime::now_utc()), events })
    }
}

impl PageExports {
    /// The events of the current life of the page `page_id` at `slug_key`, from the stream,
    /// each with what it changed and the page after it.
    ///
    /// # Errors
    /// `503` when the stream cannot be read.
    async fn life(&self, slug_key: &str, page_id: i64) -> Result<Vec<TimelineEntry>, ApiError> {
        let page_id = u64::try_from(page_id).unwrap_or_default();
        let mut history = page_timeline::current_life(&self.repo, slug_key).await?;
        history.retain(|e| e.page_id == page_id && e.event_type != PageEvent::REPORTED);
        Ok(history)
    }

    /// What each event of the page `page_id` at `slug_key` changed, by its stream and page
    /// sequences: for the history its author reads (the caller has checked the token).
    ///
    /// # Errors
    /// `503` when the stream cannot be read.
    pub(crate) async fn changes(
        &self,
        slug_key: &str,
        page_id: i64,
    ) -> Result<HashMap<(u64, usize), Vec<FieldChange>>, ApiError> {
        Ok(self
            .life(slug_key, page_id)
            .await?
            .into_iter()
            .map(|e| ((e.stream_sequence, e.sequence), e.changes))
            .collect())
    }

    /// The live page at `slug_key` as it was right after its event at `stream_sequence`, for
    /// the holder of its edit token, asked by `caller_key` (counted against its read budget).
    ///
    /// # Errors
    /// `429` over the budget, `404` without a live page or without such an event in its
    /// current life, `403` for another token, `503` when the stream or read model is away.
    pub(crate) async fn version(
        &self,
        slug_key: &str,
        token: &EditToken,
        stream_sequence: u64,
        caller_key: &str,
    ) -> Result<PageVersion, ApiError> {
        self.limiter.check(Bucket::Reads, caller_key).await?;
        let row = self.queries.live_page(slug_key)?.ok_or(ApiError::NotFound("Page not found"))?;
        let hash = EditTokenHash::from_hex(&row.edit_token_hash).map_err(ApiError::internal)?;
        if !hash.matches(token) {
            return Err(ApiError::WrongToken);
        }
        self.life(slug_key, row.page_id)
            .await?
            .into_iter()
            .rev()
            .filter(|e| e.stream_sequence == stream_sequence)
            .find_map(|e| e.version)
            .ok_or(ApiError::NotFound("This page has no version at that position"))
    }
}

/// What an event recorded, as the object inside its stored form, without the edit token's
/// hash and the PIN's (which only the server needs: a PIN shows as `"set"` or `null`).
fn event_data(event: &PageEvent) -> serde_json::Value {
    let mut value = serde_json::to_value(event).unwrap_or_default();
    let mut inner =
        value.as_object_mut().and_then(|o| o.values_mut().next()).map(std::mem::take).unwrap_or_default();
    if let Some(fields) = inner.as_object_mut() {
        fields.remove("edit_token_hash");
        fields.remove("unsubscribe_key");
        if let Some(pin) = fields.remove("pin_hash") {
            let shown = if pin.is_null() { serde_json::Value::Null } else { "set".into() };
            fields.insert("pin".to_owned(), shown);
        }
    }
    inner
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use valentine_domain::{PageUpdated, TemplateId};

    use super::*;

    #[test]
    fn event_data_is_the_recorded_fields_without_the_token_hash() {
        let created = PageEvent::PageCreated(valentine_domain::PageCreated {
            slug: "Ana".to_owned(),
            title: "T".to_owned(),
            message: "M".to_owned(),
            sender_name: None,
            recipient_name: Some("R".to_owned()),
            template_id: TemplateId::Classic,
            edit_token_hash: EditToken::presented("x").hash(),
            song_url: None,
            reveal_at: None,
            pin_hash: Some(valentine_domain::PinHash::new("$argon2id$secret")),
        });
        assert_eq!(
            event_data(&created),
            json!({ "slug": "Ana", "title": "T", "message": "M", "sender_name": null,
                    "recipient_name": "R", "template_id": "classic", "pin": "set" })
        );
        let updated =
            PageEvent::PageUpdated(PageUpdated { sender_name: Some(None), ..PageUpdated::default() });
        assert_eq!(event_data(&updated), json!({ "sender_name": null }));
    }
}
