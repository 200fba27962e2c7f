//! Redis, used for cached answers and rate limits, and never needed to answer.
//!
//! Every call has a short timeout. After a failure a breaker keeps requests away from Redis
//! for a moment and lets one through now and then to see whether it is back, so a Redis
//! outage costs requests nothing but the cache: reads go to SQLite, rate limits fall back to
//! each process's own memory (see `rate_limit`), and readiness says "degraded".

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use redis::{RedisError, Script};
use valentine_projections::cache_keys::FILL;
use valentine_projections::redis_connection::{RedisConnection, RedisTarget, Timeouts};

use crate::metrics::Metrics;

/// Longest wait for one Redis call before it counts as failed.
const CALL_TIMEOUT: Duration = Duration::from_millis(250);

/// How long connections wait for Redis: no longer than a call may take.
const TIMEOUTS: Timeouts = Timeouts {
    connect: CALL_TIMEOUT,
    response: CALL_TIMEOUT,
    max_reconnect_delay: Some(Duration::from_millis(500)),
};

/// How long requests stay away from Redis after a failure.
const BREAK_FOR: Duration = Duration::from_secs(2);

/// What a cache lookup found.
#[derive(Debug)]
pub(crate) enum Lookup {
    /// The cached answer, and the slug's version (to fill with, should the answer be too old
    /// for the read).
    Hit {
        /// The answer as stored.
        value: Vec<u8>,
        /// The slug's cache version now.
        version: String,
    },
    /// Nothing cached; `version` is the slug's version seen, to fill with.
    Miss {
        /// The slug's cache version before the read model is queried.
        version: String,
    },
    /// Redis is off or unreachable: answer from the read model and store nothing.
    Bypass,
}

impl Lookup {
    /// Its name in metrics: `hit`, `miss` or `bypass`.
    pub(crate) fn label(&self) -> &'static str {
        match self {
            Self::Hit { .. } => "hit",
            Self::Miss { .. } => "miss",
            Self::Bypass => "bypass",
        }
    }
}

/// Redis as last seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RedisStatus {
    /// `REDIS_URL` is empty.
    Disabled,
    /// Answering.
    Up,
    /// Failed recently; requests go without it.
    Down,
}

impl RedisStatus {
    /// Name in health answers.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Disabled => "disabled",
            Self::Up => "ok",
            Self::Down => "down",
        }
    }
}

/// The Redis connection (to one server or a Redis Cluster), or nothing when `REDIS_URL` is
/// empty.
#[derive(Debug, Clone)]
pub(crate) struct RedisClient {
    inner: Option<Arc<Inner>>,
    metrics: Metrics,
}

#[derive(Debug)]
struct Inner {
    connection: RedisConnection,
    started: Instant,
    /// Milliseconds since `started` until which calls are refused.
    broken_until: AtomicU64,
    fill: Script,
}

impl RedisClient {
    /// A lazily connecting client of `redis`; `None` disables the cache.
    ///
    /// # Errors
    /// When no connection can be made of the settings.
    pub(crate) fn new(redis: Option<&RedisTarget>, metrics: Metrics) -> Result<Self, RedisError> {
        let Some(redis) = redis else { return Ok(Self { inner: None, metrics }) };
        let connection = redis.connect_lazily(TIMEOUTS)?;
        let inner = Inner {
            connection,
            started: Instant::now(),
            broken_until: AtomicU64::new(0),
            fill: Script::new(FILL),
        };
        Ok(Self { inner: Some(Arc::new(inner)), metrics })
    }

    /// Whether a Redis URL is configured.
    pub(crate) fn is_configured(&self) -> bool {
        self.inner.is_some()
    }

    /// Runs `call` on the connection unless the cache is off or the breaker is open. A failure
    /// or timeout opens the breaker.
    pub(crate) async fn call<T, F, Fut>(&self, call: F) -> Option<T>
    where
        F: FnOnce(RedisConnection) -> Fut,
        Fut: Future<Output = Result<T, RedisError>>,
    {
        let inner = self.inner.as_ref()?;
        let now = elapsed_ms(inner.started);
        let until = inner.broken_until.load(Ordering::Relaxed);
        if now < until {
            return None;
        }
        match tokio::time::timeout(CALL_TIMEOUT, call(inner.connection.clone())).await {
            Ok(Ok(value)) => Some(value),
            failed => {
                let reason = match failed {
                    Ok(Err(e)) => e.to_string(),
                    _ => "timed out".to_owned(),
                };
                let next = now + u64::try_from(BREAK_FOR.as_millis()).unwrap_or(u64::MAX);
                if inner.broken_until.swap(next, Ordering::Relaxed) <= now {
                    tracing::warn!(error = %reason, "redis unavailable; answering without it");
                }
                self.metrics.redis_failure();
                None
            }
        }
    }

    /// Looks up `key`, an answer about a slug whose version is kept at `version`, with that
    /// version for a later fill.
    pub(crate) async fn lookup(&self, key: &str, version: &str, cache: &'static str) -> Lookup {
        let found = self
            .call(|mut c| async move {
                redis::cmd("MGET")
                    .arg(key)
                    .arg(version)
                    .query_async::<(Option<Vec<u8>>, Option<String>)>(&mut c)
                    .await
            })
            .await;
        let lookup = match found {
            Some((Some(value), version)) => Lookup::Hit { value, version: version.unwrap_or_default() },
            Some((None, version)) => Lookup::Miss { version: version.unwrap_or_default() },
            None => Lookup::Bypass,
        };
        self.metrics.cache(cache, lookup.label());
        lookup
    }

    /// Stores `value` at `key` for `ttl`, unless the slug (whose version is kept at
    /// `version_key`) was invalidated since `version` was read.
    pub(crate) async fn fill(
        &self,
        key: &str,
        version_key: &str,
        version: &str,
        value: &[u8],
        ttl: Duration,
    ) {
        let Some(inner) = &self.inner else { return };
        let script = &inner.fill;
        let ttl_ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX);
        let _: Option<i64> = self
            .call(|mut c| async move {
                script
                    .key(key)
                    .key(version_key)
                    .arg(version)
                    .arg(value)
                    .arg(ttl_ms)
                    .invoke_async(&mut c)
                    .await
            })
            .await;
    }

    /// Whether Redis is off, answering, or away (its breaker is open).
    pub(crate) fn status(&self) -> RedisStatus {
        match &self.inner {
            None => RedisStatus::Disabled,
            Some(inner) if elapsed_ms(inner.started) < inner.broken_until.load(Ordering::Relaxed) => {
                RedisStatus::Down
            }
            Some(_) => RedisStatus::Up,
        }
    }

    /// Pings Redis, ignoring the breaker, and sets the breaker by the result: for readiness
    /// and the health watch. `Ok(None)` when the cache is off.
    ///
    /// # Errors
    /// Why Redis did not answer.
    pub(crate) async fn ping(&self) -> Result<Option<Duration>, String> {
        let Some(inner) = &self.inner else { return Ok(None) };
        let started = Instant::now();
        let mut connection = inner.connection.clone();
        match tokio::time::timeout(CALL_TIMEOUT, redis::cmd("PING").query_async::<String>(&mut connection))
            .await
        {
            Ok(Ok(_)) => {
                inner.broken_until.store(0, Ordering::Relaxed);
                Ok(Some(started.elapsed()))
            }
            failed => {
                let next =
                    elapsed_ms(inner.started) + u64::try_from(BREAK_FOR.as_millis()).unwrap_or(u64::MAX);
                inner.broken_until.store(next, Ordering::Relaxed);
                Err(match failed {
                    Ok(Err(e)) => e.to_string(),
                    _ => "timed out".to_owned(),
                })
            }
        }
    }
}

fn elapsed_ms(since: Instant) -> u64 {
    u64::try_from(since.elapsed().as_millis()).unwrap_or(u64::MAX)
}
