//! What `valentine api` needs to know. Built by the `valentine` binary from environment
//! variables (`.env.example` lists them); tests build it directly with random ports and paths.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use ipnet::IpNet;
use secrecy::SecretString;
use valentine_eventstore::{NatsSettings, Password, StreamConfig};
use valentine_projections::ReadModelSettings;

use crate::admin_tokens::AdminTokens;

/// Settings of the HTTP API.
#[derive(Debug, Clone)]
pub struct ApiConfig {
    /// `NATS_URL`: where the event store is.
    pub nats: NatsSettings,
    /// The event stream (`NATS_REPLICAS`).
    pub events: StreamConfig,
    /// The view tally stream (`NATS_REPLICAS`).
    pub tallies: StreamConfig,
    /// The read model it answers from, and what its id names (`DATABASE_PATH`,
    /// `READ_MODEL_ID`).
    pub read_model: ReadModelSettings,
    /// `REDIS_URL`: the cache and shared rate limits; `None` goes without.
    pub redis_url: Option<String>,
    /// `REDIS_CLUSTER`: whether `redis_url` names nodes of a Redis Cluster (comma separated)
    /// instead of one server.
    pub redis_cluster: bool,
    /// `REDIS_PASSWORD`: what Redis requires, if anything.
    pub redis_password: Option<Password>,
    /// `PAGE_CACHE`: whether page answers are kept in Redis (when there is one); off by
    /// default, since a point lookup in the read model costs less than a round trip to Redis.
    pub page_cache: bool,
    /// `BIND_ADDR`: where to listen; port 0 picks a free one.
    pub bind_addr: SocketAddr,
    /// `ALLOWED_ORIGINS`: browser origins allowed to call the API (CORS); empty allows none.
    pub allowed_origins: Vec<String>,
    /// `FRONTEND_DOMAIN`: the public base URL pages are shared at, e.g. `https://valentine.example`.
    pub frontend_domain: String,
    /// `RATE_LIMIT_PAGES_PER_HOUR`: page creations per client per hour; 0 turns the limit off.
    pub pages_per_hour: u32,
    /// `RATE_LIMIT_SLUG_CHECKS_PER_MINUTE`: slug checks and suggestions per client per minute;
    /// 0 turns the limit off.
    pub slug_checks_per_minute: u32,
    /// `RATE_LIMIT_EDITS_PER_MINUTE`: updates and deletions per client per minute, whatever
    /// their token; 0 turns the limit off.
    pub edits_per_minute: u32,
    /// `RATE_LIMIT_PAGE_EDITS_PER_HOUR`: changes recorded on one page per hour, by its author;
    /// 0 turns the limit off.
    pub page_edits_per_hour: u32,
    /// `RATE_LIMIT_JOB_POLLS_PER_MINUTE`: job status polls per client per minute, per API
    /// process; 0 turns the limit off.
    pub job_polls_per_minute: u32,
    /// `RATE_LIMIT_READS_PER_MINUTE`: page and history reads per client per minute, per API
    /// process; 0 turns the limit off.
    pub reads_per_minute: u32,
    /// `RATE_LIMIT_ANSWERS_PER_MINUTE`: replies (and unsubscribes) per client per minute; 0
    /// turns the limit off.
    pub answers_per_minute: u32,
    /// `RATE_LIMIT_PHOTOS_PER_HOUR`: photo uploads per client per hour; 0 turns the limit off.
    pub photos_per_hour: u32,
    /// `RATE_LIMIT_PIN_GUESSES_PER_HOUR`: wrong PIN guesses per client per hour, at any pages.
    pub pin_guesses_per_hour: u32,
    /// `RATE_LIMIT_PAGE_PIN_GUESSES_PER_HOUR`: wrong guesses at one page's PIN per hour, from
    /// anyone.
    pub page_pin_guesses_per_hour: u32,
    /// `RATE_LIMIT_PAGE_PIN_GUESSES_PER_MONTH`: wrong guesses at one page's PIN per 30 days,
    /// from anyone (a new PIN starts afresh).
    pub page_pin_guesses_per_month: u32,
    /// `RATE_LIMIT_REPORTS_PER_HOUR`: reports of pages per client per hour; 0 turns the limit
    /// off.
    pub reports_per_hour: u32,
    /// `ADMIN_TOKEN_HASH`: the admins and the SHA-256 of their tokens; empty turns the console
    /// off.
    pub admin_tokens: AdminTokens,
    /// `RATE_LIMIT_ADMIN_PER_MINUTE`: console requests per admin per minute.
    pub admin_per_minute: u32,
    /// `RATE_LIMIT_ADMIN_FAILURES_PER_HOUR`: console requests with a missing or wrong token
    /// per client per hour.
    pub admin_failures_per_hour: u32,
    /// `MAX_INSIGHT_STREAMS`: live insight streams one API process serves at once.
    pub max_insight_streams: usize,
    /// `MAX_EVENTS_PER_PAGE`: the most events one page's life may hold; updates beyond it are
    /// refused with `409`.
    pub max_events_per_page: u32,
    /// `SYNC_WAIT_MS`: how long a create waits for its page to be projected before answering
    /// `202` with a job id instead of `201`.
    pub sync_wait: Duration,
    /// `IDEMPOTENCY_WINDOW_HOURS`: how long after a keyed create a retry with the same key
    /// and body is answered as the first attempt was, edit token included; later it is a
    /// `409` without the token.
    pub idempotency_window: Duration,
    /// `TRUSTED_PROXIES`: addresses or CIDR ranges whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<IpNet>,
    /// `CLIENT_IPV6_PREFIX`: how many leading bits of an IPv6 address identify one client for
    /// rate limits (64: one subscriber's network; 128: every address on its own).
    pub ipv6_prefix: u8,
    /// `IP_HASH_SECRET`: the server secret client addresses are hashed with (and idempotent
    /// creates derive their ids from). `None` draws a random one per process, which is fine
    /// for one instance; several instances must share one.
    pub ip_hash_secret: Option<SecretString>,
    /// `WEB_DIST`: the built web app to serve for every path outside the API, if set.
    pub web_dist: Option<PathBuf>,
    /// `MAX_BODY_BYTES`: the largest request body accepted.
    pub max_body_bytes: usize,
    /// `READ_CONNECTIONS`: read-only SQLite connections in the pool.
    pub read_connections: u32,
    /// `HEADER_READ_TIMEOUT_SECS`: how long a request head may take to arrive, counted from
    /// the connection's start or from the first byte of a later request; the connection is
    /// closed when it takes longer.
    pub header_read_timeout: Duration,
    /// `IDLE_TIMEOUT_SECS`: how long a kept-alive connection may wait for its next request.
    pub idle_timeout: Duration,
    /// `MAX_CONNECTIONS`: connections served at once; more wait to be accepted until one
    /// closes.
    pub max_connections: usize,
}

impl Default for ApiConfig {
    fn default() -> Self {
        Self {
            nats: NatsSettings::default(),
            events: StreamConfig::default(),
            tallies: StreamConfig::tallies(),
            read_model: ReadModelSettings::default(),
            redis_url: Some("redis://127.0.0.1:6379".to_owned()),
            redis_cluster: false,
            redis_password: None,
            page_cache: false,
            bind_addr: SocketAddr::from(([127, 0, 0, 1], 8000)),
            allowed_origins: vec!["http://localhost:5173".to_owned(), "http://127.0.0.1:5173".to_owned()],
            frontend_domain: "http://localhost:8000".to_owned(),
            pages_per_hour: 10,
            slug_checks_per_minute: 60,
            edits_per_minute: 30,
            page_edits_per_hour: 120,
            job_polls_per_minute: 120,
            reads_per_minute: 1200,
            answers_per_minute: 10,
            photos_per_hour: 30,
            pin_guesses_per_hour: 30,
            page_pin_guesses_per_hour: 10,
            page_pin_guesses_per_month: 100,
            reports_per_hour: 10,
            admin_tokens: AdminTokens::default(),
            admin_per_minute: 600,
            admin_failures_per_hour: 20,
            max_insight_streams: 1000,
            max_events_per_page: 1000,
            sync_wait: Duration::from_millis(2000),
            idempotency_window: Duration::from_secs(24 * 3600),
            trusted_proxies: Vec::new(),
            ipv6_prefix: 64,
            ip_hash_secret: None,
            web_dist: None,
            max_body_bytes: 64 * 1024,
            read_connections: 8,
            header_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(15),
            max_connections: 512,
        }
    }
}

impl ApiConfig {
    /// The public URL of a page.
    pub fn page_url(&self, slug: &str) -> String {
        format!("{}/{slug}", self.frontend_domain.trim_end_matches('/'))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_secret_never_prints() {
        let config =
            ApiConfig { ip_hash_secret: Some(SecretString::from("hunter2-secret")), ..ApiConfig::default() };
        let printed = format!("{config:?} {config:#?}");
        assert!(!printed.contains("hunter2"), "{printed}");
        assert!(printed.contains("ip_hash_secret"));
    }
}
