//! Pages on the wire: the one place a read-model row becomes the page's JSON.

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use utoipa::openapi::schema::{Object, ObjectBuilder, SchemaType, Type};
use valentine_domain::content::NON_BLANK_PATTERN;
use valentine_domain::page::timeline::FieldChange;
use valentine_domain::{TEMPLATES, pin, reveal, song};
use valentine_projections::{HistoryRow, PageRow};

/// A page as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub(crate) struct PageResponse {
    /// The page's id: unique for each page ever created, even at a reused slug.
    pub id: i64,
    /// The slug in the author's casing.
    pub slug: String,
    /// Title, 1–100 characters.
    pub title: String,
    /// Message, 1–2000 characters.
    pub message: String,
    /// Who it is from.
    pub sender_name: Option<String>,
    /// Who it is for.
    pub recipient_name: Option<String>,
    /// One of the eight template ids.
    pub template_id: String,
    /// When it was created (RFC 3339, UTC).
    pub created_at: String,
    /// When it last changed (RFC 3339, UTC).
    pub updated_at: String,
    /// The photo, if any.
    pub photo: Option<PhotoResponse>,
    /// The song, if any.
    pub song: Option<SongResponse>,
    /// When the page opens (RFC 3339, UTC), if it waits for a moment.
    pub reveal_at: Option<String>,
    /// Whether a PIN keeps it private.
    pub has_pin: bool,
    /// `null` here: a page read before its reveal time answers a [`LockedPageResponse`].
    #[schema(value_type = Option<String>, nullable = true)]
    pub locked: Option<String>,
    /// Present when its moderators took it down: only its author still reads it (everyone
    /// else gets `451`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub taken_down: Option<TakenDownResponse>,
    /// Views counted so far; trails the views received by about a second. Always the last
    /// field: a counted read raises it in the cached JSON's tail.
    pub view_count: i64,
}

/// A moderators' decision to take a page down.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub(crate) struct TakenDownResponse {
    /// When (RFC 3339, UTC).
    pub at: String,
    /// Why, as the moderator wrote it.
    pub reason: String,
}

/// A page's photo.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub(crate) struct PhotoResponse {
    /// Where it is served; the query names its content, so the address changes with it.
    pub url: String,
    /// `image/jpeg` or `image/png`.
    pub content_type: String,
    /// Width in pixels.
    pub width: i64,
    /// Height in pixels.
    pub height: i64,
}

/// A page's song.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub(crate) struct SongResponse {
    /// The link in canonical form.
    pub url: String,
    /// `spotify`, `youtube`, `apple_music` or `soundcloud`.
    pub service: String,
    /// The service's player, to frame on a tap.
    pub embed_url: String,
}

/// A page read before its reveal time: its design, names and the time, and nothing of its
/// words, photo or song.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub(crate) struct LockedPageResponse {
    /// The page's id.
    pub id: i64,
    /// The slug in the author's casing.
    pub slug: String,
    /// Who it is from.
    pub sender_name: Option<String>,
    /// Who it is for.
    pub recipient_name: Option<String>,
    /// One of the eight template ids.
    pub template_id: String,
    /// When it was created (RFC 3339, UTC).
    pub created_at: String,
    /// When it last changed (RFC 3339, UTC).
    pub updated_at: String,
    /// When it opens (RFC 3339, UTC).
    pub reveal_at: Option<String>,
    /// Whether a PIN keeps it private.
    pub has_pin: bool,
    /// Always `scheduled`.
    pub locked: String,
    /// Views counted so far.
    pub view_count: i64,
}

impl LockedPageResponse {
    /// What a reader sees of `page` before its reveal time.
    pub(crate) fn of(page: PageResponse) -> Self {
        Self {
            id: page.id,
            slug: page.slug,
            sender_name: page.sender_name,
            recipient_name: page.recipient_name,
            template_id: page.template_id,
            created_at: page.created_at,
            updated_at: page.updated_at,
            reveal_at: page.reveal_at,
            has_pin: page.has_pin,
            locked: "scheduled".to_owned(),
            view_count: page.view_count,
        }
    }
}

/// Where the photo whose SHA-256 is `sha256` of the page at `slug` is served.
pub(crate) fn photo_url(slug: &str, sha256: &str) -> String {
    format!("/api/pages/{slug}/photo?v={}", sha256.get(..16).unwrap_or(sha256))
}

impl From<&PageRow> for PageResponse {
    fn from(row: &PageRow) -> Self {
        let photo = match (&row.photo_sha256, &row.photo_type) {
            (Some(sha), Some(content_type)) => Some(PhotoResponse {
                url: photo_url(&row.slug, sha),
                content_type: content_type.clone(),
                width: row.photo_width.unwrap_or_default(),
                height: row.photo_height.unwrap_or_default(),
            }),
            _ => None,
        };
        let song = row.song_url.as_deref().and_then(song::stored).map(|s| SongResponse {
            url: s.url,
            service: s.service.as_str().to_owned(),
            embed_url: s.embed_url,
        });
        Self {
            id: row.page_id,
            slug: row.slug.clone(),
            title: row.title.clone(),
            message: row.message.clone(),
            sender_name: row.sender_name.clone(),
            recipient_name: row.recipient_name.clone(),
            template_id: row.template_id.clone(),
            created_at: row.created_at.clone(),
            updated_at: row.updated_at.clone(),
            photo,
            song,
            reveal_at: row.reveal_at.clone(),
            has_pin: row.pin_hash.is_some(),
            locked: None,
            taken_down: row.taken_down_at.clone().map(|at| TakenDownResponse {
                at,
                reason: row.taken_down_reason.clone().unwrap_or_default(),
            }),
            view_count: row.view_count,
        }
    }
}

impl PageResponse {
    /// `json`, a serialized `PageResponse`, with its `view_count` one higher: the answer to
    /// the read that counts a view includes that view (the first reader sees 1). `view_count`
    /// is the last field, so this is a rewrite of the end of the bytes, not a new
    /// serialization. `None` if `json` does not end with the count.
    pub(crate) fn with_one_more_view(json: &[u8]) -> Option<Vec<u8>> {
        let body = json.strip_suffix(b"}")?;
        let digits = body.iter().rev().take_while(|b| b.is_ascii_digit()).count();
        let (head, count) = body.split_at(body.len() - digits);
        if !head.ends_with(b"\"view_count\":") {
            return None;
        }
        let count: u64 = std::str::from_utf8(count).ok()?.parse().ok()?;
        let mut out = Vec::with_capacity(json.len() + 1);
        out.extend_from_slice(head);
        out.extend_from_slice((count + 1).to_string().as_bytes());
        out.push(b'}');
        Some(out)
    }
}

/// `POST /api/pages` body. Text is trimmed; blank counts as missing.
///
/// The schema states the rules as JSON Schema can, and the API keeps them to the character:
/// "a non-blank character" ([`NON_BLANK_PATTERN`], whitespace spelled out as `str::trim`
/// knows it) stands for "not blank after trimming", and lengths count the text as sent,
/// blanks around it included, as the schema counts them.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub(crate) struct CreatePageRequest {
    /// 3–50 letters, digits and inner hyphens; unique in any casing.
    #[serde(default)]
    #[schema(value_type = String, required = true, min_length = 3, max_length = 50, pattern = r"^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?$")]
    pub slug: Option<String>,
    /// Required, 1–100 characters.
    #[serde(default)]
    #[schema(value_type = String, required = true, min_length = 1, max_length = 100, pattern = r"[^\t-\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]")]
    pub title: Option<String>,
    /// Required, 1–2000 characters.
    #[serde(default)]
    #[schema(value_type = String, required = true, min_length = 1, max_length = 2000, pattern = r"[^\t-\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]")]
    pub message: Option<String>,
    /// Optional, at most 50 characters.
    #[serde(default)]
    #[schema(max_length = 50)]
    pub sender_name: Option<String>,
    /// Optional, at most 50 characters.
    #[serde(default)]
    #[schema(max_length = 50)]
    pub recipient_name: Option<String>,
    /// One of the eight template ids; `classic` when absent or `null`.
    #[serde(default)]
    #[schema(schema_with = template_id_schema)]
    pub template_id: Option<String>,
    /// Optional: an e-mail address for a mail on the page's first open and on the
    /// recipient's reply (at most 254 characters). Never shown publicly; erased with the page.
    #[serde(default)]
    #[schema(
        max_length = 254,
        pattern = r#"^[ \t\r\n]*([^ @<>,;"\\()\x00-\x1f\x7f-\x9f\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]{1,64}@[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)+)?[ \t\r\n]*$"#
    )]
    pub notify_email: Option<String>,
    /// Optional: a link to the page's song on Spotify, YouTube, Apple Music or SoundCloud (at
    /// most 300 characters); blank is none.
    #[serde(default)]
    #[schema(schema_with = song_url_schema)]
    pub song_url: Option<String>,
    /// Optional: when the page opens, RFC 3339 with an offset, in the future and within 366
    /// days (`409 reveal_out_of_range` otherwise); until then reads show its design and names
    /// only. Blank is at once.
    #[serde(default)]
    #[schema(schema_with = reveal_at_schema)]
    pub reveal_at: Option<String>,
    /// Optional: a PIN or passphrase of 4–64 characters, not all blank, that readers must send
    /// in `X-Page-Pin`. Only its Argon2id hash is kept.
    #[serde(default)]
    #[schema(schema_with = pin_schema)]
    pub pin: Option<String>,
}

/// A nullable string field of a request with these bounds and pattern.
fn nullable_string(description: &str, min: Option<usize>, max: usize, pattern: &str) -> Object {
    ObjectBuilder::new()
        .schema_type(SchemaType::from_iter([Type::String, Type::Null]))
        .description(Some(description))
        .min_length(min)
        .max_length(Some(max))
        .pattern(Some(pattern))
        .build()
}

/// `song_url` in a request: a link of one of the four services' shapes, or blank, or `null`.
fn song_url_schema() -> Object {
    nullable_string(
        "A link to a song, album or playlist on Spotify, YouTube, Apple Music or SoundCloud; blank or `null` is none.",
        None,
        song::SONG_URL_MAX,
        song::SONG_URL_PATTERN,
    )
}

/// `reveal_at` in a request: RFC 3339 with an offset, or blank, or `null`.
fn reveal_at_schema() -> Object {
    nullable_string(
        "When the page opens: RFC 3339 with an offset, ahead and within 366 days (else `409 reveal_out_of_range`); blank or `null` is at once.",
        None,
        64,
        reveal::REVEAL_AT_PATTERN,
    )
}

/// `pin` in a request: 4–64 characters, not all blank, or `null`.
fn pin_schema() -> Object {
    nullable_string(
        "A PIN or passphrase of 4–64 characters, not all blank; `null` is none.",
        Some(pin::PIN_MIN),
        pin::PIN_MAX,
        NON_BLANK_PATTERN,
    )
}

/// `template_id` in a request: one of the eight ids, or `null`.
fn template_id_schema() -> Object {
    let ids = TEMPLATES.iter().map(|t| Value::from(t.id.as_str()));
    ObjectBuilder::new()
        .schema_type(SchemaType::from_iter([Type::String, Type::Null]))
        .description(Some(
            "One of the eight template ids; `null` or absent: `classic` on create, unchanged on update.",
        ))
        .enum_values(Some(ids.chain([Value::Null])))
        .build()
}

/// `201`: the page exists and shows in reads.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub(crate) struct CreatedResponse {
    /// The new page.
    pub page: PageResponse,
    /// The secret that edits or deletes it; shown only in this answer.
    pub edit_token: String,
    /// Where it is shared.
    pub url: String,
}

/// `202`: the page is stored but not yet visible; poll the job.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub(crate) struct QueuedResponse {
    /// Poll `GET /api/pages/job/{job_id}`.
    pub job_id: String,
    /// Always `queued`.
    pub status: String,
    /// What to do, in plain words.
    pub message: String,
    /// The secret that edits or deletes the page; keep it.
    pub edit_token: String,
}

/// `PATCH /api/pages/{slug}` body: any subset of the fields. A blank or `null` name removes
/// it; `null` title, message or template leaves them as they are.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub(crate) struct UpdatePageRequest {
    /// New title, 1–100 characters.
    #[serde(default)]
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = r"[^\t-\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
    )]
    pub title: Option<String>,
    /// New message, 1–2000 characters.
    #[serde(default)]
    #[schema(
        min_length = 1,
        max_length = 2000,
        pattern = r"[^\t-\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
    )]
    pub message: Option<String>,
    /// New sender name; blank or `null` removes it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, max_length = 50)]
    pub sender_name: Option<Option<String>>,
    /// New recipient name; blank or `null` removes it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, max_length = 50)]
    pub recipient_name: Option<Option<String>>,
    /// New template id.
    #[serde(default)]
    #[schema(schema_with = template_id_schema)]
    pub template_id: Option<String>,
    /// A new address for mails about the page; blank or `null` removes it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, max_length = 254, pattern = r#"^[ \t\r\n]*([^ @<>,;"\\()\x00-\x1f\x7f-\x9f\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]{1,64}@[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)+)?[ \t\r\n]*$"#)]
    pub notify_email: Option<Option<String>>,
    /// A new song link; blank or `null` removes it.
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = song_url_schema)]
    pub song_url: Option<Option<String>>,
    /// A new reveal time (RFC 3339 with an offset, ahead, within 366 days: `409
    /// reveal_out_of_range` otherwise); blank or `null` opens the page at once. Refused
    /// (`409 already_revealed`) once the current one has come.
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = reveal_at_schema)]
    pub reveal_at: Option<Option<String>>,
    /// A new PIN (4–64 characters, not all blank); `null` removes it.
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = pin_schema)]
    pub pin: Option<Option<String>>,
}

/// Tells a field set to `null` (`Some(None)`) from an absent one (`None`).
fn present<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(deserializer).map(Some)
}

/// `DELETE /api/pages/{slug}` answer.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub(crate) struct DeletedResponse {
    /// Confirmation.
    pub message: String,
}

/// One event in a page's history.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub(crate) struct HistoryEvent {
    /// The page's own sequence: 1 for its creation, then 2, 3, …
    pub sequence: i64,
    /// Where the event sits in the whole event stream.
    pub stream_sequence: i64,
    /// `PageCreated`, `PageUpdated`, `NotificationsSet`, `PageOpened`, `PageAnswered`,
    /// `PageDeleted` or `PageErased`.
    pub event_type: String,
    /// When it happened (RFC 3339, UTC).
    pub occurred_at: String,
    /// The fields it set.
    pub changed_fields: Vec<String>,
    /// What it changed, field by field: the value before and after (`null`: none). A PIN
    /// shows as `"set"`, a photo as its type, size and the start of its hash.
    #[serde(default)]
    pub changes: Vec<FieldChangeResponse>,
}

/// One field an event changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub(crate) struct FieldChangeResponse {
    /// The field, as the API names it (`title`, `message`, …, `pin`, `photo`, `taken_down`).
    pub field: String,
    /// Its value before.
    pub before: Option<String>,
    /// Its value after.
    pub after: Option<String>,
}

impl From<FieldChange> for FieldChangeResponse {
    fn from(change: FieldChange) -> Self {
        Self { field: change.field.to_owned(), before: change.before, after: change.after }
    }
}

impl HistoryEvent {
    /// The event of `row`, with what it changed.
    pub(crate) fn of(row: HistoryRow, changes: Vec<FieldChange>) -> Self {
        Self {
            sequence: row.sequence,
            stream_sequence: row.stream_sequence,
            event_type: row.event_type,
            occurred_at: row.occurred_at,
            changed_fields: serde_json::from_str(&row.changed_fields).unwrap_or_default(),
            changes: changes.into_iter().map(FieldChangeResponse::from).collect(),
        }
    }
}

/// `POST /api/pages/{slug}/restore` body: which version to bring back.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RestoreRequest {
    /// The stream sequence of the event after which the page was as wanted (an entry of its
    /// history).
    #[serde(deserialize_with = "stream_position")]
    #[schema(minimum = 1, maximum = 9_007_199_254_740_991_u64)]
    pub stream_sequence: u64,
}

/// A stream position, written as JSON Schema counts integers: `2` and `2.0` alike, up to
/// 2^53 − 1 (where JSON numbers stop being exact); anything else is refused.
fn stream_position<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u64, D::Error> {
    const EXACT: u64 = (1 << 53) - 1;
    let number = serde_json::Number::deserialize(deserializer)?;
    let whole = number.as_u64().or_else(|| {
        #[expect(clippy::cast_precision_loss, reason = "2^53 - 1 is exact in an f64")]
        let most = EXACT as f64;
        #[expect(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "a whole number in range"
        )]
        number.as_f64().filter(|x| x.fract() == 0.0 && *x >= 0.0 && *x <= most).map(|x| x as u64)
    });
    whole.filter(|n| *n <= EXACT).ok_or_else(|| {
        serde::de::Error::custom(format!("stream_sequence must be a whole number from 1, not {number}"))
    })
}

/// `GET /api/pages/{slug}/history` answer.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub(crate) struct HistoryResponse {
    /// The slug in the author's casing.
    pub slug: String,
    /// The page's id.
    pub page_id: i64,
    /// Its events, oldest first.
    pub events: Vec<HistoryEvent>,
}

/// One event of an export.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub(crate) struct ExportedEventResponse {
    /// The page's own sequence: 1 for its creation, then 2, 3, …
    pub sequence: usize,
    /// Where the event sits in the whole event stream.
    pub stream_sequence: u64,
    /// `PageCreated` or `PageUpdated`.
    pub event_type: String,
    /// The version of the event's shape.
    pub event_version: String,
    /// When it happened (RFC 3339, UTC).
    pub occurred_at: String,
    /// The command that produced it.
    pub command_id: String,
    /// What it recorded: for a creation every field, for an update the changed ones
    /// (`null` for a removed name).
    #[schema(value_type = Object)]
    pub data: Value,
}

/// A page and its complete history, for its author to keep.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub(crate) struct ExportResponse {
    /// The slug in the author's casing.
    pub slug: String,
    /// The page's id.
    pub page_id: i64,
    /// When the export was made (RFC 3339, UTC).
    pub exported_at: String,
    /// The page as it is now.
    pub page: PageResponse,
    /// Every event of the page, oldest first.
    pub events: Vec<ExportedEventResponse>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(view_count: i64) -> PageResponse {
        PageResponse {
            id: 7,
            slug: "alice".to_owned(),
            title: "A \"view_count\":5}".to_owned(),
            message: "m".to_owned(),
            sender_name: None,
            recipient_name: Some("Alice".to_owned()),
            template_id: "classic".to_owned(),
            created_at: "2026-02-14T00:00:00Z".to_owned(),
            updated_at: "2026-02-14T00:00:00Z".to_owned(),
            photo: None,
            song: None,
            reveal_at: None,
            has_pin: false,
            locked: None,
            taken_down: None,
            view_count,
        }
    }

    #[test]
    fn one_more_view_raises_only_the_count() {
        for count in [0, 9, 99, 12_345] {
            let json = serde_json::to_vec(&page(count)).expect("json");
            let raised = PageResponse::with_one_more_view(&json).expect("ends with the count");
            let read: PageResponse = serde_json::from_slice(&raised).expect("still the page");
            assert_eq!(read, page(count + 1));
        }
        assert_eq!(PageResponse::with_one_more_view(b"{\"id\":1}"), None);
    }
}
