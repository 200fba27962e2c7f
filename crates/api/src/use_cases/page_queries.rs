//! Queries: pages through the Redis cache (cache-aside), slugs straight from the read model.
//!
//! A miss reads SQLite and fills the cache only if no invalidation came in between (see
//! `valentine_projections::cache_keys`); with Redis away every answer comes from SQLite.
//!
//! Every cached answer records the read model position it reflects at least (`as_of`: the
//! position heard of before SQLite was read; the read saw everything up to it). A read that
//! names a position (read-your-writes) takes a cached answer only if it is that recent,
//! else reads SQLite and refreshes the entry: between a projector's commit and its deleting
//! the answers it made stale, an entry may be older than the position already reached.

use std::collections::BTreeSet;
use std::time::Duration;

use bytes::Bytes;
use sqlx::SqlitePool;
use tracing::instrument;
use valentine_domain::{EditToken, EditTokenHash};
use valentine_projections::cache_keys::CacheKeys;
use valentine_projections::read_connections::ReadConnections;
use valentine_projections::{HistoryRow, PageRow, applied, pages};

use crate::error::ApiError;
use crate::rate_limit::{Bucket, RateLimiter};
use crate::redis_client::{Lookup, RedisClient};
use crate::use_cases::read_positions::ReadPositions;
use crate::wire::page::PageResponse;

/// How long a page answer may stay cached. Projectors delete it the moment the page or its
/// view count changes, so this only bounds memory.
const PAGE_TTL: Duration = Duration::from_secs(300);

/// A page ready to serve: its id (for counting the view) and its JSON, as cached.
#[derive(Debug, Clone)]
pub(crate) struct PageAnswer {
    /// The page's id.
    pub page_id: u64,
    /// The read model position it reflects at least.
    pub as_of: u64,
    /// Whether someone other than its author has opened it (as of `as_of`).
    pub opened: bool,
    /// When it opens (seconds since the epoch), if it waits for a moment.
    pub reveal_at: Option<i64>,
    /// Whether a PIN keeps it private.
    pub pin: bool,
    /// Whether its moderators took it down.
    pub taken_down: bool,
    /// The page as JSON (everything its author sees).
    pub json: Bytes,
}

/// Reading pages and slugs; cheap to clone.
#[derive(Debug, Clone)]
pub(crate) struct PageQueries {
    db: SqlitePool,
    /// The same read model, for point lookups in place.
    points: ReadConnections,
    /// Where page answers are cached, unless every read goes to the read model.
    redis: Option<RedisClient>,
    keys: CacheKeys,
    /// Where the read model stands, and waiting for it.
    positions: ReadPositions,
    limiter: RateLimiter,
}

impl PageQueries {
    /// Queries on the read-only pool `db` (whose position `positions` follows) and, for point
    /// lookups, on `points`, page answers cached in `redis` (if any) under `keys` (this read
    /// model's); readers' budgets kept by `limiter`.
    pub(crate) fn new(
        db: SqlitePool,
        points: ReadConnections,
        positions: ReadPositions,
        redis: Option<RedisClient>,
        keys: CacheKeys,
        limiter: RateLimiter,
    ) -> Self {
        Self { db, points, redis, keys, positions, limiter }
    }

    /// The live page at `slug_key` for the reader `caller_key`, within the reader's budget,
    /// once the read model has reached `min_position` (read-your-writes).
    ///
    /// # Errors
    /// `429` over the budget; `503` when SQLite fails or the read model stays behind
    /// `min_position`.
    pub(crate) async fn read(
        &self,
        slug_key: &str,
        caller_key: &str,
        min_position: Option<u64>,
    ) -> Result<Option<PageAnswer>, ApiError> {
        self.limiter.check(Bucket::Reads, caller_key).await?;
        let as_of = self.positions.reach(min_position).await?;
        self.page(slug_key, as_of).await
    }

    /// The live page at `slug_key` as of read model position `min_position` or later,
    /// through the cache.
    ///
    /// # Errors
    /// When SQLite fails.
    #[instrument(level = "debug", skip(self), fields(cache))]
    async fn page(&self, slug_key: &str, min_position: u64) -> Result<Option<PageAnswer>, ApiError> {
        let (key, version_key) = (self.keys.page(slug_key), self.keys.version(slug_key));
        let Some(redis) = &self.redis else { return self.page_from_read_model(slug_key) };
        let version = match redis.lookup(&key, &version_key, "page").await {
            Lookup::Hit { value, version } => match decode_page(value) {
                Some(answer) if answer.as_of >= min_position => {
                    tracing::Span::current().record("cache", "hit");
                    return Ok(Some(answer));
                }
                // Older than the read asks for: read again, and refresh the entry.
                Some(_) => Some(version),
                None => None,
            },
            Lookup::Miss { version } => Some(version),
            Lookup::Bypass => None,
        };
        let Some(answer) = self.page_from_read_model(slug_key)? else { return Ok(None) };
        if let Some(version) = version {
            let stored = encode_page(&answer);
            redis.fill(&key, &version_key, &version, &stored, PAGE_TTL).await;
        }
        Ok(Some(answer))
    }

    /// The live page at `slug_key` as the read model has it now, encoded for answering.
    fn page_from_read_model(&self, slug_key: &str) -> Result<Option<PageAnswer>, ApiError> {
        let as_of = self.positions.through();
        let Some(row) = self.live_page(slug_key)? else {
            return Ok(None);
        };
        Ok(Some(PageAnswer {
            page_id: u64::try_from(row.page_id).unwrap_or_default(),
            as_of,
            opened: row.first_opened_at.is_some(),
            reveal_at: row.reveal_at.as_deref().and_then(valentine_domain::reveal::unix_seconds),
            pin: row.pin_hash.is_some(),
            taken_down: row.taken_down_at.is_some(),
            json: Bytes::from(serde_json::to_vec(&PageResponse::from(&row)).map_err(ApiError::internal)?),
        }))
    }

    /// Whether a live page has `slug_key` now, straight from the read model: one point
    /// lookup in its unique index, cheaper than a round trip to a cache (and a free slug is
    /// rarely asked about twice, so caching it would only fill the cache).
    ///
    /// # Errors
    /// When SQLite fails.
    pub(crate) fn slug_taken(&self, slug_key: &str) -> Result<bool, ApiError> {
        Ok(self.points.read(|conn| pages::taken(conn, &[slug_key]))?.contains(slug_key))
    }

    /// Which of `slug_keys` are taken, straight from the read model.
    ///
    /// # Errors
    /// When SQLite fails.
    pub(crate) fn taken(&self, slug_keys: &[&str]) -> Result<BTreeSet<String>, ApiError> {
        Ok(self.points.read(|conn| pages::taken(conn, slug_keys))?)
    }

    /// The live page at `slug_key`, straight from the read model.
    ///
    /// # Errors
    /// When SQLite fails.
    pub(crate) fn live_page(&self, slug_key: &str) -> Result<Option<PageRow>, ApiError> {
        Ok(self.points.read(|conn| pages::live_page(conn, slug_key))?)
    }

    /// The row at `slug_key`, live or deleted, straight from the read model.
    ///
    /// # Errors
    /// When SQLite fails.
    pub(crate) async fn row(&self, slug_key: &str) -> Result<Option<PageRow>, ApiError> {
        Ok(pages::row(&self.db, slug_key).await?)
    }

    /// The event the command `command_id` stored, once projected.
    ///
    /// # Errors
    /// When SQLite fails.
    pub(crate) fn event_of_command(&self, command_id: &str) -> Result<Option<HistoryRow>, ApiError> {
        Ok(self.points.read(|conn| pages::event_of_command(conn, command_id))?)
    }

    /// Whether the read model has applied the event at `stream_sequence` on `slug_key`.
    ///
    /// # Errors
    /// When SQLite fails.
    pub(crate) async fn is_projected(&self, slug_key: &str, stream_sequence: u64) -> Result<bool, ApiError> {
        Ok(pages::is_projected(&self.db, slug_key, stream_sequence).await?)
    }

    /// Waits until the read model has reached `min_position` (at once without one); the
    /// position an answer must be as of (0 when there is nothing to wait for).
    ///
    /// # Errors
    /// `503` when it stays behind, or SQLite or JetStream fail.
    pub(crate) async fn reach(&self, min_position: Option<u64>) -> Result<u64, ApiError> {
        self.positions.reach(min_position).await
    }

    /// Where the read model stands on the event stream: every event at or below this stream
    /// sequence is applied.
    ///
    /// # Errors
    /// When SQLite fails.
    pub(crate) async fn events_through(&self) -> Result<u64, ApiError> {
        Ok(applied::positions(&self.db).await?.0)
    }

    /// The live page at `slug_key` and its events, oldest first, for the holder of its edit
    /// token, read by `caller_key` within its budget once the read model has reached
    /// `min_position`.
    ///
    /// # Errors
    /// `429` over the budget, `404` without a live page, `403` for another token, `503` when
    /// SQLite fails or the read model stays behind `min_position`.
    pub(crate) async fn history(
        &self,
        slug_key: &str,
        token: &EditToken,
        caller_key: &str,
        min_position: Option<u64>,
    ) -> Result<(PageRow, Vec<HistoryRow>), ApiError> {
        self.limiter.check(Bucket::Reads, caller_key).await?;
        self.positions.reach(min_position).await?;
        let row = self.live_page(slug_key)?.ok_or(ApiError::NotFound("Page not found"))?;
        let hash = EditTokenHash::from_hex(&row.edit_token_hash).map_err(ApiError::internal)?;
        if !hash.matches(token) {
            return Err(ApiError::WrongToken);
        }
        let events = pages::history(&self.db, slug_key, row.page_id).await?;
        Ok((row, events))
    }

    /// The views of the page `page_id` at `slug_key` per UTC day, oldest first.
    ///
    /// # Errors
    /// When SQLite fails.
    pub(crate) async fn views_by_day(
        &self,
        slug_key: &str,
        page_id: i64,
    ) -> Result<Vec<(String, i64)>, ApiError> {
        Ok(pages::views_by_day(&self.db, slug_key, page_id).await?)
    }

    /// Spends one of the reader `caller_key`'s reads, then waits for the read model to reach
    /// `min_position`.
    ///
    /// # Errors
    /// `429` over the budget; `503` when the read model stays behind.
    pub(crate) async fn budgeted_reach(
        &self,
        caller_key: &str,
        min_position: Option<u64>,
    ) -> Result<u64, ApiError> {
        self.limiter.check(Bucket::Reads, caller_key).await?;
        self.positions.reach(min_position).await
    }

    /// Whether the read model answers a trivial query: for readiness.
    ///
    /// # Errors
    /// What SQLite said.
    pub(crate) async fn ping(&self) -> Result<(), sqlx::Error> {
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM (SELECT 1 FROM pages LIMIT 1)")
            .fetch_one(&self.db)
            .await
            .map(drop)
    }
}

/// Cached form: `<page id> <as of> <1 if opened, else 0>\n<json>`.
fn encode_page(answer: &PageAnswer) -> Vec<u8> {
    let reveal_at = answer.reveal_at.map_or_else(|| "-".to_owned(), |at| at.to_string());
    let head = format!(
        "{} {} {} {reveal_at} {} {}\n",
        answer.page_id,
        answer.as_of,
        u8::from(answer.opened),
        u8::from(answer.pin),
        u8::from(answer.taken_down)
    );
    let mut out = Vec::with_capacity(head.len() + answer.json.len());
    out.extend_from_slice(head.as_bytes());
    out.extend_from_slice(&answer.json);
    out
}

fn decode_page(value: Vec<u8>) -> Option<PageAnswer> {
    let newline = value.iter().position(|b| *b == b'\n')?;
    let mut head = std::str::from_utf8(&value[..newline]).ok()?.split(' ');
    let (page_id, as_of) = (head.next()?.parse().ok()?, head.next()?.parse().ok()?);
    let flag = |field: &str| match field {
        "1" => Some(true),
        "0" => Some(false),
        _ => None,
    };
    let opened = flag(head.next()?)?;
    let reveal_at = match head.next()? {
        "-" => None,
        at => Some(at.parse().ok()?),
    };
    let pin = flag(head.next()?)?;
    let taken_down = flag(head.next()?)?;
    if head.next().is_some() {
        return None;
    }
    let json = Bytes::from(value).slice(newline + 1..);
    Some(PageAnswer { page_id, as_of, opened, reveal_at, pin, taken_down, json })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cached_answer_decodes_to_what_was_encoded() {
        let answer = PageAnswer {
            page_id: 42,
            as_of: 77,
            opened: true,
            reveal_at: Some(1_800_000_000),
            pin: true,
            taken_down: true,
            json: Bytes::from_static(b"{\"id\":42,\"x\":\"a\\nb\"}"),
        };
        let decoded = decode_page(encode_page(&answer)).expect("decodes");
        assert_eq!((decoded.page_id, decoded.as_of, decoded.opened), (42, 77, true));
        assert_eq!((decoded.reveal_at, decoded.pin, decoded.taken_down), (Some(1_800_000_000), true, true));
        assert_eq!(decoded.json, answer.json);
        let plain = PageAnswer { reveal_at: None, pin: false, taken_down: false, ..answer };
        let decoded = decode_page(encode_page(&plain)).expect("decodes");
        assert_eq!((decoded.reveal_at, decoded.pin, decoded.taken_down), (None, false, false));
    }

    #[test]
    fn a_damaged_cache_entry_is_a_miss() {
        assert!(decode_page(b"no newline".to_vec()).is_none());
        assert!(decode_page(b"x\n{}".to_vec()).is_none());
        assert!(decode_page(b"42\n{}".to_vec()).is_none(), "an entry from before positions");
        assert!(decode_page(b"42 7\n{}".to_vec()).is_none(), "an entry from before opens");
        assert!(decode_page(b"42 7 1\n{}".to_vec()).is_none(), "an entry from before PINs");
        assert!(decode_page(b"42 7 1 - 0\n{}".to_vec()).is_none(), "an entry from before takedowns");
        assert!(decode_page(b"42 7 2 - 0 0\n{}".to_vec()).is_none());
        assert!(decode_page(b"42 7 1 soon 0 0\n{}".to_vec()).is_none());
    }
}
