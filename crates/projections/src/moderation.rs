//! What the console asks of the read model: pages by slug prefix, reported pages, and the
//! reports of one page. Rows are written by [`crate::pages`]' projection.

use serde::Serialize;
use sqlx::SqliteExecutor;

use crate::error::ProjectionError;
use crate::pages::{REPORT_COLUMNS, ReportRow};

/// A page as the console lists it: enough to pick it, nothing of its words but its title.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, Serialize)]
pub struct PageSummary {
    /// Lowercase slug.
    pub slug_key: String,
    /// Slug in the author's casing.
    pub slug: String,
    /// The current (or last) life's id.
    pub page_id: i64,
    /// Its title (empty once erased).
    pub title: String,
    /// `live`, `deleted` or `erased`.
    pub state: String,
    /// When it was created (RFC 3339).
    pub created_at: String,
    /// When it last changed.
    pub updated_at: String,
    /// When a moderator took it down, while it is down.
    pub taken_down_at: Option<String>,
    /// Reports of this life.
    pub reports: i64,
    /// Stream sequence of its newest event.
    pub last_stream_sequence: i64,
}

/// A reported page, with what the reports say in sum.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, Serialize)]
pub struct ReportedPage {
    /// Lowercase slug.
    pub slug_key: String,
    /// Slug in the author's casing.
    pub slug: String,
    /// The reported life.
    pub page_id: i64,
    /// Its title.
    pub title: String,
    /// Reports of it.
    pub reports: i64,
    /// The reasons given, comma separated, most frequent first.
    pub reasons: String,
    /// When the first came (RFC 3339).
    pub first_reported_at: String,
    /// When the last came.
    pub last_reported_at: String,
    /// When a moderator took it down, while it is down.
    pub taken_down_at: Option<String>,
    /// When a moderator last took it down or reinstated it.
    pub last_moderated_at: Option<String>,
    /// Whether it waits for a moderator: live, up, and reported since the last decision.
    pub open: bool,
}

/// How many pages one search or list returns at most.
pub const LIST_MAX: i64 = 100;

/// A page summary's columns, from `pages p`.
const SUMMARY: &str = "SELECT slug_key, slug, page_id, title, \
    CASE WHEN deleted = 0 THEN 'live' WHEN template_id = '' THEN 'erased' ELSE 'deleted' END AS state, \
    created_at, updated_at, taken_down_at, \
    (SELECT COUNT(*) FROM page_reports r WHERE r.slug_key = p.slug_key AND r.page_id = p.page_id) AS reports, \
    last_stream_sequence FROM pages p";

/// Pages whose slug starts with `prefix` (lowercase), in slug order, at most [`LIST_MAX`].
///
/// # Errors
/// When SQLite fails.
pub async fn search<'e>(
    conn: impl SqliteExecutor<'e>,
    prefix: &str,
) -> Result<Vec<PageSummary>, ProjectionError> {
    // Slugs hold a–z, 0–9 and '-', all below '~'.
    let end = format!("{prefix}~");
    Ok(sqlx::query_as::<_, PageSummary>(&format!(
        "{SUMMARY} WHERE slug_key >= ?1 AND slug_key < ?2 ORDER BY slug_key LIMIT ?3"
    ))
    .bind(prefix)
    .bind(end)
    .bind(LIST_MAX)
    .fetch_all(conn)
    .await?)
}

/// The page at `slug_key` (lowercase), live or not.
///
/// # Errors
/// When SQLite fails.
pub async fn summary<'e>(
    conn: impl SqliteExecutor<'e>,
    slug_key: &str,
) -> Result<Option<PageSummary>, ProjectionError> {
    Ok(sqlx::query_as::<_, PageSummary>(&format!("{SUMMARY} WHERE slug_key = ?1"))
        .bind(slug_key)
        .fetch_optional(conn)
        .await?)
}

/// Live pages with reports, those waiting for a moderator first, then by their latest report,
/// newest first; at most [`LIST_MAX`].
///
/// # Errors
/// When SQLite fails.
pub async fn reported<'e>(conn: impl SqliteExecutor<'e>) -> Result<Vec<ReportedPage>, ProjectionError> {
    Ok(sqlx::query_as::<_, ReportedPage>(
        "WITH counted AS ( \
             SELECT r.slug_key, r.page_id, COUNT(*) AS reports, MIN(r.reported_at) AS first_reported_at, \
                    MAX(r.reported_at) AS last_reported_at \
             FROM page_reports r GROUP BY r.slug_key, r.page_id), \
         reasons AS ( \
             SELECT slug_key, page_id, group_concat(reason, ',') AS reasons FROM ( \
                 SELECT slug_key, page_id, reason, COUNT(*) AS n FROM page_reports \
                 GROUP BY slug_key, page_id, reason ORDER BY n DESC, reason) \
             GROUP BY slug_key, page_id), \
         decided AS ( \
             SELECT slug_key, page_id, MAX(occurred_at) AS last_moderated_at FROM page_events \
             WHERE event_type IN ('PageTakenDown', 'PageReinstated') GROUP BY slug_key, page_id) \
         SELECT p.slug_key, p.slug, p.page_id, p.title, c.reports, s.reasons, c.first_reported_at, \
                c.last_reported_at, p.taken_down_at, d.last_moderated_at, \
                (p.taken_down_at IS NULL AND c.last_reported_at > COALESCE(d.last_moderated_at, '')) AS open \
         FROM counted c \
         JOIN pages p ON p.slug_key = c.slug_key AND p.page_id = c.page_id AND p.deleted = 0 \
         JOIN reasons s ON s.slug_key = c.slug_key AND s.page_id = c.page_id \
         LEFT JOIN decided d ON d.slug_key = c.slug_key AND d.page_id = c.page_id \
         ORDER BY open DESC, c.last_reported_at DESC LIMIT ?1",
    )
    .bind(LIST_MAX)
    .fetch_all(conn)
    .await?)
}

/// The reports of the page `page_id` at `slug_key`, newest first, at most [`LIST_MAX`].
///
/// # Errors
/// When SQLite fails.
pub async fn reports_of<'e>(
    conn: impl SqliteExecutor<'e>,
    slug_key: &str,
    page_id: i64,
) -> Result<Vec<ReportRow>, ProjectionError> {
    Ok(sqlx::query_as::<_, ReportRow>(&format!(
        "SELECT {REPORT_COLUMNS} FROM page_reports WHERE slug_key = ?1 AND page_id = ?2 \
         ORDER BY stream_sequence DESC, sequence DESC LIMIT ?3"
    ))
    .bind(slug_key)
    .bind(page_id)
    .bind(LIST_MAX)
    .fetch_all(conn)
    .await?)
}
