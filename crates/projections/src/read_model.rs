//! Which read model a process works on: its name, its file, and what the name picks out on
//! the shared servers (durable consumers, position announcements, cache keys).
//!
//! A node is an API with its projectors and its own read model. Nodes share NATS and Redis,
//! so everything a read model owns there carries its [`ReadModelId`]: two nodes never take
//! each other's deliveries, wake on each other's progress, or serve each other's cache.

use std::fmt;
use std::path::PathBuf;

/// The name of a read model (`READ_MODEL_ID`): 1 to 32 lowercase ASCII letters, digits and
/// hyphens, starting with a letter or digit, so it fits in a consumer name, a NATS subject
/// token and a Redis key alike.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ReadModelId(String);

/// Why a name cannot be a [`ReadModelId`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "a read model id is 1 to 32 lowercase letters, digits and hyphens, starting with a letter or digit: {0:?}"
)]
pub struct BadReadModelId(pub String);

impl ReadModelId {
    /// The id of a single-node deployment.
    pub const MAIN: &'static str = "main";

    /// Checks `name`.
    ///
    /// # Errors
    /// When it is not 1 to 32 lowercase letters, digits and hyphens, starting with a letter
    /// or digit.
    pub fn new(name: &str) -> Result<Self, BadReadModelId> {
        let well_formed = (1..=32).contains(&name.len())
            && !name.starts_with('-')
            && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if well_formed { Ok(Self(name.to_owned())) } else { Err(BadReadModelId(name.to_owned())) }
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for ReadModelId {
    fn default() -> Self {
        Self(Self::MAIN.to_owned())
    }
}

impl fmt::Display for ReadModelId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for ReadModelId {
    type Err = BadReadModelId;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}

/// A read model's settings, shared by the API that reads it and the projectors that write it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadModelSettings {
    /// `DATABASE_PATH`: a link to the read model's current generation (see [`crate::db`]).
    pub database_path: PathBuf,
    /// `READ_MODEL_ID`: names its consumers, announcements and cache keys.
    pub id: ReadModelId,
}

impl Default for ReadModelSettings {
    fn default() -> Self {
        Self { database_path: PathBuf::from("data/valentine.db"), id: ReadModelId::default() }
    }
}

impl ReadModelSettings {
    /// Durable consumer of the event stream, shared by the read model's projectors.
    pub fn events_consumer(&self) -> String {
        format!("projector-{}", self.id)
    }

    /// Durable consumer of the view tally stream.
    pub fn tallies_consumer(&self) -> String {
        format!("projector-{}-views", self.id)
    }

    /// Core NATS subject on which its projectors announce their progress.
    pub fn announcements(&self) -> String {
        crate::position::subject(&self.id)
    }

    /// Its cache keys.
    pub fn cache_keys(&self) -> crate::cache_keys::CacheKeys {
        crate::cache_keys::CacheKeys::new(&self.id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_fit_a_consumer_name_a_subject_token_and_a_key() {
        for good in ["main", "node-2", "a", "eu-west-1b", &"x".repeat(32)] {
            assert_eq!(ReadModelId::new(good).map(|id| id.to_string()), Ok(good.to_owned()));
        }
        for bad in ["", "Main", "node.2", "node 2", "-node", "node_2", "nöde", "a>b", "*", &"x".repeat(33)] {
            assert!(ReadModelId::new(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn everything_a_read_model_owns_on_shared_servers_carries_its_id() {
        let settings =
            ReadModelSettings { id: ReadModelId::new("node-2").expect("an id"), ..Default::default() };
        assert_eq!(settings.events_consumer(), "projector-node-2");
        assert_eq!(settings.tallies_consumer(), "projector-node-2-views");
        assert_eq!(settings.announcements(), "valentine.projected.node-2");
        let main = ReadModelSettings::default();
        assert_ne!(settings.cache_keys().page("ann"), main.cache_keys().page("ann"));
    }
}
