//! Connection budgets on real servers: connections that send half a request are closed at
//! the header-read timeout while requests keep being served, kept-alive connections at the
//! idle timeout, and connections beyond the cap wait for a slot.

use std::net::SocketAddr;
use std::time::Duration;

use reqwest::StatusCode;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::task::JoinSet;
use tokio::time::{Instant, timeout};

use crate::app::{TestApp, answer, spawn_app_with, unique_slug};

/// Half a request: a request line and a header, never finished.
const HALF_REQUEST: &[u8] = b"GET /api/templates HTTP/1.1\r\nHost: valentine.example\r\nX-Slow: ";

/// How late after its deadline a close may come on a busy test machine.
const MARGIN: Duration = Duration::from_secs(2);

/// How early a close measured here may look: the server's clock starts a moment before the
/// client sees the event it counts from.
const SLACK: Duration = Duration::from_millis(300);

/// A connection that sent half a request, and when it began.
async fn stall(address: SocketAddr) -> (TcpStream, Instant) {
    let began = Instant::now();
    let mut stream = TcpStream::connect(address).await.expect("connects");
    stream.write_all(HALF_REQUEST).await.expect("half a request is sent");
    (stream, began)
}

/// Reads until the server closes the connection; returns what it sent and when it closed.
async fn until_closed(stream: &mut TcpStream) -> (Vec<u8>, Instant) {
    let mut received = Vec::new();
    let mut buffer = [0_u8; 4096];
    loop {
        match stream.read(&mut buffer).await {
            Ok(0) | Err(_) => return (received, Instant::now()),
            Ok(n) => received.extend_from_slice(&buffer[..n]),
        }
    }
}

/// The value of a metric (its first sample whose line starts with `name`), 0 when absent.
async fn metric(app: &TestApp, name: &str) -> f64 {
    let text = app.get("/metrics").await.text().await.expect("metrics");
    text.lines()
        .find(|line| line.starts_with(name))
        .and_then(|line| line.rsplit(' ').next())
        .map_or(0.0, |value| value.parse().expect("a number"))
}

#[tokio::test]
async fn three_hundred_half_requests_are_closed_at_the_header_timeout_while_requests_are_served() {
    const STALLED: usize = 300;
    let header_timeout = Duration::from_secs(2);
    let app = spawn_app_with(|c| c.header_read_timeout = header_timeout).await;

    let mut stalled = JoinSet::new();
    for _ in 0..STALLED {
        let (mut stream, began) = stall(app.address).await;
        stalled.spawn(async move {
            let (received, closed) = until_closed(&mut stream).await;
            (received, closed - began)
        });
    }

    // All of them are held open, and requests are answered beside them.
    let open = metric(&app, "valentine_http_connections_open").await;
    assert!(open > STALLED as f64, "{open} connections open");
    let slug = unique_slug("beside");
    app.create(&slug).await;
    let (status, page) = answer(app.get(&format!("/api/pages/{slug}")).await).await;
    assert_eq!(status, StatusCode::OK, "{page}");

    let mut served = 0;
    let mut closed = Vec::with_capacity(STALLED);
    let deadline = Instant::now() + header_timeout + MARGIN;
    while closed.len() < STALLED {
        tokio::select! {
            done = stalled.join_next() => {
                let (received, took) = done.expect("a connection is left").expect("the reader ends");
                assert!(received.is_empty(), "no answer to half a request: {:?}", String::from_utf8_lossy(&received));
                closed.push(took);
            }
            response = app.http.get(app.url("/api/templates")).send() => {
                assert_eq!(response.expect("answered").status(), StatusCode::OK);
                served += 1;
            }
            () = tokio::time::sleep_until(deadline) => {
                panic!("{} of {STALLED} stalled connections still open after {:?}", STALLED - closed.len(), header_timeout + MARGIN);
            }
        }
    }
    assert!(served > 0, "requests were answered while the stalled connections waited");
    let (earliest, latest) = (closed.iter().min().expect("some"), closed.iter().max().expect("some"));
    assert!(*earliest >= header_timeout - SLACK, "closed before the timeout: {earliest:?}");
    assert!(*latest <= header_timeout + MARGIN, "closed late: {latest:?}");

    let timeouts = metric(&app, "valentine_http_connection_timeouts_total{timeout=\"header_read\"}").await;
    assert_eq!(timeouts, STALLED as f64);
    assert_eq!(app.get("/api/templates").await.status(), StatusCode::OK);
}

/// Sends one complete request on `stream` and returns when its answer (a short one) is in.
async fn request_once(stream: &mut TcpStream) -> Instant {
    stream
        .write_all(b"GET /api/templates HTTP/1.1\r\nHost: valentine.example\r\n\r\n")
        .await
        .expect("the request is sent");
    let mut received = Vec::new();
    let mut buffer = [0_u8; 8192];
    loop {
        let n = stream.read(&mut buffer).await.expect("the answer is read");
        assert!(n > 0, "closed before answering: {:?}", String::from_utf8_lossy(&received));
        received.extend_from_slice(&buffer[..n]);
        let text = String::from_utf8_lossy(&received);
        if let Some(end) = text.find("\r\n\r\n") {
            let length: usize = text[..end]
                .lines()
                .find_map(|line| {
                    line.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().to_owned())
                })
                .expect("a content-length")
                .parse()
                .expect("a number");
            if received.len() >= end + 4 + length {
                assert!(text.starts_with("HTTP/1.1 200"), "{text}");
                return Instant::now();
            }
        }
    }
}

#[tokio::test]
async fn a_kept_alive_connection_waits_the_idle_timeout_and_a_started_request_the_header_timeout() {
    let (header_timeout, idle_timeout) = (Duration::from_secs(1), Duration::from_secs(3));
    let app = spawn_app_with(|c| {
        c.header_read_timeout = header_timeout;
        c.idle_timeout = idle_timeout;
    })
    .await;

    let idle = async {
        let mut stream = TcpStream::connect(app.address).await.expect("connects");
        let answered = request_once(&mut stream).await;
        let (received, closed) = until_closed(&mut stream).await;
        assert!(received.is_empty());
        closed - answered
    };
    let started = async {
        let mut stream = TcpStream::connect(app.address).await.expect("connects");
        request_once(&mut stream).await;
        let began = Instant::now();
        stream.write_all(HALF_REQUEST).await.expect("half a request is sent");
        let (received, closed) = until_closed(&mut stream).await;
        assert!(received.is_empty());
        closed - began
    };
    let (idle, started) = timeout(idle_timeout + MARGIN * 2, async { tokio::join!(idle, started) })
        .await
        .expect("both connections are closed");
    assert!(
        idle >= idle_timeout - SLACK,
        "an idle connection outlives the header timeout: closed after {idle:?}"
    );
    assert!(idle <= idle_timeout + MARGIN, "closed after {idle:?}");
    assert!(started >= header_timeout - SLACK, "closed after {started:?}");
    assert!(
        started < idle_timeout - SLACK,
        "half a request gets the header timeout: closed after {started:?}"
    );
}

#[tokio::test]
async fn beyond_the_connection_cap_a_request_waits_for_a_slot_and_is_served() {
    const CAP: usize = 4;
    let header_timeout = Duration::from_secs(1);
    let app = spawn_app_with(|c| {
        c.header_read_timeout = header_timeout;
        c.max_connections = CAP;
    })
    .await;
    let mut stalled = Vec::new();
    for _ in 0..CAP {
        stalled.push(stall(app.address).await);
    }

    // Connections are accepted in order: this one waits until a stalled one is closed.
    let began = Instant::now();
    let response = reqwest::Client::new().get(app.url("/metrics")).send().await.expect("answered");
    let waited = began.elapsed();
    assert_eq!(response.status(), StatusCode::OK);
    let metrics = response.text().await.expect("metrics");
    let open = metrics
        .lines()
        .find_map(|line| line.strip_prefix("valentine_http_connections_open "))
        .expect("the gauge")
        .parse::<usize>()
        .expect("a number");
    assert!(open <= CAP, "{open} connections open, cap {CAP}");
    assert!(waited >= header_timeout - SLACK, "served after {waited:?}, without waiting for a slot");
    assert!(waited <= header_timeout + MARGIN, "served after {waited:?}");
    for (mut stream, _) in stalled {
        let (received, _) = timeout(MARGIN, until_closed(&mut stream)).await.expect("closed");
        assert!(received.is_empty());
    }
}

#[tokio::test]
async fn shutdown_closes_idle_connections_at_once_and_half_sent_ones_by_the_header_timeout() {
    let header_timeout = Duration::from_secs(1);
    let mut app = spawn_app_with(|c| {
        c.header_read_timeout = header_timeout;
        c.idle_timeout = Duration::from_secs(60);
    })
    .await;
    let mut idle = TcpStream::connect(app.address).await.expect("connects");
    request_once(&mut idle).await;
    let (mut stalled, _) = stall(app.address).await;

    let began = Instant::now();
    let stopped = async {
        app.stop_api().await;
        began.elapsed()
    };
    let idle_closed = async {
        let (received, _) = until_closed(&mut idle).await;
        assert!(received.is_empty());
        began.elapsed()
    };
    let stalled_closed = async {
        let (received, _) = until_closed(&mut stalled).await;
        assert!(received.is_empty());
        began.elapsed()
    };
    let (stopped, idle_closed, stalled_closed) =
        timeout(header_timeout + MARGIN, async { tokio::join!(stopped, idle_closed, stalled_closed) })
            .await
            .expect("stopped within the header timeout");
    assert!(idle_closed < header_timeout - SLACK, "the idle connection closed after {idle_closed:?}");
    assert!(stalled_closed <= header_timeout + MARGIN, "the half-sent one after {stalled_closed:?}");
    assert!(stopped <= header_timeout + MARGIN, "stopped after {stopped:?}");
}
