//! Rebuilding the read model from the whole stream, and verifying the live one against a
//! fresh build.
//!
//! A rebuild writes a new generation while live projectors keep running on the current one.
//! When it has caught up, it pauses the live consumers, waits for their in-flight batches,
//! projects the last few events, swaps the new generation in (one rename) and resumes them.
//! Readers never stop: old connections finish on the old generation, new ones open the new.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_nats::jetstream::consumer::{DeliverPolicy, pull};
use async_nats::jetstream::stream::Stream;
use async_nats::jetstream::{self, Message};
use futures::StreamExt;
use serde::Serialize;
use tokio::sync::mpsc;
use tracing::{info, warn};
use valentine_eventstore::ensure_stream;
use valentine_projections::{Verdict, db, hash};

use crate::config::ReadSideConfig;
use crate::consumers::{self, Paused};
use crate::error::ProjectorError;
use crate::feeds::{Events, Feed, Order, Tallies};
use crate::progress::Progress;

/// Commits per transaction while building: big batches, few commits.
const BUILD_BATCH: usize = 4096;

/// Decoded batches buffered between the reader and the writer.
const PIPELINE_DEPTH: usize = 4;

/// How long before its pause would run out a rebuild still swaps in (at most a quarter of
/// the lease, which is renewed every third): a rename takes milliseconds, and the hosts'
/// clocks may differ a little.
const SWAP_MARGIN: Duration = Duration::from_secs(5);

/// What a rebuild did.
#[derive(Debug, Clone, Serialize)]
pub struct RebuildReport {
    /// Event messages (commits) projected.
    pub commits: u64,
    /// Events projected.
    pub events: u64,
    /// View tallies projected.
    pub tallies: u64,
    /// Messages of the view stream that are not tallies, skipped (and logged).
    pub skipped_tallies: u64,
    /// Wall time.
    #[serde(with = "seconds")]
    pub elapsed: Duration,
    /// Content hash of the new read model.
    pub content_hash: String,
    /// The generation file now in use.
    pub generation: PathBuf,
    /// Peak resident memory of this process so far, where the OS reports it (Linux).
    pub peak_rss_bytes: Option<u64>,
}

/// The process's peak resident set size (`VmHWM`), on Linux.
pub fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// What a verification found.
#[derive(Debug, Clone, Serialize)]
pub struct Verification {
    /// Content hash of the live read model.
    pub live: String,
    /// Content hash of a fresh build up to the same position.
    pub fresh: String,
}

impl Verification {
    /// Whether the live read model is exactly what the stream says it should be.
    pub fn matches(&self) -> bool {
        self.live == self.fresh
    }
}

mod seconds {
    pub(super) fn serialize<S: serde::Serializer>(d: &std::time::Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(d.as_secs_f64())
    }
}

/// What [`copy_feed`] projected.
#[derive(Debug, Default, Clone, Copy)]
struct Copied {
    /// Items (commits or tallies) projected.
    items: u64,
    /// Events they carried.
    events: u64,
    /// Unreadable messages skipped.
    skipped: u64,
    /// Stream sequence of the last message read.
    last: u64,
}

struct Streams {
    events: Stream,
    views: Stream,
}

async fn open_streams(config: &ReadSideConfig) -> Result<Streams, ProjectorError> {
    let client = config.nats.connect("valentine-rebuild").await.map_err(ProjectorError::nats)?;
    let js = jetstream::new(client);
    Ok(Streams {
        events: ensure_stream(&js, &config.events).await?,
        views: ensure_stream(&js, &config.tallies).await?,
    })
}

/// Builds a new generation from the whole stream and swaps it in.
///
/// # Errors
/// When NATS or SQLite fail, or the stream's history is out of order; the current read
/// model is untouched then.
pub async fn rebuild(
    config: &ReadSideConfig,
    progress: &dyn Progress,
) -> Result<RebuildReport, ProjectorError> {
    let started = Instant::now();
    let _only_one = only_one(config)?;
    let streams = open_streams(config).await?;
    db::prepare(&config.read_model.database_path).await?;
    let (conn, generation) = db::build_connection(&config.read_model.database_path).await?;
    let (events_feed, tallies_feed) = (Events::new(&config.events), Tallies::new(&config.tallies));
    let built = async {
        let (conn, events) = copy_feed(events_feed.clone(), &streams.events, 1, None, conn, progress).await?;
        let (conn, tallies) =
            copy_feed(tallies_feed.clone(), &streams.views, 1, None, conn, progress).await?;

        // Catch up the last events with live projectors paused, so none is missed.
        let paused = PauseLease::take(&streams, config).await?;
        let caught_up = async {
            let (conn, more) =
                copy_feed(events_feed, &streams.events, events.last + 1, None, conn, progress).await?;
            let (conn, more_tallies) =
                copy_feed(tallies_feed, &streams.views, tallies.last + 1, None, conn, progress).await?;
            let finishing = Instant::now();
            let content_hash = db::complete_build(conn, &generation).await?;
            info!(seconds = finishing.elapsed().as_secs_f64(), "indexed and hashed");
            // Only while the live projectors are still held: once their pause has lapsed they
            // may have written to the live generation what this one lacks.
            paused.still_held(SWAP_MARGIN.min(config.pause_lease / 4))?;
            db::swap_in(&config.read_model.database_path, &generation)?;
            Ok::<_, ProjectorError>((more, more_tallies, content_hash))
        }
        .await;
        paused.release().await?;
        let (more, more_tallies, content_hash) = caught_up?;
        Ok::<_, ProjectorError>(RebuildReport {
            commits: events.items + more.items,
            events: events.events + more.events,
            tallies: tallies.items + more_tallies.items,
            skipped_tallies: tallies.skipped + more_tallies.skipped,
            elapsed: started.elapsed(),
            content_hash,
            generation: generation.clone(),
            peak_rss_bytes: peak_rss_bytes(),
        })
    }
    .await;
    if built.is_err() {
        remove_generation(&generation);
    }
    let report = built?;
    info!(commits = report.commits, tallies = report.tallies, hash = %report.content_hash, "rebuilt");
    Ok(report)
}

/// Builds a fresh read model up to where the live projectors are, and compares content
/// hashes. The fresh build is thrown away.
///
/// # Errors
/// When NATS or SQLite fail.
pub async fn verify(
    config: &ReadSideConfig,
    progress: &dyn Progress,
) -> Result<Verification, ProjectorError> {
    let _only_one = only_one(config)?;
    let streams = open_streams(config).await?;
    let live_file = db::prepare(&config.read_model.database_path).await?;
    let paused = PauseLease::take(&streams, config).await?;
    let (until_events, until_views) = (paused.settled_at(Which::Events), paused.settled_at(Which::Views));
    let (conn, generation) = match db::build_connection(&config.read_model.database_path).await {
        Ok(opened) => opened,
        Err(e) => {
            paused.release().await?;
            return Err(e.into());
        }
    };
    let compared = async {
        let (conn, _) =
            copy_feed(Events::new(&config.events), &streams.events, 1, until_events, conn, progress).await?;
        let (conn, _) =
            copy_feed(Tallies::new(&config.tallies), &streams.views, 1, until_views, conn, progress).await?;
        let fresh = db::complete_build(conn, &generation).await;
        let live = db::reader_connection(&live_file)?;
        let (_, live) = db::blocking(live, hash::content_hash).await;
        // The live hash is of the position the build stopped at only if the pause held.
        paused.still_held(Duration::ZERO)?;
        Ok::<_, ProjectorError>(Verification { live: live?, fresh: fresh? })
    }
    .await;
    paused.release().await?;
    remove_generation(&generation);
    compared
}

/// The rebuild lock of the read model, or `RebuildRunning` while another run holds it.
fn only_one(config: &ReadSideConfig) -> Result<db::RebuildLock, ProjectorError> {
    db::RebuildLock::try_take(&config.read_model.database_path)?.ok_or(ProjectorError::RebuildRunning)
}

/// Which stream a paused consumer reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Which {
    Events,
    Views,
}

/// The live consumers, paused for as long as a rebuild or verification works: a keeper
/// renews their pause every third of [`ReadSideConfig::pause_lease`], so a run that dies
/// holds them back at most that long, while one that lives holds them as long as it needs.
/// Should renewals fail until the pause runs out, the live projectors resume on the live
/// generation; [`PauseLease::still_held`] then refuses the swap.
struct PauseLease {
    paused: Vec<(Which, Paused)>,
    keeper: tokio::task::JoinHandle<()>,
    held: Arc<Held>,
}

/// Until when the pause surely holds, and whether it ever ran out.
#[derive(Debug)]
struct Held {
    until: std::sync::Mutex<Instant>,
    lapsed: std::sync::atomic::AtomicBool,
}

impl PauseLease {
    async fn take(streams: &Streams, config: &ReadSideConfig) -> Result<Self, ProjectorError> {
        let lease = config.pause_lease;
        let asked_at = Instant::now();
        let paused = pause_live(streams, config).await?;
        let held = Arc::new(Held {
            until: std::sync::Mutex::new(asked_at + lease),
            lapsed: std::sync::atomic::AtomicBool::new(false),
        });
        let renewed: Vec<Paused> = paused.iter().map(|(_, p)| p.clone()).collect();
        let keeper = tokio::spawn(keep_paused(renewed, lease, held.clone()));
        Ok(Self { paused, keeper, held })
    }

    fn settled_at(&self, which: Which) -> Option<u64> {
        self.paused.iter().find(|p| p.0 == which).map(|p| p.1.settled_at)
    }

    /// `Ok` when the pause has held throughout and will for at least `margin` more.
    fn still_held(&self, margin: Duration) -> Result<(), ProjectorError> {
        let until = *self.held.until.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let lapsed = self.held.lapsed.load(std::sync::atomic::Ordering::Acquire);
        if lapsed || Instant::now() + margin >= until { Err(ProjectorError::PauseLost) } else { Ok(()) }
    }

    /// Stops renewing and resumes the live consumers.
    async fn release(self) -> Result<(), ProjectorError> {
        self.keeper.abort();
        let _ = self.keeper.await;
        resume_all(self.paused).await
    }
}

/// Renews `paused` at once (settling the consumers one after the other took time off the
/// first one's pause) and then every third of `lease` until aborted, recording until when
/// the pause surely holds.
async fn keep_paused(paused: Vec<Paused>, lease: Duration, held: Arc<Held>) {
    loop {
        let asked_at = Instant::now();
        let mut renewed = true;
        for p in &paused {
            if let Err(e) = p.renew(lease).await {
                warn!(error = %e, "could not renew the live projectors' pause");
                renewed = false;
            }
        }
        {
            let mut until = held.until.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            if Instant::now() >= *until {
                held.lapsed.store(true, std::sync::atomic::Ordering::Release);
            }
            if renewed {
                *until = asked_at + lease;
            }
        }
        tokio::time::sleep(lease / 3).await;
    }
}

async fn pause_live(
    streams: &Streams,
    config: &ReadSideConfig,
) -> Result<Vec<(Which, Paused)>, ProjectorError> {
    let mut paused = Vec::new();
    let targets = [
        (Which::Events, &streams.events, config.read_model.events_consumer()),
        (Which::Views, &streams.views, config.read_model.tallies_consumer()),
    ];
    // In-flight batches must settle well within the pause, before anyone renews it.
    let settle_within = config.pause_lease * 2 / 3;
    for (which, stream, name) in targets {
        match consumers::pause_and_settle(stream, &name, config.pause_lease, settle_within).await {
            Ok(Some(p)) => paused.push((which, p)),
            Ok(None) => {}
            Err(e) => {
                resume_all(paused).await?;
                return Err(e);
            }
        }
    }
    Ok(paused)
}

async fn resume_all(paused: Vec<(Which, Paused)>) -> Result<(), ProjectorError> {
    for (_, p) in paused {
        p.resume().await?;
    }
    Ok(())
}

fn remove_generation(file: &std::path::Path) {
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let mut path = file.as_os_str().to_owned();
        path.push(suffix);
        let _ = std::fs::remove_file(PathBuf::from(path));
    }
}

/// Reads every message of `stream` from `from` (up to `until`, or the end as of the start),
/// handing decoded batches to the caller's writer through a bounded pipeline, so that the
/// next batch is fetched and parsed while the previous one commits.
async fn read_pipelined<T, F>(
    stream: &Stream,
    filter: String,
    from: u64,
    until: Option<u64>,
    decode: F,
) -> Result<(u64, mpsc::Receiver<Result<Vec<T>, ProjectorError>>), ProjectorError>
where
    T: Send + 'static,
    F: Fn(&Message, u64) -> Result<T, ProjectorError> + Send + 'static,
{
    let mut consumer = stream
        .create_consumer(pull::OrderedConfig {
            filter_subject: filter,
            deliver_policy: DeliverPolicy::ByStartSequence { start_sequence: from.max(1) },
            ..Default::default()
        })
        .await
        .map_err(ProjectorError::nats)?;
    let total = consumer.info().await.map_err(ProjectorError::nats)?.num_pending;
    let (tx, rx) = mpsc::channel(PIPELINE_DEPTH);
    tokio::spawn(async move {
        let mut remaining = total;
        let mut batch = Vec::with_capacity(BUILD_BATCH);
        let mut messages = match consumer.messages().await {
            Ok(m) => m,
            Err(e) => {
                let _ = tx.send(Err(ProjectorError::nats(e))).await;
                return;
            }
        };
        while remaining > 0 {
            let item = match messages.next().await {
                Some(Ok(message)) => match message.info() {
                    Ok(info) => {
                        let sequence = info.stream_sequence;
                        if until.is_some_and(|u| sequence > u) {
                            break;
                        }
                        decode(&message, sequence)
                    }
                    Err(e) => Err(ProjectorError::nats(e)),
                },
                Some(Err(e)) => Err(ProjectorError::nats(e)),
                None => break,
            };
            remaining -= 1;
            match item {
                Ok(decoded) => batch.push(decoded),
                Err(e) => {
                    let _ = tx.send(Err(e)).await;
                    return;
                }
            }
            if batch.len() == BUILD_BATCH
                && tx.send(Ok(std::mem::replace(&mut batch, Vec::with_capacity(BUILD_BATCH)))).await.is_err()
            {
                return;
            }
        }
        if !batch.is_empty() {
            let _ = tx.send(Ok(batch)).await;
        }
    });
    Ok((total, rx))
}

/// Projects every message of `feed` in `stream` from `from` (up to `until`, or the end as of
/// the start) into `conn`.
async fn copy_feed<F: Feed>(
    feed: F,
    stream: &Stream,
    from: u64,
    until: Option<u64>,
    mut conn: rusqlite::Connection,
    progress: &dyn Progress,
) -> Result<(rusqlite::Connection, Copied), ProjectorError> {
    let filter = feed.filter();
    let (total, mut batches) = read_pipelined(stream, filter, from, until, move |message, sequence| {
        match feed.decode(message, sequence) {
            Ok(item) => Ok((sequence, Some(item))),
            Err(e) => match F::ORDER {
                Order::History => Err(ProjectorError::Unreadable { feed: F::NAME, source: e.into() }),
                Order::Counts => {
                    // Live projectors terminate it: it counts for nothing in either.
                    warn!(error = %e, "unreadable message; skipped");
                    Ok((sequence, None))
                }
            },
        }
    })
    .await?;
    progress.start(F::NAME, total);
    let started = Instant::now();
    let mut copied = Copied { last: from.saturating_sub(1), ..Copied::default() };
    // Time spent waiting for the reader: tells whether reading or writing bounds a rebuild.
    let mut waiting = Duration::ZERO;
    loop {
        let asked = Instant::now();
        let Some(batch) = batches.recv().await else { break };
        waiting += asked.elapsed();
        let batch = batch?;
        let read = batch.len() as u64;
        copied.last = batch.last().map_or(copied.last, |(sequence, _)| *sequence);
        let batch: Vec<F::Item> = batch.into_iter().filter_map(|(_, item)| item).collect();
        copied.skipped += read - batch.len() as u64;
        copied.items += batch.len() as u64;
        copied.events += batch.iter().map(F::events).sum::<u64>();
        let (back, deferred) = db::blocking(conn, move |c| {
            let sequences: Vec<u64> = batch.iter().map(F::stream_sequence).collect();
            let projected = F::project(c, batch)?;
            let deferred: Vec<u64> = projected
                .verdicts
                .iter()
                .zip(sequences)
                .filter(|(v, _)| **v == Verdict::Deferred)
                .map(|(_, sequence)| sequence)
                .collect();
            Ok(deferred)
        })
        .await;
        conn = back;
        let deferred = deferred?;
        match F::ORDER {
            Order::History => {
                if let Some(&sequence) = deferred.first() {
                    return Err(ProjectorError::OutOfOrder(sequence));
                }
            }
            // Every event is projected before any tally, so a deferred tally counts a page that
            // never existed: it counts for nothing, here as in live projection.
            Order::Counts if !deferred.is_empty() => {
                warn!(orphans = deferred.len(), "view tallies for pages that do not exist");
            }
            Order::Counts => {}
        }
        progress.advance(read);
    }
    progress.finish();
    info!(
        feed = F::NAME,
        items = copied.items,
        skipped = copied.skipped,
        seconds = started.elapsed().as_secs_f64(),
        waiting_for_reader = waiting.as_secs_f64(),
        "projected"
    );
    Ok((conn, copied))
}
