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
use valentine_eventstore::{Commit, ensure_stream};
use valentine_projections::{applied, db, page_store, pages};
use valentine_projector::ReadSideConfig;

use super::backup::READ_MODEL;
use super::{OpsError, erase};

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
    /// Erasures recorded after the copy was made, applied to it before anything reads it.
    pub erased: usize,
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
    drop(conn);
    let erased = erase_what_was_erased_since(&js, config, &file, events_through).await?;
    if views_through.saturating_add(1) < views_first {
        warn!(
            views_through,
            first_kept = views_first,
            "the VIEWS stream no longer holds every tally after the copy's position: views counted in between \
             are missing from this read model until a rebuild, which starts from the checkpoints"
        );
    }
    Ok(Bootstrapped { file, events_through, views_through, consumers, erased })
}

/// Applies to the adopted copy at `file` every erasure the stream recorded after its events
/// position `through`, before anything reads it: a copy older than an erasure still holds
/// the erased page. The projectors find them applied when they get there (the sequence
/// guards skip them), and the read model ends as a rebuild would make it.
async fn erase_what_was_erased_since(
    js: &jetstream::Context,
    config: &ReadSideConfig,
    file: &Path,
    through: u64,
) -> Result<usize, OpsError> {
    let repo = page_store::open(js, &config.events).await?;
    let mut commits = Vec::new();
    for (_, at) in erase::recorded_erasures(&repo, through + 1).await? {
        let message = repo.stream().direct_get(at).await.map_err(OpsError::nats)?;
        let stored =
            Commit::decode(at, &message.payload).map_err(valentine_eventstore::EventStoreError::from)?;
        commits.push(page_store::decode(stored).map_err(valentine_eventstore::EventStoreError::from)?);
    }
    let count = commits.len();
    if count > 0 {
        let mut conn = db::open_sync(file, db::Mode::Projector)?;
        tokio::task::block_in_place(|| -> Result<(), OpsError> {
            pages::project_batch(&mut conn, commits)?;
            db::truncate_log(&conn)?;
            Ok(())
        })?;
    }
    Ok(count)
}

fn refused(reason: String) -> OpsError {
    OpsError::Refused(reason)
}
