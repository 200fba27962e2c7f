//! A slug's whole history read from the event stream itself, for auditors and for time
//! travel: every event of every life, erased ones as their skeleton, each with what it
//! changed (before → after) and the page as it stood after it.
//!
//! Payloads are shown opened (decrypted with their life's key) and brought to the current
//! event versions, with every secret replaced: token and PIN hashes and unsubscribe keys
//! never leave through this route.

use serde::Serialize;
use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use valentine_domain::page::timeline::{FieldChange, PageVersion, changes};
use valentine_domain::page::versions;
use valentine_domain::{Field, Page, PageEvent};
use valentine_eventstore::{EventStoreError, JetStreamEventRepository, StoredCommit, sealing, subjects};

/// What a redacted secret reads as.
pub const REDACTED: &str = "[redacted]";

/// Payload keys that hold secrets, wherever they appear.
const SECRET_KEYS: [&str; 3] = ["edit_token_hash", "pin_hash", "unsubscribe_key"];

/// One event as an auditor sees it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TimelineEntry {
    /// Position in the stream.
    pub stream_sequence: u64,
    /// Position in the slug's history.
    pub sequence: usize,
    /// The page (life of the slug) it belongs to: the stream sequence of its creation.
    pub page_id: u64,
    /// Its type, e.g. `PageUpdated`.
    pub event_type: String,
    /// Its shape's version as stored (empty for an erased event).
    pub event_version: String,
    /// When it was appended (RFC 3339).
    pub timestamp: String,
    /// The event's ULID.
    pub event_id: String,
    /// The command's ULID.
    pub command_id: String,
    /// Fields it set.
    pub changed_fields: Vec<Field>,
    /// Whether it was erased: only this skeleton is left, its payload is `null`.
    pub erased: bool,
    /// The event as written, opened and upcast, secrets redacted.
    pub payload: Value,
    /// What it changed, field by field.
    pub changes: Vec<FieldChange>,
    /// The page after it: `None` when no page was live (or what it was is erased).
    #[serde(skip)]
    pub version: Option<PageVersion>,
}

/// Where in a history to stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AsOf {
    /// After the event at this stream sequence (and every one before it).
    Sequence(u64),
    /// After every event appended at or before this time.
    Time(OffsetDateTime),
}

impl AsOf {
    /// Parses a stream sequence (digits) or an RFC 3339 time.
    ///
    /// # Errors
    /// When it is neither.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let raw = raw.trim();
        if !raw.is_empty() && raw.bytes().all(|b| b.is_ascii_digit()) {
            return raw.parse().map(Self::Sequence).map_err(|_| format!("{raw:?} is too large a sequence"));
        }
        OffsetDateTime::parse(raw, &Rfc3339)
            .map(Self::Time)
            .map_err(|_| format!("{raw:?} is neither a stream sequence nor an RFC 3339 time"))
    }

    fn covers(self, entry: &TimelineEntry) -> bool {
        match self {
            Self::Sequence(at) => entry.stream_sequence <= at,
            Self::Time(at) => OffsetDateTime::parse(&entry.timestamp, &Rfc3339).is_ok_and(|t| t <= at),
        }
    }
}

/// The entries of `history` up to `at`, oldest first.
pub fn up_to(history: &[TimelineEntry], at: AsOf) -> &[TimelineEntry] {
    let end = history.iter().take_while(|e| at.covers(e)).count();
    &history[..end]
}

/// Every event ever stored for the slug `slug_key` (lowercase), oldest first; empty for a
/// key no slug can have.
///
/// # Errors
/// When the stream cannot be read or holds an unreadable message.
pub async fn timeline(
    repo: &JetStreamEventRepository,
    slug_key: &str,
) -> Result<Vec<TimelineEntry>, EventStoreError> {
    if !subjects::is_valid_id(slug_key) {
        return Ok(Vec::new());
    }
    Ok(entries(repo.load_history::<Page>(slug_key).await?))
}

/// The events of the current life of the slug `slug_key` (from its latest deletion or
/// erasure on), as [`timeline`] shows them: what its author's history needs, without
/// reading the lives before.
///
/// # Errors
/// When the stream cannot be read or holds an unreadable message.
pub async fn current_life(
    repo: &JetStreamEventRepository,
    slug_key: &str,
) -> Result<Vec<TimelineEntry>, EventStoreError> {
    if !subjects::is_valid_id(slug_key) {
        return Ok(Vec::new());
    }
    Ok(entries(repo.load_life::<Page>(slug_key).await?))
}

/// The entries of `commits` (one slug's, oldest first).
fn entries(commits: Vec<StoredCommit>) -> Vec<TimelineEntry> {
    let upcasters = versions::upcasters();
    let mut events = Vec::new();
    for stored in commits {
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
                events.extend(erasure.erased.iter().map(|e| {
                    (
                        TimelineEntry {
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
                            changes: Vec::new(),
                            version: None,
                        },
                        None,
                    )
                }));
            }
            let meta =
                |key: &str| event.metadata.get(key).and_then(Value::as_str).unwrap_or_default().to_owned();
            let entry = TimelineEntry {
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
                payload: redacted(payload),
                changes: Vec::new(),
                version: None,
            };
            events.push((entry, typed));
        }
    }
    // An erased event still in the stream (sealed, its key destroyed) is also in the skeleton.
    events.sort_by_key(|(e, _)| (e.stream_sequence, e.sequence, !e.erased));
    events.dedup_by_key(|(e, _)| (e.stream_sequence, e.sequence));
    let (mut page_id, mut page) = (0, None::<PageVersion>);
    let mut timeline = Vec::with_capacity(events.len());
    for (mut entry, typed) in events {
        if entry.event_type == PageEvent::CREATED {
            page_id = entry.stream_sequence;
        }
        entry.page_id = page_id;
        // Erased, or unreadable: what the page was from here on is not known.
        let after = typed.and_then(|event| PageVersion::after(page.as_ref(), &event));
        entry.changes = if entry.erased { Vec::new() } else { changes(page.as_ref(), after.as_ref()) };
        entry.version.clone_from(&after);
        page = after;
        timeline.push(entry);
    }
    timeline
}

/// `payload` with every secret replaced by [`REDACTED`].
pub fn redacted(mut payload: Value) -> Value {
    redact(&mut payload);
    payload
}

fn redact(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (key, inner) in map.iter_mut() {
                if SECRET_KEYS.contains(&key.as_str()) && !inner.is_null() {
                    *inner = Value::String(REDACTED.to_owned());
                } else {
                    redact(inner);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(redact),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn secrets_are_redacted_at_any_depth_and_absent_ones_stay_absent() {
        let payload =
            json!({ "PageCreated": { "title": "Hi", "edit_token_hash": "ab", "pin_hash": "$argon2id$x" } });
        assert_eq!(
            redacted(payload),
            json!({ "PageCreated": { "title": "Hi", "edit_token_hash": REDACTED, "pin_hash": REDACTED } })
        );
        let removed = json!({ "PageUpdated": { "pin_hash": null } });
        assert_eq!(redacted(removed.clone()), removed);
        let nested = json!([{ "NotificationsSet": { "email": "a@b.c", "unsubscribe_key": "k" } }]);
        assert_eq!(
            redacted(nested),
            json!([{ "NotificationsSet": { "email": "a@b.c", "unsubscribe_key": REDACTED } }])
        );
    }

    #[test]
    fn as_of_is_a_sequence_or_a_time() {
        assert_eq!(AsOf::parse("42"), Ok(AsOf::Sequence(42)));
        assert!(matches!(AsOf::parse("2026-02-14T09:00:00Z"), Ok(AsOf::Time(_))));
        assert!(AsOf::parse("yesterday").is_err());
        assert!(AsOf::parse("").is_err());
        assert!(AsOf::parse("99999999999999999999999").is_err());
    }
}
