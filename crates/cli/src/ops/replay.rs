//! A page's full history, read from the event stream itself: every life of the slug, in
//! order, for auditors.

use std::io::Write;

use async_nats::jetstream;
use serde::Serialize;
use serde_json::Value;
use valentine_domain::PageEvent;
use valentine_domain::page::timeline::{FieldChange, PageVersion};
use valentine_projections::page_store;
use valentine_projections::page_timeline::{self, AsOf, TimelineEntry};
use valentine_projector::ReadSideConfig;

use super::OpsError;

/// One event as an auditor sees it.
pub type ReplayedEvent = TimelineEntry;

/// Every event ever stored for `slug` (any casing), oldest first.
///
/// # Errors
/// When NATS fails or a stored message is unreadable.
pub async fn history(config: &ReadSideConfig, slug: &str) -> Result<Vec<ReplayedEvent>, OpsError> {
    let client = config.nats.connect("valentine-replay").await.map_err(OpsError::nats)?;
    let repo = page_store::open(&jetstream::new(client), &config.events).await?;
    Ok(page_timeline::timeline(&repo, &slug.to_ascii_lowercase()).await?)
}

/// A slug as it stood at some point of its history: the events up to it, and the page then.
#[derive(Debug, Clone, Serialize)]
pub struct AsOfReport<'a> {
    /// The events up to that point, oldest first.
    pub events: &'a [ReplayedEvent],
    /// The page then; `None` when no page was live (or what it said is erased).
    pub page: Option<&'a PageVersion>,
}

/// `events` up to `at`, and the page then.
pub fn as_of(events: &[ReplayedEvent], at: AsOf) -> AsOfReport<'_> {
    let events = page_timeline::up_to(events, at);
    AsOfReport { events, page: events.last().and_then(|e| e.version.as_ref()) }
}

/// Writes the page of `report` as `field: value` lines after the events' table.
///
/// # Errors
/// When writing fails.
pub fn write_as_of(
    slug: &str,
    report: &AsOfReport<'_>,
    diff: bool,
    out: &mut impl Write,
) -> Result<(), OpsError> {
    write_table(slug, report.events, diff, out)?;
    writeln!(out)?;
    let Some(page) = report.page else {
        if report.events.last().is_some_and(|e| e.erased) {
            writeln!(out, "what the page at {slug:?} said then is erased")?;
        } else {
            writeln!(out, "no live page at {slug:?} then")?;
        }
        return Ok(());
    };
    writeln!(out, "the page then:")?;
    let fields = page_timeline_fields(page);
    let width = fields.iter().map(|(name, _)| name.len()).max().unwrap_or(0);
    for (name, value) in fields {
        writeln!(out, "  {name:<width$}  {}", value.map_or_else(|| "-".to_owned(), |v| escaped(&v)))?;
    }
    Ok(())
}

/// The page's fields as a creation would list them: every field it has.
fn page_timeline_fields(page: &PageVersion) -> Vec<(&'static str, Option<String>)> {
    valentine_domain::page::timeline::changes(None, Some(page))
        .into_iter()
        .map(|c| (c.field, c.after))
        .collect()
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

/// Writes `events` as an aligned table with a one-line summary of each change; with `diff`,
/// each event is followed by what it changed, one `field: before → after` line each.
///
/// # Errors
/// When writing fails.
pub fn write_table(
    slug: &str,
    events: &[ReplayedEvent],
    diff: bool,
    out: &mut impl Write,
) -> Result<(), OpsError> {
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
    let changes = std::iter::once(&[][..]).chain(events.iter().map(|e| e.changes.as_slice()));
    for (row, changes) in std::iter::once(&header).chain(&rows).zip(changes) {
        let mut line = String::new();
        for (i, (cell, width)) in row.iter().zip(widths).enumerate() {
            if i + 1 == row.len() {
                line.push_str(cell);
            } else {
                line.push_str(&format!("{cell:<width$}  "));
            }
        }
        writeln!(out, "{}", line.trim_end())?;
        if diff {
            for change in changes {
                writeln!(out, "    {}", describe(change))?;
            }
        }
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

/// `title: "Be mine" → "Still mine"`, each side escaped onto one line (`-`: none).
fn describe(change: &FieldChange) -> String {
    let side = |v: &Option<String>| v.as_deref().map_or_else(|| "-".to_owned(), escaped);
    format!("{}: {} → {}", change.field, side(&change.before), side(&change.after))
}

/// `text` quoted and escaped so it stays on one line.
fn escaped(text: &str) -> String {
    format!("{text:?}")
}

fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_owned()
    } else {
        let cut: String = text.chars().take(max - 1).collect();
        format!("{cut}…")
    }
}
