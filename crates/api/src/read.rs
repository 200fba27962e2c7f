//! Queries: the read model through the Redis cache (cache-aside).
//!
//! A miss reads SQLite and fills the cache only if no invalidation came in between (see
//! `valentine_projections::cache`); with Redis away every answer comes from SQLite.

use std::collections::BTreeSet;
use std::time::Duration;

use axum::body::Bytes;
use tracing::instrument;
use valentine_projections::{PageRow, cache_keys as keys, pages};

use crate::cache::Lookup;
use crate::error::ApiError;
use crate::routes::pages::PageResponse;
use crate::state::AppState;

/// How long a page answer may stay cached. Projectors delete it the moment the page or its
/// view count changes, so this only bounds memory.
pub const PAGE_TTL: Duration = Duration::from_secs(300);

/// How long a slug's availability may stay cached (the spec's upper bound).
pub const SLUG_TTL: Duration = Duration::from_secs(60);

/// A page answer: its id (for counting the view) and its JSON.
#[derive(Debug, Clone)]
pub struct PageAnswer {
    /// The page's id.
    pub page_id: u64,
    /// `Page` as JSON.
    pub json: Bytes,
}

/// The live page at `slug_key`, through the cache.
///
/// # Errors
/// When SQLite fails.
#[instrument(skip(state), fields(cache))]
pub async fn page(state: &AppState, slug_key: &str) -> Result<Option<PageAnswer>, ApiError> {
    let key = keys::page_key(slug_key);
    let version = match state.cache().lookup(&key, slug_key, "page").await {
        Lookup::Hit(value) => {
            if let Some(answer) = decode_page(value) {
                tracing::Span::current().record("cache", "hit");
                return Ok(Some(answer));
            }
            None
        }
        Lookup::Miss { version } => Some(version),
        Lookup::Bypass => None,
    };
    let Some(row) = live_page(state, slug_key).await? else {
        return Ok(None);
    };
    let answer = PageAnswer {
        page_id: u64::try_from(row.page_id).unwrap_or_default(),
        json: Bytes::from(serde_json::to_vec(&PageResponse::from(&row)).map_err(ApiError::internal)?),
    };
    if let Some(version) = version {
        let stored = encode_page(&answer);
        state.cache().fill(&key, slug_key, &version, &stored, PAGE_TTL).await;
    }
    Ok(Some(answer))
}

/// Cached form: `<page id>\n<json>`.
fn encode_page(answer: &PageAnswer) -> Vec<u8> {
    let mut out = Vec::with_capacity(answer.json.len() + 12);
    out.extend_from_slice(answer.page_id.to_string().as_bytes());
    out.push(b'\n');
    out.extend_from_slice(&answer.json);
    out
}

fn decode_page(value: Vec<u8>) -> Option<PageAnswer> {
    let newline = value.iter().position(|b| *b == b'\n')?;
    let page_id = std::str::from_utf8(&value[..newline]).ok()?.parse().ok()?;
    let json = Bytes::from(value).slice(newline + 1..);
    Some(PageAnswer { page_id, json })
}

/// Whether a live page has `slug_key`, through the cache.
///
/// # Errors
/// When SQLite fails.
pub async fn slug_taken(state: &AppState, slug_key: &str) -> Result<bool, ApiError> {
    let key = keys::slug_check_key(slug_key);
    let version = match state.cache().lookup(&key, slug_key, "slug").await {
        Lookup::Hit(value) => return Ok(value == b"1"),
        Lookup::Miss { version } => Some(version),
        Lookup::Bypass => None,
    };
    let taken = pages::taken(state.db(), &[slug_key]).await.map_err(read_failed)?.contains(slug_key);
    if let Some(version) = version {
        let value: &[u8] = if taken { b"1" } else { b"0" };
        state.cache().fill(&key, slug_key, &version, value, SLUG_TTL).await;
    }
    Ok(taken)
}

/// Which of `slug_keys` are taken, straight from the read model.
///
/// # Errors
/// When SQLite fails.
pub async fn taken(state: &AppState, slug_keys: &[&str]) -> Result<BTreeSet<String>, ApiError> {
    pages::taken(state.db(), slug_keys).await.map_err(read_failed)
}

/// The live page at `slug_key`, straight from the read model.
///
/// # Errors
/// When SQLite fails.
pub async fn live_page(state: &AppState, slug_key: &str) -> Result<Option<PageRow>, ApiError> {
    pages::live_page(state.db(), slug_key).await.map_err(read_failed)
}

/// The row at `slug_key`, live or deleted, straight from the read model.
///
/// # Errors
/// When SQLite fails.
pub async fn row(state: &AppState, slug_key: &str) -> Result<Option<PageRow>, ApiError> {
    pages::row(state.db(), slug_key).await.map_err(read_failed)
}

/// A read model failure as an API error: `503` when the database is busy or missing.
pub fn read_failed(err: valentine_projections::ProjectionError) -> ApiError {
    ApiError::unavailable("The read model is unavailable; try again shortly", err)
}
