//! The binary's configuration: environment variables with defaults that work on a
//! developer machine. `.env.example` lists them all.

use std::path::PathBuf;
use std::str::FromStr;

use std::net::SocketAddr;
use std::time::Duration;

use ipnet::IpNet;
use secrecy::SecretString;
use valentine_api::ApiConfig;
use valentine_eventstore::{EventStoreConfig, NatsSettings};
use valentine_projections::ReadModelSettings;
use valentine_projector::ReadSideConfig;

/// A variable that is set but cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("{name}={value:?} is not valid: {reason}")]
pub struct SettingError {
    name: &'static str,
    value: String,
    reason: String,
}

/// How log lines look.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line, for log collectors.
    Json,
}

/// Every setting of the binary.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `LOG_FORMAT`: `text` (default) or `json`. Verbosity comes from `RUST_LOG`.
    pub log_format: LogFormat,
    /// Read-side settings: `NATS_URL`, `REDIS_URL`, `DATABASE_PATH`,
    /// `PROJECTOR_BATCH_SIZE`, `PROJECTOR_CONSUMER`, `NATS_REPLICAS`.
    pub read_side: ReadSideConfig,
    /// `PROJECTOR_HEALTH_ADDR`: where `valentine projector` serves `/health` and `/ready`;
    /// unset or empty serves nothing.
    pub projector_health_addr: Option<SocketAddr>,
    /// API settings (`valentine api`): `BIND_ADDR`, `ALLOWED_ORIGINS`, `FRONTEND_DOMAIN`,
    /// `RATE_LIMIT_PAGES_PER_HOUR`, `RATE_LIMIT_SLUG_CHECKS_PER_MINUTE`, `SYNC_WAIT_MS`,
    /// `TRUSTED_PROXIES`, `IP_HASH_SECRET`, `WEB_DIST`, `MAX_BODY_BYTES`, `READ_CONNECTIONS`,
    /// plus the read-side settings above.
    pub api: ApiConfig,
}

fn invalid(name: &'static str, value: &str, reason: impl Into<String>) -> SettingError {
    SettingError { name, value: value.to_owned(), reason: reason.into() }
}

/// A comma-separated list, blanks dropped.
fn list(name: &'static str) -> Option<Vec<String>> {
    var(name).map(|v| v.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect())
}

fn api_settings(read_side: &ReadSideConfig) -> Result<ApiConfig, SettingError> {
    let defaults = ApiConfig::default();
    let trusted_proxies = match list("TRUSTED_PROXIES") {
        None => defaults.trusted_proxies,
        Some(items) => items
            .iter()
            .map(|item| {
                item.parse::<IpNet>().or_else(|_| item.parse::<std::net::IpAddr>().map(IpNet::from)).map_err(
                    |_| invalid("TRUSTED_PROXIES", item, "use addresses or CIDR ranges, comma separated"),
                )
            })
            .collect::<Result<_, _>>()?,
    };
    let frontend_domain = var("FRONTEND_DOMAIN").map_or(defaults.frontend_domain, |d| d.trim().to_owned());
    if !(frontend_domain.starts_with("http://") || frontend_domain.starts_with("https://")) {
        return Err(invalid(
            "FRONTEND_DOMAIN",
            &frontend_domain,
            "use a URL such as https://valentine.example",
        ));
    }
    let max_body_bytes = parsed("MAX_BODY_BYTES", defaults.max_body_bytes)?;
    if max_body_bytes < 1024 {
        return Err(invalid("MAX_BODY_BYTES", &max_body_bytes.to_string(), "must be at least 1024"));
    }
    Ok(ApiConfig {
        nats: NatsSettings { url: read_side.nats_url.clone() },
        events: read_side.events.clone(),
        tallies: read_side.views.clone(),
        read_model: ReadModelSettings {
            database_path: read_side.database_path.clone(),
            consumer: read_side.consumer.clone(),
        },
        redis_url: read_side.redis_url.clone(),
        bind_addr: parsed::<SocketAddr>("BIND_ADDR", defaults.bind_addr)?,
        allowed_origins: list("ALLOWED_ORIGINS").unwrap_or(defaults.allowed_origins),
        frontend_domain,
        pages_per_hour: parsed("RATE_LIMIT_PAGES_PER_HOUR", defaults.pages_per_hour)?,
        slug_checks_per_minute: parsed("RATE_LIMIT_SLUG_CHECKS_PER_MINUTE", defaults.slug_checks_per_minute)?,
        sync_wait: Duration::from_millis(parsed(
            "SYNC_WAIT_MS",
            u64::try_from(defaults.sync_wait.as_millis()).unwrap_or(2000),
        )?),
        trusted_proxies,
        ip_hash_secret: var("IP_HASH_SECRET").filter(|s| !s.is_empty()).map(SecretString::from),
        web_dist: var("WEB_DIST").filter(|s| !s.trim().is_empty()).map(PathBuf::from),
        max_body_bytes,
        read_connections: parsed("READ_CONNECTIONS", defaults.read_connections)?.max(1),
    })
}

/// `NATS_URL`: one server URL, or several comma separated (the nodes of a cluster).
fn check_nats_url(urls: &str) -> Result<(), SettingError> {
    let servers: Vec<&str> = urls.split(',').map(str::trim).filter(|url| !url.is_empty()).collect();
    if servers.is_empty() {
        return Err(invalid("NATS_URL", urls, "name at least one server, e.g. nats://127.0.0.1:4222"));
    }
    for server in servers {
        server.parse::<async_nats::ServerAddr>().map_err(|e| invalid("NATS_URL", server, e.to_string()))?;
    }
    Ok(())
}

fn var(name: &'static str) -> Option<String> {
    std::env::var(name).ok()
}

fn parsed<T: FromStr>(name: &'static str, default: T) -> Result<T, SettingError>
where
    T::Err: std::fmt::Display,
{
    match var(name) {
        None => Ok(default),
        Some(value) => {
            value.trim().parse().map_err(|e: T::Err| SettingError { name, value, reason: e.to_string() })
        }
    }
}

impl Settings {
    /// Reads the environment.
    ///
    /// # Errors
    /// When a variable is set to something unusable.
    pub fn from_env() -> Result<Self, SettingError> {
        let defaults = ReadSideConfig::default();
        let log_format = match var("LOG_FORMAT").as_deref().map(str::trim) {
            None | Some("" | "text" | "pretty") => LogFormat::Text,
            Some("json") => LogFormat::Json,
            Some(other) => {
                return Err(SettingError {
                    name: "LOG_FORMAT",
                    value: other.to_owned(),
                    reason: "use text or json".to_owned(),
                });
            }
        };
        let replicas = match var("NATS_REPLICAS") {
            None => None,
            Some(v) if v.trim().is_empty() => None,
            Some(_) => Some(parsed::<usize>("NATS_REPLICAS", 1)?),
        };
        let batch_size = parsed("PROJECTOR_BATCH_SIZE", defaults.batch_size)?;
        if batch_size == 0 {
            return Err(SettingError {
                name: "PROJECTOR_BATCH_SIZE",
                value: "0".to_owned(),
                reason: "must be at least 1".to_owned(),
            });
        }
        let nats_url = var("NATS_URL").unwrap_or(defaults.nats_url);
        check_nats_url(&nats_url)?;
        let projector_health_addr = match var("PROJECTOR_HEALTH_ADDR") {
            Some(addr) if !addr.trim().is_empty() => Some(
                addr.trim()
                    .parse::<SocketAddr>()
                    .map_err(|e| invalid("PROJECTOR_HEALTH_ADDR", &addr, e.to_string()))?,
            ),
            _ => None,
        };
        let read_side = ReadSideConfig {
            nats_url,
            redis_url: match var("REDIS_URL") {
                None => defaults.redis_url,
                Some(url) if url.trim().is_empty() => None,
                Some(url) => Some(url),
            },
            database_path: var("DATABASE_PATH").map_or(defaults.database_path, PathBuf::from),
            batch_size,
            consumer: var("PROJECTOR_CONSUMER").unwrap_or(defaults.consumer),
            events: EventStoreConfig { replicas, ..EventStoreConfig::default() },
            views: EventStoreConfig { replicas, ..EventStoreConfig::views() },
        };
        let api = api_settings(&read_side)?;
        Ok(Self { log_format, read_side, projector_health_addr, api })
    }
}
