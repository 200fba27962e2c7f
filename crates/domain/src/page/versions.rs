//! Event versions: every stored event names its shape's version (`event_version`), and
//! every shape ever written stays readable. A shape changes only by adding a version: the
//! new code writes it, and an upcaster turns the older one into it wherever events are read
//! (commands loading a page, projectors, rebuilds, replays), before they are decoded.
//!
//! Rules:
//! - a stored event is never rewritten; its upcasters run on every read;
//! - upcasters are listed oldest first and each takes one version to the next, so an event
//!   of any age walks the chain to the current version;
//! - a version this build does not know (written by a newer one) is refused loudly, never
//!   decoded by guess;
//! - each new version adds its own folder to the golden corpus (`crates/cli/tests/corpus/`).
//!
//! The versions so far:
//! - every type began at `1.0`; `PageErased` was added at `1.0` beside `PageDeleted` (which
//!   stays readable as it was written), and `PageOpened`, `PageAnswered`,
//!   `NotificationsSet` and `PhotoSet` as new types at `1.0`, and later `PageReported`,
//!   `PageTakenDown` and `PageReinstated`, also at `1.0`;
//! - `PageCreated` and `PageUpdated` `1.1` may carry `song_url`, `reveal_at` and `pin_hash`.
//!   A `1.0` event has none of them, which `1.1` reads as "no song, no wait, no PIN" (and,
//!   for an update, "unchanged"): its upcaster only renames the version.
//!
//! The golden corpora: `v1` holds `PageCreated`, `PageUpdated` and `PageDeleted` `1.0`,
//! written in the clear before sealing; `v2` holds `PageCreated` and `PageUpdated` `1.1`
//! and `PhotoSet`, sealed, with a gap an erasure left; `v3` holds `PageReported` (sealed,
//! with notes), `PageTakenDown` and `PageReinstated` (the admins' names and reasons) and a
//! restore's `PageUpdated`, with an erased page's report.

use std::str::FromStr;

use cqrs_es::persist::{EventUpcaster, SemanticVersion, SemanticVersionEventUpcaster, SerializedEvent};

use super::PageEvent;

/// Each event type and the version this build writes.
pub const CURRENT: [(&str, &str); 11] = [
    (PageEvent::CREATED, PageEvent::VERSION_1_1),
    (PageEvent::UPDATED, PageEvent::VERSION_1_1),
    (PageEvent::DELETED, PageEvent::VERSION),
    (PageEvent::ERASED, PageEvent::VERSION),
    (PageEvent::OPENED, PageEvent::VERSION),
    (PageEvent::ANSWERED, PageEvent::VERSION),
    (PageEvent::NOTIFICATIONS_SET, PageEvent::VERSION),
    (PageEvent::PHOTO_SET, PageEvent::VERSION),
    (PageEvent::REPORTED, PageEvent::VERSION),
    (PageEvent::TAKEN_DOWN, PageEvent::VERSION),
    (PageEvent::REINSTATED, PageEvent::VERSION),
];

/// The upcasters of page events, oldest first.
pub fn upcasters() -> Vec<Box<dyn EventUpcaster>> {
    // 1.0 → 1.1: the new fields are optional and absent means what 1.0 meant.
    [PageEvent::CREATED, PageEvent::UPDATED]
        .into_iter()
        .map(|event_type| -> Box<dyn EventUpcaster> {
            Box::new(SemanticVersionEventUpcaster::new(event_type, "1.1.0", Box::new(|payload| payload)))
        })
        .collect()
}

/// An event this build cannot read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{event_type} version {event_version} is not one this build reads (written by a newer version?)")]
pub struct UnknownVersion {
    /// Its type.
    pub event_type: String,
    /// Its version.
    pub event_version: String,
}

/// Brings `event` to its current version with `upcasters` (oldest first).
///
/// # Errors
/// When its type or version is unknown once every upcaster that applies has run.
pub fn upcast_with(
    upcasters: &[Box<dyn EventUpcaster>],
    mut event: SerializedEvent,
) -> Result<SerializedEvent, UnknownVersion> {
    for upcaster in upcasters {
        if upcaster.can_upcast(&event.event_type, &event.event_version) {
            event = upcaster.upcast(event);
        }
    }
    let current =
        CURRENT.iter().any(|(t, v)| *t == event.event_type && same_version(v, &event.event_version));
    if current {
        Ok(event)
    } else {
        Err(UnknownVersion { event_type: event.event_type, event_version: event.event_version })
    }
}

/// Whether two version strings name one version (`1.0` is `1.0.0`).
fn same_version(a: &str, b: &str) -> bool {
    match (SemanticVersion::from_str(a), SemanticVersion::from_str(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    fn stored(event_type: &str, version: &str, payload: Value) -> SerializedEvent {
        SerializedEvent {
            aggregate_id: "alice".to_owned(),
            sequence: 1,
            aggregate_type: "Page".to_owned(),
            event_type: event_type.to_owned(),
            event_version: version.to_owned(),
            payload,
            metadata: json!({}),
        }
    }

    #[test]
    fn current_events_pass_unchanged_and_unknown_versions_are_refused() {
        let event = stored("PageErased", "1.0", json!({ "PageErased": { "by": "author" } }));
        assert_eq!(upcast_with(&upcasters(), event.clone()), Ok(event));
        let current = stored("PageCreated", "1.1", json!({ "PageCreated": { "title": "Hi" } }));
        assert_eq!(upcast_with(&upcasters(), current.clone()), Ok(current));
        let newer = stored("PageCreated", "9.0", json!({}));
        let err = upcast_with(&upcasters(), newer).expect_err("refused");
        assert_eq!(err.event_version, "9.0");
        assert!(upcast_with(&upcasters(), stored("PageRenamed", "1.0", json!({}))).is_err());
    }

    #[test]
    fn a_first_version_create_or_update_reads_as_the_current_one_unchanged() {
        for event_type in ["PageCreated", "PageUpdated"] {
            let payload = json!({ event_type: { "title": "Hi" } });
            let event =
                upcast_with(&upcasters(), stored(event_type, "1.0", payload.clone())).expect("upcast");
            assert_eq!(event.event_version, "1.1.0");
            assert_eq!(event.payload, payload);
        }
    }

    #[test]
    fn an_old_version_walks_the_chain_to_the_current_one() {
        // The mechanism, with a chain of two steps from a made-up shape 0.1 (titles were
        // once called "heading", and 0.2 had them upper-cased).
        let rename: Box<dyn EventUpcaster> = Box::new(SemanticVersionEventUpcaster::new(
            "PageUpdated",
            "0.2.0",
            Box::new(|mut payload: Value| {
                let inner = &mut payload["PageUpdated"];
                if let Some(heading) = inner.as_object_mut().and_then(|o| o.remove("heading")) {
                    inner["title"] = heading;
                }
                payload
            }),
        ));
        let lower: Box<dyn EventUpcaster> = Box::new(SemanticVersionEventUpcaster::new(
            "PageUpdated",
            "1.0.0",
            Box::new(|mut payload: Value| {
                let title = payload["PageUpdated"]["title"].as_str().map(str::to_lowercase);
                payload["PageUpdated"]["title"] = title.into();
                payload
            }),
        ));
        let old = stored("PageUpdated", "0.1", json!({ "PageUpdated": { "heading": "HI" } }));
        // ... and on through this build's own chain, to 1.1.
        let mut chain = vec![rename, lower];
        chain.extend(upcasters());
        let event = upcast_with(&chain, old).expect("upcast");
        assert_eq!(event.event_version, "1.1.0");
        assert_eq!(event.payload, json!({ "PageUpdated": { "title": "hi" } }));
    }
}
