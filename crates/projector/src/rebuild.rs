//! Rebuilding the read model from the streams, and verifying the live one against a fresh
//! build.
//!
//! A rebuild writes a new generation while live projectors keep running on the current one:
//! it loads the view count checkpoints, projects every event, starts each page's count from
//! its checkpoint, projects the retained view tallies, and creates the indexes. Then it
//! catches up in rounds, each projecting what arrived during the one before, until a round is
//! small. Only then does it pause the live consumers, wait for their in-flight batches,
//! project the last few messages, swap the new generation in (one rename) and resume them.
//! The pause is a lease it renews while it works; should it lapse, the swap is refused and
//! the live generation stays. The content hash is read after the resume, from a snapshot
//! taken during the pause. Readers never stop: old connections finish on the old generation,
//! new ones open the new.
//!
//! A verification pauses nothing: it reads the live read model's position and hashes it from
//! one snapshot while building a fresh model of exactly the messages that position covers.

use std::collections::BTreeSet;
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
use valentine_eventstore::{DataKeys, ensure_stream};
use valentine_projections::applied::{self, Position};
use valentine_projections::parked::{ParkedEvents, ParkedState};
use valentine_projections::{Verdict, db, hash, view_checkpoints};

use crate::checkpointer;
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

/// A catch-up round this small (messages) is the last before the pause.
const SMALL_DELTA: u64 = 2_000;

/// Catch-up rounds at most before the pause, should traffic keep every round large.
const MAX_ROUNDS: usize = 10;

/// What a rebuild did.
#[derive(Debug, Clone, Serialize)]
pub struct RebuildReport {
    /// Event messages (commits) projected.
    pub commits: u64,
    /// Events projected.
    pub events: u64,
    /// View tally messages projected.
    pub tallies: u64,
    /// Messages of the view stream that are not tallies, skipped (and logged).
    pub skipped_tallies: u64,
    /// Pages whose view counts started from a checkpoint.
    pub checkpoints: u64,
    /// Catch-up rounds after the first pass, the last one paused.
    pub rounds: usize,
    /// How long the live projectors were paused, in milliseconds.
    pub pause_ms: u64,
    /// Wall time.
    #[serde(with = "seconds")]
    pub elapsed: Duration,
    /// Content hash of the new read model as swapped in.
    pub content_hash: String,
    /// The generation file now in use.
    pub generation: PathBuf,
    /// Its size on disk, with its write-ahead log, right after the swap.
    pub generation_bytes: u64,
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
    /// The live read model's events position compared at.
    pub events_through: u64,
    /// Its views position compared at.
    pub views_through: u64,
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

impl Copied {
    fn and(self, more: Self) -> Self {
        Self {
            items: self.items + more.items,
            events: self.events + more.events,
            skipped: self.skipped + more.skipped,
            last: self.last.max(more.last),
        }
    }
}

/// Which messages of a stream [`copy_feed`] projects.
#[derive(Debug, Clone, Default)]
struct Span {
    /// The first sequence to read.
    from: u64,
    /// The last sequence to read; `None` for the end of the stream as of the start.
    until: Option<u64>,
    /// Only the messages this position covers (a verification's); `None` for all.
    only: Option<Arc<Position>>,
}

impl Span {
    fn after(last: u64) -> Self {
        Self { from: last + 1, ..Self::default() }
    }
}

struct Streams {
    js: jetstream::Context,
    events: Stream,
    views: Stream,
    keys: DataKeys,
    /// Event messages an operator skipped when this read model's projectors parked them.
    skipped: Arc<BTreeSet<u64>>,
}

async fn open_streams(config: &ReadSideConfig) -> Result<Streams, ProjectorError> {
    let client = config.nats.connect("valentine-rebuild").await.map_err(ProjectorError::nats)?;
    let js = jetstream::new(client);
    let consumer = config.read_model.events_consumer();
    let skipped: BTreeSet<u64> = ParkedEvents::open(&js, &config.events)
        .await?
        .list()
        .await?
        .into_iter()
        .filter(|p| p.consumer == consumer && p.state == ParkedState::Skipped)
        .map(|p| p.stream_sequence)
        .collect();
    if !skipped.is_empty() {
        info!(skipped = skipped.len(), "parked events an operator skipped are passed over");
    }
    Ok(Streams {
        events: ensure_stream(&js, &config.events).await?,
        views: ensure_stream(&js, &config.tallies).await?,
        keys: DataKeys::open(&js, &config.events).await?,
        skipped: Arc::new(skipped),
        js,
    })
}

/// The first pass of a build whose checkpoints are loaded: every event, counts from
/// checkpoints, every retained tally. Returns where each feed stopped.
async fn first_pass(
    config: &ReadSideConfig,
    streams: &Streams,
    conn: rusqlite::Connection,
    progress: &dyn Progress,
    only: (Option<Arc<Position>>, Option<Arc<Position>>),
) -> Result<(rusqlite::Connection, Copied, Copied), ProjectorError> {
    let store = checkpointer::bucket(&streams.js, &config.tallies).await?;
    let complete = checkpointer::complete_through(&store).await?;
    let events_span = Span { from: 1, until: only.0.as_ref().map(|p| p.highest()), only: only.0 };
    let (conn, events) = copy_feed(
        Events::new(&config.events, streams.keys.clone()).skipping(Arc::clone(&streams.skipped)),
        &streams.events,
        events_span,
        conn,
        progress,
    )
    .await?;
    let (conn, started) = db::blocking(conn, |c| view_checkpoints::start_counts(c)).await;
    info!(started = started?, "view counts started from checkpoints");
    let first = streams.views.clone().info().await.map_err(ProjectorError::nats)?.state.first_sequence;
    if !checkpointer::forgotten_views_are_saved(first, complete) {
        warn!(
            first_retained = first,
            checkpointed_through = complete,
            "the VIEWS stream no longer holds tallies no checkpoint holds: their views are lost"
        );
    }
    let views_span = Span { from: 1, until: only.1.as_ref().map(|p| p.highest()), only: only.1 };
    let (conn, tallies) =
        copy_feed(Tallies::new(&config.tallies), &streams.views, views_span, conn, progress).await?;
    Ok((conn, events, tallies))
}

/// Builds a new generation from the streams and swaps it in.
///
/// # Errors
/// When NATS or SQLite fail, the stream's history is out of order, or the live projectors'
/// pause lapsed before the swap; the current read model is untouched then.
pub async fn rebuild(
    config: &ReadSideConfig,
    progress: &dyn Progress,
) -> Result<RebuildReport, ProjectorError> {
    let started = Instant::now();
    let _only_one = only_one(config)?;
    let streams = open_streams(config).await?;
    db::prepare(&config.read_model.database_path).await?;
    let (conn, generation) = db::build_connection(&config.read_model.database_path).await?;
    let (events_feed, tallies_feed) = (
        Events::new(&config.events, streams.keys.clone()).skipping(Arc::clone(&streams.skipped)),
        Tallies::new(&config.tallies),
    );
    let built = async {
        let (conn, checkpoints) = checkpointer::load_into(&streams.js, &config.tallies, conn).await?;
        let (conn, mut events, mut tallies) =
            first_pass(config, &streams, conn, progress, (None, None)).await?;
        let sealing = Instant::now();
        let (mut conn, sealed) = db::blocking(conn, db::seal_build).await;
        sealed?;
        info!(seconds = sealing.elapsed().as_secs_f64(), "indexed");

        // Catch up while live projection runs, until what is left is small.
        let mut rounds = 0;
        while rounds < MAX_ROUNDS {
            rounds += 1;
            let (back, more) =
                copy_feed(events_feed.clone(), &streams.events, Span::after(events.last), conn, progress)
                    .await?;
            let (back, more_tallies) =
                copy_feed(tallies_feed.clone(), &streams.views, Span::after(tallies.last), back, progress)
                    .await?;
            conn = back;
            (events, tallies) = (events.and(more), tallies.and(more_tallies));
            if more.items + more_tallies.items + more.skipped + more_tallies.skipped <= SMALL_DELTA {
                break;
            }
        }

        // The last delta with live projectors paused, so none is missed.
        let pause_started = Instant::now();
        let paused = PauseLease::take(&streams, config).await?;
        let caught_up = async {
            let (conn, more) =
                copy_feed(events_feed, &streams.events, Span::after(events.last), conn, progress).await?;
            let (conn, more_tallies) =
                copy_feed(tallies_feed, &streams.views, Span::after(tallies.last), conn, progress).await?;
            // What the swap hands over, to hash once live projection is back.
            let snapshot = db::snapshot(&generation)?;
            // Only while the live projectors are still held: once their pause has lapsed they
            // may have written to the live generation what this one lacks.
            paused.still_held(SWAP_MARGIN.min(config.pause_lease / 4))?;
            db::swap_in(&config.read_model.database_path, &generation)?;
            Ok::<_, ProjectorError>((conn, more, more_tallies, snapshot))
        }
        .await;
        paused.release().await?;
        let pause = pause_started.elapsed();
        let (conn, more, more_tallies, snapshot) = caught_up?;
        rounds += 1;
        info!(ms = pause.as_millis(), "live projection paused");
        let generation_bytes = file_bytes(&generation);
        drop(conn);
        let (_, content_hash) = db::blocking(snapshot, |c| {
            let hashed = hash::hash_rows(c);
            c.execute_batch("COMMIT")?;
            hashed
        })
        .await;
        let (events, tallies) = (events.and(more), tallies.and(more_tallies));
        Ok::<_, ProjectorError>(RebuildReport {
            commits: events.items,
            events: events.events,
            tallies: tallies.items,
            skipped_tallies: tallies.skipped,
            checkpoints,
            rounds,
            pause_ms: u64::try_from(pause.as_millis()).unwrap_or(u64::MAX),
            elapsed: started.elapsed(),
            content_hash: content_hash?,
            generation: generation.clone(),
            generation_bytes,
            peak_rss_bytes: peak_rss_bytes(),
        })
    }
    .await;
    if built.is_err()
        && std::fs::canonicalize(&config.read_model.database_path).ok() != Some(generation.clone())
    {
        remove_generation(&generation);
    }
    let report = built?;
    info!(commits = report.commits, tallies = report.tallies, hash = %report.content_hash, "rebuilt");
    Ok(report)
}

/// The size of a generation file and its write-ahead log.
fn file_bytes(file: &std::path::Path) -> u64 {
    ["", "-wal"]
        .iter()
        .map(|suffix| {
            let mut path = file.as_os_str().to_owned();
            path.push(suffix);
            std::fs::metadata(PathBuf::from(path)).map_or(0, |m| m.len())
        })
        .sum()
}

/// Builds a fresh read model of exactly what the live one has applied, and compares content
/// hashes. Live projection goes on throughout: the live read model is hashed from a snapshot
/// whose positions say what the fresh build projects. The fresh build is thrown away.
///
/// # Errors
/// When NATS or SQLite fail.
pub async fn verify(
    config: &ReadSideConfig,
    progress: &dyn Progress,
) -> Result<Verification, ProjectorError> {
    let _only_one = only_one(config)?;
    let streams = open_streams(config).await?;
    db::prepare(&config.read_model.database_path).await?;
    let (conn, generation) = db::build_connection(&config.read_model.database_path).await?;
    let compared = async {
        let (conn, _) = checkpointer::load_into(&streams.js, &config.tallies, conn).await?;
        let (conn, newest) = db::blocking(conn, |c| view_checkpoints::newest(c)).await;
        let live = snapshot_past(config, newest?).await?;
        let events_at = Arc::new(applied::position(&live, applied::EVENTS)?);
        let views_at = Arc::new(applied::position(&live, applied::VIEWS)?);
        let (events_through, views_through) = (events_at.through, views_at.through);
        let live_hash = tokio::task::spawn_blocking(move || {
            let hashed = hash::hash_rows(&live);
            live.execute_batch("COMMIT")?;
            hashed
        });
        let (conn, ..) =
            first_pass(config, &streams, conn, progress, (Some(events_at), Some(views_at))).await?;
        let fresh = db::complete_build(conn, &generation).await;
        let live = live_hash
            .await
            .map_err(std::io::Error::other)
            .map_err(valentine_projections::ProjectionError::from)?;
        Ok::<_, ProjectorError>(Verification { live: live?, fresh: fresh?, events_through, views_through })
    }
    .await;
    remove_generation(&generation);
    compared
}

/// A snapshot of the live read model whose views position has reached `newest`, the latest
/// checkpoint (a fresh build starts pages from them, so it can build no earlier position).
/// Waits up to a pause lease for live projection to get there.
async fn snapshot_past(config: &ReadSideConfig, newest: u64) -> Result<rusqlite::Connection, ProjectorError> {
    let live_file = std::fs::canonicalize(&config.read_model.database_path)
        .map_err(valentine_projections::ProjectionError::from)?;
    let deadline = Instant::now() + config.pause_lease;
    loop {
        let snapshot = db::snapshot(&live_file)?;
        if applied::through(&snapshot, applied::VIEWS)? >= newest {
            return Ok(snapshot);
        }
        if Instant::now() >= deadline {
            return Err(ProjectorError::nats(format!(
                "the live read model's views position stays behind the checkpoints (at {newest})"
            )));
        }
        drop(snapshot);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The rebuild lock of the read model, or `RebuildRunning` while another run holds it.
fn only_one(config: &ReadSideConfig) -> Result<db::RebuildLock, ProjectorError> {
    db::RebuildLock::try_take(&config.read_model.database_path)?.ok_or(ProjectorError::RebuildRunning)
}

/// The live consumers, paused for as long as a rebuild or verification works: a keeper
/// renews their pause every third of [`ReadSideConfig::pause_lease`], so a run that dies
/// holds them back at most that long, while one that lives holds them as long as it needs.
/// Should renewals fail until the pause runs out, the live projectors resume on the live
/// generation; [`PauseLease::still_held`] then refuses the swap.
struct PauseLease {
    paused: Vec<Paused>,
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
        let renewed = paused.clone();
        let keeper = tokio::spawn(keep_paused(renewed, lease, held.clone()));
        Ok(Self { paused, keeper, held })
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

async fn pause_live(streams: &Streams, config: &ReadSideConfig) -> Result<Vec<Paused>, ProjectorError> {
    let mut paused = Vec::new();
    let targets = [
        (&streams.events, config.read_model.events_consumer()),
        (&streams.views, config.read_model.tallies_consumer()),
    ];
    // In-flight batches must settle well within the pause, before anyone renews it.
    let settle_within = config.pause_lease * 2 / 3;
    for (stream, name) in targets {
        match consumers::pause_and_settle(stream, &name, config.pause_lease, settle_within).await {
            Ok(Some(p)) => paused.push(p),
            Ok(None) => {}
            Err(e) => {
                resume_all(paused).await?;
                return Err(e);
            }
        }
    }
    Ok(paused)
}

async fn resume_all(paused: Vec<Paused>) -> Result<(), ProjectorError> {
    for p in paused {
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

/// A decoded batch: each message's stream sequence and what it holds.
type Decoded<T> = Result<Vec<(u64, Slot<T>)>, ProjectorError>;

/// A batch on its way to the writer: decoding on a blocking thread, in stream order.
type Decoding<T> = tokio::task::JoinHandle<Decoded<T>>;

/// Reads every message of `stream` that `feed` reads from `from` (up to `until`, or the end
/// as of the start), handing decoded batches to the caller's writer through a bounded
/// pipeline: the next batch is fetched and its data keys looked up while the one before is
/// decoded on another thread and the one before that commits. Messages `covered` refuses
/// are handed on as [`Slot::Outside`].
async fn read_pipelined<F: Feed>(
    stream: &Stream,
    feed: F,
    from: u64,
    until: Option<u64>,
    covered: impl Fn(u64) -> bool + Send + Sync + 'static,
) -> Result<(u64, mpsc::Receiver<Decoding<F::Item>>), ProjectorError> {
    let covered = Arc::new(covered);
    let mut consumer = stream
        .create_consumer(pull::OrderedConfig {
            filter_subject: feed.filter(),
            deliver_policy: DeliverPolicy::ByStartSequence { start_sequence: from.max(1) },
            ..Default::default()
        })
        .await
        .map_err(ProjectorError::nats)?;
    let total = consumer.info().await.map_err(ProjectorError::nats)?.num_pending;
    let (tx, rx) = mpsc::channel(PIPELINE_DEPTH);
    tokio::spawn(async move {
        let mut remaining = total;
        let mut pending: Vec<(Message, u64)> = Vec::with_capacity(BUILD_BATCH);
        let failed = |e: ProjectorError| tokio::spawn(async move { Err(e) });
        let mut messages = match consumer.messages().await {
            Ok(m) => m,
            Err(e) => {
                let _ = tx.send(failed(ProjectorError::nats(e))).await;
                return;
            }
        };
        let mut ended = remaining == 0;
        while !ended {
            let read = match messages.next().await {
                Some(Ok(message)) => match message.info() {
                    Ok(info) => {
                        let sequence = info.stream_sequence;
                        if until.is_some_and(|u| sequence > u) {
                            ended = true;
                            Ok(None)
                        } else {
                            Ok(Some((message, sequence)))
                        }
                    }
                    Err(e) => Err(ProjectorError::nats(e)),
                },
                Some(Err(e)) => Err(ProjectorError::nats(e)),
                None => {
                    ended = true;
                    Ok(None)
                }
            };
            match read {
                Ok(Some(item)) => {
                    pending.push(item);
                    remaining -= 1;
                    ended |= remaining == 0;
                }
                Ok(None) => {}
                Err(e) => {
                    let _ = tx.send(failed(e)).await;
                    return;
                }
            }
            if pending.len() == BUILD_BATCH || (ended && !pending.is_empty()) {
                let batch = std::mem::take(&mut pending);
                let inside: Vec<&Message> =
                    batch.iter().filter(|(_, s)| covered(*s)).map(|(m, _)| m).collect();
                let context = match feed.prepare(&inside).await {
                    Ok(context) => context,
                    Err(e) => {
                        let _ = tx.send(failed(e)).await;
                        return;
                    }
                };
                let (feed, covered) = (feed.clone(), Arc::clone(&covered));
                let decoding =
                    tokio::task::spawn_blocking(move || decode_batch(&feed, &batch, &context, &*covered));
                if tx.send(decoding).await.is_err() {
                    return;
                }
            }
        }
    });
    Ok((total, rx))
}

/// Decodes one batch of a rebuild's messages in stream order, with what `prepare` got for
/// them.
fn decode_batch<F: Feed>(
    feed: &F,
    messages: &[(Message, u64)],
    context: &F::Context,
    covered: &(impl Fn(u64) -> bool + Sync),
) -> Decoded<F::Item> {
    messages
        .iter()
        .map(|(message, sequence)| {
            let sequence = *sequence;
            if !covered(sequence) {
                return Ok((sequence, Slot::Outside));
            }
            if feed.skipped(sequence) {
                // Parked, then skipped by an operator: live projection never applied it.
                return Ok((sequence, Slot::Unreadable));
            }
            match feed.decode(message, sequence, context) {
                Ok(item) => Ok((sequence, Slot::Item(item))),
                Err(e) => match F::ORDER {
                    Order::History => Err(ProjectorError::Unreadable { feed: F::NAME, source: e.into() }),
                    Order::Counts => {
                        // Live projectors terminate it: it counts for nothing in either.
                        warn!(error = %e, "unreadable message; skipped");
                        Ok((sequence, Slot::Unreadable))
                    }
                },
            }
        })
        .collect()
}

/// A message as the reader hands it to the writer.
enum Slot<T> {
    /// Decoded, to project.
    Item(T),
    /// Unreadable: counts for nothing (view tallies only).
    Unreadable,
    /// Not covered by the position being rebuilt (a verification's): left out.
    Outside,
}

/// Projects the messages of `feed` in `stream` that `span` names into `conn`, settling the
/// build's position over them as it goes (messages the stream no longer holds included).
///
/// A view tally whose page is not in the build yet stops the copy just before it: the page's
/// creation is in the stream after where the events were read, and the next round (or, for
/// the last delta, live projection after the swap) counts it.
async fn copy_feed<F: Feed>(
    feed: F,
    stream: &Stream,
    span: Span,
    mut conn: rusqlite::Connection,
    progress: &dyn Progress,
) -> Result<(rusqlite::Connection, Copied), ProjectorError> {
    let only = span.only.clone();
    let covered = move |sequence| only.as_ref().is_none_or(|p| p.covers(sequence));
    let (total, mut batches) = read_pipelined(stream, feed, span.from, span.until, covered).await?;
    progress.start(F::NAME, total);
    let started = Instant::now();
    let mut copied = Copied { last: span.from.saturating_sub(1), ..Copied::default() };
    let settles = span.only.is_none();
    // Time spent waiting for the reader: tells whether reading or writing bounds a rebuild.
    let mut waiting = Duration::ZERO;
    loop {
        let asked = Instant::now();
        let Some(decoding) = batches.recv().await else { break };
        let batch =
            decoding.await.map_err(|e| ProjectorError::Unreadable { feed: F::NAME, source: e.into() })?;
        waiting += asked.elapsed();
        let batch = batch?;
        let read = batch.len() as u64;
        let last = batch.last().map_or(copied.last, |(sequence, _)| *sequence);
        let mut items = Vec::with_capacity(batch.len());
        for (_, slot) in batch {
            match slot {
                Slot::Item(item) => items.push(item),
                Slot::Unreadable => copied.skipped += 1,
                Slot::Outside => {}
            }
        }
        copied.items += items.len() as u64;
        copied.events += items.iter().map(F::events).sum::<u64>();
        let (back, deferred) = db::blocking(conn, move |c| {
            let sequences: Vec<u64> = items.iter().map(F::stream_sequence).collect();
            let projected = F::project(c, items)?;
            let deferred = projected
                .verdicts
                .iter()
                .zip(sequences)
                .find(|(v, _)| **v == Verdict::Deferred)
                .map(|(_, sequence)| sequence);
            if settles {
                applied::settle_through(c, F::POSITION, deferred.map_or(last, |d| d - 1))?;
            }
            Ok(deferred)
        })
        .await;
        conn = back;
        if let Some(sequence) = deferred? {
            match F::ORDER {
                Order::History => return Err(ProjectorError::OutOfOrder(sequence)),
                Order::Counts => {
                    info!(sequence, "a view tally's page is not in the build yet; the next round counts it");
                    copied.last = sequence - 1;
                    break;
                }
            }
        }
        copied.last = last;
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
