//! The binary's configuration: environment variables with defaults that work on a
//! developer machine. `.env.example` lists them all.

use std::path::PathBuf;
use std::str::FromStr;

use valentine_eventstore::EventStoreConfig;
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
        let read_side = ReadSideConfig {
            nats_url: var("NATS_URL").unwrap_or(defaults.nats_url),
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
        Ok(Self { log_format, read_side })
    }
}
