//! [`SeveringProxy`]: a TCP relay in front of a nats-server that can lose a publish's
//! acknowledgement for real.
//!
//! Armed with a subject, it lets the next publish to that subject through whole, then stops
//! relaying anything back to that client and closes its connection: the server stores the
//! message, and the client never hears so. The server's side is closed gently (its answers
//! are read and dropped until it hangs up), so nothing it had received is lost with a reset.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;

/// A relay to a nats-server on loopback that can sever a connection right after a publish.
#[derive(Debug)]
pub struct SeveringProxy {
    port: u16,
    shared: Arc<Shared>,
    relays: Arc<Mutex<JoinSet<()>>>,
    accepting: tokio::task::JoinHandle<()>,
}

#[derive(Debug, Default)]
struct Shared {
    /// The subject whose next publish severs its connection, while armed.
    armed: Mutex<Option<String>>,
    severed: AtomicUsize,
}

impl SeveringProxy {
    /// Listens on a free loopback port and relays each connection to `upstream_port`.
    ///
    /// # Panics
    /// When no port can be bound.
    pub async fn start(upstream_port: u16) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind the proxy");
        let port = listener.local_addr().expect("the proxy's address").port();
        let shared = Arc::new(Shared::default());
        let relays = Arc::new(Mutex::new(JoinSet::new()));
        let accepting = tokio::spawn({
            let (shared, relays) = (Arc::clone(&shared), Arc::clone(&relays));
            async move {
                let upstream = SocketAddr::from(([127, 0, 0, 1], upstream_port));
                while let Ok((client, _)) = listener.accept().await {
                    let Ok(server) = TcpStream::connect(upstream).await else { continue };
                    let shared = Arc::clone(&shared);
                    relays
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .spawn(relay(client, server, shared));
                }
            }
        });
        Self { port, shared, relays, accepting }
    }

    /// The URL clients connect to.
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// Arms the proxy: the next publish to exactly `subject` reaches the server, and the
    /// connection that carried it is closed before its acknowledgement comes back.
    pub fn sever_after_publish_to(&self, subject: &str) {
        *self.shared.armed.lock().unwrap_or_else(PoisonError::into_inner) = Some(subject.to_owned());
    }

    /// How many connections were severed so far.
    pub fn times_severed(&self) -> usize {
        self.shared.severed.load(Ordering::Acquire)
    }
}

impl Drop for SeveringProxy {
    fn drop(&mut self) {
        self.accepting.abort();
        self.relays.lock().unwrap_or_else(PoisonError::into_inner).abort_all();
    }
}

async fn relay(client: TcpStream, server: TcpStream, shared: Arc<Shared>) {
    let (from_client, to_client) = client.into_split();
    let (from_server, to_server) = server.into_split();
    let quiet = Arc::new(AtomicBool::new(false));
    let down = tokio::spawn(relay_down(from_server, to_client, Arc::clone(&quiet)));
    relay_up(from_client, to_server, &shared, &quiet).await;
    // Severed or closed by the client: the server's side is read until it hangs up.
    let _ = down.await;
}

/// Server to client, until either side closes; once `quiet`, what the server says is read
/// and dropped, and the client hears nothing more.
async fn relay_down(mut from_server: OwnedReadHalf, mut to_client: OwnedWriteHalf, quiet: Arc<AtomicBool>) {
    let mut buf = vec![0; 64 * 1024];
    loop {
        let Ok(n) = from_server.read(&mut buf).await else { return };
        if n == 0 {
            return;
        }
        if quiet.load(Ordering::Acquire) {
            continue;
        }
        if to_client.write_all(&buf[..n]).await.is_err() {
            // The client is gone: keep draining the server until it hangs up.
            quiet.store(true, Ordering::Release);
        }
    }
}

/// Client to server, until the client closes or the armed publish has passed whole.
async fn relay_up(
    mut from_client: OwnedReadHalf,
    mut to_server: OwnedWriteHalf,
    shared: &Shared,
    quiet: &AtomicBool,
) {
    let mut buf = vec![0; 64 * 1024];
    // What passed since the armed subject's publish began, until it has passed whole.
    let mut passing: Option<Vec<u8>> = None;
    // The end of what passed before, where a publish line may have begun.
    let mut tail: Vec<u8> = Vec::new();
    loop {
        let n = match from_client.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let chunk = &buf[..n];
        if passing.is_none() {
            let armed = shared.armed.lock().unwrap_or_else(PoisonError::into_inner).clone();
            if let Some(subject) = armed {
                let mut seen = std::mem::take(&mut tail);
                seen.extend_from_slice(chunk);
                if let Some(start) = publish_start(&seen, &subject) {
                    // From here on the client hears nothing, so the acknowledgement is lost.
                    quiet.store(true, Ordering::Release);
                    *shared.armed.lock().unwrap_or_else(PoisonError::into_inner) = None;
                    passing = Some(seen[start..].to_vec());
                } else {
                    let keep = seen.len().saturating_sub(subject.len() + 8);
                    tail = seen[keep..].to_vec();
                }
            }
        } else if let Some(passing) = passing.as_mut() {
            passing.extend_from_slice(chunk);
        }
        if to_server.write_all(chunk).await.is_err() {
            break;
        }
        if passing.as_deref().is_some_and(publish_complete) {
            shared.severed.fetch_add(1, Ordering::AcqRel);
            break;
        }
    }
    quiet.store(true, Ordering::Release);
    // A gentle close: the server reads everything sent, then sees the end.
    let _ = to_server.shutdown().await;
    drop(from_client);
}

/// Where a `PUB` or `HPUB` to exactly `subject` begins in `bytes`.
fn publish_start(bytes: &[u8], subject: &str) -> Option<usize> {
    ["HPUB ", "PUB "].iter().find_map(|verb| {
        let needle = format!("{verb}{subject} ");
        // At the start of a line: not the tail of a longer verb.
        (0..bytes.len())
            .filter(|&at| bytes[at..].starts_with(needle.as_bytes()))
            .find(|&at| at == 0 || bytes[at - 1] == b'\n')
    })
}

/// Whether `bytes`, which begin with a `PUB`/`HPUB` line, hold its whole message.
fn publish_complete(bytes: &[u8]) -> bool {
    let Some(end) = bytes.windows(2).position(|w| w == b"\r\n") else { return false };
    let line = String::from_utf8_lossy(&bytes[..end]);
    let Some(total) = line.split_ascii_whitespace().last().and_then(|n| n.parse::<usize>().ok()) else {
        return false;
    };
    bytes.len() >= end + 2 + total + 2
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_publish_is_found_by_its_exact_subject_and_complete_once_its_payload_passed() {
        let op = b"PING\r\nHPUB es.page.a _INBOX.x 12 17\r\nNATS/1.0\r\n\r\nhello\r\n";
        assert_eq!(publish_start(op, "es.page.a"), Some(6));
        assert_eq!(publish_start(op, "es.page"), None);
        assert_eq!(publish_start(b"XHPUB es.page.a r 1\r\n", "es.page.a"), None);
        let from = &op[6..];
        assert!(publish_complete(from));
        assert!(!publish_complete(&from[..from.len() - 3]));
        assert!(publish_complete(b"PUB s r 2\r\nhi\r\n"));
        assert!(!publish_complete(b"PUB s r 2\r\nh"));
    }
}
