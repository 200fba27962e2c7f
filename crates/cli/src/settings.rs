//! The binary's configuration: environment variables (each also a flag), with defaults that
//! work on a developer machine. `.env.example` lists them all and `valentine <command>
//! --help` shows them with their defaults. A setting that is set but unusable stops the
//! binary at start with its name and exit code 2.
//!
//! An empty variable counts as unset where a setting is optional (`REDIS_URL=` turns the
//! cache off; `NATS_REPLICAS=` keeps what the streams have).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use clap::Args;
use ipnet::IpNet;
use secrecy::SecretString;
use valentine_api::{AdminTokens, ApiConfig};
use valentine_eventstore::{NatsSettings, NatsTls, Password, StreamConfig};
use valentine_notifier::NotifierConfig;
use valentine_projections::{ReadModelId, ReadModelSettings};
use valentine_projector::ReadSideConfig;

/// How log lines look.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line, for log collectors.
    Json,
}

/// A value that may be absent: an empty variable is `None`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Optional<T>(pub Option<T>);

/// Every setting of the binary.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Settings (environment variables, or these flags)")]
pub struct Settings {
    /// Log lines: text or json. Verbosity comes from RUST_LOG.
    #[arg(long, env = "LOG_FORMAT", default_value = "text", value_parser = log_format)]
    pub log_format: LogFormat,
    /// NATS server with JetStream (2.12 or later); for a cluster, its nodes comma separated.
    /// No credentials here: NATS_USER and NATS_PASSWORD. `tls://` URLs require TLS.
    #[arg(long, env = "NATS_URL", default_value = "nats://127.0.0.1:4222", value_parser = nats)]
    pub nats_url: NatsSettings,
    /// The user to connect to NATS as, when the server requires one; empty connects without.
    #[arg(long, env = "NATS_USER", default_value = "", hide_default_value = true, value_parser = text)]
    pub nats_user: Optional<String>,
    /// The password of NATS_USER.
    #[arg(long, env = "NATS_PASSWORD", default_value = "", hide_default_value = true, hide_env_values = true, value_parser = password)]
    pub nats_password: Optional<Password>,
    /// The certificate authority (a PEM file) that signed the NATS servers' certificates,
    /// trusted instead of the system's; setting it requires TLS. Empty: none.
    #[arg(long, env = "NATS_TLS_CA", default_value = "", hide_default_value = true, value_parser = optional::<PathBuf>)]
    pub nats_tls_ca: Optional<PathBuf>,
    /// This client's certificate (PEM), for NATS servers that verify clients (mutual TLS);
    /// with NATS_TLS_KEY. Empty: none.
    #[arg(long, env = "NATS_TLS_CERT", default_value = "", hide_default_value = true, value_parser = optional::<PathBuf>)]
    pub nats_tls_cert: Optional<PathBuf>,
    /// The private key of NATS_TLS_CERT (a PEM file). Empty: none.
    #[arg(long, env = "NATS_TLS_KEY", default_value = "", hide_default_value = true, value_parser = optional::<PathBuf>)]
    pub nats_tls_key: Optional<PathBuf>,
    /// Redis for the cache and shared rate limits; empty disables caching and cache
    /// invalidation. For a Redis Cluster (REDIS_CLUSTER=true), one or more of its nodes,
    /// comma separated. No password here: REDIS_PASSWORD.
    #[arg(long, env = "REDIS_URL", default_value = "redis://127.0.0.1:6379", value_parser = text)]
    pub redis_url: Optional<String>,
    /// Whether REDIS_URL names nodes of a Redis Cluster (true) or one Redis server (false).
    #[arg(long, env = "REDIS_CLUSTER", default_value = "false", value_parser = yes_or_no, action = clap::ArgAction::Set)]
    pub redis_cluster: bool,
    /// Whether the API keeps page answers in Redis (true) or reads every page from its read
    /// model (false, measured the faster: docs/performance.md); rate limits stay in Redis
    /// either way.
    #[arg(long, env = "PAGE_CACHE", default_value = "false", value_parser = yes_or_no, action = clap::ArgAction::Set)]
    pub page_cache: bool,
    /// The password Redis requires (its `requirepass`), if any.
    #[arg(long, env = "REDIS_PASSWORD", default_value = "", hide_default_value = true, hide_env_values = true, value_parser = password)]
    pub redis_password: Optional<Password>,
    /// The read model: a link to its current generation under <DATABASE_PATH>.generations/.
    #[arg(long, env = "DATABASE_PATH", default_value = "data/valentine.db")]
    pub database_path: PathBuf,
    /// Replicas of the EVENTS and VIEWS streams (3 on a three-node cluster); empty keeps what
    /// the streams have (1 when created).
    #[arg(long, env = "NATS_REPLICAS", default_value = "", hide_default_value = true, value_parser = optional::<usize>)]
    pub nats_replicas: Optional<usize>,
    /// The EVENTS stream's quota, e.g. 16GiB (KB, MB, GB, TB count by 1000; KiB, MiB, GiB,
    /// TiB by 1024); empty keeps what the stream has (none when created: the server's
    /// max_file_store bounds it). It must fit in max_file_store, as JetStream reserves it.
    /// Past 95 % of it, creates and updates answer 503; deletions go on.
    #[arg(long, env = "EVENTS_MAX_BYTES", default_value = "", hide_default_value = true, value_parser = byte_size)]
    pub events_max_bytes: Optional<u64>,
    /// Days the VIEWS stream keeps a view tally; 0 keeps them forever. Older tallies are
    /// needed by no rebuild: every page's count is checkpointed (VIEWS_CHECKPOINT_SECS).
    #[arg(long, env = "VIEWS_MAX_AGE_DAYS", default_value = "30", value_parser = parsed::<u64>)]
    pub views_max_age_days: u64,
    /// How often projectors checkpoint the view counts that changed (they take turns).
    #[arg(long, env = "VIEWS_CHECKPOINT_SECS", default_value = "60", value_parser = at_least_one::<u64>)]
    pub views_checkpoint_secs: u64,
    /// Most events a projector applies in one transaction.
    #[arg(long, env = "PROJECTOR_BATCH_SIZE", default_value = "512", value_parser = at_least_one::<usize>)]
    pub projector_batch_size: usize,
    /// How many times an event message is offered to projectors before one that still
    /// cannot apply it (unreadable, or its predecessor never came) parks it for an operator:
    /// `valentine parked`.
    #[arg(long, env = "PROJECTOR_MAX_DELIVERIES", default_value = "8", value_parser = at_least_one::<u64>)]
    pub projector_max_deliveries: u64,
    /// Seconds work may wait on a projector's feed while it commits nothing before it reports
    /// itself stuck (GET /ready answers 503, valentine_projector_stuck is 1).
    #[arg(long, env = "PROJECTOR_STUCK_AFTER_SECS", default_value = "60", value_parser = at_least_one::<u64>)]
    pub projector_stuck_after_secs: u64,
    /// The name of this node's read model: it names the projectors' durable consumers
    /// (projector-<id>, projector-<id>-views), their position announcements and the cache
    /// keys. Nodes sharing NATS and Redis each need their own; 1 to 32 lowercase letters,
    /// digits and hyphens.
    #[arg(long, env = "READ_MODEL_ID", default_value = "main", value_parser = parsed::<ReadModelId>)]
    pub read_model_id: ReadModelId,
    /// Where `valentine projector` serves GET /health and GET /ready, e.g. 127.0.0.1:9100;
    /// empty serves nothing.
    #[arg(long, env = "PROJECTOR_HEALTH_ADDR", default_value = "", hide_default_value = true, value_parser = optional::<SocketAddr>)]
    pub projector_health_addr: Optional<SocketAddr>,
    /// Where `valentine notifier` serves GET /health and GET /ready, e.g. 127.0.0.1:9200;
    /// empty serves nothing.
    #[arg(long, env = "NOTIFIER_HEALTH_ADDR", default_value = "", hide_default_value = true, value_parser = optional::<SocketAddr>)]
    pub notifier_health_addr: Optional<SocketAddr>,
    /// Where the API listens.
    #[arg(long, env = "BIND_ADDR", default_value = "127.0.0.1:8000")]
    pub bind_addr: SocketAddr,
    /// Browser origins allowed to call the API (CORS), comma separated.
    #[arg(long, env = "ALLOWED_ORIGINS", default_value = "http://localhost:5173,http://127.0.0.1:5173", value_parser = list)]
    pub allowed_origins: List,
    /// Public base URL of shared pages: answers carry <FRONTEND_DOMAIN>/<slug>.
    #[arg(long, env = "FRONTEND_DOMAIN", default_value = "http://localhost:8000", value_parser = base_url)]
    pub frontend_domain: String,
    /// Page creations per client per hour; 0 turns the limit off.
    #[arg(long, env = "RATE_LIMIT_PAGES_PER_HOUR", default_value = "10", value_parser = parsed::<u32>)]
    pub rate_limit_pages_per_hour: u32,
    /// Slug checks and suggestions per client per minute; 0 turns the limit off.
    #[arg(long, env = "RATE_LIMIT_SLUG_CHECKS_PER_MINUTE", default_value = "60", value_parser = parsed::<u32>)]
    pub rate_limit_slug_checks_per_minute: u32,
    /// Updates and deletions per client per minute, whatever their token; 0 turns the limit
    /// off.
    #[arg(long, env = "RATE_LIMIT_EDITS_PER_MINUTE", default_value = "30", value_parser = parsed::<u32>)]
    pub rate_limit_edits_per_minute: u32,
    /// Changes recorded on one page per hour; 0 turns the limit off.
    #[arg(long, env = "RATE_LIMIT_PAGE_EDITS_PER_HOUR", default_value = "120", value_parser = parsed::<u32>)]
    pub rate_limit_page_edits_per_hour: u32,
    /// Job status polls per client per minute, in each API process; 0 turns the limit off.
    #[arg(long, env = "RATE_LIMIT_JOB_POLLS_PER_MINUTE", default_value = "120", value_parser = parsed::<u32>)]
    pub rate_limit_job_polls_per_minute: u32,
    /// Page and history reads per client per minute, in each API process; 0 turns the limit
    /// off.
    #[arg(long, env = "RATE_LIMIT_READS_PER_MINUTE", default_value = "1200", value_parser = parsed::<u32>)]
    pub rate_limit_reads_per_minute: u32,
    /// Replies to pages (and unsubscribes) per client per minute; 0 turns the limit off.
    #[arg(long, env = "RATE_LIMIT_ANSWERS_PER_MINUTE", default_value = "10", value_parser = parsed::<u32>)]
    pub rate_limit_answers_per_minute: u32,
    /// Photo uploads per client per hour; 0 turns the limit off.
    #[arg(long, env = "RATE_LIMIT_PHOTOS_PER_HOUR", default_value = "30", value_parser = parsed::<u32>)]
    pub rate_limit_photos_per_hour: u32,
    /// Wrong PIN guesses per client per hour, at any pages; 0 turns the limit off.
    #[arg(long, env = "RATE_LIMIT_PIN_GUESSES_PER_HOUR", default_value = "30", value_parser = parsed::<u32>)]
    pub rate_limit_pin_guesses_per_hour: u32,
    /// Wrong guesses at one page's PIN per hour, from anyone; 0 turns the limit off.
    #[arg(long, env = "RATE_LIMIT_PAGE_PIN_GUESSES_PER_HOUR", default_value = "10", value_parser = parsed::<u32>)]
    pub rate_limit_page_pin_guesses_per_hour: u32,
    /// Wrong guesses at one page's PIN per 30 days, from anyone (a new PIN starts afresh); 0
    /// turns the limit off.
    #[arg(long, env = "RATE_LIMIT_PAGE_PIN_GUESSES_PER_MONTH", default_value = "100", value_parser = parsed::<u32>)]
    pub rate_limit_page_pin_guesses_per_month: u32,
    /// Reports of pages per client per hour; 0 turns the limit off.
    #[arg(long, env = "RATE_LIMIT_REPORTS_PER_HOUR", default_value = "10", value_parser = parsed::<u32>)]
    pub rate_limit_reports_per_hour: u32,
    /// The admins of the console and the SHA-256 of their tokens: `name:hash` pairs, comma
    /// separated (`valentine admin-token --name <name>` makes one); empty turns the console off.
    #[arg(long, env = "ADMIN_TOKEN_HASH", default_value = "", hide_default_value = true, hide_env_values = true, value_parser = admin_tokens)]
    pub admin_token_hash: AdminTokens,
    /// Console requests per admin per minute; 0 turns the limit off.
    #[arg(long, env = "RATE_LIMIT_ADMIN_PER_MINUTE", default_value = "600", value_parser = parsed::<u32>)]
    pub rate_limit_admin_per_minute: u32,
    /// Console requests with a missing or wrong admin token per client per hour; 0 turns the
    /// limit off.
    #[arg(long, env = "RATE_LIMIT_ADMIN_FAILURES_PER_HOUR", default_value = "20", value_parser = parsed::<u32>)]
    pub rate_limit_admin_failures_per_hour: u32,
    /// Live insight streams (the author's editor) one API process serves at once.
    #[arg(long, env = "MAX_INSIGHT_STREAMS", default_value = "1000", value_parser = parsed::<usize>)]
    pub max_insight_streams: usize,
    /// The most events one page's life may hold; updates beyond it are refused (409).
    #[arg(long, env = "MAX_EVENTS_PER_PAGE", default_value = "1000", value_parser = parsed::<u32>)]
    pub max_events_per_page: u32,
    /// How long a create waits for its page to be projected before answering 202 with a job
    /// id, in milliseconds.
    #[arg(long, env = "SYNC_WAIT_MS", default_value = "2000", value_parser = parsed::<u64>)]
    pub sync_wait_ms: u64,
    /// How many hours after a create sent with an Idempotency-Key a retry with the same key
    /// and body still gets the first answer, edit token included (later: 409, no token).
    #[arg(long, env = "IDEMPOTENCY_WINDOW_HOURS", default_value = "24", value_parser = parsed::<u64>)]
    pub idempotency_window_hours: u64,
    /// Proxies whose X-Forwarded-For is believed: addresses or CIDR ranges, comma separated.
    #[arg(long, env = "TRUSTED_PROXIES", default_value = "", hide_default_value = true, value_parser = proxies)]
    pub trusted_proxies: Proxies,
    /// How many leading bits of an IPv6 address identify one client for rate limits (64:
    /// one subscriber's network; 128: every address on its own).
    #[arg(long, env = "CLIENT_IPV6_PREFIX", default_value = "64", value_parser = ipv6_prefix)]
    pub client_ipv6_prefix: u8,
    /// Secret for hashing client addresses and deriving idempotent creates. Empty: random per
    /// process, fine for one instance; every instance of a deployment must share one.
    #[arg(long, env = "IP_HASH_SECRET", default_value = "", hide_default_value = true, hide_env_values = true, value_parser = secret)]
    pub ip_hash_secret: Optional<SecretString>,
    /// The built web app to serve for paths outside the API; empty serves the API only.
    #[arg(long, env = "WEB_DIST", default_value = "", hide_default_value = true, value_parser = text)]
    pub web_dist: Optional<String>,
    /// Largest request body, in bytes (1024 or more).
    #[arg(long, env = "MAX_BODY_BYTES", default_value = "65536", value_parser = body_limit)]
    pub max_body_bytes: usize,
    /// Read-only SQLite connections per API process.
    #[arg(long, env = "READ_CONNECTIONS", default_value = "8", value_parser = parsed::<u32>)]
    pub read_connections: u32,
    /// Seconds a request head may take to arrive, from the connection's start or the first
    /// byte of a later request; slower connections are closed.
    #[arg(long, env = "HEADER_READ_TIMEOUT_SECS", default_value = "10", value_parser = at_least_one::<u64>)]
    pub header_read_timeout_secs: u64,
    /// Seconds a kept-alive connection may wait for its next request before it is closed.
    #[arg(long, env = "IDLE_TIMEOUT_SECS", default_value = "15", value_parser = at_least_one::<u64>)]
    pub idle_timeout_secs: u64,
    /// Connections the API serves at once; more wait to be accepted until one closes.
    #[arg(long, env = "MAX_CONNECTIONS", default_value = "512", value_parser = at_least_one::<usize>)]
    pub max_connections: usize,
    /// Where the notifier sends mail: smtp://host:port (plain, for a local relay),
    /// smtps://user:password@host:465, or smtp://user:password@host:587?tls=required. Empty:
    /// `valentine notifier` refuses to start.
    #[arg(long, env = "SMTP_URL", default_value = "", hide_default_value = true, hide_env_values = true, value_parser = secret)]
    pub smtp_url: Optional<SecretString>,
    /// The sender of the notifier's mails, e.g. "Valentine <hello@valentine.example>".
    #[arg(long, env = "MAIL_FROM", default_value = "Valentine <valentine@localhost>", value_parser = text)]
    pub mail_from: Optional<String>,
    /// Hours after which an open or a reply is no longer news: the notifier does not mail
    /// about older events (a notifier started late does not send stale news).
    #[arg(long, env = "NOTIFY_MAX_AGE_HOURS", default_value = "24", value_parser = at_least_one::<u64>)]
    pub notify_max_age_hours: u64,
}

/// A comma-separated list, blanks dropped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct List(pub Vec<String>);

/// Trusted proxies: addresses or CIDR ranges.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proxies(pub Vec<IpNet>);

fn log_format(value: &str) -> Result<LogFormat, String> {
    match value.trim() {
        "" | "text" | "pretty" => Ok(LogFormat::Text),
        "json" => Ok(LogFormat::Json),
        _ => Err("use text or json".to_owned()),
    }
}

// A value refused here is echoed in clap's message, so one that may hold credentials (an `@`)
// is refused by `Settings::check` instead, which never repeats it.
fn nats(value: &str) -> Result<NatsSettings, String> {
    let settings = NatsSettings::at(value);
    if !value.contains('@') {
        settings.check()?;
    }
    Ok(settings)
}

/// Whether a URL carries a user or password (`scheme://user:password@host`).
fn has_userinfo(url: &str) -> bool {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    rest.split('/').next().is_some_and(|authority| authority.contains('@'))
}

fn yes_or_no(value: &str) -> Result<bool, String> {
    match value.trim().to_ascii_lowercase().as_str() {
        "" | "false" | "no" | "0" => Ok(false),
        "true" | "yes" | "1" => Ok(true),
        _ => Err("use true or false".to_owned()),
    }
}

fn admin_tokens(value: &str) -> Result<AdminTokens, String> {
    AdminTokens::parse(value)
}

fn password(value: &str) -> Result<Optional<Password>, String> {
    Ok(Optional(Some(value).filter(|v| !v.is_empty()).map(Password::new)))
}

fn text(value: &str) -> Result<Optional<String>, String> {
    Ok(Optional(Some(value.trim().to_owned()).filter(|v| !v.is_empty())))
}

fn secret(value: &str) -> Result<Optional<SecretString>, String> {
    Ok(Optional(Some(value).filter(|v| !v.is_empty()).map(SecretString::from)))
}

fn optional<T: FromStr>(value: &str) -> Result<Optional<T>, String>
where
    T::Err: std::fmt::Display,
{
    match value.trim() {
        "" => Ok(Optional(None)),
        text => text.parse().map(|v| Optional(Some(v))).map_err(|e: T::Err| e.to_string()),
    }
}

/// A size in bytes: digits, then optionally a unit (B; KB, MB, GB, TB by 1000; KiB, MiB, GiB,
/// TiB by 1024), in any case; empty is none.
fn byte_size(value: &str) -> Result<Optional<u64>, String> {
    let text = value.trim();
    if text.is_empty() {
        return Ok(Optional(None));
    }
    let digits = text.bytes().take_while(u8::is_ascii_digit).count();
    let (number, unit) = text.split_at(digits);
    let number: u64 = number.parse().map_err(|_| format!("{text:?} is not a size such as 16GiB"))?;
    let scale: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "kb" => 1_000,
        "mb" => 1_000_000,
        "gb" => 1_000_000_000,
        "tb" => 1_000_000_000_000,
        "kib" => 1 << 10,
        "mib" => 1 << 20,
        "gib" => 1 << 30,
        "tib" => 1 << 40,
        other => return Err(format!("unknown unit {other:?}: B, KB, MB, GB, TB, KiB, MiB, GiB or TiB")),
    };
    match number.checked_mul(scale) {
        Some(0) => Err("must be more than 0 bytes (leave it empty for no quota)".to_owned()),
        Some(bytes) => Ok(Optional(Some(bytes))),
        None => Err(format!("{text:?} is too large")),
    }
}

fn parsed<T: FromStr>(value: &str) -> Result<T, String>
where
    T::Err: std::fmt::Display,
{
    value.trim().parse().map_err(|e: T::Err| e.to_string())
}

fn at_least_one<T: FromStr + PartialOrd + From<u8>>(value: &str) -> Result<T, String>
where
    T::Err: std::fmt::Display,
{
    match parsed::<T>(value)? {
        n if n < T::from(1) => Err("must be at least 1".to_owned()),
        n => Ok(n),
    }
}

fn body_limit(value: &str) -> Result<usize, String> {
    match parsed::<usize>(value)? {
        n if n < 1024 => Err("must be at least 1024".to_owned()),
        n => Ok(n),
    }
}

fn list(value: &str) -> Result<List, String> {
    Ok(List(value.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect()))
}

fn proxies(value: &str) -> Result<Proxies, String> {
    list(value)?
        .0
        .iter()
        .map(|item| {
            item.parse::<IpNet>()
                .or_else(|_| item.parse::<std::net::IpAddr>().map(IpNet::from))
                .map_err(|_| format!("{item}: use addresses or CIDR ranges, comma separated"))
        })
        .collect::<Result<_, _>>()
        .map(Proxies)
}

fn ipv6_prefix(value: &str) -> Result<u8, String> {
    match parsed::<u8>(value)? {
        bits @ 1..=128 => Ok(bits),
        _ => Err("use a prefix length from 1 to 128".to_owned()),
    }
}

fn base_url(value: &str) -> Result<String, String> {
    let url = value.trim();
    if url.starts_with("http://") || url.starts_with("https://") {
        Ok(url.to_owned())
    } else {
        Err("use a URL such as https://valentine.example".to_owned())
    }
}

impl Settings {
    /// Why the settings cannot be used together, if they cannot (each one alone was checked
    /// when it was parsed). Never includes a password.
    ///
    /// # Errors
    /// When a URL carries credentials (they go in NATS_USER, NATS_PASSWORD and
    /// REDIS_PASSWORD), NATS_USER is set without NATS_PASSWORD or the other way round, or a
    /// NATS TLS file is missing its pair or cannot be read.
    pub fn check(&self) -> Result<(), String> {
        let nats = self.nats();
        nats.tls.check()?;
        nats.check().map_err(|why| format!("NATS_URL: {why}"))?;
        let redis_urls: Vec<&str> = self
            .redis_url
            .0
            .iter()
            .flat_map(|urls| urls.split(','))
            .map(str::trim)
            .filter(|u| !u.is_empty())
            .collect();
        if redis_urls.iter().any(|url| has_userinfo(url)) {
            return Err("REDIS_URL: put the password in REDIS_PASSWORD, not in the URL".to_owned());
        }
        if redis_urls.len() > 1 && !self.redis_cluster {
            return Err(
                "REDIS_URL: several nodes name a Redis Cluster; set REDIS_CLUSTER=true (one server takes one URL)"
                    .to_owned(),
            );
        }
        // Tallies must outlive many checkpoint runs, or a stalled run loses views.
        if self.views_max_age_days > 0
            && self.views_checkpoint_secs.saturating_mul(100) > self.views_max_age_days * 86_400
        {
            return Err(
                "VIEWS_CHECKPOINT_SECS: checkpoint at least 100 times within VIEWS_MAX_AGE_DAYS".to_owned()
            );
        }
        Ok(())
    }

    /// Where NATS is, and who connects.
    fn nats(&self) -> NatsSettings {
        NatsSettings {
            user: self.nats_user.0.clone(),
            password: self.nats_password.0.clone(),
            tls: NatsTls {
                ca: self.nats_tls_ca.0.clone(),
                cert: self.nats_tls_cert.0.clone(),
                key: self.nats_tls_key.0.clone(),
            },
            ..self.nats_url.clone()
        }
    }

    /// The streams, with the replica count asked for.
    fn streams(&self) -> (StreamConfig, StreamConfig) {
        let replicas = self.nats_replicas.0;
        (
            StreamConfig { replicas, max_bytes: self.events_max_bytes.0, ..StreamConfig::events() },
            StreamConfig {
                replicas,
                max_age: Duration::from_secs(self.views_max_age_days.saturating_mul(86_400)),
                ..StreamConfig::tallies()
            },
        )
    }

    fn read_model(&self) -> ReadModelSettings {
        ReadModelSettings { database_path: self.database_path.clone(), id: self.read_model_id.clone() }
    }

    /// What projectors, rebuilds and the operator commands need.
    pub fn read_side(&self) -> ReadSideConfig {
        let (events, tallies) = self.streams();
        ReadSideConfig {
            nats: self.nats(),
            redis_url: self.redis_url.0.clone(),
            redis_cluster: self.redis_cluster,
            redis_password: self.redis_password.0.clone(),
            read_model: self.read_model(),
            batch_size: self.projector_batch_size,
            events,
            tallies,
            views_checkpoint_every: Duration::from_secs(self.views_checkpoint_secs),
            max_deliveries: self.projector_max_deliveries,
            stuck_after: Duration::from_secs(self.projector_stuck_after_secs),
            // Not a setting: how long a dead rebuild may hold live projection back.
            ..ReadSideConfig::default()
        }
    }

    /// What `valentine notifier` needs; `None` without `SMTP_URL`.
    pub fn notifier(&self) -> Option<NotifierConfig> {
        let (events, _) = self.streams();
        Some(NotifierConfig {
            nats: self.nats(),
            events,
            smtp_url: self.smtp_url.0.clone()?,
            mail_from: self.mail_from.0.clone().unwrap_or_else(|| NotifierConfig::default().mail_from),
            frontend_domain: self.frontend_domain.clone(),
            max_age: Duration::from_secs(self.notify_max_age_hours.saturating_mul(3600)),
            ..NotifierConfig::default()
        })
    }

    /// What `valentine api` needs.
    pub fn api(&self) -> ApiConfig {
        let (events, tallies) = self.streams();
        ApiConfig {
            nats: self.nats(),
            events,
            tallies,
            read_model: self.read_model(),
            redis_url: self.redis_url.0.clone(),
            redis_cluster: self.redis_cluster,
            redis_password: self.redis_password.0.clone(),
            page_cache: self.page_cache,
            bind_addr: self.bind_addr,
            allowed_origins: self.allowed_origins.0.clone(),
            frontend_domain: self.frontend_domain.clone(),
            pages_per_hour: self.rate_limit_pages_per_hour,
            slug_checks_per_minute: self.rate_limit_slug_checks_per_minute,
            edits_per_minute: self.rate_limit_edits_per_minute,
            page_edits_per_hour: self.rate_limit_page_edits_per_hour,
            job_polls_per_minute: self.rate_limit_job_polls_per_minute,
            reads_per_minute: self.rate_limit_reads_per_minute,
            answers_per_minute: self.rate_limit_answers_per_minute,
            photos_per_hour: self.rate_limit_photos_per_hour,
            pin_guesses_per_hour: self.rate_limit_pin_guesses_per_hour,
            page_pin_guesses_per_hour: self.rate_limit_page_pin_guesses_per_hour,
            page_pin_guesses_per_month: self.rate_limit_page_pin_guesses_per_month,
            reports_per_hour: self.rate_limit_reports_per_hour,
            admin_tokens: self.admin_token_hash.clone(),
            admin_per_minute: self.rate_limit_admin_per_minute,
            admin_failures_per_hour: self.rate_limit_admin_failures_per_hour,
            max_insight_streams: self.max_insight_streams.max(1),
            max_events_per_page: self.max_events_per_page,
            sync_wait: Duration::from_millis(self.sync_wait_ms),
            idempotency_window: Duration::from_secs(self.idempotency_window_hours.saturating_mul(3600)),
            trusted_proxies: self.trusted_proxies.0.clone(),
            ipv6_prefix: self.client_ipv6_prefix,
            ip_hash_secret: self.ip_hash_secret.0.clone(),
            web_dist: self.web_dist.0.clone().map(PathBuf::from),
            max_body_bytes: self.max_body_bytes,
            read_connections: self.read_connections.max(1),
            header_read_timeout: Duration::from_secs(self.header_read_timeout_secs),
            idle_timeout: Duration::from_secs(self.idle_timeout_secs),
            max_connections: self.max_connections,
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Debug, Parser)]
    struct Only {
        #[command(flatten)]
        settings: Settings,
    }

    fn parse(flags: &[&str]) -> Result<Settings, clap::Error> {
        Only::try_parse_from(std::iter::once("valentine").chain(flags.iter().copied())).map(|o| o.settings)
    }

    #[test]
    fn the_defaults_are_the_configs_defaults() {
        let settings = parse(&[]).expect("defaults parse");
        assert_eq!(settings.read_side(), ReadSideConfig::default());
        let api = settings.api();
        let defaults = ApiConfig::default();
        assert_eq!(format!("{api:?}"), format!("{defaults:?}"));
    }

    #[test]
    fn empty_optional_values_turn_their_feature_off() {
        let settings = parse(&["--redis-url", "", "--nats-replicas", "", "--projector-health-addr", ""])
            .expect("empty values parse");
        assert_eq!(settings.read_side().redis_url, None);
        assert_eq!(settings.read_side().events.replicas, None);
        assert_eq!(settings.projector_health_addr.0, None);
        let three = parse(&["--nats-replicas", "3"]).expect("parses").read_side();
        assert_eq!((three.events.replicas, three.tallies.replicas), (Some(3), Some(3)));
    }

    #[test]
    fn the_events_quota_is_a_size_with_a_unit_and_only_for_events() {
        assert_eq!(parse(&[]).expect("parses").read_side().events.max_bytes, None);
        for (text, bytes) in
            [("16GiB", 16 << 30), ("20 GB", 20_000_000_000), ("512kib", 512 << 10), ("4096", 4096)]
        {
            let side = parse(&["--events-max-bytes", text]).expect("parses").read_side();
            assert_eq!((side.events.max_bytes, side.tallies.max_bytes), (Some(bytes), None), "{text}");
        }
        for bad in ["0", "GiB", "16 parsecs", "99999999999TiB", "-1"] {
            assert!(parse(&["--events-max-bytes", bad]).is_err(), "{bad}");
        }
    }

    #[test]
    fn lists_are_trimmed_and_blanks_dropped() {
        let settings = parse(&[
            "--allowed-origins",
            " https://a.example, ,https://b.example ",
            "--trusted-proxies",
            "10.0.0.0/8, 192.0.2.1",
        ])
        .expect("parses");
        assert_eq!(settings.api().allowed_origins, ["https://a.example", "https://b.example"]);
        assert_eq!(settings.api().trusted_proxies.len(), 2);
    }

    #[test]
    fn the_secrets_never_print() {
        let settings = parse(&[
            "--ip-hash-secret",
            "hunter2-secret",
            "--nats-user",
            "api",
            "--nats-password",
            "hunter2-nats",
            "--redis-password",
            "hunter2-redis",
        ])
        .expect("parses");
        let printed = format!("{settings:?} {:?} {:?}", settings.api(), settings.read_side());
        assert!(!printed.contains("hunter2"), "{printed}");
        let nats = settings.read_side().nats;
        assert_eq!(
            (nats.user.as_deref(), nats.password.map(|p| p.expose().to_owned())),
            (Some("api"), Some("hunter2-nats".to_owned()))
        );
        assert_eq!(
            settings.api().redis_password.map(|p| p.expose().to_owned()),
            Some("hunter2-redis".to_owned())
        );
        assert!(settings.check().is_ok());
    }

    #[test]
    fn credentials_go_in_their_own_settings_not_in_the_urls() {
        for (flag, url, name) in [
            ("--nats-url", "nats://api:hunter2@nats:4222", "NATS_URL"),
            ("--nats-url", "nats://api:hunter2@nats:port", "NATS_URL"),
            ("--redis-url", "redis://:hunter2@redis:6379", "REDIS_URL"),
            ("--redis-url", "redis://redis-1:6379,redis://:hunter2@redis-2:6379", "REDIS_URL"),
        ] {
            let error = parse(&[flag, url]).expect("parsed, checked later").check().expect_err(name);
            assert!(error.contains(name) && !error.contains("hunter2"), "{error}");
        }
        let half = parse(&["--nats-user", "api"]).expect("parses alone");
        assert!(half.check().expect_err("a user without a password").contains("NATS_PASSWORD"));
    }

    #[test]
    fn a_redis_cluster_is_named_by_its_nodes_and_said_to_be_one() {
        let nodes = "redis://redis-1:6379,redis://redis-2:6379,redis://redis-3:6379";
        let cluster = parse(&["--redis-url", nodes, "--redis-cluster", "true"]).expect("parses");
        assert!(cluster.check().is_ok());
        assert_eq!((cluster.api().redis_cluster, cluster.read_side().redis_cluster), (true, true));
        assert_eq!(cluster.read_side().redis_url.as_deref(), Some(nodes));
        let one_seed =
            parse(&["--redis-url", "redis://redis-1:6379", "--redis-cluster", "yes"]).expect("parses");
        assert!(one_seed.check().is_ok() && one_seed.api().redis_cluster);
        let unsaid = parse(&["--redis-url", nodes]).expect("parsed, checked later");
        let error = unsaid.check().expect_err("several nodes without REDIS_CLUSTER");
        assert!(error.contains("REDIS_URL") && error.contains("REDIS_CLUSTER=true"), "{error}");
        assert!(!parse(&[]).expect("defaults").api().redis_cluster, "one server by default");
    }

    #[test]
    fn tls_files_must_come_in_pairs_and_exist_and_only_their_paths_are_held() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let file = |name: &str| {
            let path = dir.path().join(name);
            std::fs::write(&path, "-----BEGIN PRIVATE KEY-----\nhunter2\n").expect("written");
            path.display().to_string()
        };
        let (ca, cert, key) = (file("ca.pem"), file("client.pem"), file("client-key.pem"));
        let settings =
            parse(&["--nats-tls-ca", &ca, "--nats-tls-cert", &cert, "--nats-tls-key", &key]).expect("parses");
        assert_eq!(settings.check(), Ok(()));
        let tls = settings.read_side().nats.tls;
        assert_eq!(tls.ca.as_deref(), Some(std::path::Path::new(&ca)));
        assert!(tls.is_set() && !format!("{:?}", settings.api()).contains("hunter2"));
        assert!(!parse(&[]).expect("parses").read_side().nats.tls.is_set());

        let missing = dir.path().join("nowhere.pem").display().to_string();
        for (flags, name) in [
            (vec!["--nats-tls-cert", cert.as_str()], "NATS_TLS_KEY"),
            (vec!["--nats-tls-key", key.as_str()], "NATS_TLS_CERT"),
            (vec!["--nats-tls-ca", missing.as_str()], "NATS_TLS_CA"),
            (
                vec!["--nats-tls-ca", &ca, "--nats-tls-cert", &missing, "--nats-tls-key", &key],
                "NATS_TLS_CERT",
            ),
        ] {
            let why = parse(&flags).expect("parsed, checked later").check().expect_err(name);
            assert!(why.contains(name) && !why.contains("hunter2"), "{name}: {why}");
        }
    }

    #[test]
    fn unusable_values_are_refused_with_the_settings_name() {
        for (flag, value, name) in [
            ("--bind-addr", "nowhere", "BIND_ADDR"),
            ("--trusted-proxies", "10.0.0.0/99", "TRUSTED_PROXIES"),
            ("--frontend-domain", "valentine.example", "FRONTEND_DOMAIN"),
            ("--nats-url", " , ", "NATS_URL"),
            ("--projector-batch-size", "0", "PROJECTOR_BATCH_SIZE"),
            ("--projector-max-deliveries", "0", "PROJECTOR_MAX_DELIVERIES"),
            ("--projector-stuck-after-secs", "soon", "PROJECTOR_STUCK_AFTER_SECS"),
            ("--max-body-bytes", "100", "MAX_BODY_BYTES"),
            ("--log-format", "xml", "LOG_FORMAT"),
            ("--client-ipv6-prefix", "129", "CLIENT_IPV6_PREFIX"),
            ("--header-read-timeout-secs", "0", "HEADER_READ_TIMEOUT_SECS"),
            ("--idle-timeout-secs", "x", "IDLE_TIMEOUT_SECS"),
            ("--max-connections", "0", "MAX_CONNECTIONS"),
            ("--redis-cluster", "maybe", "REDIS_CLUSTER"),
        ] {
            let error = parse(&[flag, value]).expect_err(name).to_string();
            assert!(error.contains(name), "{name}: {error}");
        }
    }
}
