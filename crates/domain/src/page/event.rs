//! What happened to a page. Event types and their JSON shapes are frozen: change a shape only
//! by adding a new `event_version` and an upcaster.

use cqrs_es::DomainEvent;
use serde::{Deserialize, Serialize};

use crate::content::Field;
use crate::photo::PhotoRef;
use crate::pin::PinHash;
use crate::reply::Reply;
use crate::report::ReportReason;
use crate::template::TemplateId;
use crate::token::EditTokenHash;

/// Every event of the `Page` aggregate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum PageEvent {
    /// A page came into being at a free slug.
    PageCreated(PageCreated),
    /// Its author changed some fields.
    PageUpdated(PageUpdated),
    /// Its author deleted it; the slug is free again. Written before deletion erased: the
    /// page's words stay readable in the events before it.
    PageDeleted(PageDeleted),
    /// Every earlier event of the slug was erased (its author deleted the page, or an operator
    /// erased it on request); the slug is free again.
    PageErased(PageErased),
    /// Someone other than its author opened the page for the first time.
    PageOpened(PageOpened),
    /// The recipient replied; a page takes one reply.
    PageAnswered(PageAnswered),
    /// The author gave, changed or removed the address for mails about the page (or the
    /// address's owner unsubscribed).
    NotificationsSet(NotificationsSet),
    /// Its author attached, replaced or removed the photo.
    PhotoSet(PhotoSet),
    /// Someone reported the page to the moderators.
    PageReported(PageReported),
    /// A moderator took the page down: it answers `451` until reinstated.
    PageTakenDown(PageModerated),
    /// A moderator put a page taken down back up.
    PageReinstated(PageModerated),
}

impl PageEvent {
    /// `event_type` of [`PageEvent::PageCreated`].
    pub const CREATED: &'static str = "PageCreated";
    /// `event_type` of [`PageEvent::PageUpdated`].
    pub const UPDATED: &'static str = "PageUpdated";
    /// `event_type` of [`PageEvent::PageDeleted`].
    pub const DELETED: &'static str = "PageDeleted";
    /// `event_type` of [`PageEvent::PageErased`].
    pub const ERASED: &'static str = "PageErased";
    /// `event_type` of [`PageEvent::PageOpened`].
    pub const OPENED: &'static str = "PageOpened";
    /// `event_type` of [`PageEvent::PageAnswered`].
    pub const ANSWERED: &'static str = "PageAnswered";
    /// `event_type` of [`PageEvent::NotificationsSet`].
    pub const NOTIFICATIONS_SET: &'static str = "NotificationsSet";
    /// `event_type` of [`PageEvent::PhotoSet`].
    pub const PHOTO_SET: &'static str = "PhotoSet";
    /// `event_type` of [`PageEvent::PageReported`].
    pub const REPORTED: &'static str = "PageReported";
    /// `event_type` of [`PageEvent::PageTakenDown`].
    pub const TAKEN_DOWN: &'static str = "PageTakenDown";
    /// `event_type` of [`PageEvent::PageReinstated`].
    pub const REINSTATED: &'static str = "PageReinstated";
    /// The version of the first shape of every event type.
    pub const VERSION: &'static str = "1.0";
    /// The version of `PageCreated` and `PageUpdated` with a song, a reveal time and a PIN.
    pub const VERSION_1_1: &'static str = "1.1";
}

impl PageEvent {
    /// The fields this event set: for a creation every field given, for an update the
    /// changed ones, for a deletion none.
    pub fn changed_fields(&self) -> Vec<Field> {
        match self {
            Self::PageCreated(e) => {
                let mut fields = vec![Field::Title, Field::Message];
                fields.extend(e.sender_name.as_ref().map(|_| Field::SenderName));
                fields.extend(e.recipient_name.as_ref().map(|_| Field::RecipientName));
                fields.push(Field::TemplateId);
                fields.extend(e.song_url.as_ref().map(|_| Field::SongUrl));
                fields.extend(e.reveal_at.as_ref().map(|_| Field::RevealAt));
                fields.extend(e.pin_hash.as_ref().map(|_| Field::Pin));
                fields
            }
            Self::PageUpdated(e) => e.changed_fields(),
            Self::NotificationsSet(_) => vec![Field::NotifyEmail],
            Self::PhotoSet(_) => vec![Field::Photo],
            Self::PageDeleted(_)
            | Self::PageErased(_)
            | Self::PageOpened(_)
            | Self::PageAnswered(_)
            | Self::PageReported(_)
            | Self::PageTakenDown(_)
            | Self::PageReinstated(_) => Vec::new(),
        }
    }
}

impl DomainEvent for PageEvent {
    fn event_type(&self) -> String {
        match self {
            Self::PageCreated(_) => Self::CREATED,
            Self::PageUpdated(_) => Self::UPDATED,
            Self::PageDeleted(_) => Self::DELETED,
            Self::PageErased(_) => Self::ERASED,
            Self::PageOpened(_) => Self::OPENED,
            Self::PageAnswered(_) => Self::ANSWERED,
            Self::NotificationsSet(_) => Self::NOTIFICATIONS_SET,
            Self::PhotoSet(_) => Self::PHOTO_SET,
            Self::PageReported(_) => Self::REPORTED,
            Self::PageTakenDown(_) => Self::TAKEN_DOWN,
            Self::PageReinstated(_) => Self::REINSTATED,
        }
        .to_owned()
    }

    fn event_version(&self) -> String {
        match self {
            Self::PageCreated(_) | Self::PageUpdated(_) => Self::VERSION_1_1,
            _ => Self::VERSION,
        }
        .to_owned()
    }
}

/// A new page. The slug is kept as a plain string, not a [`crate::Slug`], so that stored
/// events stay readable even if the rules for new slugs tighten later.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageCreated {
    /// The slug in the author's casing.
    pub slug: String,
    /// Trimmed title.
    pub title: String,
    /// Trimmed message.
    pub message: String,
    /// Trimmed sender name, if any.
    pub sender_name: Option<String>,
    /// Trimmed recipient name, if any.
    pub recipient_name: Option<String>,
    /// The design.
    pub template_id: TemplateId,
    /// SHA-256 of the edit token; the token itself is never stored.
    pub edit_token_hash: EditTokenHash,
    /// The song's canonical link, if any (since 1.1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub song_url: Option<String>,
    /// When the page opens (RFC 3339, UTC), if it waits (since 1.1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reveal_at: Option<String>,
    /// The hash of the PIN that keeps it private, if any (since 1.1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pin_hash: Option<PinHash>,
}

/// The fields an update changed, and only those. For the names, `Some(None)` means the name
/// was removed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageUpdated {
    /// New title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// New message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// New sender name, or `Some(None)` when it was removed.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "present")]
    pub sender_name: Option<Option<String>>,
    /// New recipient name, or `Some(None)` when it was removed.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "present")]
    pub recipient_name: Option<Option<String>>,
    /// New design.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template_id: Option<TemplateId>,
    /// New song link, or `Some(None)` when it was removed (since 1.1).
    #[serde(default, skip_serializing_if = "Option::is_none", with = "present")]
    pub song_url: Option<Option<String>>,
    /// New reveal time, or `Some(None)` when the page no longer waits (since 1.1).
    #[serde(default, skip_serializing_if = "Option::is_none", with = "present")]
    pub reveal_at: Option<Option<String>>,
    /// New PIN hash, or `Some(None)` when the PIN was removed (since 1.1).
    #[serde(default, skip_serializing_if = "Option::is_none", with = "present")]
    pub pin_hash: Option<Option<PinHash>>,
}

impl PageUpdated {
    /// The fields this update changed, in API order.
    pub fn changed_fields(&self) -> Vec<Field> {
        [
            (self.title.is_some(), Field::Title),
            (self.message.is_some(), Field::Message),
            (self.sender_name.is_some(), Field::SenderName),
            (self.recipient_name.is_some(), Field::RecipientName),
            (self.template_id.is_some(), Field::TemplateId),
            (self.song_url.is_some(), Field::SongUrl),
            (self.reveal_at.is_some(), Field::RevealAt),
            (self.pin_hash.is_some(), Field::Pin),
        ]
        .into_iter()
        .filter_map(|(changed, field)| changed.then_some(field))
        .collect()
    }

    /// Whether nothing changed.
    pub fn is_empty(&self) -> bool {
        self.changed_fields().is_empty()
    }
}

/// A deleted page.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageDeleted {}

/// An erasure: every earlier event of the slug (back to the previous erasure) is gone for
/// good; this keeps their skeleton, and nothing personal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageErased {
    /// Who erased it.
    pub by: ErasedBy,
    /// Why, for an operator's erasure (e.g. the reference of a legal request).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The events it erased, oldest first: the audit skeleton that stays.
    #[serde(default)]
    pub erased: Vec<ErasedEvent>,
}

/// What stays of an erased event: its place, type and time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErasedEvent {
    /// Its aggregate sequence.
    pub sequence: usize,
    /// Where it was in the event stream.
    pub stream_sequence: u64,
    /// Its type.
    pub event_type: String,
    /// When it happened (RFC 3339).
    pub occurred_at: String,
}

/// A first open of the page by someone other than its author. Its time is the event's.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageOpened {}

/// The recipient's reply. Its time is the event's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageAnswered {
    /// What they sent back.
    pub answer: Reply,
    /// How many times "No" ran away first (proposals; 0 otherwise).
    pub dodges: u32,
}

/// Where mails about the page go: an address and the key of its unsubscribe link, or
/// neither.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotificationsSet {
    /// The address; `None` sends no mail.
    pub email: Option<String>,
    /// The random key of the address's unsubscribe link (kept after an unsubscribe, so the
    /// link keeps working).
    pub unsubscribe_key: Option<String>,
}

/// The page's photo: attached or replaced (`Some`), or removed (`None`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhotoSet {
    /// The stored photo, or none.
    pub photo: Option<PhotoRef>,
}

/// A report of the page to its moderators.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageReported {
    /// Why.
    pub reason: ReportReason,
    /// What the reporter added, trimmed, if anything.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// A moderator's decision about a page: taken down or reinstated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageModerated {
    /// The moderator (the name their admin token was issued to).
    pub by: String,
    /// Why, as they wrote it.
    pub reason: String,
}

/// Who erased a page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErasedBy {
    /// Its author, by deleting it with the edit token.
    Author,
    /// An operator, without the token (`valentine erase`).
    Operator,
}

/// Serde for `Option<Option<T>>` that tells an absent field (`None`) from an explicit `null`
/// (`Some(None)`); pair it with `default` and `skip_serializing_if = "Option::is_none"`.
mod present {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub(super) fn serialize<S, T>(value: &Option<Option<T>>, serializer: S) -> Result<S::Ok, S::Error>
    where
        S: Serializer,
        T: Serialize,
    {
        // Only reached for `Some`, because the field is skipped when `None`.
        value.as_ref().and_then(Option::as_ref).serialize(serializer)
    }

    pub(super) fn deserialize<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
    where
        D: Deserializer<'de>,
        T: Deserialize<'de>,
    {
        Option::<T>::deserialize(deserializer).map(Some)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn event_types_and_versions_are_frozen() {
        let updated = PageEvent::PageUpdated(PageUpdated::default());
        let deleted = PageEvent::PageDeleted(PageDeleted {});
        assert_eq!(updated.event_type(), "PageUpdated");
        assert_eq!(deleted.event_type(), "PageDeleted");
        assert_eq!(deleted.event_version(), "1.0");
        assert_eq!(updated.event_version(), "1.1");
    }

    #[test]
    fn update_tells_a_removed_name_from_an_untouched_one() {
        let removed = PageUpdated { sender_name: Some(None), ..PageUpdated::default() };
        let json = serde_json::to_value(&removed).expect("serializes");
        assert_eq!(json, json!({ "sender_name": null }));
        assert_eq!(serde_json::from_value::<PageUpdated>(json).expect("deserializes"), removed);

        let untouched: PageUpdated = serde_json::from_value(json!({ "title": "Hi" })).expect("deserializes");
        assert_eq!(untouched.sender_name, None);
        assert_eq!(untouched.changed_fields(), [Field::Title]);
    }

    #[test]
    fn stored_json_shape_of_an_erasure_is_stable() {
        let skeleton = ErasedEvent {
            sequence: 1,
            stream_sequence: 4,
            event_type: "PageCreated".to_owned(),
            occurred_at: "2026-02-14T09:00:00Z".to_owned(),
        };
        let by_author =
            PageEvent::PageErased(PageErased { by: ErasedBy::Author, reason: None, erased: vec![skeleton] });
        let erased = json!([
            { "sequence": 1, "stream_sequence": 4, "event_type": "PageCreated", "occurred_at": "2026-02-14T09:00:00Z" }
        ]);
        assert_eq!(
            serde_json::to_value(&by_author).expect("serializes"),
            json!({ "PageErased": { "by": "author", "erased": erased } })
        );
        let by_operator = PageEvent::PageErased(PageErased {
            by: ErasedBy::Operator,
            reason: Some("ticket 7".to_owned()),
            erased: Vec::new(),
        });
        assert_eq!(
            serde_json::to_value(&by_operator).expect("serializes"),
            json!({ "PageErased": { "by": "operator", "reason": "ticket 7", "erased": [] } })
        );
        assert_eq!(by_operator.event_type(), "PageErased");
    }

    #[test]
    fn stored_json_shapes_of_opens_answers_and_notifications_are_stable() {
        let opened = PageEvent::PageOpened(PageOpened {});
        assert_eq!(serde_json::to_value(&opened).expect("json"), json!({ "PageOpened": {} }));
        let answered = PageEvent::PageAnswered(PageAnswered { answer: Reply::Yes, dodges: 2 });
        assert_eq!(
            serde_json::to_value(&answered).expect("json"),
            json!({ "PageAnswered": { "answer": "yes", "dodges": 2 } })
        );
        let set = PageEvent::NotificationsSet(NotificationsSet {
            email: Some("ana@example.com".to_owned()),
            unsubscribe_key: Some("k".to_owned()),
        });
        assert_eq!(
            serde_json::to_value(&set).expect("json"),
            json!({ "NotificationsSet": { "email": "ana@example.com", "unsubscribe_key": "k" } })
        );
        assert_eq!(set.changed_fields(), [Field::NotifyEmail]);
        assert_eq!(answered.event_type(), "PageAnswered");
    }

    #[test]
    fn stored_json_shapes_of_songs_reveals_pins_and_photos_are_stable() {
        let updated = PageEvent::PageUpdated(PageUpdated {
            song_url: Some(Some("https://youtu.be/x".to_owned())),
            reveal_at: Some(None),
            pin_hash: Some(Some(PinHash::new("$argon2id$h"))),
            ..PageUpdated::default()
        });
        assert_eq!(
            serde_json::to_value(&updated).expect("json"),
            json!({ "PageUpdated": { "song_url": "https://youtu.be/x", "reveal_at": null, "pin_hash": "$argon2id$h" } })
        );
        assert_eq!(updated.event_version(), "1.1");
        assert_eq!(updated.changed_fields(), [Field::SongUrl, Field::RevealAt, Field::Pin]);
        let photo = PageEvent::PhotoSet(PhotoSet {
            photo: Some(PhotoRef {
                sha256: "ab".to_owned(),
                content_type: "image/jpeg".to_owned(),
                width: 3,
                height: 2,
                bytes: 99,
            }),
        });
        assert_eq!(
            serde_json::to_value(&photo).expect("json"),
            json!({ "PhotoSet": { "photo": { "sha256": "ab", "content_type": "image/jpeg", "width": 3, "height": 2, "bytes": 99 } } })
        );
        assert_eq!(photo.event_version(), "1.0");
        let removed = PageEvent::PhotoSet(PhotoSet { photo: None });
        assert_eq!(serde_json::to_value(&removed).expect("json"), json!({ "PhotoSet": { "photo": null } }));
    }

    #[test]
    fn stored_json_shapes_of_reports_and_moderation_are_stable() {
        let reported =
            PageEvent::PageReported(PageReported { reason: ReportReason::PersonalInfo, note: None });
        assert_eq!(
            serde_json::to_value(&reported).expect("json"),
            json!({ "PageReported": { "reason": "personal_info" } })
        );
        let down =
            PageEvent::PageTakenDown(PageModerated { by: "ana".to_owned(), reason: "doxxing".to_owned() });
        assert_eq!(
            serde_json::to_value(&down).expect("json"),
            json!({ "PageTakenDown": { "by": "ana", "reason": "doxxing" } })
        );
        let up =
            PageEvent::PageReinstated(PageModerated { by: "ana".to_owned(), reason: "appeal".to_owned() });
        assert_eq!((up.event_type(), up.event_version()), ("PageReinstated".to_owned(), "1.0".to_owned()));
        assert_eq!(down.event_type(), "PageTakenDown");
        assert_eq!(reported.event_type(), "PageReported");
    }

    #[test]
    fn stored_json_shape_of_a_deletion_is_stable() {
        let json = serde_json::to_value(PageEvent::PageDeleted(PageDeleted {})).expect("serializes");
        assert_eq!(json, json!({ "PageDeleted": {} }));
    }
}
