//! Redis keys of cached answers, and their invalidation.
//!
//! The API caches answers per slug; the projector deletes them the moment a projected change
//! makes them stale. Keys and scripts live here so both sides agree on them.
//!
//! Deleting alone would leave a race: a reader that queried SQLite just before a projector's
//! commit could store its stale answer just after the projector's delete. So every slug also
//! has a *version* key, bumped by each invalidation, and a reader stores an answer only if the
//! version is still the one it saw before it queried SQLite ([`FILL`]).

use redis::Script;
use redis::aio::ConnectionManager;

/// How long a slug's version outlives its last invalidation. Far longer than any read takes,
/// so a reader's "version before" and "version after" always compare like with like.
pub const VERSION_TTL_MS: u64 = 60 * 60 * 1000;

/// Cached `GET /api/pages/{slug}` answer.
pub fn page_key(slug_key: &str) -> String {
    format!("valentine:page:{slug_key}")
}

/// Cached availability of a slug (`GET /api/slugs/check/{slug}`).
pub fn slug_check_key(slug_key: &str) -> String {
    format!("valentine:slug:{slug_key}")
}

/// Version of everything cached about a slug; bumped by every invalidation.
pub fn version_key(slug_key: &str) -> String {
    format!("valentine:ver:{slug_key}")
}

/// Every key that holds an answer about `slug_key`.
pub fn keys_for(slug_key: &str) -> [String; 2] {
    [page_key(slug_key), slug_check_key(slug_key)]
}

/// Invalidation: `KEYS` are triples (page key, slug key, version key); deletes the answers and
/// bumps the version, atomically per call. `ARGV[1]`: the version's time to live in ms.
const INVALIDATE: &str = r"
for i = 1, #KEYS, 3 do
  redis.call('UNLINK', KEYS[i], KEYS[i + 1])
  redis.call('INCR', KEYS[i + 2])
  redis.call('PEXPIRE', KEYS[i + 2], ARGV[1])
end
return #KEYS / 3
";

/// Conditional fill: `KEYS[1]` the answer's key, `KEYS[2]` the slug's version key;
/// `ARGV[1]` the version seen before the read (empty for none), `ARGV[2]` the answer,
/// `ARGV[3]` its time to live in ms. Stores the answer only if no invalidation came between.
pub const FILL: &str = r"
local now = redis.call('GET', KEYS[2]) or ''
if now ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return 1
";

/// Deletes the cached answers about `slug_keys` and bumps their versions, in one round trip.
///
/// # Errors
/// When Redis is unreachable; the caller retries later.
pub async fn invalidate(redis: &mut ConnectionManager, slug_keys: &[String]) -> redis::RedisResult<()> {
    if slug_keys.is_empty() {
        return Ok(());
    }
    let script = Script::new(INVALIDATE);
    let mut invocation = script.prepare_invoke();
    for slug_key in slug_keys {
        let [page, slug] = keys_for(slug_key);
        invocation.key(page).key(slug).key(version_key(slug_key));
    }
    invocation.arg(VERSION_TTL_MS).invoke_async::<()>(redis).await
}
