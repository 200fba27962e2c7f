//! The `pages` and `page_events` read models: projecting page events, and the queries the
//! API asks of them.
//!
//! Projection is idempotent and order-safe per page. Each row remembers the aggregate
//! sequence of the last event applied to it; a commit is applied only if it starts right
//! after that. Already-applied commits (redeliveries, older events arriving late) are
//! skipped, so nothing older ever overwrites something newer; a commit that arrives before
//! its predecessor is deferred until the predecessor lands. This is what lets any number of
//! projectors share one consumer and still build the same rows as one projector would.

use std::collections::{BTreeSet, HashMap, HashSet};

use rusqlite::OptionalExtension;
use serde::Serialize;
use sqlx::SqliteExecutor;
use valentine_domain::{Field, PageCreated, PageEvent, PageUpdated, PhotoRef};
use valentine_eventstore::envelope::{Commit, WireEvent};
use valentine_eventstore::sealing::Body;
use valentine_eventstore::{EventMeta, StoredCommit};

use crate::applied;
use crate::error::ProjectionError;

/// A page commit as the projector decodes it: events whose data key was destroyed decode as
/// [`Body::Erased`].
pub type PageCommit = StoredCommit<Body<PageEvent>, EventMeta>;

/// A row of `pages`: a slug's current (or last) page.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, Serialize)]
pub struct PageRow {
    /// Lowercase slug.
    pub slug_key: String,
    /// Slug in the author's casing.
    pub slug: String,
    /// Stream sequence of this page's `PageCreated`: the page's id.
    pub page_id: i64,
    /// Title.
    pub title: String,
    /// Message.
    pub message: String,
    /// Sender name.
    pub sender_name: Option<String>,
    /// Recipient name.
    pub recipient_name: Option<String>,
    /// Template id.
    pub template_id: String,
    /// SHA-256 hex of the edit token.
    pub edit_token_hash: String,
    /// When the page was created (RFC 3339).
    pub created_at: String,
    /// When it last changed (RFC 3339).
    pub updated_at: String,
    /// Whether the page is deleted (its slug is free).
    pub deleted: bool,
    /// Views counted so far.
    pub view_count: i64,
    /// Command that created the page (the job id of an asynchronous create).
    pub created_command_id: String,
    /// Aggregate sequence of the last event applied.
    pub last_sequence: i64,
    /// Stream sequence of the last event applied.
    pub last_stream_sequence: i64,
    /// When someone other than its author first opened it (RFC 3339).
    pub first_opened_at: Option<String>,
    /// The recipient's reply: `yes` or `heart`.
    pub answer: Option<String>,
    /// How many times "No" ran away before the reply.
    pub answer_dodges: Option<i64>,
    /// When the recipient replied (RFC 3339).
    pub answered_at: Option<String>,
    /// Where mails about the page go (for its author only, never shown publicly).
    pub notify_email: Option<String>,
    /// Its song's canonical link.
    pub song_url: Option<String>,
    /// When it opens (RFC 3339, UTC).
    pub reveal_at: Option<String>,
    /// Its PIN's Argon2id hash (PHC string).
    pub pin_hash: Option<String>,
    /// SHA-256 (hex) of its stored photo.
    pub photo_sha256: Option<String>,
    /// The photo's content type.
    pub photo_type: Option<String>,
    /// The photo's width in pixels.
    pub photo_width: Option<i64>,
    /// The photo's height in pixels.
    pub photo_height: Option<i64>,
    /// When a moderator took it down, while it is down (RFC 3339).
    pub taken_down_at: Option<String>,
    /// Why, while it is down.
    pub taken_down_reason: Option<String>,
}

/// A row of `page_events`: one event in a page's history.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, Serialize)]
pub struct HistoryRow {
    /// Lowercase slug.
    pub slug_key: String,
    /// Aggregate sequence.
    pub sequence: i64,
    /// Stream sequence.
    pub stream_sequence: i64,
    /// Which page (life of the slug) it belongs to.
    pub page_id: i64,
    /// `PageCreated`, `PageUpdated` or `PageDeleted`.
    pub event_type: String,
    /// When it was appended (RFC 3339).
    pub occurred_at: String,
    /// JSON array of the fields it set.
    pub changed_fields: String,
    /// The command that produced it.
    pub command_id: String,
}

/// A row of `page_reports`: one report of a page to its moderators.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, Serialize)]
pub struct ReportRow {
    /// Lowercase slug.
    pub slug_key: String,
    /// Which page (life of the slug) it is about.
    pub page_id: i64,
    /// Stream sequence of its event.
    pub stream_sequence: i64,
    /// Aggregate sequence of its event.
    pub sequence: i64,
    /// Why (`spam`, `harassment`, …).
    pub reason: String,
    /// What the reporter added.
    pub note: Option<String>,
    /// When (RFC 3339).
    pub reported_at: String,
}

/// What became of one delivered commit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Applied in this batch.
    Applied,
    /// Applied before (a redelivery, or an older event arriving late): skipped.
    AlreadyApplied,
    /// Its predecessor has not been applied yet: try again later.
    Deferred,
}

/// The result of projecting a batch.
#[derive(Debug, Default)]
pub struct BatchOutcome {
    /// One verdict per delivered commit, in delivery order.
    pub verdicts: Vec<Verdict>,
    /// Slugs whose cached answers the batch made stale: those whose rows changed, except
    /// by a creation alone.
    pub touched: Vec<String>,
    /// Stream sequences of the commits applied.
    pub applied: Vec<u64>,
    /// The read model's events position once the batch is committed.
    pub through: u64,
    /// Slugs erased in this batch, with the stream sequence of each erasure: their freed
    /// database pages were zeroed, and the write-ahead log still holds their old content
    /// until it is checkpointed and truncated.
    pub erased: Vec<(String, u64)>,
}

/// Folds commits into rows in memory, enforcing the per-page sequence guard.
#[derive(Debug, Default)]
struct Fold {
    rows: HashMap<String, PageRow>,
    /// Slugs whose rows changed: written back.
    dirty: BTreeSet<String>,
    /// Slugs whose cached answers the changes made stale.
    stale: BTreeSet<String>,
    history: Vec<HistoryRow>,
    /// Reports to insert.
    reports: Vec<ReportRow>,
    /// Slugs erased, with the aggregate and stream sequences of their erasure: their
    /// history before it goes.
    erased: HashMap<String, (i64, u64)>,
    /// Slugs that began a new life (or were erased): views per day of earlier lives go.
    new_lives: BTreeSet<String>,
}

impl Fold {
    /// Applies one commit, moving its strings into rows instead of copying them.
    fn apply(&mut self, delivery: PageCommit) -> Verdict {
        let StoredCommit { stream_sequence, commit } = delivery;
        let last = self.rows.get(&commit.aggregate_id).map_or(0, |r| r.last_sequence);
        let first = i64::try_from(commit.first_sequence()).unwrap_or(i64::MAX);
        if first <= last {
            return Verdict::AlreadyApplied;
        }
        // An erasure needs no predecessor: what came before it is unreadable or removed.
        let erases = commit.events.iter().any(|e| matches!(e.payload, Body::Open(PageEvent::PageErased(_))));
        if first != last + 1 && !erases {
            return Verdict::Deferred;
        }
        let erasure_at = stream_sequence;
        let stream_sequence = i64::try_from(stream_sequence).unwrap_or(i64::MAX);
        let Commit { aggregate_id: key, command_id, events, .. } = commit;
        let creates_only = events.iter().all(|e| matches!(e.payload, Body::Open(PageEvent::PageCreated(_))));
        for event in events {
            let WireEvent { sequence, event_type, payload, metadata, .. } = event;
            let sequence = i64::try_from(sequence).unwrap_or(i64::MAX);
            let at = metadata.timestamp;
            let Body::Open(payload) = payload else {
                // Sealed under a destroyed key: an erased life (its erasure follows). Only the
                // sequence moves; no row or history shows anything of it.
                let row = self
                    .rows
                    .entry(key.clone())
                    .or_insert_with(|| PageRow::erased(&key, stream_sequence, &at, &command_id));
                row.last_sequence = sequence;
                row.last_stream_sequence = stream_sequence;
                continue;
            };
            let changed_fields = field_list(&payload.changed_fields());
            match payload {
                PageEvent::PageCreated(created) => {
                    let row = PageRow::created(&key, created, stream_sequence, &at, &command_id);
                    self.rows.insert(key.clone(), row);
                    self.new_lives.insert(key.clone());
                }
                PageEvent::PageUpdated(update) => {
                    if let Some(row) = self.rows.get_mut(&key) {
                        row.apply_update(update, &at);
                    }
                }
                PageEvent::PageDeleted(_) => {
                    if let Some(row) = self.rows.get_mut(&key) {
                        row.deleted = true;
                        row.updated_at.clone_from(&at);
                    }
                }
                PageEvent::PageErased(_) => {
                    self.rows.insert(key.clone(), PageRow::erased(&key, stream_sequence, &at, &command_id));
                    self.history.retain(|h| h.slug_key != key);
                    self.reports.retain(|r| r.slug_key != key);
                    self.erased.insert(key.clone(), (sequence, erasure_at));
                    self.new_lives.insert(key.clone());
                }
                PageEvent::PageOpened(_) => {
                    if let Some(row) = self.rows.get_mut(&key) {
                        row.first_opened_at.get_or_insert_with(|| at.clone());
                    }
                }
                PageEvent::PageAnswered(answered) => {
                    if let Some(row) = self.rows.get_mut(&key) {
                        row.answer = Some(answered.answer.as_str().to_owned());
                        row.answer_dodges = Some(i64::from(answered.dodges));
                        row.answered_at = Some(at.clone());
                    }
                }
                PageEvent::NotificationsSet(set) => {
                    if let Some(row) = self.rows.get_mut(&key) {
                        row.notify_email = set.email;
                    }
                }
                PageEvent::PhotoSet(set) => {
                    if let Some(row) = self.rows.get_mut(&key) {
                        row.set_photo(set.photo);
                        row.updated_at.clone_from(&at);
                    }
                }
                PageEvent::PageReported(report) => {
                    // Only moderators see reports: they are kept apart from the history.
                    if let Some(row) = self.rows.get_mut(&key) {
                        row.last_sequence = sequence;
                        row.last_stream_sequence = stream_sequence;
                        self.reports.push(ReportRow {
                            slug_key: key.clone(),
                            page_id: row.page_id,
                            stream_sequence,
                            sequence,
                            reason: report.reason.as_str().to_owned(),
                            note: report.note,
                            reported_at: at,
                        });
                    }
                    continue;
                }
                PageEvent::PageTakenDown(decision) => {
                    if let Some(row) = self.rows.get_mut(&key) {
                        row.taken_down_at = Some(at.clone());
                        row.taken_down_reason = Some(decision.reason);
                    }
                }
                PageEvent::PageReinstated(_) => {
                    if let Some(row) = self.rows.get_mut(&key) {
                        row.taken_down_at = None;
                        row.taken_down_reason = None;
                    }
                }
            }
            let Some(row) = self.rows.get_mut(&key) else {
                // An update or deletion of a page never created: impossible by the aggregate's
                // rules. Nothing to show for it; the sequence guard stays where it was.
                tracing::warn!(slug = key, sequence, "event for a page that does not exist; skipped");
                return Verdict::AlreadyApplied;
            };
            row.last_sequence = sequence;
            row.last_stream_sequence = stream_sequence;
            self.history.push(HistoryRow {
                slug_key: key.clone(),
                sequence,
                stream_sequence,
                page_id: row.page_id,
                event_type,
                occurred_at: at,
                changed_fields,
                command_id: command_id.clone(),
            });
        }
        // A page's creation makes nothing stale: nothing is cached about a slug without a
        // live page (reads of a missing page and slug checks are never cached), and the
        // deletion or erasure that ended its last life invalidated what there was.
        if !creates_only {
            self.stale.insert(key.clone());
        }
        self.dirty.insert(key);
        Verdict::Applied
    }
}

impl PageRow {
    /// The row a `PageCreated` at `key` makes, stored at `stream_sequence` (the page's id) at
    /// time `at` by the command `command_id`. Projectors and the API's answers share it.
    pub fn created(key: &str, e: PageCreated, stream_sequence: i64, at: &str, command_id: &str) -> Self {
        Self {
            slug_key: key.to_owned(),
            slug: e.slug,
            page_id: stream_sequence,
            title: e.title,
            message: e.message,
            sender_name: e.sender_name,
            recipient_name: e.recipient_name,
            template_id: e.template_id.as_str().to_owned(),
            edit_token_hash: e.edit_token_hash.to_hex(),
            created_at: at.to_owned(),
            updated_at: at.to_owned(),
            deleted: false,
            view_count: 0,
            created_command_id: command_id.to_owned(),
            last_sequence: 0,
            last_stream_sequence: 0,
            first_opened_at: None,
            answer: None,
            answer_dodges: None,
            answered_at: None,
            notify_email: None,
            song_url: e.song_url,
            reveal_at: e.reveal_at,
            pin_hash: e.pin_hash.map(|h| h.as_str().to_owned()),
            photo_sha256: None,
            photo_type: None,
            photo_width: None,
            photo_height: None,
            taken_down_at: None,
            taken_down_reason: None,
        }
    }

    /// What is left of a slug after an erasure at `stream_sequence`, time `at`, by command
    /// `command_id`: a deleted row with nothing of the erased pages in it (the slug is free).
    /// It depends on the erasure alone, so a read model that saw the erased events and one
    /// rebuilt after they were removed hold the same row.
    pub fn erased(key: &str, stream_sequence: i64, at: &str, command_id: &str) -> Self {
        Self {
            slug_key: key.to_owned(),
            slug: key.to_owned(),
            page_id: stream_sequence,
            title: String::new(),
            message: String::new(),
            sender_name: None,
            recipient_name: None,
            template_id: String::new(),
            edit_token_hash: String::new(),
            created_at: at.to_owned(),
            updated_at: at.to_owned(),
            deleted: true,
            view_count: 0,
            created_command_id: command_id.to_owned(),
            last_sequence: 0,
            last_stream_sequence: 0,
            first_opened_at: None,
            answer: None,
            answer_dodges: None,
            answered_at: None,
            notify_email: None,
            song_url: None,
            reveal_at: None,
            pin_hash: None,
            photo_sha256: None,
            photo_type: None,
            photo_width: None,
            photo_height: None,
            taken_down_at: None,
            taken_down_reason: None,
        }
    }

    /// Sets (or with `None` removes) the photo.
    pub fn set_photo(&mut self, photo: Option<PhotoRef>) {
        let (sha256, content_type, width, height) = match photo {
            Some(p) => {
                (Some(p.sha256), Some(p.content_type), Some(i64::from(p.width)), Some(i64::from(p.height)))
            }
            None => (None, None, None, None),
        };
        self.photo_sha256 = sha256;
        self.photo_type = content_type;
        self.photo_width = width;
        self.photo_height = height;
    }

    /// Applies a `PageUpdated` made at time `at`.
    pub fn apply_update(&mut self, update: PageUpdated, at: &str) {
        if let Some(title) = update.title {
            self.title = title;
        }
        if let Some(message) = update.message {
            self.message = message;
        }
        if let Some(sender_name) = update.sender_name {
            self.sender_name = sender_name;
        }
        if let Some(recipient_name) = update.recipient_name {
            self.recipient_name = recipient_name;
        }
        if let Some(template_id) = update.template_id {
            self.template_id = template_id.as_str().to_owned();
        }
        if let Some(song_url) = update.song_url {
            self.song_url = song_url;
        }
        if let Some(reveal_at) = update.reveal_at {
            self.reveal_at = reveal_at;
        }
        if let Some(pin_hash) = update.pin_hash {
            self.pin_hash = pin_hash.map(|h| h.as_str().to_owned());
        }
        at.clone_into(&mut self.updated_at);
    }
}

/// The row one slug's commits fold into, oldest first, exactly as projectors would write it
/// (without views, which are not events); `None` without commits. For answering from the
/// stream when the read model has not caught up yet.
pub fn fold_history(commits: impl IntoIterator<Item = PageCommit>) -> Option<PageRow> {
    let mut fold = Fold::default();
    let mut key = None;
    for commit in commits {
        key = Some(commit.commit.aggregate_id.clone());
        fold.apply(commit);
    }
    fold.rows.remove(&key?)
}

fn field_list(fields: &[Field]) -> String {
    let names: Vec<&str> = fields.iter().map(|f| f.as_str()).collect();
    serde_json::to_string(&names).unwrap_or_else(|_| "[]".to_owned())
}

/// The columns of a page's content and bookkeeping, as the read model first had them.
pub(crate) const PAGE_CONTENT_COLUMNS: &str = "slug_key, slug, page_id, title, message, sender_name, \
    recipient_name, template_id, edit_token_hash, created_at, updated_at, deleted, view_count, \
    created_command_id, last_sequence, last_stream_sequence";

/// What the author alone sees of a page (opens, the reply, the mail address), with the keys
/// that place it.
pub(crate) const PAGE_INSIGHT_COLUMNS: &str =
    "slug_key, page_id, first_opened_at, answer, answer_dodges, answered_at, notify_email";

/// What makes a page special beyond its words, with the keys that place it.
pub(crate) const PAGE_EXTRA_COLUMNS: &str =
    "slug_key, page_id, song_url, reveal_at, pin_hash, photo_sha256, photo_type, photo_width, photo_height";

/// Whether and why a moderator took a page down, with the keys that place it.
pub(crate) const PAGE_MODERATION_COLUMNS: &str = "slug_key, page_id, taken_down_at, taken_down_reason";

/// The columns of a report.
pub(crate) const REPORT_COLUMNS: &str =
    "slug_key, page_id, stream_sequence, sequence, reason, note, reported_at";

pub(crate) const PAGE_COLUMNS: &str = "slug_key, slug, page_id, title, message, sender_name, recipient_name, template_id, \
    edit_token_hash, created_at, updated_at, deleted, view_count, created_command_id, last_sequence, \
    last_stream_sequence, first_opened_at, answer, answer_dodges, answered_at, notify_email, song_url, \
    reveal_at, pin_hash, photo_sha256, photo_type, photo_width, photo_height, taken_down_at, taken_down_reason";

/// Most keys in one `IN (…)` list of a query.
const CHUNK: usize = 500;

/// Projects a batch of commits in one write transaction, in the order given.
///
/// Synchronous, on a rusqlite connection: a batch is many small statements, and running
/// them on one thread with cached prepared statements is several times faster than sending
/// each through an async driver. Call it from a blocking thread.
///
/// Takes the write lock first (`BEGIN IMMEDIATE`), so concurrent projectors serialise and
/// each sees the others' committed rows before deciding.
///
/// # Errors
/// When SQLite fails; the transaction is rolled back and nothing is applied.
pub fn project_batch(
    conn: &mut rusqlite::Connection,
    batch: Vec<PageCommit>,
) -> Result<BatchOutcome, ProjectionError> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let mut fold = Fold::default();
    // Where each existing row is stored: it is written back there directly, without looking
    // up its slug a second time.
    let mut rowids: HashMap<String, i64> = HashMap::new();
    {
        let mut load =
            tx.prepare_cached(&format!("SELECT rowid, {PAGE_COLUMNS} FROM pages WHERE slug_key = ?1"))?;
        let mut looked_up = HashSet::new();
        for delivery in &batch {
            let key = delivery.commit.aggregate_id.as_str();
            if looked_up.insert(key)
                && let Some((rowid, row)) =
                    load.query_row([key], |r| Ok((r.get::<_, i64>(0)?, page_row_at(r, 1)?))).optional()?
            {
                rowids.insert(row.slug_key.clone(), rowid);
                fold.rows.insert(row.slug_key.clone(), row);
            }
        }
    }
    let mut outcome = BatchOutcome::default();
    let mut settled = Vec::with_capacity(batch.len());
    for delivery in batch {
        let stream_sequence = delivery.stream_sequence;
        let verdict = fold.apply(delivery);
        if verdict == Verdict::Applied {
            outcome.applied.push(stream_sequence);
        }
        if verdict != Verdict::Deferred {
            settled.push(stream_sequence);
        }
        outcome.verdicts.push(verdict);
    }
    {
        let mut upsert = tx.prepare_cached(UPSERT_PAGE)?;
        let mut update = tx.prepare_cached(UPDATE_PAGE)?;
        for key in &fold.dirty {
            let Some(r) = fold.rows.get(key) else { continue };
            // Known rows are written back by the rowid their lookup returned; new ones go in
            // by slug.
            match rowids.get(key) {
                Some(rowid) => update.execute(&row_values(rowid, r)[..])?,
                None => upsert.execute(&row_values(&r.slug_key, r)[..])?,
            };
        }
    }
    {
        let mut forget = tx.prepare_cached(FORGET_EARLIER_VIEWS)?;
        for key in &fold.new_lives {
            if let Some(row) = fold.rows.get(key) {
                forget.execute(rusqlite::params![key, row.page_id])?;
            }
        }
    }
    {
        let mut forget = tx.prepare_cached(ERASE_HISTORY)?;
        let mut forget_reports = tx.prepare_cached(ERASE_REPORTS)?;
        for (key, (sequence, _)) in &fold.erased {
            forget.execute(rusqlite::params![key, sequence])?;
            forget_reports.execute(rusqlite::params![key, sequence])?;
        }
    }
    {
        let mut insert = tx.prepare_cached(INSERT_REPORT)?;
        for r in &fold.reports {
            insert.execute(rusqlite::params![
                r.slug_key,
                r.page_id,
                r.stream_sequence,
                r.sequence,
                r.reason,
                r.note,
                r.reported_at
            ])?;
        }
    }
    {
        let mut insert = tx.prepare_cached(INSERT_HISTORY)?;
        for h in &fold.history {
            insert.execute(rusqlite::params![
                h.slug_key,
                h.sequence,
                h.stream_sequence,
                h.page_id,
                h.event_type,
                h.occurred_at,
                h.changed_fields,
                h.command_id,
            ])?;
        }
    }
    outcome.through = applied::record(&tx, applied::EVENTS, &settled)?;
    tx.commit()?;
    outcome.touched = fold.stale.into_iter().collect();
    outcome.erased = fold.erased.into_iter().map(|(key, (_, at))| (key, at)).collect();
    Ok(outcome)
}

/// The row whose [`PAGE_COLUMNS`] start at column `at` of `r`.
/// A row's values in the order of `UPSERT_PAGE` and `UPDATE_PAGE`, after the key that finds it.
fn row_values<'a>(key: &'a dyn rusqlite::ToSql, r: &'a PageRow) -> [&'a dyn rusqlite::ToSql; 30] {
    [
        key,
        &r.slug,
        &r.page_id,
        &r.title,
        &r.message,
        &r.sender_name,
        &r.recipient_name,
        &r.template_id,
        &r.edit_token_hash,
        &r.created_at,
        &r.updated_at,
        &r.deleted,
        &r.view_count,
        &r.created_command_id,
        &r.last_sequence,
        &r.last_stream_sequence,
        &r.first_opened_at,
        &r.answer,
        &r.answer_dodges,
        &r.answered_at,
        &r.notify_email,
        &r.song_url,
        &r.reveal_at,
        &r.pin_hash,
        &r.photo_sha256,
        &r.photo_type,
        &r.photo_width,
        &r.photo_height,
        &r.taken_down_at,
        &r.taken_down_reason,
    ]
}

fn page_row_at(r: &rusqlite::Row<'_>, at: usize) -> rusqlite::Result<PageRow> {
    Ok(PageRow {
        slug_key: r.get(at)?,
        slug: r.get(at + 1)?,
        page_id: r.get(at + 2)?,
        title: r.get(at + 3)?,
        message: r.get(at + 4)?,
        sender_name: r.get(at + 5)?,
        recipient_name: r.get(at + 6)?,
        template_id: r.get(at + 7)?,
        edit_token_hash: r.get(at + 8)?,
        created_at: r.get(at + 9)?,
        updated_at: r.get(at + 10)?,
        deleted: r.get(at + 11)?,
        view_count: r.get(at + 12)?,
        created_command_id: r.get(at + 13)?,
        last_sequence: r.get(at + 14)?,
        last_stream_sequence: r.get(at + 15)?,
        first_opened_at: r.get(at + 16)?,
        answer: r.get(at + 17)?,
        answer_dodges: r.get(at + 18)?,
        answered_at: r.get(at + 19)?,
        notify_email: r.get(at + 20)?,
        song_url: r.get(at + 21)?,
        reveal_at: r.get(at + 22)?,
        pin_hash: r.get(at + 23)?,
        photo_sha256: r.get(at + 24)?,
        photo_type: r.get(at + 25)?,
        photo_width: r.get(at + 26)?,
        photo_height: r.get(at + 27)?,
        taken_down_at: r.get(at + 28)?,
        taken_down_reason: r.get(at + 29)?,
    })
}

/// Writes an existing row back where it is stored (`?1`, its rowid; its slug stays); the
/// guard again, as in [`UPSERT_PAGE`].
const UPDATE_PAGE: &str = "UPDATE pages SET slug = ?2, page_id = ?3, title = ?4, message = ?5, \
    sender_name = ?6, recipient_name = ?7, template_id = ?8, edit_token_hash = ?9, created_at = ?10, \
    updated_at = ?11, deleted = ?12, view_count = ?13, created_command_id = ?14, last_sequence = ?15, \
    last_stream_sequence = ?16, first_opened_at = ?17, answer = ?18, answer_dodges = ?19, answered_at = ?20, \
    notify_email = ?21, song_url = ?22, reveal_at = ?23, pin_hash = ?24, photo_sha256 = ?25, \
    photo_type = ?26, photo_width = ?27, photo_height = ?28, taken_down_at = ?29, taken_down_reason = ?30 \
    WHERE rowid = ?1 AND last_sequence < ?15";

/// Writes a row; the guard again, in SQL: a row only ever moves forward.
const UPSERT_PAGE: &str = "INSERT INTO pages (slug_key, slug, page_id, title, message, sender_name, \
    recipient_name, template_id, edit_token_hash, created_at, updated_at, deleted, view_count, \
    created_command_id, last_sequence, last_stream_sequence, first_opened_at, answer, answer_dodges, \
    answered_at, notify_email, song_url, reveal_at, pin_hash, photo_sha256, photo_type, photo_width, \
    photo_height, taken_down_at, taken_down_reason) \
    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, \
    ?22, ?23, ?24, ?25, ?26, ?27, ?28, ?29, ?30) \
    ON CONFLICT (slug_key) DO UPDATE SET slug = excluded.slug, page_id = excluded.page_id, \
    title = excluded.title, message = excluded.message, sender_name = excluded.sender_name, \
    recipient_name = excluded.recipient_name, template_id = excluded.template_id, \
    edit_token_hash = excluded.edit_token_hash, created_at = excluded.created_at, \
    updated_at = excluded.updated_at, deleted = excluded.deleted, view_count = excluded.view_count, \
    created_command_id = excluded.created_command_id, last_sequence = excluded.last_sequence, \
    last_stream_sequence = excluded.last_stream_sequence, first_opened_at = excluded.first_opened_at, \
    answer = excluded.answer, answer_dodges = excluded.answer_dodges, answered_at = excluded.answered_at, \
    notify_email = excluded.notify_email, song_url = excluded.song_url, reveal_at = excluded.reveal_at, \
    pin_hash = excluded.pin_hash, photo_sha256 = excluded.photo_sha256, photo_type = excluded.photo_type, \
    photo_width = excluded.photo_width, photo_height = excluded.photo_height, \
    taken_down_at = excluded.taken_down_at, taken_down_reason = excluded.taken_down_reason \
    WHERE excluded.last_sequence > pages.last_sequence";

pub(crate) const HISTORY_COLUMNS: &str =
    "slug_key, sequence, stream_sequence, page_id, event_type, occurred_at, changed_fields, command_id";

/// Forgets the views per day of a slug's lives before its current one.
const FORGET_EARLIER_VIEWS: &str = "DELETE FROM page_views_by_day WHERE slug_key = ?1 AND page_id <> ?2";

/// Forgets a slug's history before its erasure.
const ERASE_HISTORY: &str = "DELETE FROM page_events WHERE slug_key = ?1 AND sequence < ?2";

/// Forgets a slug's reports before its erasure.
const ERASE_REPORTS: &str = "DELETE FROM page_reports WHERE slug_key = ?1 AND sequence < ?2";

const INSERT_REPORT: &str = "INSERT OR IGNORE INTO page_reports (slug_key, page_id, stream_sequence, \
    sequence, reason, note, reported_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";

const INSERT_HISTORY: &str = "INSERT OR IGNORE INTO page_events (slug_key, sequence, stream_sequence, \
    page_id, event_type, occurred_at, changed_fields, command_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)";

// --- Queries ---------------------------------------------------------------------------------

/// The row at `slug_key`, live or deleted.
///
/// # Errors
/// When SQLite fails.
pub async fn row<'e>(
    conn: impl SqliteExecutor<'e>,
    slug_key: &str,
) -> Result<Option<PageRow>, ProjectionError> {
    let sql = format!("SELECT {PAGE_COLUMNS} FROM pages WHERE slug_key = ?");
    Ok(sqlx::query_as::<_, PageRow>(&sql).bind(slug_key).fetch_optional(conn).await?)
}

/// Which of `slug_keys` (at most [`CHUNK`] are looked at) live pages have, on a rusqlite
/// connection: the point lookup of slug checks ([`crate::read_connections`]).
///
/// # Errors
/// When SQLite fails.
pub fn taken(conn: &rusqlite::Connection, slug_keys: &[&str]) -> Result<BTreeSet<String>, ProjectionError> {
    let keys = &slug_keys[..slug_keys.len().min(CHUNK)];
    if keys.is_empty() {
        return Ok(BTreeSet::new());
    }
    let sql = format!(
        "SELECT slug_key FROM pages WHERE deleted = 0 AND slug_key IN ({})",
        vec!["?"; keys.len()].join(", ")
    );
    let mut query = conn.prepare_cached(&sql)?;
    let rows = query.query_map(rusqlite::params_from_iter(keys.iter()), |r| r.get::<_, String>(0))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The live page at `slug_key`, on a rusqlite connection: the point lookup of a page read
/// the cache could not answer ([`crate::read_connections`]).
///
/// # Errors
/// When SQLite fails.
pub fn live_page(conn: &rusqlite::Connection, slug_key: &str) -> Result<Option<PageRow>, ProjectionError> {
    let mut query = conn
        .prepare_cached(&format!("SELECT {PAGE_COLUMNS} FROM pages WHERE slug_key = ?1 AND deleted = 0"))?;
    Ok(query.query_row([slug_key], |r| page_row_at(r, 0)).optional()?)
}

/// The event the command `command_id` stored, once projected, on a rusqlite connection: the
/// point lookup of every keyed create ([`crate::read_connections`]).
///
/// # Errors
/// When SQLite fails.
pub fn event_of_command(
    conn: &rusqlite::Connection,
    command_id: &str,
) -> Result<Option<HistoryRow>, ProjectionError> {
    let mut query = conn.prepare_cached(&format!(
        "SELECT {HISTORY_COLUMNS} FROM page_events WHERE command_id = ? ORDER BY sequence LIMIT 1"
    ))?;
    let row = query
        .query_row([command_id], |r| {
            Ok(HistoryRow {
                slug_key: r.get(0)?,
                sequence: r.get(1)?,
                stream_sequence: r.get(2)?,
                page_id: r.get(3)?,
                event_type: r.get(4)?,
                occurred_at: r.get(5)?,
                changed_fields: r.get(6)?,
                command_id: r.get(7)?,
            })
        })
        .optional()?;
    Ok(row)
}

/// The events of the page `page_id` at `slug_key`, oldest first.
///
/// # Errors
/// When SQLite fails.
pub async fn history<'e>(
    conn: impl SqliteExecutor<'e>,
    slug_key: &str,
    page_id: i64,
) -> Result<Vec<HistoryRow>, ProjectionError> {
    Ok(sqlx::query_as::<_, HistoryRow>(&format!(
        "SELECT {HISTORY_COLUMNS} FROM page_events WHERE slug_key = ? AND page_id = ? ORDER BY sequence"
    ))
    .bind(slug_key)
    .bind(page_id)
    .fetch_all(conn)
    .await?)
}

/// The views of the page `page_id` at `slug_key` per UTC day, oldest first.
///
/// # Errors
/// When SQLite fails.
pub async fn views_by_day<'e>(
    conn: impl SqliteExecutor<'e>,
    slug_key: &str,
    page_id: i64,
) -> Result<Vec<(String, i64)>, ProjectionError> {
    Ok(sqlx::query_as(
        "SELECT day, views FROM page_views_by_day WHERE slug_key = ? AND page_id = ? ORDER BY day",
    )
    .bind(slug_key)
    .bind(page_id)
    .fetch_all(conn)
    .await?)
}

/// Whether the event stored at `stream_sequence` for `slug_key` has been projected.
///
/// # Errors
/// When SQLite fails.
pub async fn is_projected<'e>(
    conn: impl SqliteExecutor<'e>,
    slug_key: &str,
    stream_sequence: u64,
) -> Result<bool, ProjectionError> {
    let seq = i64::try_from(stream_sequence).unwrap_or(i64::MAX);
    let found: Option<(i64,)> =
        sqlx::query_as("SELECT 1 FROM pages WHERE slug_key = ? AND last_stream_sequence >= ?")
            .bind(slug_key)
            .bind(seq)
            .fetch_optional(conn)
            .await?;
    Ok(found.is_some())
}

#[cfg(test)]
mod tests {
    use cqrs_es::Aggregate;
    use valentine_domain::{EditToken, Page, PageDeleted, TemplateId};
    use valentine_eventstore::envelope::{Commit, WireEvent};

    use super::*;

    fn commit(slug: &str, stream_sequence: u64, first: usize, events: Vec<PageEvent>) -> PageCommit {
        let events = events
            .into_iter()
            .enumerate()
            .map(|(i, payload)| WireEvent {
                sequence: first + i,
                event_type: cqrs_event_type(&payload),
                event_version: "1.0".to_owned(),
                payload: Body::Open(payload),
                metadata: EventMeta {
                    event_id: format!("e{stream_sequence}.{i}"),
                    timestamp: format!("t{stream_sequence}"),
                },
            })
            .collect();
        StoredCommit {
            stream_sequence,
            commit: Commit {
                aggregate_type: Page::TYPE.to_owned(),
                aggregate_id: slug.to_owned(),
                command_id: format!("c{stream_sequence}"),
                events,
            },
        }
    }

    fn cqrs_event_type(e: &PageEvent) -> String {
        cqrs_es::DomainEvent::event_type(e)
    }

    fn created(slug: &str) -> PageEvent {
        PageEvent::PageCreated(PageCreated {
            slug: slug.to_owned(),
            title: "T".to_owned(),
            message: "M".to_owned(),
            sender_name: None,
            recipient_name: Some("R".to_owned()),
            template_id: TemplateId::Envelope,
            edit_token_hash: EditToken::presented("x").hash(),
            song_url: None,
            reveal_at: None,
            pin_hash: None,
        })
    }

    fn titled(title: &str) -> PageEvent {
        PageEvent::PageUpdated(PageUpdated { title: Some(title.to_owned()), ..PageUpdated::default() })
    }

    #[test]
    fn applies_in_order_skips_repeats_and_defers_gaps() {
        let mut fold = Fold::default();
        assert_eq!(fold.apply(commit("a", 1, 1, vec![created("A")])), Verdict::Applied);
        assert_eq!(fold.apply(commit("a", 3, 3, vec![titled("three")])), Verdict::Deferred);
        assert_eq!(fold.apply(commit("a", 2, 2, vec![titled("two")])), Verdict::Applied);
        assert_eq!(fold.apply(commit("a", 2, 2, vec![titled("two")])), Verdict::AlreadyApplied);
        assert_eq!(fold.apply(commit("a", 3, 3, vec![titled("three")])), Verdict::Applied);
        assert_eq!(fold.apply(commit("a", 1, 1, vec![created("A")])), Verdict::AlreadyApplied);
        let row = &fold.rows["a"];
        assert_eq!((row.title.as_str(), row.last_sequence, row.last_stream_sequence), ("three", 3, 3));
        assert_eq!(fold.history.len(), 3);
    }

    #[test]
    fn a_new_life_of_a_slug_starts_a_fresh_row_with_its_own_id() {
        let mut fold = Fold::default();
        fold.apply(commit("a", 1, 1, vec![created("A")]));
        fold.apply(commit("a", 5, 2, vec![PageEvent::PageDeleted(PageDeleted {})]));
        assert!(fold.rows["a"].deleted);
        fold.apply(commit("a", 9, 3, vec![created("a")]));
        let row = &fold.rows["a"];
        assert!(!row.deleted);
        assert_eq!((row.page_id, row.slug.as_str(), row.view_count), (9, "a", 0));
        let ids: Vec<_> = fold.history.iter().map(|h| h.page_id).collect();
        assert_eq!(ids, [1, 1, 9]);
        assert_eq!(fold.history[0].changed_fields, r#"["title","message","recipient_name","template_id"]"#);
    }

    #[test]
    fn an_erasure_applies_over_a_gap_and_leaves_nothing_of_what_it_erased() {
        let erasure = || {
            PageEvent::PageErased(valentine_domain::PageErased {
                by: valentine_domain::ErasedBy::Author,
                reason: None,
                erased: Vec::new(),
            })
        };
        // Live: the life was seen, then erased.
        let mut live = Fold::default();
        live.apply(commit("a", 1, 1, vec![created("A")]));
        live.apply(commit("a", 2, 2, vec![titled("secret")]));
        assert_eq!(live.apply(commit("a", 7, 3, vec![erasure()])), Verdict::Applied);
        // Rebuilt: the sealed events no longer open, or were removed from the stream.
        let mut rebuilt = Fold::default();
        let mut sealed = commit("a", 1, 1, vec![created("A")]);
        sealed.commit.events[0].payload = Body::Erased;
        assert_eq!(rebuilt.apply(sealed), Verdict::Applied);
        assert_eq!(rebuilt.apply(commit("a", 7, 3, vec![erasure()])), Verdict::Applied);
        let mut removed = Fold::default();
        assert_eq!(removed.apply(commit("a", 7, 3, vec![erasure()])), Verdict::Applied);
        for fold in [&live, &rebuilt, &removed] {
            let row = &fold.rows["a"];
            assert!(row.deleted);
            assert_eq!(
                (row.title.as_str(), row.message.as_str(), row.recipient_name.as_deref()),
                ("", "", None)
            );
            assert_eq!((row.page_id, row.last_sequence), (7, 3));
            let kinds: Vec<_> = fold.history.iter().map(|h| h.event_type.as_str()).collect();
            assert_eq!(kinds, ["PageErased"]);
            assert_eq!(fold.erased["a"], (3, 7));
        }
        assert_eq!(live.rows["a"], rebuilt.rows["a"]);
        assert_eq!(live.rows["a"], removed.rows["a"]);
        // Late redeliveries of the erased events change nothing.
        assert_eq!(live.apply(commit("a", 2, 2, vec![titled("secret")])), Verdict::AlreadyApplied);
    }

    #[test]
    fn a_multi_event_commit_applies_whole() {
        let mut fold = Fold::default();
        let verdict = fold.apply(commit("b", 4, 1, vec![created("b"), titled("x"), titled("y")]));
        assert_eq!(verdict, Verdict::Applied);
        assert_eq!(fold.rows["b"].last_sequence, 3);
        assert_eq!(fold.rows["b"].title, "y");
    }
}
