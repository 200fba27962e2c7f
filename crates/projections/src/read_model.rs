//! Which read model a process works on: its file and the durable consumers that feed it.

use std::path::PathBuf;

/// A read model's settings, shared by the API that reads it and the projectors that write it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadModelSettings {
    /// `DATABASE_PATH`: a link to the read model's current generation (see [`crate::db`]).
    pub database_path: PathBuf,
    /// `PROJECTOR_CONSUMER`: the durable consumer name shared by all projector processes of
    /// this read model: `<name>` reads events, `<name>-views` reads view tallies.
    pub consumer: String,
}

impl Default for ReadModelSettings {
    fn default() -> Self {
        Self { database_path: PathBuf::from("data/valentine.db"), consumer: "projector".to_owned() }
    }
}

impl ReadModelSettings {
    /// Durable consumer of the event stream.
    pub fn events_consumer(&self) -> String {
        self.consumer.clone()
    }

    /// Durable consumer of the view tally stream.
    pub fn tallies_consumer(&self) -> String {
        format!("{}-views", self.consumer)
    }
}
