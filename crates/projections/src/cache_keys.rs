//! Redis keys of cached answers, and their invalidation.
//!
//! The API caches answers per slug; the projector deletes them the moment a projected change
//! makes them stale. Keys and scripts live here so both sides agree on them.
//!
//! Deleting alone would leave a race: a reader that queried SQLite just before a projector's
//! commit could store its stale answer just after the projector's delete. So every slug also
//! has a *version* key, bumped by each invalidation, and a reader stores an answer only if the
//! version is still the one it saw before it queried SQLite ([`FILL`]).

use redis::{Cmd, Script};

use crate::read_model::ReadModelId;
use crate::redis_connection::{self, RedisConnection};

/// How long a slug's version outlives its last invalidation. Far longer than any read takes,
/// so a reader's "version before" and "version after" always compare like with like.
pub const VERSION_TTL_MS: u64 = 60 * 60 * 1000;

/// The cache keys of one read model. Every key names its read model, so nodes sharing a
/// Redis never serve each other's answers (a node that lags or rebuilds fills only its own),
/// and every key about one slug carries the same hash tag (`{<read model>:<slug>}`), so the
/// keys one script call touches lie in one slot of a Redis Cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheKeys {
    read_model: String,
}

impl CacheKeys {
    /// The keys of the read model `id`.
    pub fn new(id: &ReadModelId) -> Self {
        Self { read_model: id.as_str().to_owned() }
    }

    fn key(&self, slug_key: &str, what: &str) -> String {
        format!("valentine:{{{}:{slug_key}}}:{what}", self.read_model)
    }

    /// Cached `GET /api/pages/{slug}` answer.
    pub fn page(&self, slug_key: &str) -> String {
        self.key(slug_key, "page")
    }

    /// Cached availability of a slug (`GET /api/slugs/check/{slug}`), as API versions
    /// before December 2026 kept it; checks now read the read model. Still deleted with a
    /// slug's answers, so that such an entry never outlives a change while older and newer
    /// API processes share a Redis.
    pub fn slug_check(&self, slug_key: &str) -> String {
        self.key(slug_key, "slug")
    }

    /// Version of everything cached about a slug; bumped by every invalidation.
    pub fn version(&self, slug_key: &str) -> String {
        self.key(slug_key, "ver")
    }

    /// Every key that holds an answer about `slug_key`.
    pub fn answers(&self, slug_key: &str) -> [String; 2] {
        [self.page(slug_key), self.slug_check(slug_key)]
    }

    /// Deletes the cached answers about `slug_keys` and bumps their versions: one script
    /// call per slug (its keys share a slot), all in one go (see
    /// [`RedisConnection::send_all`]).
    ///
    /// # Errors
    /// When Redis is unreachable; the caller retries later.
    pub async fn invalidate(
        &self,
        redis: &mut RedisConnection,
        slug_keys: &[String],
    ) -> redis::RedisResult<()> {
        if slug_keys.is_empty() {
            return Ok(());
        }
        let script = Script::new(INVALIDATE);
        let calls: Vec<Cmd> = slug_keys
            .iter()
            .map(|slug_key| {
                let mut call = redis::cmd("EVALSHA");
                call.arg(script.get_hash())
                    .arg(3)
                    .arg(self.page(slug_key))
                    .arg(self.slug_check(slug_key))
                    .arg(self.version(slug_key))
                    .arg(VERSION_TTL_MS);
                call
            })
            .collect();
        match redis.send_all(&calls).await {
            // A server that has not seen the script yet (or restarted): load it (on a cluster,
            // on every node), then again; a slug invalidated twice is still invalidated.
            Err(e) if redis_connection::is_no_script(&e) => {
                redis::cmd("SCRIPT").arg("LOAD").arg(INVALIDATE).query_async::<()>(redis).await?;
                redis.send_all(&calls).await
            }
            done => done,
        }
    }
}

/// Invalidation of one slug: `KEYS` are its page key, slug key and version key; deletes the
/// answers and bumps the version, atomically. `ARGV[1]`: the version's time to live in ms.
const INVALIDATE: &str = r"
redis.call('UNLINK', KEYS[1], KEYS[2])
redis.call('INCR', KEYS[3])
redis.call('PEXPIRE', KEYS[3], ARGV[1])
return 1
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

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use redis::cluster_routing::Slot;

    use super::*;

    #[test]
    fn every_key_about_a_slug_lies_in_one_slot_and_slugs_spread_over_slots() {
        let keys = CacheKeys::new(&ReadModelId::new("main").expect("an id"));
        let slot = |key: &str| Slot::for_key(key);
        let mut slots = HashSet::new();
        for slug in ["ann", "bea", "cal", "for-you-3f2a", "x-1"] {
            let [page, check] = keys.answers(slug);
            let version = keys.version(slug);
            assert_eq!(slot(&page), slot(&version), "{slug}: MGET, FILL and INVALIDATE");
            assert_eq!(slot(&check), slot(&version), "{slug}: MGET, FILL and INVALIDATE");
            slots.insert(slot(&page));
        }
        assert_eq!(slots.len(), 5, "each slug has a slot of its own: {slots:?}");
        // The read model is part of the tag: another's keys about the same slug hash apart.
        let other = CacheKeys::new(&ReadModelId::new("other").expect("an id"));
        assert_ne!(slot(&other.version("ann")), slot(&keys.version("ann")));
    }
}
