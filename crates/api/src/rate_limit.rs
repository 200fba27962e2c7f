//! Rate limits per client (and per page for edits): every route has a budget.
//!
//! Budgets that must hold across instances (creates, slug checks, edits) are sliding windows
//! in Redis: one Lua script checks and records an attempt in a single step, so a parallel
//! burst cannot slip past the limit between a check and an add, and a refused attempt is not
//! recorded, so being refused never uses up quota. The window slides on Redis's own clock,
//! which every instance shares. Without Redis (off, or unreachable) each process applies the
//! same limits from its own memory, each bucket with its own window: one instance still
//! limits exactly; N instances together allow up to N times the limit until Redis is back.
//!
//! Each Redis call touches one key, the window of one client's bucket
//! (`valentine:rl:<bucket>:<client>`), so on a Redis Cluster it goes to the master serving
//! that key and the windows spread over every master.
//!
//! The generous budgets of frequent requests (page reads, job polls) are kept in each
//! process's memory only, as a GCRA (one instant per client): a read costs no Redis round
//! trip for its limit, and N instances allow up to N times the budget.

use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasher, RandomState};
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

/// Most clients one process remembers per kind of window; beyond it, the clients idle the
/// longest are forgotten first.
const LOCAL_CLIENTS_MAX: usize = 100_000;

/// Which budget an attempt counts against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Bucket {
    /// Page creations, per client.
    Pages,
    /// Slug checks and suggestions, per client.
    SlugChecks,
    /// Updates and deletions, per client (right token or not).
    Edits,
    /// Changes recorded on one page, per page (only an authorized change counts).
    PageEdits,
    /// Job status polls, per client.
    JobPolls,
    /// Page and history reads, per client.
    Reads,
    /// Replies to pages and unsubscribes, per client.
    Answers,
    /// Photo uploads, per client.
    Photos,
    /// Wrong PIN guesses, per client (a right one is refunded).
    PinGuesses,
    /// Wrong PIN guesses at one page's current PIN, per hour.
    PagePinGuesses,
    /// Wrong PIN guesses at one page's current PIN, per 30 days.
    PagePinGuessesMonthly,
    /// Reports of pages, per client.
    Reports,
    /// Admin requests, per admin.
    Admin,
    /// Admin requests with a missing or wrong token, per client (a right one is refunded).
    AdminFailures,
}

impl Bucket {
    /// Name in keys and metrics.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Pages => "pages",
            Self::SlugChecks => "slug_checks",
            Self::Edits => "edits",
            Self::PageEdits => "page_edits",
            Self::JobPolls => "job_polls",
            Self::Reads => "reads",
            Self::Answers => "answers",
            Self::Photos => "photos",
            Self::PinGuesses => "pin_guesses",
            Self::PagePinGuesses => "page_pin_guesses",
            Self::PagePinGuessesMonthly => "page_pin_guesses_monthly",
            Self::Reports => "reports",
            Self::Admin => "admin",
            Self::AdminFailures => "admin_failures",
        }
    }

    /// Whether the budget is shared by every instance through Redis (else each process keeps
    /// its own).
    fn shared(self) -> bool {
        !matches!(self, Self::JobPolls | Self::Reads)
    }
}

/// A limit: so many attempts per window; 0 attempts means no limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Limit {
    /// Attempts allowed per window.
    pub attempts: u32,
    /// The sliding window.
    pub window: Duration,
}

impl Limit {
    /// `attempts` per minute.
    pub(crate) fn per_minute(attempts: u32) -> Self {
        Self { attempts, window: Duration::from_secs(60) }
    }

    /// `attempts` per hour.
    pub(crate) fn per_hour(attempts: u32) -> Self {
        Self { attempts, window: Duration::from_secs(3600) }
    }

    /// `attempts` per 30 days.
    pub(crate) fn per_month(attempts: u32) -> Self {
        Self { attempts, window: Duration::from_secs(30 * 86_400) }
    }
}

/// The limit of every bucket.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Budgets {
    /// [`Bucket::Pages`].
    pub pages: Limit,
    /// [`Bucket::SlugChecks`].
    pub slug_checks: Limit,
    /// [`Bucket::Edits`].
    pub edits: Limit,
    /// [`Bucket::PageEdits`].
    pub page_edits: Limit,
    /// [`Bucket::JobPolls`].
    pub job_polls: Limit,
    /// [`Bucket::Reads`].
    pub reads: Limit,
    /// [`Bucket::Answers`].
    pub answers: Limit,
    /// [`Bucket::Photos`].
    pub photos: Limit,
    /// [`Bucket::PinGuesses`].
    pub pin_guesses: Limit,
    /// [`Bucket::PagePinGuesses`].
    pub page_pin_guesses: Limit,
    /// [`Bucket::PagePinGuessesMonthly`].
    pub page_pin_guesses_monthly: Limit,
    /// [`Bucket::Reports`].
    pub reports: Limit,
    /// [`Bucket::Admin`].
    pub admin: Limit,
    /// [`Bucket::AdminFailures`].
    pub admin_failures: Limit,
}

impl Budgets {
    /// The limit of `bucket`.
    pub(crate) fn of(&self, bucket: Bucket) -> Limit {
        match bucket {
            Bucket::Pages => self.pages,
            Bucket::SlugChecks => self.slug_checks,
            Bucket::Edits => self.edits,
            Bucket::PageEdits => self.page_edits,
            Bucket::JobPolls => self.job_polls,
            Bucket::Reads => self.reads,
            Bucket::Answers => self.answers,
            Bucket::Photos => self.photos,
            Bucket::PinGuesses => self.pin_guesses,
            Bucket::PagePinGuesses => self.page_pin_guesses,
            Bucket::PagePinGuessesMonthly => self.page_pin_guesses_monthly,
            Bucket::Reports => self.reports,
            Bucket::Admin => self.admin,
            Bucket::AdminFailures => self.admin_failures,
        }
    }
}

/// The limiter: Redis first, local memory when Redis cannot answer.
#[derive(Debug, Clone)]
pub(crate) struct RateLimiter {
    redis: RedisClient,
    budgets: Budgets,
    script: Arc<Script>,
    local: Arc<Mutex<LocalWindows>>,
    paced: Arc<PacedShards>,
    metrics: Metrics,
}

impl RateLimiter {
    /// A limiter with these budgets.
    pub(crate) fn new(redis: RedisClient, budgets: Budgets, metrics: Metrics) -> Self {
        Self {
            redis,
            budgets,
            script: Arc::new(Script::new(SLIDING_WINDOW)),
            local: Arc::new(Mutex::new(LocalWindows::new(budgets))),
            paced: Arc::new(PacedShards::default()),
            metrics,
        }
    }

    /// Records an attempt by `client` (a hashed client address, or a page's key for
    /// [`Bucket::PageEdits`]) against `bucket`, or refuses it.
    ///
    /// # Errors
    /// [`ApiError::RateLimited`] with the seconds until a slot frees up.
    pub(crate) async fn check(&self, bucket: Bucket, client: &str) -> Result<Attempt, ApiError> {
        let limit = self.budgets.of(bucket);
        let nothing =
            || Attempt { key: String::new(), bucket, client: String::new(), recorded: Recorded::Nothing };
        if limit.attempts == 0 {
            return Ok(nothing());
        }
        if !bucket.shared() {
            let wait = self.paced.check(bucket, client, limit, Instant::now());
            return match wait {
                None => Ok(nothing()),
                Some(wait) => Err(self.refused(bucket, wait)),
            };
        }
        let key = window_key(bucket, client);
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
                self.local.lock().unwrap_or_else(PoisonError::into_inner).check(bucket, client, now),
                Recorded::Local { at: now },
            ),
        };
        match wait {
            None => Ok(Attempt { key, bucket, client: client.to_owned(), recorded }),
            Some(wait) => Err(self.refused(bucket, wait)),
        }
    }

    /// The refusal of an attempt that must wait `wait`, counted.
    fn refused(&self, bucket: Bucket, wait: Duration) -> ApiError {
        self.metrics.rate_limited(bucket.as_str());
        ApiError::RateLimited { retry_after: wait.as_secs() + u64::from(wait.subsec_nanos() > 0) }
    }

    /// Takes back an attempt that came to nothing (a create refused or failed after it was
    /// let through, an edit that recorded nothing), so it uses no quota. Best effort: with
    /// Redis away, a shared attempt stays counted until its window passes.
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

/// The Redis key of `client`'s window in `bucket`: the only key a call about it touches.
fn window_key(bucket: Bucket, client: &str) -> String {
    format!("valentine:rl:{}:{client}", bucket.as_str())
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
    /// Nowhere: the limit is off, or kept by pace alone.
    Nothing,
    /// In Redis, as this member of the client's window.
    Shared { member: String },
    /// In this process's window, at this time.
    Local { at: Instant },
}

/// Sliding windows kept in this process, for the shared budgets while Redis cannot answer.
#[derive(Debug)]
struct LocalWindows {
    budgets: Budgets,
    windows: HashMap<(Bucket, String), VecDeque<Instant>>,
    checks: u64,
}

impl LocalWindows {
    fn new(budgets: Budgets) -> Self {
        Self { budgets, windows: HashMap::new(), checks: 0 }
    }

    /// `None` when allowed (and recorded), else how long until a slot frees up.
    fn check(&mut self, bucket: Bucket, client: &str, now: Instant) -> Option<Duration> {
        let limit = self.budgets.of(bucket);
        self.checks += 1;
        if self.checks.is_multiple_of(4096) || self.windows.len() >= LOCAL_CLIENTS_MAX {
            self.sweep(now);
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

    /// Forgets clients whose windows have emptied, each by its own bucket's window, so memory
    /// follows active clients; when still too many, the longest idle go.
    fn sweep(&mut self, now: Instant) {
        let budgets = self.budgets;
        self.windows.retain(|(bucket, _), w| {
            w.back().is_some_and(|t| now.duration_since(*t) < budgets.of(*bucket).window)
        });
        if self.windows.len() >= LOCAL_CLIENTS_MAX {
            let mut last_seen: Vec<Instant> =
                self.windows.values().filter_map(|w| w.back().copied()).collect();
            let cut = last_seen.len() / 4;
            let (_, oldest_kept, _) = last_seen.select_nth_unstable(cut);
            let oldest_kept = *oldest_kept;
            self.windows.retain(|_, w| w.back().is_some_and(|t| *t >= oldest_kept));
        }
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

/// Paced budgets split over shards, each with its own lock, so that concurrent reads
/// rarely wait for one another. A client is known by a 64-bit hash of its key.
#[derive(Debug)]
struct PacedShards {
    hasher: RandomState,
    shards: Box<[Mutex<LocalPace>]>,
}

/// Shards of [`PacedShards`].
const PACE_SHARDS: usize = 16;

/// A shard forgets clients back at a full budget every this many checks.
const PACE_SWEEP_EVERY: u64 = 256;

impl Default for PacedShards {
    fn default() -> Self {
        Self { hasher: RandomState::new(), shards: (0..PACE_SHARDS).map(|_| Mutex::default()).collect() }
    }
}

impl PacedShards {
    /// [`LocalPace::check`] in the client's shard.
    fn check(&self, bucket: Bucket, client: &str, limit: Limit, now: Instant) -> Option<Duration> {
        let key = self.hasher.hash_one((bucket, client));
        let shard = &self.shards[usize::try_from(key % PACE_SHARDS as u64).unwrap_or(0)];
        shard.lock().unwrap_or_else(PoisonError::into_inner).check(
            key,
            limit,
            now,
            LOCAL_CLIENTS_MAX / PACE_SHARDS,
        )
    }
}

/// Budgets kept by pace in this process (GCRA): per client (by the hash of its bucket and
/// key), the theoretical time its next attempt is due. `attempts` may come at once; after
/// that one every `window / attempts`.
#[derive(Debug, Default)]
struct LocalPace {
    due: HashMap<u64, Instant>,
    checks: u64,
}

impl LocalPace {
    /// `None` when allowed (and recorded), else how long until the next attempt would be;
    /// remembers at most `clients_max` clients.
    fn check(&mut self, client: u64, limit: Limit, now: Instant, clients_max: usize) -> Option<Duration> {
        self.checks += 1;
        // Sweeping often keeps the map small (clients who come once are gone within a
        // sweep or two) and so quick to reach.
        if self.checks.is_multiple_of(PACE_SWEEP_EVERY) || self.due.len() >= clients_max {
            // A client whose due time has passed is back to a full budget: nothing to keep.
            self.due.retain(|_, due| *due > now);
            if self.due.len() >= clients_max {
                // The clients nearest their full budget lose the least by being forgotten.
                let mut dues: Vec<Instant> = self.due.values().copied().collect();
                let cut = dues.len() / 4;
                let kept_from = *dues.select_nth_unstable(cut).1;
                self.due.retain(|_, due| *due >= kept_from);
            }
        }
        let interval = limit.window / limit.attempts.max(1);
        let due = self.due.entry(client).or_insert(now);
        let start = (*due).max(now);
        // Up to `window - interval` ahead of now is the burst allowance.
        let ahead = start.duration_since(now);
        let allowance = limit.window.saturating_sub(interval);
        if ahead > allowance {
            return Some(ahead - allowance);
        }
        *due = start + interval;
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn budgets(limit: Limit) -> Budgets {
        Budgets {
            pages: limit,
            slug_checks: limit,
            edits: limit,
            page_edits: limit,
            job_polls: limit,
            reads: limit,
            answers: limit,
            photos: limit,
            pin_guesses: limit,
            page_pin_guesses: limit,
            page_pin_guesses_monthly: limit,
            reports: limit,
            admin: limit,
            admin_failures: limit,
        }
    }

    #[test]
    fn the_local_window_allows_exactly_the_limit_and_refusals_cost_nothing() {
        let mut local = LocalWindows::new(budgets(Limit::per_minute(3)));
        let now = Instant::now();
        let results: Vec<_> = (0..6).map(|_| local.check(Bucket::Pages, "c", now).is_none()).collect();
        assert_eq!(results, [true, true, true, false, false, false]);
        assert_eq!(local.windows[&(Bucket::Pages, "c".to_owned())].len(), 3);
        // Another client and another bucket have their own windows.
        assert!(local.check(Bucket::Pages, "d", now).is_none());
        assert!(local.check(Bucket::SlugChecks, "c", now).is_none());
    }

    #[test]
    fn a_refunded_local_attempt_frees_its_slot() {
        let mut local = LocalWindows::new(budgets(Limit::per_minute(1)));
        let now = Instant::now();
        assert!(local.check(Bucket::Pages, "c", now).is_none());
        assert!(local.check(Bucket::Pages, "c", now).is_some());
        local.refund(Bucket::Pages, "c", now);
        assert!(local.check(Bucket::Pages, "c", now).is_none());
    }

    #[test]
    fn the_local_window_slides() {
        let mut local = LocalWindows::new(budgets(Limit { attempts: 1, window: Duration::from_secs(30) }));
        let start = Instant::now();
        assert!(local.check(Bucket::Pages, "c", start).is_none());
        let later = start + Duration::from_secs(10);
        assert_eq!(local.check(Bucket::Pages, "c", later), Some(Duration::from_secs(20)));
        assert!(local.check(Bucket::Pages, "c", start + Duration::from_secs(30)).is_none());
    }

    #[test]
    fn a_sweep_keeps_each_bucket_by_its_own_window() {
        // Creates by the hour, slug checks by the minute: sweeping a minute later must not
        // forget the creates (it once swept everything with the calling bucket's window).
        let mut local = LocalWindows::new(Budgets {
            pages: Limit::per_hour(1),
            slug_checks: Limit::per_minute(10),
            ..Budgets::default()
        });
        let start = Instant::now();
        assert!(local.check(Bucket::Pages, "c", start).is_none());
        assert!(local.check(Bucket::SlugChecks, "c", start).is_none());
        let later = start + Duration::from_secs(61);
        local.sweep(later);
        assert!(!local.windows.contains_key(&(Bucket::SlugChecks, "c".to_owned())));
        assert_eq!(local.check(Bucket::Pages, "c", later), Some(Duration::from_secs(3600 - 61)));
    }

    #[test]
    fn local_windows_stay_bounded_and_forget_the_longest_idle_first() {
        let mut local = LocalWindows::new(budgets(Limit::per_hour(5)));
        let start = Instant::now();
        for i in 0..LOCAL_CLIENTS_MAX {
            let at = start + Duration::from_millis(i as u64);
            assert!(local.check(Bucket::Pages, &i.to_string(), at).is_none());
        }
        let now = start + Duration::from_secs(200);
        assert!(local.check(Bucket::Pages, "newcomer", now).is_none());
        assert!(local.windows.len() < LOCAL_CLIENTS_MAX, "{}", local.windows.len());
        assert!(!local.windows.contains_key(&(Bucket::Pages, "0".to_owned())));
        assert!(local.windows.contains_key(&(Bucket::Pages, (LOCAL_CLIENTS_MAX - 1).to_string())));
    }

    #[test]
    fn a_paced_budget_allows_a_burst_of_the_limit_then_one_per_interval() {
        let pace = PacedShards::default();
        let limit = Limit::per_minute(6); // one every 10 s
        let start = Instant::now();
        let burst: Vec<_> = (0..8).map(|_| pace.check(Bucket::Reads, "c", limit, start).is_none()).collect();
        assert_eq!(burst, [true, true, true, true, true, true, false, false]);
        assert_eq!(pace.check(Bucket::Reads, "c", limit, start), Some(Duration::from_secs(10)));
        // Other clients and buckets are untouched.
        assert!(pace.check(Bucket::Reads, "d", limit, start).is_none());
        assert!(pace.check(Bucket::JobPolls, "c", limit, start).is_none());
        // Ten seconds on, exactly one more.
        let later = start + Duration::from_secs(10);
        assert!(pace.check(Bucket::Reads, "c", limit, later).is_none());
        assert!(pace.check(Bucket::Reads, "c", limit, later).is_some());
        // Idle for a minute: the whole burst again.
        let idle = later + Duration::from_secs(60);
        assert!((0..6).all(|_| pace.check(Bucket::Reads, "c", limit, idle).is_none()));
    }

    #[test]
    fn a_pace_remembers_at_most_its_share_of_clients_the_most_indebted_first() {
        let mut pace = LocalPace::default();
        let limit = Limit::per_minute(1);
        let start = Instant::now();
        for client in 0..250u64 {
            assert!(pace.check(client, limit, start + Duration::from_millis(client), 100).is_none());
            assert!(pace.due.len() <= 100, "{}", pace.due.len());
        }
        // The latest clients, furthest from a full budget, are still held to it.
        let now = start + Duration::from_millis(250);
        assert!(pace.check(249, limit, now, 100).is_some());
    }
}
