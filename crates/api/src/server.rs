//! The HTTP server: accepts connections up to a cap and serves each with hyper (HTTP/1.1),
//! closing those that are slow to send a request head or sit idle between requests.
//!
//! hyper's own `header_read_timeout` restarts the moment a kept-alive connection goes idle,
//! so one number would bound both the wait for the next request and the reading of its head.
//! Each connection here keeps its own deadline instead, from what it sees:
//! - accepted, or the first byte of a request head arrived: the head must be complete within
//!   the header-read timeout;
//! - the last response is sent and nothing has arrived since: the next request must start
//!   within the idle timeout;
//! - a request is being served: no deadline here (the router's time limit applies).
//!
//! The watchdog is never woken by the connection's requests: each request only notes its
//! phase, and the watchdog looks at it when it wakes. It may sleep until the current deadline
//! or until the shorter timeout from now, whichever comes first: a phase that begins later has
//! a deadline at least the shorter timeout after its beginning, so none can fall earlier.
//! So every deadline is kept exactly, and a busy connection's watchdog wakes once per shorter
//! timeout, not once per request.
//!
//! Beyond the cap, new connections are not accepted: they wait in the listen backlog until a
//! connection closes, which the timeouts make sure happens soon. A waiting client is served a
//! little late instead of refused, and excess connections cost no file descriptor.

use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;
use std::pin::{Pin, pin};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use bytes::Bytes;
use hyper::body::{Body as HttpBody, Frame, Incoming, SizeHint};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower::ServiceExt;
use tracing::{debug, error};

use crate::metrics::Metrics;

/// How long accepting pauses after an error other than a connection's own (say, out of file
/// descriptors), so the loop does not spin.
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_secs(1);

/// The connection budgets.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ConnectionLimits {
    /// How long a request head may take, from the connection's start or its first byte.
    pub(crate) header_read: Duration,
    /// How long a kept-alive connection may wait for its next request.
    pub(crate) idle: Duration,
    /// Connections served at once.
    pub(crate) max_connections: usize,
}

/// Serves `router` on `listener` until `shutdown` is cancelled; then stops accepting, closes
/// idle connections, lets each busy one finish the request it is serving (and one still
/// receiving a request head, within the header-read timeout), and returns once all are
/// closed.
pub(crate) async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ConnectionLimits,
    metrics: Metrics,
    shutdown: CancellationToken,
) {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let connections = TaskTracker::new();
    loop {
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => slot.expect("the semaphore is never closed"),
            () = shutdown.cancelled() => break,
        };
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = shutdown.cancelled() => break,
        };
        match accepted {
            Ok((stream, peer)) => {
                let connection = Connection {
                    router: router.clone(),
                    limits,
                    metrics: metrics.clone(),
                    // Its own token: a connection checks for shutdown whenever it wakes, and
                    // one token shared by all would be one lock they all contend for.
                    shutdown: shutdown.child_token(),
                    _slot: Slot::taken(slot, metrics.clone()),
                };
                connections.spawn(connection.serve(stream, peer));
            }
            Err(e) if is_connection_error(&e) => {}
            Err(e) => {
                error!(error = %e, "cannot accept connections");
                tokio::select! {
                    () = tokio::time::sleep(ACCEPT_ERROR_PAUSE) => {}
                    () = shutdown.cancelled() => break,
                }
            }
        }
    }
    drop(listener);
    connections.close();
    debug!(open = connections.len(), "waiting for connections to close");
    connections.wait().await;
}

/// An error of one connection that failed while being accepted, not of the listener.
fn is_connection_error(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused | io::ErrorKind::ConnectionAborted | io::ErrorKind::ConnectionReset
    )
}

/// One accepted connection and what serving it needs.
struct Connection {
    router: Router,
    limits: ConnectionLimits,
    metrics: Metrics,
    shutdown: CancellationToken,
    _slot: Slot,
}

impl Connection {
    async fn serve(self, stream: TcpStream, peer: SocketAddr) {
        let Self { router, limits, metrics, shutdown, _slot } = self;
        let activity = Arc::new(Activity::new());
        let io = TokioIo::new(Watched { inner: stream, activity: activity.clone() });
        let on_request = activity.clone();
        let service = service_fn(move |mut request: hyper::Request<Incoming>| {
            let busy = on_request.request_started();
            request.extensions_mut().insert(ConnectInfo(peer));
            let answer = router.clone().oneshot(request.map(Body::new));
            async move {
                let response = answer.await?;
                Ok::<_, Infallible>(response.map(|body| Body::new(Answering { body, _busy: busy })))
            }
        });
        // The deadlines are kept below, so hyper's own header timer is off.
        let mut connection =
            pin!(http1::Builder::new().header_read_timeout(None).serve_connection(io, service));
        let mut overdue = pin!(activity.overdue(limits));
        let mut stopping = false;
        loop {
            tokio::select! {
                served = connection.as_mut() => {
                    if let Err(e) = served {
                        debug!(error = %e, "connection ended with an error");
                    }
                    return;
                }
                timeout = overdue.as_mut() => {
                    debug!(timeout = timeout.label(), "closing a connection that is too slow to send a request");
                    metrics.connection_timed_out(timeout.label());
                    return;
                }
                () = shutdown.cancelled(), if !stopping => {
                    stopping = true;
                    connection.as_mut().graceful_shutdown();
                }
            }
        }
    }
}

/// A connection's place under the cap, counted in the open-connections gauge until it is
/// given back (the gauge first, so it never shows more than the cap).
struct Slot {
    metrics: Metrics,
    _permit: OwnedSemaphorePermit,
}

impl Slot {
    fn taken(permit: OwnedSemaphorePermit, metrics: Metrics) -> Self {
        metrics.connection_opened();
        Self { metrics, _permit: permit }
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.metrics.connection_closed();
    }
}

/// Which deadline a connection missed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Timeout {
    /// A request head took too long.
    HeaderRead,
    /// No request came after the last one.
    Idle,
}

impl Timeout {
    fn label(self) -> &'static str {
        match self {
            Self::HeaderRead => "header_read",
            Self::Idle => "idle",
        }
    }
}

/// Where a connection is between requests.
#[derive(Debug, Clone, Copy)]
enum Phase {
    /// A request head is on its way: the connection was accepted, or a byte arrived after
    /// the last response, at `since`.
    Head { since: Instant },
    /// The last response was sent at `since` and nothing has arrived since.
    Idle { since: Instant },
    /// Requests are being answered (their responses not yet all sent).
    Busy { requests: usize },
}

/// What one connection is doing, noted by its reads and its requests for its watchdog.
#[derive(Debug)]
struct Activity {
    phase: Mutex<Phase>,
}

impl Activity {
    fn new() -> Self {
        Self { phase: Mutex::new(Phase::Head { since: Instant::now() }) }
    }

    fn update(&self, change: impl FnOnce(Phase) -> Option<Phase>) {
        let mut phase = self.phase.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(next) = change(*phase) {
            *phase = next;
        }
    }

    /// Bytes arrived.
    fn received(&self) {
        self.update(|phase| match phase {
            Phase::Idle { .. } => Some(Phase::Head { since: Instant::now() }),
            Phase::Head { .. } | Phase::Busy { .. } => None,
        });
    }

    /// A request head is complete: the connection is busy until its response is sent.
    fn request_started(self: &Arc<Self>) -> Busy {
        self.update(|phase| match phase {
            Phase::Busy { requests } => Some(Phase::Busy { requests: requests + 1 }),
            Phase::Head { .. } | Phase::Idle { .. } => Some(Phase::Busy { requests: 1 }),
        });
        Busy(self.clone())
    }

    fn request_finished(&self) {
        self.update(|phase| match phase {
            Phase::Busy { requests } if requests > 1 => Some(Phase::Busy { requests: requests - 1 }),
            Phase::Busy { .. } => Some(Phase::Idle { since: Instant::now() }),
            Phase::Head { .. } | Phase::Idle { .. } => None,
        });
    }

    /// The deadline the connection is under now, if any.
    fn deadline(&self, limits: ConnectionLimits) -> Option<(Instant, Timeout)> {
        match *self.phase.lock().unwrap_or_else(PoisonError::into_inner) {
            Phase::Head { since } => Some((since + limits.header_read, Timeout::HeaderRead)),
            Phase::Idle { since } => Some((since + limits.idle, Timeout::Idle)),
            Phase::Busy { .. } => None,
        }
    }

    /// Resolves once the connection misses a deadline (see the module's notes for why
    /// waking at most once per shorter timeout keeps every deadline).
    async fn overdue(&self, limits: ConnectionLimits) -> Timeout {
        let shorter = limits.header_read.min(limits.idle);
        loop {
            let now = Instant::now();
            let wake = match self.deadline(limits) {
                Some((at, timeout)) if at <= now => return timeout,
                Some((at, _)) => at.min(now + shorter),
                None => now + shorter,
            };
            tokio::time::sleep_until(wake).await;
        }
    }
}

/// A request being answered; dropped when its response is sent (or abandoned).
struct Busy(Arc<Activity>);

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.request_finished();
    }
}

/// A response body that keeps its connection busy until hyper has taken all of it.
struct Answering {
    body: Body,
    _busy: Busy,
}

impl HttpBody for Answering {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

/// A connection's socket that tells its [`Activity`] when bytes arrive.
struct Watched {
    inner: TcpStream,
    activity: Arc<Activity>,
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let read = Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.activity.received();
        }
        read
    }
}

impl AsyncWrite for Watched {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: ConnectionLimits = ConnectionLimits {
        header_read: Duration::from_secs(10),
        idle: Duration::from_secs(15),
        max_connections: 1,
    };

    #[tokio::test(start_paused = true)]
    async fn a_connection_is_under_the_header_deadline_then_none_then_the_idle_one() {
        let activity = Arc::new(Activity::new());
        let accepted = Instant::now();
        assert_eq!(activity.deadline(LIMITS), Some((accepted + LIMITS.header_read, Timeout::HeaderRead)));
        tokio::time::advance(Duration::from_secs(1)).await;
        activity.received();
        assert_eq!(activity.deadline(LIMITS), Some((accepted + LIMITS.header_read, Timeout::HeaderRead)));

        let busy = activity.request_started();
        assert_eq!(activity.deadline(LIMITS), None);
        tokio::time::advance(Duration::from_secs(60)).await;
        let answered = Instant::now();
        drop(busy);
        assert_eq!(activity.deadline(LIMITS), Some((answered + LIMITS.idle, Timeout::Idle)));

        tokio::time::advance(Duration::from_secs(3)).await;
        let next = Instant::now();
        activity.received();
        assert_eq!(activity.deadline(LIMITS), Some((next + LIMITS.header_read, Timeout::HeaderRead)));
    }

    #[tokio::test(start_paused = true)]
    async fn the_watchdog_fires_at_the_deadline_of_the_phase_it_ends_in() {
        let activity = Arc::new(Activity::new());
        let busy = activity.request_started();
        let start = Instant::now();
        let watched = activity.clone();
        let overdue = tokio::spawn(async move { (watched.overdue(LIMITS).await, Instant::now()) });
        tokio::time::advance(Duration::from_secs(100)).await;
        drop(busy);
        let (timeout, at) = overdue.await.expect("the watchdog ends");
        assert_eq!(timeout, Timeout::Idle);
        assert_eq!(at, start + Duration::from_secs(100) + LIMITS.idle);
    }

    #[tokio::test(start_paused = true)]
    async fn a_request_head_begun_while_idle_is_held_to_its_own_earlier_deadline() {
        // Idle from 0 (deadline 15 s); a byte at 3 s starts a head, due by 13 s, sooner than
        // the idle deadline the watchdog saw when it last looked.
        let activity = Arc::new(Activity::new());
        drop(activity.request_started());
        let start = Instant::now();
        let watched = activity.clone();
        let overdue = tokio::spawn(async move { (watched.overdue(LIMITS).await, Instant::now()) });
        tokio::task::yield_now().await;
        tokio::time::advance(Duration::from_secs(3)).await;
        activity.received();
        let (timeout, at) = overdue.await.expect("the watchdog ends");
        assert_eq!(timeout, Timeout::HeaderRead);
        assert_eq!(at, start + Duration::from_secs(3) + LIMITS.header_read);
    }
}
