//! A page's full history, read from the event stream itself: every life of the slug, in
//! order, for auditors.

use std::io::Write;

use async_nats::jetstream;
use cqrs_es::Aggregate;
use serde::Serialize;
use serde_json::Value;
use valentine_domain::page::versions;
use valentine_domain::{Field, Page, PageEvent};
use valentine_eventstore::{sealing, subjects};
use valentine_projections::page_store;
use valentine_projector::ReadSideConfig;

use super::OpsError;

/// One event as an auditor sees it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReplayedEvent {
    /// Position in the stream.
    pub stream_sequence: u64,
    /// Position in the slug's history.
    pub sequence: usize,
    /// The page (life of the slug) it belongs to: the stream sequence of its creation.
    pub page_id: u64,
    /// `PageCreated`, `PageUpdated` or `PageDeleted`.
    pub event_type: String,
    /// Shape version.
    pub event_version: String,
    /// When it was appended.
    pub timestamp: String,
    /// The event's ULID.
    pub event_id: String,
    /// The command's ULID.
    pub command_id: String,
    /// Fields it set.
    pub changed_fields: Vec<Field>,
    /// Whether it was erased: only this skeleton of it is left (from the erasure's record,
    /// or its sealed envelope once its key was destroyed); its payload is `null`.
    pub erased: bool,
    /// The event as written (opened with its page's data key).
    pub payload: Value,
}

/// Every event ever stored for `slug` (any casing), oldest first.
///
/// # Errors
/// When NATS fails or a stored message is unreadable.
pub async fn history(config: &ReadSideConfig, slug: &str) -> Result<Vec<ReplayedEvent>, OpsError> {
    let key = slug.to_ascii_lowercase();
    if !subjects::is_valid_id(&key) {
        return Ok(Vec::new());
    }
    let client = config.nats.connect("valentine-replay").await.map_err(OpsError::nats)?;
    let repo = page_store::open(&jetstream::new(client), &config.events).await?;
    let subject = subjects::aggregate(&config.events.subject_prefix, Page::TYPE, &key);
    let upcasters = versions::upcasters();
    let mut events = Vec::new();
    for stored in repo.load_commits(&subject).await? {
        // Shown in their current shape; one this build cannot read is shown as stored.
        let mut current = stored.clone();
        let stored = match current.upcast(|e| versions::upcast_with(&upcasters, e)) {
            Ok(()) => current,
            Err(e) => {
                tracing::warn!(error = %e, "an event is shown as stored");
                stored
            }
        };
        for event in stored.commit.events {
            let erased = sealing::is_sealed(&event.payload);
            let payload = if erased { Value::Null } else { event.payload };
            let typed: Option<PageEvent> = serde_json::from_value(payload.clone()).ok();
            if let Some(PageEvent::PageErased(erasure)) = &typed {
                // What it erased is gone from the stream: its skeleton stands in for it.
                events.extend(erasure.erased.iter().map(|e| ReplayedEvent {
                    stream_sequence: e.stream_sequence,
                    sequence: e.sequence,
                    page_id: 0,
                    event_type: e.event_type.clone(),
                    event_version: String::new(),
                    timestamp: e.occurred_at.clone(),
                    event_id: String::new(),
                    command_id: String::new(),
                    changed_fields: Vec::new(),
                    erased: true,
                    payload: Value::Null,
                }));
            }
            let meta =
                |key: &str| event.metadata.get(key).and_then(Value::as_str).unwrap_or_default().to_owned();
            events.push(ReplayedEvent {
                stream_sequence: stored.stream_sequence,
                sequence: event.sequence,
                page_id: 0,
                event_type: event.event_type,
                event_version: event.event_version,
                timestamp: meta("timestamp"),
                event_id: meta("event_id"),
                command_id: meta("command_id"),
                changed_fields: typed.as_ref().map(PageEvent::changed_fields).unwrap_or_default(),
                erased,
                payload,
            });
        }
    }
    // An erased event still in the stream (sealed, its key destroyed) is also in the skeleton.
    events.sort_by_key(|e| (e.stream_sequence, e.sequence, !e.erased));
    events.dedup_by_key(|e| (e.stream_sequence, e.sequence));
    let mut page_id = 0;
    for event in &mut events {
        if event.event_type == PageEvent::CREATED {
            page_id = event.stream_sequence;
        }
        event.page_id = page_id;
    }
    Ok(events)
}

/// Writes `events` as JSON, one array.
///
/// # Errors
/// When writing fails.
pub fn write_json(events: &[ReplayedEvent], out: &mut impl Write) -> Result<(), OpsError> {
    serde_json::to_writer_pretty(&mut *out, events).map_err(std::io::Error::from)?;
    writeln!(out)?;
    Ok(())
}

/// Writes `events` as an aligned table with a one-line summary of each change.
///
/// # Errors
/// When writing fails.
pub fn write_table(slug: &str, events: &[ReplayedEvent], out: &mut impl Write) -> Result<(), OpsError> {
    if events.is_empty() {
        writeln!(out, "no events for {slug:?}")?;
        return Ok(());
    }
    let header = ["STREAM", "SEQ", "PAGE", "TIME", "EVENT", "CHANGES"].map(str::to_owned);
    let rows: Vec<[String; 6]> = events
        .iter()
        .map(|e| {
            [
                e.stream_sequence.to_string(),
                e.sequence.to_string(),
                e.page_id.to_string(),
                e.timestamp.clone(),
                e.event_type.clone(),
                summary(e),
            ]
        })
        .collect();
    let mut widths = header.clone().map(|h| h.chars().count());
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    for row in std::iter::once(&header).chain(&rows) {
        let mut line = String::new();
        for (i, (cell, width)) in row.iter().zip(widths).enumerate() {
            if i + 1 == row.len() {
                line.push_str(cell);
            } else {
                line.push_str(&format!("{cell:<width$}  "));
            }
        }
        writeln!(out, "{}", line.trim_end())?;
    }
    let lives = events.iter().filter(|e| e.event_type == PageEvent::CREATED).count();
    writeln!(out, "{} events, {lives} page(s) at this slug", events.len())?;
    Ok(())
}

/// `title="Be mine" template_id=proposal`: the new values, each cut to a readable length and
/// escaped so one event stays on one line.
fn summary(event: &ReplayedEvent) -> String {
    if event.erased {
        return "(erased)".to_owned();
    }
    if let Some(erasure) = event.payload.get(PageEvent::ERASED) {
        let by = erasure.get("by").and_then(Value::as_str).unwrap_or("?");
        return match erasure.get("reason").and_then(Value::as_str) {
            Some(reason) => format!("by {by}: {:?}", shorten(reason, 60)),
            None => format!("by {by}"),
        };
    }
    let body = event.payload.as_object().and_then(|o| o.values().next()).and_then(Value::as_object);
    let Some(body) = body else { return String::new() };
    event
        .changed_fields
        .iter()
        .map(|field| {
            let value = match body.get(field.as_str()) {
                Some(Value::String(s)) => format!("{:?}", shorten(s, 40)),
                Some(Value::Null) | None => "(removed)".to_owned(),
                Some(other) => other.to_string(),
            };
            format!("{field}={value}")
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_owned()
    } else {
        let cut: String = text.chars().take(max - 1).collect();
        format!("{cut}…")
    }
}
