//! Group commit: appends that come while another is being stored go to JetStream together, in
//! one atomic batch, so that one synced write stores them all.
//!
//! Each append keeps its own `Nats-Msg-Id` and `Nats-Expected-Last-Subject-Sequence`, which
//! JetStream checks message by message; a batch is stored whole or not at all. When it is
//! refused (one of its appends conflicts or repeats a stored command, or the stream takes no
//! batches), nothing of it is stored, and every append is sent again on its own for an answer
//! of its own: a refusal reaches only the append it concerns. When a batch's answer does not
//! come, every append in it is told so, as a lone publish would be, and its caller resends it
//! (`repository::append` tells a resend that meets its own landed commit from a conflict).
//!
//! Appends to one subject are never in one batch: the second goes in the next.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_nats::HeaderMap;
use async_nats::header::{NATS_BATCH_COMMIT, NATS_BATCH_ID, NATS_BATCH_SEQUENCE};
use async_nats::jetstream::context::{PublishError, PublishErrorKind};
use async_nats::jetstream::publish::PublishAck;
use async_nats::jetstream::{self, ErrorCode};
use bytes::Bytes;
use futures::future::join_all;
use tokio::sync::{Semaphore, mpsc, oneshot};
use tokio::task::JoinHandle;
use tracing::{Instrument, debug, debug_span, warn};
use ulid::Ulid;

/// Most appends in one batch (JetStream takes up to 1,000).
const MOST_PER_BATCH: usize = 128;

/// How long the next store waits for the one before it to finish, gathering what comes
/// meanwhile. A store takes a flush to disk (a replica's answer in a cluster), a few
/// milliseconds; one that takes longer has lost its answer or meets a moving leader.
const PATIENCE: Duration = Duration::from_millis(100);

/// Most stores under way at once.
const MOST_IN_FLIGHT: usize = 16;

/// JetStream's error codes for batches this stream or server cannot take as they are sent:
/// the stream does not allow them (10174), or the server (an older one) takes no message id in
/// one (10177).
const BATCHES_NOT_TAKEN: [ErrorCode; 2] = [ErrorCode(10174), ErrorCode(10177)];

/// One message to append: its subject, headers (message id and expectation included) and
/// payload.
#[derive(Debug, Clone)]
pub(crate) struct Append {
    pub(crate) subject: String,
    pub(crate) headers: HeaderMap,
    pub(crate) payload: Bytes,
}

/// The queue of appends to one stream's JetStream context; cheap to clone. The task storing
/// them ends when the last clone is dropped.
#[derive(Debug, Clone)]
pub(crate) struct GroupCommit {
    queue: mpsc::UnboundedSender<Queued>,
}

struct Queued {
    append: Append,
    answer: oneshot::Sender<Result<PublishAck, PublishError>>,
}

impl GroupCommit {
    /// Starts the task that stores what is queued.
    pub(crate) fn start(js: jetstream::Context) -> Self {
        let (queue, queued) = mpsc::unbounded_channel();
        tokio::spawn(store_queued(js, queued).instrument(debug_span!("group_commit")));
        Self { queue }
    }

    /// Appends `append`, alone or with others, and answers as a publish of it alone would.
    pub(crate) async fn publish(&self, append: Append) -> Result<PublishAck, PublishError> {
        let (answer, answered) = oneshot::channel();
        self.queue
            .send(Queued { append, answer })
            .map_err(|_| PublishError::new(PublishErrorKind::BrokenPipe))?;
        answered.await.unwrap_or_else(|_| Err(PublishError::new(PublishErrorKind::BrokenPipe)))
    }
}

/// Stores what comes in `queued`, in arrival order: whatever waits when the store before
/// is done goes in the next one, up to [`MOST_PER_BATCH`]. A store that takes longer than
/// [`PATIENCE`] (its answer is lost, a leader is moving) holds up no other: the next starts
/// beside it, up to [`MOST_IN_FLIGHT`] at once.
async fn store_queued(js: jetstream::Context, mut queued: mpsc::UnboundedReceiver<Queued>) {
    let mut held: Option<Queued> = None;
    let batches_allowed = Arc::new(AtomicBool::new(true));
    let in_flight = Arc::new(Semaphore::new(MOST_IN_FLIGHT));
    let mut previous: Option<JoinHandle<()>> = None;
    loop {
        let first = match held.take() {
            Some(first) => first,
            None => match queued.recv().await {
                Some(first) => first,
                None => return,
            },
        };
        // What comes while the store before finishes joins this one.
        if let Some(previous) = previous.as_mut() {
            let _ = tokio::time::timeout(PATIENCE, previous).await;
        }
        let Ok(permit) = Arc::clone(&in_flight).acquire_owned().await else { return };
        let mut group = vec![first];
        let mut subjects: HashSet<String> = HashSet::from([group[0].append.subject.clone()]);
        while group.len() < MOST_PER_BATCH {
            let Ok(next) = queued.try_recv() else { break };
            if !subjects.insert(next.append.subject.clone()) {
                held = Some(next);
                break;
            }
            group.push(next);
        }
        let (js, batches_allowed) = (js.clone(), Arc::clone(&batches_allowed));
        previous = Some(tokio::spawn(
            async move {
                store(&js, group, &batches_allowed).await;
                drop(permit);
            }
            .in_current_span(),
        ));
    }
}

/// Stores `group`: in one batch if it holds several appends and the stream takes batches,
/// else (or when the batch is refused) one by one; and answers each append.
async fn store(js: &jetstream::Context, group: Vec<Queued>, batches_allowed: &AtomicBool) {
    if group.len() == 1 || !batches_allowed.load(Ordering::Relaxed) {
        return one_by_one(js, group).await;
    }
    match commit(js, &group).await {
        Ok(acks) => {
            for (queued, ack) in group.into_iter().zip(acks) {
                let _ = queued.answer.send(Ok(ack));
            }
        }
        Err(Failure::NotStored(reason)) => {
            if reason.as_ref().and_then(server_code).is_some_and(|code| BATCHES_NOT_TAKEN.contains(&code)) {
                warn!(error = ?reason, "the event stream takes no batches of appends; they are stored one by one");
                batches_allowed.store(false, Ordering::Relaxed);
            }
            debug!(count = group.len(), error = ?reason, "batch not stored; its appends go one by one");
            one_by_one(js, group).await;
        }
        Err(Failure::Unanswered) => {
            debug!(count = group.len(), "batch unanswered; its appends are resent");
            for queued in group {
                // As for a lone publish whose answer did not come: resent, and a resend that
                // meets the landed commit knows it for its own.
                let _ = queued.answer.send(Err(PublishError::new(PublishErrorKind::TimedOut)));
            }
        }
    }
}

/// Publishes each of `group` on its own, all at once, and passes on each answer.
async fn one_by_one(js: &jetstream::Context, group: Vec<Queued>) {
    join_all(group.into_iter().map(|queued| async move {
        let Append { subject, headers, payload } = queued.append;
        let answer = match js.publish_with_headers(subject, headers, payload).await {
            Ok(ack) => ack.await,
            Err(e) => Err(e),
        };
        let _ = queued.answer.send(answer);
    }))
    .await;
}

/// Why a batch was not stored, as far as is known.
enum Failure {
    /// Certainly not stored: it was not all sent, or JetStream refused it (the reason).
    NotStored(Option<PublishError>),
    /// Perhaps stored: its answer did not come, or was not what was sent.
    Unanswered,
}

/// Stores `group` in one atomic batch and returns each append's acknowledgement, with its
/// own stream sequence: a batch is stored in order, on consecutive sequences.
async fn commit(js: &jetstream::Context, group: &[Queued]) -> Result<Vec<PublishAck>, Failure> {
    let batch = Ulid::new().to_string();
    let client = js.client();
    let count = group.len();
    let mut commit = None;
    for (at, queued) in group.iter().enumerate() {
        let Append { subject, headers, payload } = queued.append.clone();
        let mut headers = headers;
        headers.insert(NATS_BATCH_ID, batch.as_str());
        headers.insert(NATS_BATCH_SEQUENCE, (at + 1).to_string().as_str());
        if at + 1 < count {
            // Stored or refused with the batch as a whole, when its last message commits it.
            client
                .publish_with_headers(subject, headers, payload)
                .await
                .map_err(|_| Failure::NotStored(None))?;
        } else {
            headers.insert(NATS_BATCH_COMMIT, "1");
            commit = Some(
                js.publish_with_headers(subject, headers, payload)
                    .await
                    .map_err(|_| Failure::NotStored(None))?,
            );
        }
    }
    let Some(commit) = commit else { return Err(Failure::NotStored(None)) };
    let ack = match commit.await {
        Ok(ack) => ack,
        Err(e) if server_code(&e).is_some() => return Err(Failure::NotStored(Some(e))),
        Err(_) => return Err(Failure::Unanswered),
    };
    let (Some(size), Some(first)) = (ack.batch_size, (ack.sequence + 1).checked_sub(count as u64)) else {
        return Err(Failure::Unanswered);
    };
    if size != count as u64 || first == 0 {
        return Err(Failure::Unanswered);
    }
    debug!(count, last = ack.sequence, "appends stored in one batch");
    Ok((first..=ack.sequence).map(|sequence| PublishAck { sequence, ..ack.clone() }).collect())
}

/// The error code of JetStream's answer, when `err` is one.
fn server_code(err: &PublishError) -> Option<ErrorCode> {
    std::error::Error::source(err)?.downcast_ref::<jetstream::Error>().map(jetstream::Error::error_code)
}
