//! The console's bodies (`/api/admin/*`) and the public report of a page. Stream entries,
//! page versions and read-model summaries come as their crates shape them; their schemas
//! here are open objects, described in `docs/api.md`.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use valentine_domain::ReportReason;

/// `POST /api/pages/{slug}/report`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ReportRequest {
    /// Why: `spam`, `harassment`, `hate`, `sexual`, `personal_info`, `illegal` or `other`.
    #[schema(value_type = String, pattern = "^(spam|harassment|hate|sexual|personal_info|illegal|other)$")]
    pub reason: ReportReason,
    /// Anything the moderators should know, at most 500 characters.
    #[serde(default)]
    #[schema(max_length = 500)]
    pub note: Option<String>,
}

/// The answer to a report.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub(crate) struct ReportResponse {
    /// `received`.
    pub status: &'static str,
}

/// A moderator's decision: take a page down, or put it back up.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ModerationRequest {
    /// Why, 1–500 characters, not all blank; kept in the page's events.
    #[schema(
        min_length = 1,
        max_length = 500,
        pattern = r"[^\t-\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
    )]
    pub reason: String,
}

/// What a decision did.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub(crate) struct ModerationResponse {
    /// The slug.
    pub slug: String,
    /// Whether the page is down now.
    pub taken_down: bool,
    /// Who decided.
    pub by: String,
    /// The stream position of the decision.
    pub position: u64,
}

/// Who the token belongs to.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub(crate) struct AdminSessionResponse {
    /// The admin's name.
    pub admin: String,
}

/// Pages found, or reported.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub(crate) struct AdminPagesResponse {
    /// The pages (`slug_key`, `slug`, `page_id`, `title`, `state`, times, `reports`, …).
    #[schema(value_type = Vec<Object>)]
    pub pages: Vec<Value>,
}

/// A slug's events, every life.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub(crate) struct AdminEventsResponse {
    /// The slug's key.
    pub slug: String,
    /// Its events, oldest first, each with its metadata, payload (secrets redacted) and
    /// `changes` (`field`, `before`, `after`).
    #[schema(value_type = Vec<Object>)]
    pub events: Vec<Value>,
}

/// A slug as of some point.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub(crate) struct AdminAsOfResponse {
    /// The slug's key.
    pub slug: String,
    /// The point: a stream sequence or an RFC 3339 time, as asked.
    pub at: String,
    /// The events up to it, as in the events answer.
    #[schema(value_type = Vec<Object>)]
    pub events: Vec<Value>,
    /// The page then (its fields, secrets as flags), or `null` when none was live or what it
    /// said is erased.
    #[schema(value_type = Option<Object>)]
    pub page: Option<Value>,
}

/// A page's reports.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub(crate) struct AdminReportsResponse {
    /// The page (as the search lists it).
    #[schema(value_type = Object)]
    pub page: Value,
    /// Its reports, newest first (`reason`, `note`, `reported_at`, …).
    #[schema(value_type = Vec<Object>)]
    pub reports: Vec<Value>,
}

/// One message as the stream stores it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub(crate) struct StoredMessageResponse {
    /// Its stream sequence.
    pub stream_sequence: u64,
    /// Its subject.
    pub subject: String,
    /// When the stream stored it (RFC 3339).
    pub stored_at: String,
    /// Its headers.
    pub headers: Vec<MessageHeader>,
    /// Whether sealed payloads were opened for this answer.
    pub opened: bool,
    /// Whether its sealed payloads stay sealed: their key was destroyed by an erasure.
    pub erased: bool,
    /// The commit as stored, payloads opened where their key exists, secrets redacted.
    #[schema(value_type = Object)]
    pub commit: Value,
}

/// How far behind every durable consumer is, and what every worker last said.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub(crate) struct LagResponse {
    /// Each durable consumer of the page event and view tally streams.
    pub consumers: Vec<ConsumerLagResponse>,
    /// Each worker that beat within the last minute (`role`, `read_model`, `instance`,
    /// `heartbeat_at`, `heartbeat_age_seconds`, `last_commit_at`, `ready`, `stuck`, `reason`,
    /// and its own view of its `consumers`).
    #[schema(value_type = Vec<Object>)]
    pub workers: Vec<Value>,
}

/// How far behind one durable consumer is, as the stream says (whether or not any worker
/// is alive to say so itself).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub(crate) struct ConsumerLagResponse {
    /// The stream it reads.
    pub stream: String,
    /// Its name.
    pub consumer: String,
    /// Every message at or below this stream sequence is acknowledged.
    pub acknowledged_through: u64,
    /// The stream's last sequence.
    pub last_sequence: u64,
    /// Messages not yet acknowledged.
    pub lag_events: u64,
    /// How old the oldest of them is, in seconds (0 when none waits).
    pub lag_seconds: f64,
    /// When the oldest of them was stored (RFC 3339), if one waits.
    pub oldest_unapplied_at: Option<String>,
}

/// The events projectors parked.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub(crate) struct ParkedResponse {
    /// Every record, newest first (`consumer`, `stream`, `stream_sequence`, `subject`,
    /// `error`, `attempts`, `parked_at`, `state`, `decided_by`, `decision_reason`,
    /// `decided_at`).
    #[schema(value_type = Vec<Object>)]
    pub parked: Vec<Value>,
}

/// One header of a stored message.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub(crate) struct MessageHeader {
    /// Its name.
    pub name: String,
    /// Its value.
    pub value: String,
}

/// The event store's streams and their consumers.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub(crate) struct StreamsResponse {
    /// Every stream, by name.
    pub streams: Vec<StreamStatus>,
}

/// A stream and its consumers.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub(crate) struct StreamStatus {
    /// Its name.
    pub name: String,
    /// Its subjects.
    pub subjects: Vec<String>,
    /// Messages it holds.
    pub messages: u64,
    /// Bytes it holds.
    pub bytes: u64,
    /// Its first sequence.
    pub first_sequence: u64,
    /// Its last sequence.
    pub last_sequence: u64,
    /// When its last message was stored (RFC 3339), if it holds any.
    pub last_at: Option<String>,
    /// Its durable consumers.
    pub consumers: Vec<ConsumerStatus>,
}

/// Where a consumer stands.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub(crate) struct ConsumerStatus {
    /// Its name.
    pub name: String,
    /// Every message at or below this stream sequence is acknowledged.
    pub acknowledged_through: u64,
    /// The last stream sequence delivered.
    pub delivered_through: u64,
    /// Messages not yet delivered.
    pub pending: u64,
    /// Messages delivered and not yet acknowledged.
    pub unacknowledged: u64,
    /// Messages delivered more than once, now.
    pub redelivered: u64,
    /// Pull requests waiting: workers reading it now.
    pub waiting: u64,
}
