//! An HTTP load generator for the API's benchmark scenarios: closed-loop (each connection
//! sends its next request when the last is answered) or open-loop at a fixed offered rate,
//! where each request has its intended start time and its latency is counted from then, so a
//! server that falls behind shows the queueing its users would see (no coordinated omission).
//!
//! The scenarios need what a fixed URL cannot give: page reads drawn from a Zipf-like
//! popularity over a list of real slugs, slug checks mixing taken and free slugs, creates
//! each with its own slug, body length and `Idempotency-Key`, and a random client address per
//! request. It speaks HTTP/1.1 with keep-alive over one TCP connection per simulated
//! connection, as browsers behind a proxy do.

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use crate::synthetic::Rng;

/// Why a run could not start or finish.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// A connection could not be opened.
    #[error("connecting to {addr}: {source}")]
    Connect {
        /// Where.
        addr: String,
        /// Why.
        source: std::io::Error,
    },
    /// The HTTP handshake failed.
    #[error("HTTP handshake: {0}")]
    Handshake(#[from] hyper::Error),
    /// A scenario needs slugs and got none.
    #[error("the scenario needs a list of live slugs (--slugs)")]
    NoSlugs,
}

/// Popularity over `n` items: item `k` (0-based) is drawn with probability proportional to
/// `1 / (k + 1)^s`. Sampled by a binary search of the cumulative weights.
#[derive(Debug)]
pub struct Zipf {
    cumulative: Vec<f64>,
}

impl Zipf {
    /// The distribution over `n` items (n > 0) with exponent `s`.
    pub fn new(n: usize, s: f64) -> Self {
        let mut total = 0.0;
        let cumulative = (1..=n)
            .map(|k| {
                #[allow(clippy::cast_precision_loss)] // ranks far below 2^52
                let weight = 1.0 / (k as f64).powf(s);
                total += weight;
                total
            })
            .collect();
        Self { cumulative }
    }

    /// An item index drawn with `rng`.
    pub fn sample(&self, rng: &mut Rng) -> usize {
        let total = self.cumulative.last().copied().unwrap_or(0.0);
        let u = unit(rng) * total;
        self.cumulative.partition_point(|&c| c < u).min(self.cumulative.len().saturating_sub(1))
    }

    /// The share of draws that fall on the `top` most popular items.
    pub fn share_of_top(&self, top: usize) -> f64 {
        let total = self.cumulative.last().copied().unwrap_or(0.0);
        match top {
            0 => 0.0,
            t => self.cumulative[t.min(self.cumulative.len()) - 1] / total,
        }
    }
}

/// A number in [0, 1) from 53 random bits.
#[allow(clippy::cast_precision_loss)] // 53 bits are exact in an f64
fn unit(rng: &mut Rng) -> f64 {
    (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64
}

/// What each request of a run asks.
#[derive(Debug)]
pub enum Scenario {
    /// `GET /api/pages/{slug}`, slugs drawn by popularity (`slugs[0]` the most popular).
    PageGet {
        /// Live slugs in popularity order.
        slugs: Arc<Vec<String>>,
        /// Popularity.
        zipf: Arc<Zipf>,
        /// Sent as `X-Page-Pin` (private pages).
        pin: Option<String>,
    },
    /// `GET /{slug}/og.png`, slugs drawn by popularity: link-preview images.
    OgPng {
        /// Live slugs in popularity order.
        slugs: Arc<Vec<String>>,
        /// Popularity.
        zipf: Arc<Zipf>,
    },
    /// `GET /api/slugs/check/{slug}`: a taken slug (uniform over `taken`) with probability
    /// `taken_share`, otherwise a fresh random one.
    SlugCheck {
        /// Live slugs.
        taken: Arc<Vec<String>>,
        /// Share of checks of a taken slug, 0 to 1.
        taken_share: f64,
    },
    /// `POST /api/pages` with a unique slug, a message of a realistic length and, like the web
    /// app, an `Idempotency-Key`; every `read_back`-th page answered `201` is read at once
    /// (`GET`) on the same connection, which must answer `200`.
    Create {
        /// Read one create in this many back (0: none).
        read_back: u64,
    },
    /// `GET /api/templates`.
    Templates,
}

/// A run's settings.
#[derive(Debug)]
pub struct Plan {
    /// `host:port` of the API.
    pub addr: String,
    /// What to ask.
    pub scenario: Scenario,
    /// Connections (each a task with its own TCP connection).
    pub connections: usize,
    /// How long to send.
    pub duration: Duration,
    /// Requests per second over all connections; `None` for closed-loop.
    pub rate: Option<f64>,
    /// A number that makes this run's random choices differ from other runs'.
    pub seed: u64,
}

/// What a run saw.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Requests answered.
    pub requests: u64,
    /// Seconds from the first request sent to the last answered.
    pub seconds: f64,
    /// Latencies in microseconds, sorted.
    pub latencies_us: Vec<u32>,
    /// Answers by status code.
    pub statuses: std::collections::BTreeMap<u16, u64>,
    /// Requests that failed without an answer (a closed connection, a refused connect).
    pub errors: u64,
    /// Creates read back at once.
    pub read_back: u64,
    /// Of those, reads that did not answer `200`.
    pub read_back_missed: u64,
    /// Open-loop: the requests the run was meant to send in its time.
    pub intended: u64,
    /// Per second of the run (by when each request was due): requests answered, and of
    /// those, answered later than [`SLOW`].
    pub by_second: Vec<(u64, u64)>,
}

/// A latency worth counting per second: the target's p99.
pub const SLOW: Duration = Duration::from_millis(10);

impl Outcome {
    /// The latency at quantile `q` (0 to 1), in milliseconds.
    pub fn quantile_ms(&self, q: f64) -> f64 {
        if self.latencies_us.is_empty() {
            return 0.0;
        }
        #[allow(clippy::cast_precision_loss, clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let index = ((self.latencies_us.len() - 1) as f64 * q).round() as usize;
        f64::from(self.latencies_us[index]) / 1000.0
    }

    /// One line of `key=value` pairs for scripts.
    pub fn summary_line(&self) -> String {
        let mut line = format!(
            "result requests={} seconds={:.3} p50_ms={:.3} p90_ms={:.3} p99_ms={:.3} p999_ms={:.3} max_ms={:.3} errors={} read_back={} read_back_missed={} intended={}",
            self.requests,
            self.seconds,
            self.quantile_ms(0.50),
            self.quantile_ms(0.90),
            self.quantile_ms(0.99),
            self.quantile_ms(0.999),
            self.quantile_ms(1.0),
            self.errors,
            self.read_back,
            self.read_back_missed,
            self.intended,
        );
        let non_2xx: u64 =
            self.statuses.iter().filter(|(s, _)| !(200..300).contains(*s)).map(|(_, n)| n).sum();
        let _ = write!(line, " non_2xx={non_2xx} slow_seconds={}", self.slow_seconds());
        for (status, n) in &self.statuses {
            let _ = write!(line, " s{status}={n}");
        }
        line
    }

    /// The seconds in which more than 1 % of the answers took longer than [`SLOW`], as
    /// `second:slow/answered` joined by commas (`-` when none did): a tail from periodic
    /// work shows as a rhythm, a stall as one second.
    pub fn slow_seconds(&self) -> String {
        let slow: Vec<String> = self
            .by_second
            .iter()
            .enumerate()
            .filter(|(_, (answered, slow))| *slow * 100 > *answered)
            .map(|(second, (answered, slow))| format!("{second}:{slow}/{answered}"))
            .collect();
        if slow.is_empty() { "-".to_owned() } else { slow.join(",") }
    }

    fn count_in_second(&mut self, second: usize, latency: Duration) {
        if self.by_second.len() <= second {
            self.by_second.resize(second + 1, (0, 0));
        }
        let (answered, slow) = &mut self.by_second[second];
        *answered += 1;
        *slow += u64::from(latency > SLOW);
    }

    fn merge(&mut self, other: Self) {
        if self.by_second.len() < other.by_second.len() {
            self.by_second.resize(other.by_second.len(), (0, 0));
        }
        for (mine, (answered, slow)) in self.by_second.iter_mut().zip(other.by_second) {
            mine.0 += answered;
            mine.1 += slow;
        }
        self.requests += other.requests;
        self.latencies_us.extend(other.latencies_us);
        for (status, n) in other.statuses {
            *self.statuses.entry(status).or_default() += n;
        }
        self.errors += other.errors;
        self.read_back += other.read_back;
        self.read_back_missed += other.read_back_missed;
        self.intended += other.intended;
    }
}

/// Runs `plan` and returns what it saw.
///
/// # Errors
/// When the first connections cannot be opened, or a scenario lacks its slugs.
pub async fn run(plan: Plan) -> Result<Outcome, LoadError> {
    if let Scenario::PageGet { slugs, .. } | Scenario::OgPng { slugs, .. } = &plan.scenario
        && slugs.is_empty()
    {
        return Err(LoadError::NoSlugs);
    }
    let plan = Arc::new(plan);
    let mut senders = Vec::with_capacity(plan.connections);
    for _ in 0..plan.connections {
        senders.push(connect(&plan.addr).await?);
    }
    let started = Instant::now();
    let until = started + plan.duration;
    let tasks: Vec<_> = senders
        .into_iter()
        .enumerate()
        .map(|(i, sender)| tokio::spawn(connection(Arc::clone(&plan), i, sender, started, until)))
        .collect();
    let mut outcome = Outcome::default();
    for task in tasks {
        if let Ok(part) = task.await {
            outcome.merge(part);
        }
    }
    outcome.seconds = started.elapsed().as_secs_f64();
    outcome.latencies_us.sort_unstable();
    Ok(outcome)
}

type Sender = http1::SendRequest<Full<Bytes>>;

async fn connect(addr: &str) -> Result<Sender, LoadError> {
    let stream = TcpStream::connect(addr)
        .await
        .map_err(|source| LoadError::Connect { addr: addr.to_owned(), source })?;
    let _ = stream.set_nodelay(true);
    let (sender, conn) = http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(conn);
    Ok(sender)
}

/// One connection's loop: its share of the requests, closed- or open-loop.
async fn connection(
    plan: Arc<Plan>,
    index: usize,
    mut sender: Sender,
    started: Instant,
    until: Instant,
) -> Outcome {
    let mut rng = Rng::new(plan.seed ^ (index as u64 + 1).wrapping_mul(0x9E37_79B9));
    let mut out = Outcome::default();
    let mut built = Builder::new(index);
    // Open-loop: this connection's interval and first intended start, staggered so the
    // connections together send evenly.
    #[allow(clippy::cast_precision_loss)]
    let schedule = plan.rate.map(|rate| {
        let interval = plan.connections as f64 / rate;
        let offset = interval * index as f64 / plan.connections as f64;
        (Duration::from_secs_f64(interval), started + Duration::from_secs_f64(offset))
    });
    let mut next = schedule.map(|(_, first)| first);
    loop {
        let intended = match (&schedule, next) {
            (Some((interval, _)), Some(at)) => {
                if at >= until {
                    break;
                }
                out.intended += 1;
                next = Some(at + *interval);
                tokio::time::sleep_until(at.into()).await;
                at
            }
            _ => {
                let now = Instant::now();
                if now >= until {
                    break;
                }
                now
            }
        };
        let (request, created) = built.request(&plan, &mut rng);
        let Some(status) = send(&mut sender, request).await else {
            out.errors += 1;
            match connect(&plan.addr).await {
                Ok(fresh) => sender = fresh,
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
            continue;
        };
        let latency = intended.elapsed();
        out.requests += 1;
        out.latencies_us.push(u32::try_from(latency.as_micros()).unwrap_or(u32::MAX));
        out.count_in_second(
            usize::try_from(intended.duration_since(started).as_secs()).unwrap_or(0),
            latency,
        );
        *out.statuses.entry(status).or_default() += 1;
        if let (Some(slug), Scenario::Create { read_back }) = (created, &plan.scenario)
            && status == 201
            && *read_back > 0
            && rng.next_u64().is_multiple_of(*read_back)
        {
            out.read_back += 1;
            let get = get(&format!("/api/pages/{slug}"), &client_address(&mut rng));
            if send(&mut sender, get).await != Some(200) {
                out.read_back_missed += 1;
            }
        }
    }
    out
}

/// Sends `request` and reads the whole answer; its status, or `None` when the connection failed.
async fn send(sender: &mut Sender, request: Request<Full<Bytes>>) -> Option<u16> {
    sender.ready().await.ok()?;
    let response = sender.send_request(request).await.ok()?;
    let status = response.status().as_u16();
    response.into_body().collect().await.ok()?;
    Some(status)
}

fn get(path: &str, client: &str) -> Request<Full<Bytes>> {
    Request::get(path)
        .header("host", "bench")
        .header("x-forwarded-for", client)
        .body(Full::new(Bytes::new()))
        .unwrap_or_else(|_| Request::new(Full::new(Bytes::new())))
}

/// A random client address from 10.0.0.0/8 (about 16.7 million), so the per-client budgets
/// run for real while no simulated client comes near its limit.
fn client_address(rng: &mut Rng) -> String {
    let n = rng.next_u64();
    format!("10.{}.{}.{}", n & 0xff, (n >> 8) & 0xff, 1 + (n >> 16) % 254)
}

const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";

fn word(rng: &mut Rng, n: usize) -> String {
    (0..n).map(|_| char::from(ALPHABET[rng.below(ALPHABET.len())])).collect()
}

/// Builds each connection's requests.
struct Builder {
    index: usize,
    counter: u64,
}

const TEMPLATES: [&str; 8] =
    ["classic", "modern", "playful", "elegant", "proposal", "envelope", "scratch", "countdown"];

impl Builder {
    fn new(index: usize) -> Self {
        Self { index, counter: 0 }
    }

    /// The next request, and for a create the slug it asks for.
    fn request(&mut self, plan: &Plan, rng: &mut Rng) -> (Request<Full<Bytes>>, Option<String>) {
        let client = client_address(rng);
        match &plan.scenario {
            Scenario::PageGet { slugs, zipf, pin } => {
                let slug = &slugs[zipf.sample(rng)];
                let mut request = get(&format!("/api/pages/{slug}"), &client);
                if let Some(pin) = pin.as_deref().and_then(|p| hyper::header::HeaderValue::from_str(p).ok()) {
                    request.headers_mut().insert("x-page-pin", pin);
                }
                (request, None)
            }
            Scenario::OgPng { slugs, zipf } => {
                let slug = &slugs[zipf.sample(rng)];
                (get(&format!("/{slug}/og.png"), &client), None)
            }
            Scenario::SlugCheck { taken, taken_share } => {
                let pick_taken = !taken.is_empty() && unit(rng) < *taken_share;
                let slug = if pick_taken {
                    taken[rng.below(taken.len())].clone()
                } else {
                    format!("s{}", word(rng, 11))
                };
                (get(&format!("/api/slugs/check/{slug}"), &client), None)
            }
            Scenario::Templates => (get("/api/templates", &client), None),
            Scenario::Create { .. } => {
                self.counter += 1;
                let slug = format!("b{}-{}-{}", self.index, self.counter, word(rng, 6));
                let mut body = crate::synthetic::Words::new(rng.next_u64());
                let json = serde_json::json!({
                    "slug": slug,
                    "title": body.title(),
                    "message": body.message(),
                    "sender_name": body.name(),
                    "recipient_name": body.name(),
                    "template_id": TEMPLATES[rng.below(TEMPLATES.len())],
                });
                let request = Request::post("/api/pages")
                    .header("host", "bench")
                    .header("content-type", "application/json")
                    .header("x-forwarded-for", &client)
                    .header("idempotency-key", format!("{:016x}{:016x}", rng.next_u64(), rng.next_u64()))
                    .body(Full::new(Bytes::from(json.to_string())))
                    .unwrap_or_else(|_| Request::new(Full::new(Bytes::new())));
                (request, Some(slug))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zipf_favours_the_first_items_and_reaches_the_last() {
        let zipf = Zipf::new(1000, 1.0);
        let mut rng = Rng::new(7);
        let mut counts = vec![0u32; 1000];
        for _ in 0..200_000 {
            counts[zipf.sample(&mut rng)] += 1;
        }
        assert!(counts[0] > counts[1] && counts[1] > counts[9] && counts[9] > counts[99]);
        // Item 1 is drawn about twice as often as item 2 (1/1 against 1/2).
        let ratio = f64::from(counts[0]) / f64::from(counts[1]);
        assert!((1.8..2.2).contains(&ratio), "{ratio}");
        assert!(counts[900..].iter().any(|&c| c > 0));
        let top10 = zipf.share_of_top(10);
        assert!((0.35..0.45).contains(&top10), "{top10}");
    }

    #[test]
    fn seconds_with_more_than_one_percent_slow_answers_are_named() {
        let mut outcome = Outcome::default();
        for _ in 0..99 {
            outcome.count_in_second(0, Duration::from_millis(1));
            outcome.count_in_second(2, Duration::from_millis(1));
        }
        outcome.count_in_second(0, Duration::from_millis(11));
        outcome.count_in_second(2, Duration::from_millis(11));
        outcome.count_in_second(2, Duration::from_millis(30));
        assert_eq!(outcome.slow_seconds(), "2:2/101");
        let mut other = Outcome::default();
        other.count_in_second(0, Duration::from_millis(50));
        outcome.merge(other);
        assert_eq!(outcome.slow_seconds(), "0:2/101,2:2/101");
        assert_eq!(Outcome::default().slow_seconds(), "-");
    }

    #[test]
    fn quantiles_come_from_the_sorted_latencies() {
        let outcome = Outcome { latencies_us: (1..=1000).collect(), ..Outcome::default() };
        assert!((outcome.quantile_ms(0.5) - 0.5).abs() < 0.002);
        assert!((outcome.quantile_ms(0.99) - 0.99).abs() < 0.002);
        assert!((outcome.quantile_ms(1.0) - 1.0).abs() < f64::EPSILON);
    }
}
