//! `valentine bootstrap FROM`: start a node's read model from a copy of another's.
//!
//! A new node need not replay the whole event stream: a copy of any read model (the
//! `read-model.sqlite` of a `valentine backup`) records the stream positions it reflects, and
//! a projector whose durable consumer does not exist yet creates it starting right after the
//! read model's position. So a node that adopts a copy catches up only on what the copy
//! lacks. Its `READ_MODEL_ID` must be new (or its consumers deleted): an existing consumer
//! would resume from its own position, not the copy's.

use std::path::{Path, PathBuf};

use async_nats::jetstream;
use serde::Serialize;
use tracing::warn;
use valentine_eventstore::ensure_stream;
use valentine_projections::{applied, db};
use valentine_projector::ReadSideConfig;

use super::OpsError;
use super::backup::READ_MODEL;

/// What a bootstrap did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Bootstrapped {
    /// The read model's first generation: the copy.
    pub file: PathBuf,
    /// Every event at or below this stream sequence is in the copy.
    pub events_through: u64,
    /// Every view tally at or below this stream sequence is in the copy.
    pub views_through: u64,
    /// The durable consumers its projectors will create.
    pub consumers: [String; 2],
}

/// Makes the read model copy at `from` (a backup's folder, or the file itself) the read model
/// of `config`, which must have neither a read model nor consumers yet.
///
/// # Errors
/// When the read model or its consumers exist already, the copy is not a sound read model,
/// or NATS or the file system fail.
pub async fn bootstrap(config: &ReadSideConfig, from: &Path) -> Result<Bootstrapped, OpsError> {
    let copy = if from.is_dir() { from.join(READ_MODEL) } else { from.to_owned() };
    if !copy.is_file() {
        return Err(refused(format!("{} holds no read model copy", from.display())));
    }
    let model = &config.read_model;
    if std::fs::symlink_metadata(&model.database_path).is_ok() {
        return Err(refused(format!(
            "{} is a read model already: a copy never replaces one (DATABASE_PATH must name a new read model)",
            model.database_path.display()
        )));
    }
    let client = config.nats.connect("valentine-bootstrap").await.map_err(OpsError::nats)?;
    let js = jetstream::new(client);
    let consumers = [model.events_consumer(), model.tallies_consumer()];
    let mut views_first = 1;
    for (stream_config, consumer) in [(&config.events, &consumers[0]), (&config.tallies, &consumers[1])] {
        let mut stream = ensure_stream(&js, stream_config).await?;
        if stream.consumer_info(consumer).await.is_ok() {
            return Err(refused(format!(
                "READ_MODEL_ID={} has a consumer on {} already ({consumer}), which would resume from its own \
                 position, not the copy's: give this node a new READ_MODEL_ID, or delete that read model's \
                 consumers first",
                model.id, stream_config.stream_name
            )));
        }
        if stream_config.stream_name == config.tallies.stream_name {
            views_first = stream.info().await.map_err(OpsError::nats)?.state.first_sequence;
        }
    }
    let file = db::adopt(&model.database_path, &copy).await?;
    let conn = db::open_sync(&file, db::Mode::Reader)?;
    let (events_through, views_through) =
        (applied::through(&conn, applied::EVENTS)?, applied::through(&conn, applied::VIEWS)?);
    if views_through.saturating_add(1) < views_first {
        warn!(
            views_through,
            first_kept = views_first,
            "the VIEWS stream no longer holds every tally after the copy's position: views counted in between \
             are missing from this read model until a rebuild, which starts from the checkpoints"
        );
    }
    Ok(Bootstrapped { file, events_through, views_through, consumers })
}

fn refused(reason: String) -> OpsError {
    OpsError::Refused(reason)
}
