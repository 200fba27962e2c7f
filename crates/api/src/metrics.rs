//! Prometheus metrics of one API process, served at `/metrics`.
//!
//! A leaf: callers pass plain labels, so nothing here knows the modules it measures.

use std::sync::Arc;
use std::time::Duration;

use axum::http::Method;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: &'static str,
    route: String,
    status: u16,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CommandLabels {
    command: &'static str,
    outcome: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CacheLabels {
    cache: &'static str,
    result: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BucketLabels {
    bucket: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TimeoutLabels {
    timeout: &'static str,
}

type HistogramFamily<L> = Family<L, Histogram, fn() -> Histogram>;

fn latency_histogram() -> Histogram {
    // 250 µs to about 8 s.
    Histogram::new(exponential_buckets(0.000_25, 2.0, 16))
}

/// Every metric, cheap to clone.
#[derive(Debug, Clone)]
pub(crate) struct Metrics {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    registry: Registry,
    requests: HistogramFamily<RequestLabels>,
    commands: Family<CommandLabels, Counter>,
    conflicts: Counter,
    store_refusals: Counter,
    cache: Family<CacheLabels, Counter>,
    rate_limited: Family<BucketLabels, Counter>,
    redis_failures: Counter,
    redis_up: Gauge,
    views: Counter,
    first_opens: Family<OutcomeLabels, Counter>,
    tallies: Counter,
    tallies_waiting: Gauge,
    lag: Gauge,
    connections_open: Gauge,
    connection_timeouts: Family<TimeoutLabels, Counter>,
    store_bytes: Gauge,
    store_messages: Gauge,
    store_quota: Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// A fresh registry with every metric registered.
    pub(crate) fn new() -> Self {
        let mut registry = Registry::with_prefix("valentine");
        let requests = HistogramFamily::<RequestLabels>::new_with_constructor(latency_histogram);
        registry.register(
            "http_request_duration_seconds",
            "HTTP request latency by method, route and status",
            requests.clone(),
        );
        let commands = Family::<CommandLabels, Counter>::default();
        registry.register("commands", "Page commands handled, by command and outcome", commands.clone());
        let conflicts = Counter::default();
        registry.register(
            "command_conflicts",
            "Appends that lost an optimistic-concurrency race and were retried",
            conflicts.clone(),
        );
        let store_refusals = Counter::default();
        registry.register(
            "event_store_refusals",
            "Appends the event store refused (full, or over a limit), answered 503",
            store_refusals.clone(),
        );
        let cache = Family::<CacheLabels, Counter>::default();
        registry.register(
            "cache_requests",
            "Cache lookups by cache and result (hit, miss, bypass)",
            cache.clone(),
        );
        let rate_limited = Family::<BucketLabels, Counter>::default();
        registry.register("rate_limit_rejections", "Requests refused by a rate limit", rate_limited.clone());
        let redis_failures = Counter::default();
        registry.register("redis_failures", "Redis calls that failed or timed out", redis_failures.clone());
        let redis_up = Gauge::default();
        registry.register(
            "redis_up",
            "1 while Redis answers (or none is configured), 0 while this process goes without it",
            redis_up.clone(),
        );
        let views = Counter::default();
        registry.register("page_views", "Page views counted", views.clone());
        let first_opens = Family::<OutcomeLabels, Counter>::default();
        registry.register(
            "first_opens",
            "Reads of pages nobody had opened yet, by what became of them: recorded (the first open), \
             author (the author's own read), already (opened meanwhile), gone, failed",
            first_opens.clone(),
        );
        let tallies = Counter::default();
        registry.register(
            "view_tallies_published",
            "View tallies published to the VIEWS stream",
            tallies.clone(),
        );
        let tallies_waiting = Gauge::default();
        registry.register(
            "view_tallies_waiting",
            "View tallies not yet stored in the VIEWS stream (NATS away), after the last flush",
            tallies_waiting.clone(),
        );
        let lag = Gauge::default();
        registry.register(
            "projection_lag_events",
            "Events not yet projected (pending plus unacknowledged), as of the last scrape",
            lag.clone(),
        );
        let connections_open = Gauge::default();
        registry.register("http_connections_open", "HTTP connections open now", connections_open.clone());
        let connection_timeouts = Family::<TimeoutLabels, Counter>::default();
        registry.register(
            "http_connection_timeouts",
            "HTTP connections closed for sending no request in time, by timeout (header_read, idle)",
            connection_timeouts.clone(),
        );
        let store_bytes = Gauge::default();
        registry.register(
            "event_store_bytes",
            "Bytes the EVENTS stream holds, as last looked up",
            store_bytes.clone(),
        );
        let store_messages = Gauge::default();
        registry.register(
            "event_store_messages",
            "Messages (events) the EVENTS stream holds, as last looked up",
            store_messages.clone(),
        );
        let store_quota = Gauge::default();
        registry.register(
            "event_store_quota_bytes",
            "The EVENTS stream's quota (EVENTS_MAX_BYTES); 0 when it has none",
            store_quota.clone(),
        );
        let inner = Inner {
            registry,
            requests,
            commands,
            conflicts,
            store_refusals,
            cache,
            rate_limited,
            redis_failures,
            redis_up,
            views,
            first_opens,
            tallies,
            tallies_waiting,
            lag,
            connections_open,
            connection_timeouts,
            store_bytes,
            store_messages,
            store_quota,
        };
        Self { inner: Arc::new(inner) }
    }

    /// Records one answered request; `route` is its pattern (never the raw path).
    pub(crate) fn request(&self, method: &Method, route: String, status: u16, took: Duration) {
        let method = match *method {
            Method::GET => "GET",
            Method::HEAD => "HEAD",
            Method::POST => "POST",
            Method::PATCH => "PATCH",
            Method::PUT => "PUT",
            Method::DELETE => "DELETE",
            Method::OPTIONS => "OPTIONS",
            _ => "OTHER",
        };
        let labels = RequestLabels { method, route, status };
        self.inner.requests.get_or_create(&labels).observe(took.as_secs_f64());
    }

    /// Records a handled command.
    pub(crate) fn command(&self, command: &'static str, outcome: &'static str) {
        self.inner.commands.get_or_create(&CommandLabels { command, outcome }).inc();
    }

    /// Records an optimistic-concurrency conflict.
    pub(crate) fn conflict(&self) {
        self.inner.conflicts.inc();
    }

    /// Records an append the event store refused.
    pub(crate) fn store_refusal(&self) {
        self.inner.store_refusals.inc();
    }

    /// Records a cache lookup in `cache` (`page`, `slug`) with its `result` (`hit`, `miss`,
    /// `bypass`).
    pub(crate) fn cache(&self, cache: &'static str, result: &'static str) {
        self.inner.cache.get_or_create(&CacheLabels { cache, result }).inc();
    }

    /// Records a refusal by the rate limit of `bucket`.
    pub(crate) fn rate_limited(&self, bucket: &'static str) {
        self.inner.rate_limited.get_or_create(&BucketLabels { bucket }).inc();
    }

    /// Records a failed Redis call.
    pub(crate) fn redis_failure(&self) {
        self.inner.redis_failures.inc();
    }

    /// Records a counted view.
    /// Counts what became of a read of a page nobody had opened yet.
    pub(crate) fn first_open(&self, outcome: &'static str) {
        self.inner.first_opens.get_or_create(&OutcomeLabels { outcome }).inc();
    }

    /// Counts one page view.
    pub(crate) fn view(&self) {
        self.inner.views.inc();
    }

    /// Sets how many tallies wait to be stored.
    pub(crate) fn set_tallies_waiting(&self, n: usize) {
        self.inner.tallies_waiting.set(i64::try_from(n).unwrap_or(i64::MAX));
    }

    /// Records published tallies.
    pub(crate) fn tallies(&self, n: u64) {
        self.inner.tallies.inc_by(n);
    }

    /// Sets whether Redis answers.
    pub(crate) fn set_redis_up(&self, up: bool) {
        self.inner.redis_up.set(i64::from(up));
    }

    /// Sets the projection lag.
    pub(crate) fn set_lag(&self, events: u64) {
        self.inner.lag.set(i64::try_from(events).unwrap_or(i64::MAX));
    }

    /// Sets what the event store holds and its quota (0: none).
    pub(crate) fn set_store_usage(&self, bytes: u64, messages: u64, quota: u64) {
        let gauge = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
        self.inner.store_bytes.set(gauge(bytes));
        self.inner.store_messages.set(gauge(messages));
        self.inner.store_quota.set(gauge(quota));
    }

    /// Records an accepted connection.
    pub(crate) fn connection_opened(&self) {
        self.inner.connections_open.inc();
    }

    /// Records a closed connection.
    pub(crate) fn connection_closed(&self) {
        self.inner.connections_open.dec();
    }

    /// Records a connection closed for missing its `timeout` (`header_read`, `idle`).
    pub(crate) fn connection_timed_out(&self, timeout: &'static str) {
        self.inner.connection_timeouts.get_or_create(&TimeoutLabels { timeout }).inc();
    }

    /// The text exposition format.
    pub(crate) fn render(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = encode(&mut out, &self.inner.registry);
        out
    }
}
