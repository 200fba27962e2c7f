//! Redis keys of cached answers, and their invalidation.
//!
//! The API caches answers per slug; the projector deletes them the moment a projected change
//! makes them stale. Keys live here so both sides agree on them.

use redis::aio::ConnectionManager;

/// Cached `GET /api/pages/{slug}` answer.
pub fn page_key(slug_key: &str) -> String {
    format!("valentine:page:{slug_key}")
}

/// Cached `GET /api/slugs/check/{slug}` answer.
pub fn slug_check_key(slug_key: &str) -> String {
    format!("valentine:slug:{slug_key}")
}

/// Every key that holds an answer about `slug_key`.
pub fn keys_for(slug_key: &str) -> [String; 2] {
    [page_key(slug_key), slug_check_key(slug_key)]
}

/// Deletes the cached answers about `slug_keys` in one round trip.
///
/// # Errors
/// When Redis is unreachable; the caller retries later.
pub async fn invalidate(redis: &mut ConnectionManager, slug_keys: &[String]) -> redis::RedisResult<()> {
    if slug_keys.is_empty() {
        return Ok(());
    }
    let keys: Vec<String> = slug_keys.iter().flat_map(|k| keys_for(k)).collect();
    redis::cmd("UNLINK").arg(keys).query_async::<()>(redis).await
}
