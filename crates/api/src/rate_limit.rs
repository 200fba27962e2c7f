//! Sliding-window rate limits per client, shared by every API instance through Redis.
//!
//! One Lua script checks and records an attempt in a single step, so a parallel burst cannot
//! slip past the limit between a check and an add, and a refused attempt is not recorded, so
//! being refused never uses up quota. The window slides on Redis's own clock, which every
//! instance shares.
//!
//! Without Redis (off, or unreachable) each process applies the same limits from its own
//! memory: one instance still limits exactly; N instances together allow up to N times the
//! limit until Redis is back.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use redis::Script;
use ulid::Ulid;

use crate::error::ApiError;
use crate::metrics::Metrics;
use crate::redis_client::RedisClient;

/// `KEYS[1]`: the bucket. `ARGV`: window in ms, limit, a unique member for this attempt.
/// Returns `{1, 0}` when the attempt is allowed (and recorded), `{0, ms until a slot frees}`
/// when it is refused (and not recorded).
const SLIDING_WINDOW: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[2]) then
  redis.call('ZADD', KEYS[1], now, ARGV[3])
  redis.call('PEXPIRE', KEYS[1], window)
  return {1, 0}
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return {0, tonumber(oldest[2]) + window - now}
";

/// Which limit an attempt counts against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Bucket {
    /// Page creations.
    Pages,
    /// Slug checks and suggestions.
    SlugChecks,
}

impl Bucket {
    /// Name in keys and metrics.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Pages => "pages",
            Self::SlugChecks => "slug_checks",
        }
    }
}

/// A limit: so many attempts per window; 0 attempts means no limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Limit {
    /// Attempts allowed per window.
    pub attempts: u32,
    /// The sliding window.
    pub window: Duration,
}

/// The limiter: Redis first, local memory when Redis cannot answer.
#[derive(Debug, Clone)]
pub(crate) struct RateLimiter {
    redis: RedisClient,
    pages: Limit,
    slug_checks: Limit,
    script: Arc<Script>,
    local: Arc<Mutex<LocalWindows>>,
    metrics: Metrics,
}

impl RateLimiter {
    /// A limiter with the two limits.
    pub(crate) fn new(redis: RedisClient, pages: Limit, slug_checks: Limit, metrics: Metrics) -> Self {
        Self {
            redis,
            pages,
            slug_checks,
            script: Arc::new(Script::new(SLIDING_WINDOW)),
            local: Arc::new(Mutex::new(LocalWindows::default())),
            metrics,
        }
    }

    /// Records an attempt by `client` against `bucket`, or refuses it.
    ///
    /// # Errors
    /// [`ApiError::RateLimited`] with the seconds until a slot frees up.
    pub(crate) async fn check(&self, bucket: Bucket, client: &str) -> Result<Attempt, ApiError> {
        let limit = match bucket {
            Bucket::Pages => self.pages,
            Bucket::SlugChecks => self.slug_checks,
        };
        if limit.attempts == 0 {
            return Ok(Attempt {
                key: String::new(),
                bucket,
                client: client.to_owned(),
                recorded: Recorded::Nothing,
            });
        }
        let key = format!("valentine:rl:{}:{client}", bucket.as_str());
        let window_ms = u64::try_from(limit.window.as_millis()).unwrap_or(u64::MAX);
        let script = Arc::clone(&self.script);
        let member = Ulid::new().to_string();
        let shared = self
            .redis
            .call(|mut c| {
                let (key, member) = (key.clone(), member.clone());
                async move {
                    script
                        .key(&key)
                        .arg(window_ms)
                        .arg(limit.attempts)
                        .arg(member)
                        .invoke_async::<(i64, i64)>(&mut c)
                        .await
                }
            })
            .await;
        let now = Instant::now();
        let (wait, recorded) = match shared {
            Some((1, _)) => (None, Recorded::Shared { member }),
            Some((_, wait_ms)) => {
                (Some(Duration::from_millis(u64::try_from(wait_ms).unwrap_or(0))), Recorded::Nothing)
            }
            None => (
                self.local.lock().unwrap_or_else(PoisonError::into_inner).check(bucket, client, limit, now),
                Recorded::Local { at: now },
            ),
        };
        match wait {
            None => Ok(Attempt { key, bucket, client: client.to_owned(), recorded }),
            Some(wait) => {
                self.metrics.rate_limited(bucket.as_str());
                Err(ApiError::RateLimited {
                    retry_after: wait.as_secs() + u64::from(wait.subsec_nanos() > 0),
                })
            }
        }
    }
}

impl RateLimiter {
    /// Takes back an attempt that came to nothing (a create refused or failed after it was
    /// let through), so it uses no quota. Best effort: with Redis away, a shared attempt
    /// stays counted until its window passes.
    pub(crate) async fn refund(&self, attempt: Attempt) {
        match attempt.recorded {
            Recorded::Nothing => {}
            Recorded::Shared { member } => {
                let key = attempt.key;
                let _: Option<i64> = self
                    .redis
                    .call(|mut c| async move {
                        redis::cmd("ZREM").arg(&key).arg(&member).query_async(&mut c).await
                    })
                    .await;
            }
            Recorded::Local { at } => {
                self.local.lock().unwrap_or_else(PoisonError::into_inner).refund(
                    attempt.bucket,
                    &attempt.client,
                    at,
                );
            }
        }
    }
}

/// An attempt let through by [`RateLimiter::check`], which [`RateLimiter::refund`] can take
/// back.
#[derive(Debug)]
pub(crate) struct Attempt {
    key: String,
    bucket: Bucket,
    client: String,
    recorded: Recorded,
}

/// Where an attempt was recorded.
#[derive(Debug)]
enum Recorded {
    /// Nowhere: the limit is off.
    Nothing,
    /// In Redis, as this member of the client's window.
    Shared { member: String },
    /// In this process's window, at this time.
    Local { at: Instant },
}

/// Sliding windows kept in this process, for when Redis cannot answer.
#[derive(Debug, Default)]
struct LocalWindows {
    windows: HashMap<(Bucket, String), VecDeque<Instant>>,
    checks: u64,
}

impl LocalWindows {
    /// `None` when allowed (and recorded), else how long until a slot frees up.
    fn check(&mut self, bucket: Bucket, client: &str, limit: Limit, now: Instant) -> Option<Duration> {
        self.checks += 1;
        if self.checks.is_multiple_of(4096) {
            // Forget clients whose windows have emptied, so memory follows active clients.
            self.windows.retain(|_, w| w.back().is_some_and(|t| now.duration_since(*t) < limit.window));
        }
        let window = self.windows.entry((bucket, client.to_owned())).or_default();
        while window.front().is_some_and(|t| now.duration_since(*t) >= limit.window) {
            window.pop_front();
        }
        if window.len() < limit.attempts as usize {
            window.push_back(now);
            return None;
        }
        window.front().map(|oldest| limit.window.saturating_sub(now.duration_since(*oldest)))
    }

    /// Forgets the attempt recorded at `at`.
    fn refund(&mut self, bucket: Bucket, client: &str, at: Instant) {
        if let Some(window) = self.windows.get_mut(&(bucket, client.to_owned()))
            && let Some(position) = window.iter().rposition(|t| *t == at)
        {
            window.remove(position);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_local_window_allows_exactly_the_limit_and_refusals_cost_nothing() {
        let mut local = LocalWindows::default();
        let limit = Limit { attempts: 3, window: Duration::from_secs(60) };
        let now = Instant::now();
        let results: Vec<_> = (0..6).map(|_| local.check(Bucket::Pages, "c", limit, now).is_none()).collect();
        assert_eq!(results, [true, true, true, false, false, false]);
        assert_eq!(local.windows[&(Bucket::Pages, "c".to_owned())].len(), 3);
        // Another client and another bucket have their own windows.
        assert!(local.check(Bucket::Pages, "d", limit, now).is_none());
        assert!(local.check(Bucket::SlugChecks, "c", limit, now).is_none());
    }

    #[test]
    fn a_refunded_local_attempt_frees_its_slot() {
        let mut local = LocalWindows::default();
        let limit = Limit { attempts: 1, window: Duration::from_secs(60) };
        let now = Instant::now();
        assert!(local.check(Bucket::Pages, "c", limit, now).is_none());
        assert!(local.check(Bucket::Pages, "c", limit, now).is_some());
        local.refund(Bucket::Pages, "c", now);
        assert!(local.check(Bucket::Pages, "c", limit, now).is_none());
    }

    #[test]
    fn the_local_window_slides() {
        let mut local = LocalWindows::default();
        let limit = Limit { attempts: 1, window: Duration::from_secs(30) };
        let start = Instant::now();
        assert!(local.check(Bucket::Pages, "c", limit, start).is_none());
        let later = start + Duration::from_secs(10);
        assert_eq!(local.check(Bucket::Pages, "c", limit, later), Some(Duration::from_secs(20)));
        assert!(local.check(Bucket::Pages, "c", limit, start + Duration::from_secs(30)).is_none());
    }
}
