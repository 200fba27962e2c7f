//! `valentine backup DIR` and `valentine restore DIR`.
//!
//! A backup is a folder: each stream as of the moment the backup started, one JSON line per
//! message (sequence, subject, time, headers, payload), written while the services run; a
//! copy of the read model made with SQLite's `VACUUM INTO` (a consistent snapshot, though it
//! may be a little behind or ahead of the streams: the streams are the truth); and a
//! `backup.json` manifest.
//!
//! Restoring publishes every message again, in order, into empty streams and checks that
//! each lands at its old sequence, so page ids (stream sequences of their creation) stay
//! the same. The data keys go back into the key store, and every erasure the restored
//! event stream records is carried out again before anything reads them, so a key the
//! backup still held of a page erased since is destroyed. The read model is then rebuilt
//! from the restored streams (`valentine rebuild`).

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use async_nats::HeaderMap;
use async_nats::jetstream::consumer::{DeliverPolicy, pull};
use async_nats::jetstream::message::PublishMessage;
use async_nats::jetstream::{self, stream};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tracing::info;
use valentine_eventstore::{
    DataKeys, PhotoStore, StreamConfig, data_keys, ensure_stream, ensure_stream_from,
};
use valentine_projections::{applied, db};
use valentine_projector::ReadSideConfig;
use valentine_projector::checkpointer;

use super::{OpsError, erase};

/// The manifest's file name.
pub const MANIFEST: &str = "backup.json";

/// The read model copy's file name.
pub const READ_MODEL: &str = "read-model.sqlite";

/// One stored message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackedUpMessage {
    /// Its stream sequence.
    pub sequence: u64,
    /// Its subject.
    pub subject: String,
    /// When JetStream stored it (RFC 3339).
    pub published: String,
    /// Its headers.
    pub headers: BTreeMap<String, Vec<String>>,
    /// Its payload, base64.
    pub data: String,
}

/// What a backup holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// When it was taken.
    pub created_at: String,
    /// Each stream backed up.
    pub streams: Vec<StreamBackup>,
    /// The read model copy, if there was a read model.
    pub read_model: Option<String>,
    /// Where the copy stands on the event stream (every event through here applied): a
    /// projector started on it resumes after it.
    #[serde(default)]
    pub read_model_events_through: Option<u64>,
    /// Where the copy stands on the view stream.
    #[serde(default)]
    pub read_model_views_through: Option<u64>,
    /// The view count checkpoints (the VIEWS stream may no longer hold the tallies they count).
    #[serde(default)]
    pub checkpoints: Option<StreamBackup>,
    /// The data keys of the page lives, copied after the streams: every sealed event in the
    /// copy of the EVENTS stream has its key here, or its key's destruction.
    #[serde(default)]
    pub data_keys: Option<StreamBackup>,
    /// The notifier's ledger of mails, copied after the streams: every event of the copy
    /// mailed about before the backup is marked there, so a restore does not mail it again.
    #[serde(default)]
    pub mails: Option<StreamBackup>,
    /// The photos, copied after the streams: every photo an event of the copy names is in
    /// it (a photo is stored before its event), sealed as stored.
    #[serde(default)]
    pub photos: Option<StreamBackup>,
}

/// One stream in a backup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamBackup {
    /// The stream's name.
    pub name: String,
    /// Its file in the backup folder.
    pub file: String,
    /// Messages in the file.
    pub messages: u64,
    /// The last sequence included.
    pub last_sequence: u64,
}

fn streams(config: &ReadSideConfig) -> [&StreamConfig; 2] {
    [&config.events, &config.tallies]
}

/// Backs the streams and the read model up into `dir` (created; must be empty if it exists).
///
/// # Errors
/// When NATS or the file system fail, or `dir` is not empty.
pub async fn backup(config: &ReadSideConfig, dir: &Path) -> Result<Manifest, OpsError> {
    std::fs::create_dir_all(dir)?;
    if std::fs::read_dir(dir)?.next().is_some() {
        return Err(std::io::Error::other(format!("{} is not empty", dir.display())).into());
    }
    let client = config.nats.connect("valentine-backup").await.map_err(OpsError::nats)?;
    let js = jetstream::new(client);
    let mut manifest = Manifest {
        created_at: now(),
        streams: Vec::new(),
        read_model: None,
        read_model_events_through: None,
        read_model_views_through: None,
        checkpoints: None,
        data_keys: None,
        mails: None,
        photos: None,
    };
    // Checkpoints first: tallies that age out meanwhile are then held by them.
    let bucket = checkpointer::bucket_name(&config.tallies);
    if let Ok(stream) = js.get_stream(format!("KV_{bucket}")).await {
        let file = "view-checkpoints.jsonl".to_owned();
        let (messages, last_sequence) = dump(&stream, &dir.join(&file)).await?;
        manifest.checkpoints = Some(StreamBackup { name: bucket, file, messages, last_sequence });
    }
    for stream_config in streams(config) {
        let stream = ensure_stream(&js, stream_config).await?;
        let file = format!("{}.jsonl", stream_config.stream_name.to_ascii_lowercase());
        let (messages, last_sequence) = dump(&stream, &dir.join(&file)).await?;
        info!(stream = %stream_config.stream_name, messages, last_sequence, "stream backed up");
        manifest.streams.push(StreamBackup {
            name: stream_config.stream_name.clone(),
            file,
            messages,
            last_sequence,
        });
    }
    let photos = PhotoStore::open(&js, &config.events).await?;
    let file = "photos.jsonl".to_owned();
    let (messages, last_sequence) = dump(photos.stream(), &dir.join(&file)).await?;
    info!(messages, "photos backed up");
    manifest.photos = Some(StreamBackup {
        name: valentine_eventstore::photos::bucket_name(&config.events),
        file,
        messages,
        last_sequence,
    });
    // After the events: a key destroyed meanwhile is missing from the copy along with the
    // erasure, which leaves its events unreadable, as erased; a key made meanwhile belongs
    // to events the copy does not hold.
    let keys = DataKeys::open(&js, &config.events).await?;
    let bucket = data_keys::bucket_name(&config.events);
    let file = "data-keys.jsonl".to_owned();
    let (messages, last_sequence) = dump(keys.stream(), &dir.join(&file)).await?;
    info!(bucket, messages, "data keys backed up");
    manifest.data_keys = Some(StreamBackup { name: bucket, file, messages, last_sequence });
    let bucket = valentine_notifier::sent::bucket_name(&config.events);
    if let Ok(stream) = js.get_stream(format!("KV_{bucket}")).await {
        let file = "mails.jsonl".to_owned();
        let (messages, last_sequence) = dump(&stream, &dir.join(&file)).await?;
        info!(bucket, messages, "ledger of mails backed up");
        manifest.mails = Some(StreamBackup { name: bucket, file, messages, last_sequence });
    }
    if std::fs::symlink_metadata(&config.read_model.database_path).is_ok() {
        let link = config.read_model.database_path.clone();
        let target = dir.join(READ_MODEL);
        let (events, views) = tokio::task::spawn_blocking(move || copy_read_model(&link, &target))
            .await
            .map_err(|e| OpsError::Output(std::io::Error::other(e)))??;
        manifest.read_model = Some(READ_MODEL.to_owned());
        (manifest.read_model_events_through, manifest.read_model_views_through) = (Some(events), Some(views));
    }
    let mut out = BufWriter::new(File::create(dir.join(MANIFEST))?);
    serde_json::to_writer_pretty(&mut out, &manifest).map_err(std::io::Error::from)?;
    out.flush()?;
    Ok(manifest)
}

fn now() -> String {
    OffsetDateTime::now_utc().format(&Rfc3339).unwrap_or_default()
}

/// Writes every message of `stream` up to its last sequence now into `file`.
async fn dump(stream: &stream::Stream, file: &Path) -> Result<(u64, u64), OpsError> {
    let mut consumer = stream
        .create_consumer(pull::OrderedConfig { deliver_policy: DeliverPolicy::All, ..Default::default() })
        .await
        .map_err(OpsError::nats)?;
    let info = consumer.info().await.map_err(OpsError::nats)?;
    let mut remaining = info.num_pending;
    let partial = file.with_extension("partial");
    let mut out = BufWriter::new(File::create(&partial)?);
    let (mut count, mut last) = (0, 0);
    if remaining > 0 {
        let mut messages = consumer.messages().await.map_err(OpsError::nats)?;
        while remaining > 0 {
            let Some(message) = messages.next().await else { break };
            let message = message.map_err(OpsError::nats)?;
            let meta = message.info().map_err(OpsError::nats)?;
            let headers = message
                .headers
                .as_ref()
                .map(|h| {
                    h.iter()
                        .map(|(name, values)| {
                            (name.to_string(), values.iter().map(|v| v.as_str().to_owned()).collect())
                        })
                        .collect()
                })
                .unwrap_or_default();
            let line = BackedUpMessage {
                sequence: meta.stream_sequence,
                subject: message.subject.to_string(),
                published: meta.published.format(&Rfc3339).unwrap_or_default(),
                headers,
                data: STANDARD.encode(&message.payload),
            };
            serde_json::to_writer(&mut out, &line).map_err(std::io::Error::from)?;
            out.write_all(b"\n")?;
            count += 1;
            last = meta.stream_sequence;
            remaining -= 1;
        }
    }
    out.flush()?;
    out.get_ref().sync_all()?;
    drop(out);
    std::fs::rename(&partial, file)?;
    Ok((count, last))
}

/// Copies the read model to `target`; returns where the copy stands on the two streams.
fn copy_read_model(link: &Path, target: &Path) -> Result<(u64, u64), OpsError> {
    let conn = db::reader_connection(link)?;
    let target_text = target.to_str().ok_or_else(|| std::io::Error::other("the backup path is not UTF-8"))?;
    conn.execute("VACUUM INTO ?1", [target_text]).map_err(valentine_projections::ProjectionError::from)?;
    let copy = db::open_sync(target, db::Mode::Reader)?;
    Ok((applied::through(&copy, applied::EVENTS)?, applied::through(&copy, applied::VIEWS)?))
}

/// What to restore from a backup.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Restoring {
    /// The streams, the checkpoints and the data keys, into a fresh server.
    Everything,
    /// Only the data keys, into the running system's key store (lost or damaged).
    DataKeys,
}

/// Publishes the streams of the backup in `dir` into empty streams, each message at its old
/// sequence, and its data keys into the key store; then carries out every erasure the
/// event stream records again, so no key the backup kept of an erased page survives.
/// Returns the manifest and the erasures that destroyed something.
///
/// # Errors
/// When a stream is not empty, a message lands at another sequence, or NATS or the files fail.
pub async fn restore(
    config: &ReadSideConfig,
    dir: &Path,
    what: Restoring,
) -> Result<(Manifest, Vec<erase::Erasure>), OpsError> {
    let manifest: Manifest = serde_json::from_reader(BufReader::new(File::open(dir.join(MANIFEST))?))
        .map_err(std::io::Error::from)?;
    let client = config.nats.connect("valentine-restore").await.map_err(OpsError::nats)?;
    let js = jetstream::new(client);
    if what == Restoring::Everything {
        restore_streams(config, dir, &manifest, &js).await?;
    }
    if let Some(keys) = &manifest.data_keys {
        DataKeys::open(&js, &config.events).await?;
        let restored = publish_all(&js, &dir.join(&keys.file), None).await?;
        info!(bucket = %keys.name, messages = restored, "data keys restored");
    } else if what == Restoring::DataKeys {
        return Err(restore_refused("the backup holds no data keys".to_owned()));
    }
    let erased = erase::erase_again(config).await?;
    let erased: Vec<_> =
        erased.into_iter().filter(|e| e.keys_destroyed > 0 || e.messages_removed > 0).collect();
    info!(erasures = erased.len(), "recorded erasures carried out again");
    Ok((manifest, erased))
}

async fn restore_streams(
    config: &ReadSideConfig,
    dir: &Path,
    manifest: &Manifest,
    js: &jetstream::Context,
) -> Result<(), OpsError> {
    for stream_config in streams(config) {
        let Some(backed_up) = manifest.streams.iter().find(|s| s.name == stream_config.stream_name) else {
            continue;
        };
        let file = dir.join(&backed_up.file);
        // A stream whose oldest messages had aged out is created numbered from its first kept
        // one, so every message lands at its old sequence.
        let first = first_sequence_in(&file)?;
        let stream = ensure_stream_from(js, stream_config, first).await?;
        let state = stream.clone().info().await.map_err(OpsError::nats)?.state.clone();
        let next = state.last_sequence + 1;
        if state.messages > 0 || first.is_some_and(|f| next > f) || (first.is_none() && next > 1) {
            return Err(restore_refused(format!(
                "stream {} is not empty ({} messages, last sequence {}); restore into a fresh server",
                stream_config.stream_name, state.messages, state.last_sequence
            )));
        }
        if let Some(first) = first.filter(|&f| next < f) {
            // The stream existed already, empty: purging it up to a sequence makes that its
            // next one.
            stream.purge().sequence(first).await.map_err(OpsError::nats)?;
        }
        let restored = publish_all(js, &file, Some(&stream)).await?;
        info!(stream = %stream_config.stream_name, messages = restored, "stream restored");
    }
    if let Some(checkpoints) = &manifest.checkpoints {
        checkpointer::bucket(js, &config.tallies)
            .await
            .map_err(|e| OpsError::Output(std::io::Error::other(e)))?;
        let restored = publish_all(js, &dir.join(&checkpoints.file), None).await?;
        info!(bucket = %checkpoints.name, messages = restored, "view count checkpoints restored");
    }
    if let Some(photos) = &manifest.photos {
        PhotoStore::open(js, &config.events).await?;
        let restored = publish_all(js, &dir.join(&photos.file), None).await?;
        info!(bucket = %photos.name, messages = restored, "photos restored");
    }
    if let Some(mails) = &manifest.mails {
        valentine_notifier::SentMails::open(js, &config.events)
            .await
            .map_err(|e| OpsError::Output(std::io::Error::other(e)))?;
        let restored = publish_all(js, &dir.join(&mails.file), None).await?;
        info!(bucket = %mails.name, messages = restored, "ledger of mails restored");
    }
    Ok(())
}

/// The sequence of the first message backed up in `file`, if it holds any.
fn first_sequence_in(file: &Path) -> Result<Option<u64>, OpsError> {
    for line in BufReader::new(File::open(file)?).lines() {
        let line = line?;
        if !line.is_empty() {
            let message: BackedUpMessage = serde_json::from_str(&line).map_err(std::io::Error::from)?;
            return Ok(Some(message.sequence));
        }
    }
    Ok(None)
}

fn restore_refused(reason: String) -> OpsError {
    OpsError::Refused(reason)
}

/// Publishes every message of `file`; into `stream`, each at its old sequence (a stream whose
/// oldest messages had aged out starts at the first one kept). Where the backup has a gap
/// (messages an erasure deleted), a placeholder takes each missing sequence and is deleted at
/// once, so every later message keeps its sequence, and every page its id.
async fn publish_all(
    js: &jetstream::Context,
    file: &PathBuf,
    stream: Option<&stream::Stream>,
) -> Result<u64, OpsError> {
    let mut count = 0;
    let mut next = match stream {
        Some(stream) => Some(stream.clone().info().await.map_err(OpsError::nats)?.state.last_sequence + 1),
        None => None,
    };
    for line in BufReader::new(File::open(file)?).lines() {
        let line = line?;
        if line.is_empty() {
            continue;
        }
        let message: BackedUpMessage = serde_json::from_str(&line).map_err(std::io::Error::from)?;
        if let (Some(stream), Some(expected)) = (stream, next.as_mut()) {
            while *expected < message.sequence {
                *expected = fill_gap(js, stream).await? + 1;
            }
        }
        let mut headers = HeaderMap::new();
        for (name, values) in &message.headers {
            // The concurrency expectations were checked when the message was first stored, and
            // the atomic batch it came in (data keys are stored in batches) was committed then:
            // published again, one by one, it is a message of its own.
            if name.starts_with("Nats-Expected") || name.starts_with("Nats-Batch-") {
                continue;
            }
            for value in values {
                headers.append(name.as_str(), value.as_str());
            }
        }
        let payload = STANDARD.decode(&message.data).map_err(std::io::Error::other)?;
        let publish = PublishMessage::build().headers(headers).payload(payload.into());
        let ack = js
            .send_publish(message.subject.clone(), publish)
            .await
            .map_err(OpsError::nats)?
            .await
            .map_err(OpsError::nats)?;
        if stream.is_some() && ack.sequence != message.sequence {
            return Err(restore_refused(format!(
                "message {} of {} landed at sequence {}: the stream was not empty, and page ids would change",
                message.sequence,
                file.display(),
                ack.sequence
            )));
        }
        next = next.map(|_| ack.sequence + 1);
        count += 1;
    }
    Ok(count)
}

/// Takes the next sequence of `stream` with an empty placeholder and deletes it; the sequence
/// it took.
async fn fill_gap(js: &jetstream::Context, stream: &stream::Stream) -> Result<u64, OpsError> {
    let subjects = &stream.cached_info().config.subjects;
    let subject = subjects
        .iter()
        .find_map(|s| s.strip_suffix('>').map(|prefix| format!("{prefix}_restore_gap")))
        .ok_or_else(|| restore_refused("the stream takes no subject a gap can be filled on".to_owned()))?;
    let ack = js
        .publish(subject, Vec::<u8>::new().into())
        .await
        .map_err(OpsError::nats)?
        .await
        .map_err(OpsError::nats)?;
    stream.delete_message(ack.sequence).await.map_err(OpsError::nats)?;
    Ok(ack.sequence)
}
