//! Fault drills: the system as operators run it (`valentine api` and `valentine projector`
//! processes against real nats-server and redis-server) under a load of requests while one
//! part fails and comes back. Each drill checks that nothing acknowledged is lost: every
//! create answered `201` or `202` is in the stream exactly once and reads back.
//!
//! - NATS killed and restarted on its store during creates.
//! - A three-node cluster with three-replica streams: the stream leader killed during creates
//!   (writes resume once the followers have elected a new leader: nats-server's Raft waits 4
//!   to 9 s for that), then another leader drained with lame duck mode (writes pause < 5 s).
//! - Redis killed and restarted with its data during reads, slug checks, creates and updates:
//!   no `5xx`, and no stale page afterwards.
//! - The API killed (SIGKILL) during creates, restarted, unanswered creates retried with the
//!   same `Idempotency-Key`: each page once, every job id finishes, the same edit tokens.
//! - The read model refusing writes (the projector's file size limit lowered to 0 with
//!   `prlimit`, which fails writes as a full disk does): no acknowledgement, `/ready` 503,
//!   then catching up by itself once the limit is lifted.
//! - Two nodes (each an API, a projector and a read model of its own) on a three-node
//!   cluster and one Redis, clients writing through one and reading through the other with
//!   the write's position, while the stream leader and then one node's projector die: no
//!   read that names a position sees older data, every `201` reads back at once on its node,
//!   and both read models end equal to a rebuild.
//!
//! Every wait is for a condition, with a generous deadline; the only fixed pauses are the
//! clients' short back-offs between retries.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_nats::jetstream::{self, consumer};
use futures::StreamExt;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use reqwest::StatusCode;
use serde_json::{Value, json};
use tempfile::TempDir;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use valentine_eventstore::Commit;
use valentine_testkit::{NatsCluster, NatsServer, RedisServer};

/// Longest any condition is waited for.
const PATIENCE: Duration = Duration::from_secs(60);

/// How long a client waits before retrying a request that got no usable answer.
const BACKOFF: Duration = Duration::from_millis(50);

/// Concurrent clients of a load.
const CLIENTS: usize = 8;

/// The longest a nats-server Raft group waits for a lost leader before electing another.
const ELECTION: Duration = Duration::from_secs(9);

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn pid_of(child: &Child) -> Pid {
    Pid::from_raw(i32::try_from(child.id()).expect("a pid fits in i32"))
}

/// Waits until `check` holds; panics with `what` after [`PATIENCE`].
async fn eventually<F, Fut>(what: &str, check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    valentine_testkit::eventually(what, PATIENCE, check).await;
}

// --- The system under test -------------------------------------------------------------------

/// One `valentine api` and one `valentine projector` process with Redis, on free ports, with
/// their read model and logs in a temp dir. NATS is the drill's own, so it can fail it.
struct Stack {
    nats_url: String,
    /// Its own Redis, or `None` when it shares one (`redis_url`) with other nodes.
    redis: Option<RedisServer>,
    redis_url: String,
    /// `READ_MODEL_ID`: names the projectors' consumers.
    read_model_id: String,
    dir: TempDir,
    api_port: u16,
    health_port: u16,
    env: Vec<(&'static str, String)>,
    api: Option<Child>,
    projector: Option<Child>,
    http: reqwest::Client,
}

impl Stack {
    /// Starts the projector, then the API, with these settings on top of the drill defaults,
    /// and waits until both are ready.
    async fn start(nats_url: String, redis: RedisServer, env: &[(&'static str, &str)]) -> Self {
        let redis_url = redis.url();
        Self::start_node(nats_url, Some(redis), redis_url, "main", env).await
    }

    /// Starts node `read_model_id` (its projector, then its API, each with a read model of its
    /// own) on a Redis it may share with other nodes.
    async fn start_node(
        nats_url: String,
        redis: Option<RedisServer>,
        redis_url: String,
        read_model_id: &str,
        env: &[(&'static str, &str)],
    ) -> Self {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(20))
            .pool_max_idle_per_host(CLIENTS * 2)
            .build()
            .expect("an HTTP client");
        let mut stack = Self {
            nats_url,
            redis,
            redis_url,
            read_model_id: read_model_id.to_owned(),
            dir: tempfile::Builder::new().prefix("valentine-drill-").tempdir().expect("a temp dir"),
            api_port: free_port(),
            health_port: free_port(),
            env: env.iter().map(|(k, v)| (*k, (*v).to_owned())).collect(),
            api: None,
            projector: None,
            http,
        };
        stack.start_projector();
        eventually("the projector to be ready", || stack.projector_ready()).await;
        stack.start_api().await;
        stack
    }

    fn database(&self) -> PathBuf {
        self.dir.path().join("read.db")
    }

    fn log(&self, role: &str) -> File {
        OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.path().join(format!("{role}.log")))
            .expect("a log file")
    }

    fn valentine(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_valentine"));
        command
            .args(args)
            .env("NATS_URL", &self.nats_url)
            .env("REDIS_URL", &self.redis_url)
            .env("DATABASE_PATH", self.database())
            .env("READ_MODEL_ID", &self.read_model_id)
            .env("IP_HASH_SECRET", "drill secret")
            .env("FRONTEND_DOMAIN", "https://valentine.example")
            .env("RATE_LIMIT_PAGES_PER_HOUR", "0")
            .env("RATE_LIMIT_SLUG_CHECKS_PER_MINUTE", "0")
            .env("RATE_LIMIT_EDITS_PER_MINUTE", "0")
            .env("RATE_LIMIT_PAGE_EDITS_PER_HOUR", "0")
            .env("RATE_LIMIT_JOB_POLLS_PER_MINUTE", "0")
            .env("RATE_LIMIT_READS_PER_MINUTE", "0")
            .env("RUST_LOG", "info")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null());
        for (name, value) in &self.env {
            command.env(name, value);
        }
        command
    }

    fn start_projector(&mut self) {
        let log = self.log("projector");
        let child = self
            .valentine(&["projector"])
            .env("PROJECTOR_HEALTH_ADDR", format!("127.0.0.1:{}", self.health_port))
            .env("PROJECTOR_BATCH_SIZE", "64")
            .stdout(log.try_clone().expect("a log handle"))
            .stderr(log)
            .spawn()
            .expect("the projector starts");
        self.projector = Some(child);
    }

    /// Starts the API (again) on its port and waits until it answers.
    async fn start_api(&mut self) {
        let log = self.log("api");
        let child = self
            .valentine(&["api"])
            .env("BIND_ADDR", format!("127.0.0.1:{}", self.api_port))
            .stdout(log.try_clone().expect("a log handle"))
            .stderr(log)
            .spawn()
            .expect("the API starts");
        self.api = Some(child);
        eventually("the API to answer", || async {
            self.http.get(self.url("/health")).send().await.is_ok_and(|r| r.status() == StatusCode::OK)
        })
        .await;
    }

    /// Waits until this node's projectors have acknowledged every event and view tally.
    async fn wait_until_projected(&self, js: &jetstream::Context) {
        let consumer = format!("projector-{}", self.read_model_id);
        wait_until_consumer_caught_up(js, "EVENTS", &consumer).await;
        wait_until_consumer_caught_up(js, "VIEWS", &format!("{consumer}-views")).await;
    }

    /// Kills the projector abruptly.
    fn kill_projector(&mut self) {
        if let Some(mut projector) = self.projector.take() {
            kill(pid_of(&projector), Signal::SIGKILL).expect("SIGKILL");
            projector.wait().expect("reaped");
        }
    }

    /// Stops the API gracefully: it publishes the views it counted.
    fn stop_api(&mut self) {
        if let Some(mut api) = self.api.take() {
            kill(pid_of(&api), Signal::SIGTERM).expect("SIGTERM");
            api.wait().expect("reaped");
        }
    }

    /// Kills the API abruptly, as a crash or the OOM killer would.
    fn kill_api(&mut self) {
        if let Some(mut api) = self.api.take() {
            kill(pid_of(&api), Signal::SIGKILL).expect("SIGKILL");
            api.wait().expect("reaped");
        }
    }

    fn projector_pid(&self) -> u32 {
        self.projector.as_ref().expect("a projector").id()
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.api_port)
    }

    /// The projector's `/ready`: status and body, or `None` when it does not answer.
    async fn projector_readiness(&self) -> Option<(StatusCode, Value)> {
        let url = format!("http://127.0.0.1:{}/ready", self.health_port);
        let response = self.http.get(url).timeout(Duration::from_secs(2)).send().await.ok()?;
        let status = response.status();
        Some((status, response.json().await.ok()?))
    }

    async fn projector_ready(&self) -> bool {
        self.projector_readiness().await.is_some_and(|(status, _)| status == StatusCode::OK)
    }

    /// The API's `/health` body.
    async fn api_health(&self) -> Option<Value> {
        self.http.get(self.url("/health")).send().await.ok()?.json().await.ok()
    }

    async fn get(&self, path: &str) -> Option<(StatusCode, Value)> {
        let response = self.http.get(self.url(path)).send().await.ok()?;
        let status = response.status();
        Some((status, response.json().await.unwrap_or(Value::Null)))
    }

    /// Waits until every page in `slugs` reads back (`200`).
    async fn wait_until_readable(&self, slugs: &[String]) {
        futures::stream::iter(slugs)
            .for_each_concurrent(CLIENTS, |slug| async move {
                eventually(&format!("{slug} to read back"), || async {
                    self.get(&format!("/api/pages/{slug}"))
                        .await
                        .is_some_and(|(status, _)| status == StatusCode::OK)
                })
                .await;
            })
            .await;
    }

    /// Stops the API gracefully (it publishes the views it counted), waits until the
    /// projectors have acknowledged every event and every view tally, then runs
    /// `valentine rebuild --verify`; on a difference, names the page rows that differ from a
    /// full rebuild.
    async fn settle_and_verify(&mut self, js: &jetstream::Context) {
        self.stop_api();
        self.wait_until_projected(js).await;
        let output = self.valentine(&["rebuild", "--verify"]).output().expect("rebuild runs");
        if !output.status.success() {
            panic!(
                "the read model differs from the stream:\n{}{}\n{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr),
                self.differences(&self.dir.path().join("fresh.db"))
            );
        }
    }

    /// Builds a fresh read model from the whole stream at `fresh`; says its hash and the
    /// page rows in which the live read model differs from it (live | fresh).
    fn differences(&self, fresh: &PathBuf) -> String {
        let built = self.valentine(&["rebuild"]).env("DATABASE_PATH", fresh).output().expect("rebuild runs");
        if !built.status.success() {
            return String::from_utf8_lossy(&built.stderr).into_owned();
        }
        let rows = |link: &PathBuf| -> BTreeMap<String, String> {
            let conn = valentine_projections::db::reader_connection(link).expect("opens");
            let mut statement = conn
                .prepare("SELECT slug_key, page_id, title, deleted, view_count, last_sequence, last_stream_sequence FROM pages")
                .expect("prepares");
            statement
                .query_map([], |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        format!(
                            "page {} {:?} deleted {} views {} seq {} at {}",
                            r.get::<_, i64>(1)?,
                            r.get::<_, String>(2)?,
                            r.get::<_, bool>(3)?,
                            r.get::<_, i64>(4)?,
                            r.get::<_, i64>(5)?,
                            r.get::<_, i64>(6)?
                        ),
                    ))
                })
                .expect("queries")
                .collect::<Result<_, _>>()
                .expect("rows")
        };
        let header = format!("full rebuild {}", String::from_utf8_lossy(&built.stdout).trim());
        let (live, fresh) = (rows(&self.database()), rows(fresh));
        let keys: std::collections::BTreeSet<&String> = live.keys().chain(fresh.keys()).collect();
        keys.into_iter()
            .filter(|k| live.get(*k) != fresh.get(*k))
            .map(|k| format!("  {k}: {:?} | {:?}\n", live.get(k), fresh.get(k)))
            .fold(header + "\n", |all, row| all + &row)
    }

    fn logs(&self) -> String {
        ["projector", "api"]
            .iter()
            .map(|role| {
                let text =
                    std::fs::read_to_string(self.dir.path().join(format!("{role}.log"))).unwrap_or_default();
                let tail: Vec<&str> = text.lines().rev().take(60).collect();
                format!(
                    "--- {role} (last lines) ---\n{}\n",
                    tail.into_iter().rev().collect::<Vec<_>>().join("\n")
                )
            })
            .collect()
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("{}", self.logs());
        }
        for child in [self.api.as_mut(), self.projector.as_mut()].into_iter().flatten() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

// --- Loads -----------------------------------------------------------------------------------

fn page_body(slug: &str) -> Value {
    json!({
        "slug": slug,
        "title": format!("For {slug}"),
        "message": "Every day with you is a gift.",
        "sender_name": "Sam",
        "template_id": "envelope",
    })
}

/// A create that was answered `201` or `202` (or, if the drill fails, something else).
#[derive(Debug, Clone)]
struct Created {
    slug: String,
    key: String,
    status: StatusCode,
    answer: Value,
    /// When the attempt that got the answer was sent.
    sent: Instant,
    /// When the answer came.
    answered: Instant,
    /// What the attempts before it got: a status, or `no answer`.
    earlier: Vec<String>,
    /// Its `Valentine-Position`.
    position: Option<u64>,
}

impl Created {
    fn acknowledged(&self) -> bool {
        self.status == StatusCode::CREATED || self.status == StatusCode::ACCEPTED
    }

    fn job_id(&self) -> Option<&str> {
        (self.status == StatusCode::ACCEPTED).then(|| self.answer["job_id"].as_str()).flatten()
    }

    fn edit_token(&self) -> &str {
        self.answer["edit_token"].as_str().unwrap_or_default()
    }
}

/// The `Valentine-Position` of a write answer.
fn position_of(headers: &reqwest::header::HeaderMap) -> Option<u64> {
    headers.get("valentine-position")?.to_str().ok()?.parse().ok()
}

/// `POST /api/pages` with an `Idempotency-Key`, sent again with the same key and body after
/// no answer (connection refused or cut) or a `503`, until anything else comes back.
async fn create(http: &reqwest::Client, url: &str, slug: &str, key: &str, misses: &AtomicUsize) -> Created {
    let body = page_body(slug);
    let deadline = Instant::now() + PATIENCE;
    let mut earlier = Vec::new();
    loop {
        let sent = Instant::now();
        let response = http.post(url).header("idempotency-key", key).json(&body).send().await;
        let missed = match response {
            Ok(response) if response.status() != StatusCode::SERVICE_UNAVAILABLE => {
                let status = response.status();
                let position = position_of(response.headers());
                match response.json::<Value>().await {
                    Ok(answer) => {
                        let answered = Instant::now();
                        return Created {
                            slug: slug.to_owned(),
                            key: key.to_owned(),
                            status,
                            answer,
                            sent,
                            answered,
                            earlier,
                            position,
                        };
                    }
                    Err(e) => format!("{status} cut short: {e}"),
                }
            }
            Ok(response) => response.status().to_string(),
            Err(e) => format!("no answer: {e}"),
        };
        misses.fetch_add(1, Ordering::Relaxed);
        earlier.push(missed);
        assert!(Instant::now() < deadline, "{slug} was never answered: {earlier:?}");
        tokio::time::sleep(BACKOFF).await;
    }
}

/// [`CLIENTS`] clients creating pages with unique slugs, one after another, until stopped.
struct CreateLoad {
    stop: CancellationToken,
    clients: Vec<JoinHandle<Vec<Created>>>,
    /// Every acknowledged create so far: when it was sent and answered.
    acknowledged: Arc<Mutex<Vec<(Instant, Instant)>>>,
    /// Attempts that got no usable answer.
    misses: Arc<AtomicUsize>,
}

impl CreateLoad {
    fn start(stack: &Stack, prefix: &str) -> Self {
        let stop = CancellationToken::new();
        let acknowledged = Arc::new(Mutex::new(Vec::new()));
        let misses = Arc::new(AtomicUsize::new(0));
        let clients = (0..CLIENTS)
            .map(|client| {
                let (http, url, stop) = (stack.http.clone(), stack.url("/api/pages"), stop.clone());
                let (acknowledged, misses) = (acknowledged.clone(), misses.clone());
                let prefix = prefix.to_owned();
                tokio::spawn(async move {
                    let mut done = Vec::new();
                    for n in 0.. {
                        if stop.is_cancelled() {
                            break;
                        }
                        let slug = format!("{prefix}-{client}-{n}");
                        let created = create(
                            &http,
                            &url,
                            &slug,
                            &format!("drill-key-{slug}-0000000000000000"),
                            &misses,
                        )
                        .await;
                        if created.acknowledged() {
                            acknowledged.lock().expect("a lock").push((created.sent, created.answered));
                        }
                        done.push(created);
                    }
                    done
                })
            })
            .collect();
        Self { stop, clients, acknowledged, misses }
    }

    /// Acknowledged creates sent after `since`.
    fn acknowledged_since(&self, since: Instant) -> usize {
        self.acknowledged.lock().expect("a lock").iter().filter(|(sent, _)| *sent >= since).count()
    }

    /// When the first create sent after `since` was acknowledged.
    fn first_acknowledged_after(&self, since: Instant) -> Option<Instant> {
        self.acknowledged
            .lock()
            .expect("a lock")
            .iter()
            .filter(|(sent, _)| *sent >= since)
            .map(|(_, at)| *at)
            .min()
    }

    /// The longest stretch from `since` on without an acknowledgement, up to the last one.
    fn longest_pause_after(&self, since: Instant) -> Duration {
        let mut answered: Vec<Instant> = self
            .acknowledged
            .lock()
            .expect("a lock")
            .iter()
            .map(|(_, at)| *at)
            .filter(|at| *at >= since)
            .collect();
        answered.sort();
        let mut previous = since;
        let mut longest = Duration::ZERO;
        for at in answered {
            longest = longest.max(at - previous);
            previous = at;
        }
        longest
    }

    async fn wait_for(&self, what: &str, since: Instant, count: usize) {
        eventually(what, || async { self.acknowledged_since(since) >= count }).await;
    }

    fn misses(&self) -> usize {
        self.misses.load(Ordering::Relaxed)
    }

    /// Stops the clients once their creates in progress are answered; every create made.
    async fn finish(self) -> Vec<Created> {
        self.stop.cancel();
        let mut all = Vec::new();
        for client in self.clients {
            all.extend(client.await.expect("a client finished"));
        }
        all
    }
}

// --- What the stream and the read model hold --------------------------------------------------

/// Every page's event types in the `EVENTS` stream, by slug key, in stream order.
async fn events_by_page(js: &jetstream::Context) -> BTreeMap<String, Vec<String>> {
    let mut stream = js.get_stream("EVENTS").await.expect("the EVENTS stream");
    let last = stream.info().await.expect("stream info").state.last_sequence;
    let mut pages: BTreeMap<String, Vec<String>> = BTreeMap::new();
    if last == 0 {
        return pages;
    }
    let reader =
        stream.create_consumer(consumer::pull::OrderedConfig::default()).await.expect("an ordered consumer");
    let mut messages = reader.messages().await.expect("messages");
    while let Some(message) = messages.next().await {
        let message = message.expect("a message");
        let sequence = message.info().expect("JetStream metadata").stream_sequence;
        let stored = Commit::decode(sequence, &message.payload).expect("a commit");
        pages
            .entry(stored.commit.aggregate_id.clone())
            .or_default()
            .extend(stored.commit.events.iter().map(|e| e.event_type.clone()));
        if sequence >= last {
            break;
        }
    }
    pages
}

/// Asserts that every acknowledged create is in the stream exactly once, and that no page
/// was created twice.
async fn assert_each_created_once(js: &jetstream::Context, creates: &[Created]) {
    let pages = events_by_page(js).await;
    for (slug_key, events) in &pages {
        let created = events.iter().filter(|e| *e == "PageCreated").count();
        assert_eq!(created, 1, "{slug_key} was created {created} times: {events:?}");
    }
    for create in creates.iter().filter(|c| c.acknowledged()) {
        assert!(
            pages.contains_key(&create.slug.to_ascii_lowercase()),
            "{} was acknowledged ({}) but is not in the stream",
            create.slug,
            create.status
        );
    }
}

/// The projectors' durable consumer: (acknowledged floor, pending, delivered but unacked,
/// redelivered).
async fn consumer_state(js: &jetstream::Context) -> Option<(u64, u64, usize, usize)> {
    let stream = js.get_stream("EVENTS").await.ok()?;
    let info = stream.consumer_info("projector-main").await.ok()?;
    Some((info.ack_floor.stream_sequence, info.num_pending, info.num_ack_pending, info.num_redelivered))
}

/// Waits until the projectors have acknowledged every event in the stream.
async fn wait_until_caught_up(js: &jetstream::Context) {
    wait_until_consumer_caught_up(js, "EVENTS", "projector-main").await;
}

/// Waits until `consumer` has acknowledged every message of `stream`.
async fn wait_until_consumer_caught_up(js: &jetstream::Context, stream: &str, consumer: &str) {
    eventually(&format!("{consumer} to catch up with {stream}"), || async {
        let Ok(mut handle) = js.get_stream(stream).await else { return false };
        let Ok(last) = handle.info().await.map(|i| i.state.last_sequence) else { return false };
        let Ok(info) = handle.consumer_info(consumer).await else { return false };
        info.ack_floor.stream_sequence == last && info.num_pending == 0 && info.num_ack_pending == 0
    })
    .await;
}

fn slugs_of(creates: &[Created]) -> Vec<String> {
    creates.iter().filter(|c| c.acknowledged()).map(|c| c.slug.clone()).collect()
}

/// What the clients went through, for the test's output.
fn report(drill: &str, creates: &[Created]) {
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for create in creates {
        *seen.entry(create.status.to_string()).or_default() += 1;
        for miss in &create.earlier {
            let kind = if miss.starts_with("no answer") { "no answer" } else { miss.as_str() };
            *seen.entry(format!("retried after {kind}")).or_default() += 1;
        }
    }
    eprintln!("{drill}: {} creates; {seen:?}", creates.len());
}

fn assert_all_acknowledged(creates: &[Created]) {
    let refused: Vec<_> = creates.iter().filter(|c| !c.acknowledged()).collect();
    assert!(refused.is_empty(), "creates answered with neither 201 nor 202: {refused:#?}");
}

// --- The drills ------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nats_killed_and_restarted_on_its_store_during_creates_loses_no_acknowledged_page() {
    let mut nats = NatsServer::start().await;
    let mut stack = Stack::start(nats.url(), RedisServer::start().await, &[("SYNC_WAIT_MS", "1000")]).await;
    let js_url = nats.url();
    let load = CreateLoad::start(&stack, "nats");
    let started = Instant::now();
    load.wait_for("creates before the fault", started, 40).await;

    nats.kill();
    eventually("the projector to report NATS gone", || async {
        stack.projector_readiness().await.is_some_and(|(status, body)| {
            status == StatusCode::SERVICE_UNAVAILABLE && body["nats"] == "disconnected"
        })
    })
    .await;
    eventually("the API to notice", || async {
        stack.api_health().await.is_some_and(|h| h["nats"] == "disconnected")
    })
    .await;
    let misses = load.misses();
    eventually("creates to fail while NATS is down", || async { load.misses() > misses }).await;

    nats.restart().await;
    assert_eq!(nats.url(), js_url, "same port, same store");
    let back = Instant::now();
    eventually("the projector to be ready again", || stack.projector_ready()).await;
    load.wait_for("creates after the restart", back, 40).await;
    let creates = load.finish().await;
    report("nats restart", &creates);

    assert_all_acknowledged(&creates);
    let js = nats.jetstream().await;
    wait_until_caught_up(&js).await;
    stack.wait_until_readable(&slugs_of(&creates)).await;
    assert_each_created_once(&js, &creates).await;
    stack.settle_and_verify(&js).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_three_node_cluster_keeps_every_acknowledged_page_when_the_stream_leader_dies() {
    let mut cluster = NatsCluster::start().await;
    let mut stack = Stack::start(
        cluster.urls(),
        RedisServer::start().await,
        &[("NATS_REPLICAS", "3"), ("SYNC_WAIT_MS", "1000")],
    )
    .await;
    let load = CreateLoad::start(&stack, "r3");
    load.wait_for("creates before the fault", Instant::now(), 40).await;

    // A crash: the followers elect a new leader once their election timeout runs out
    // (nats-server's Raft: 4 to 9 s at random, not configurable); until then creates are
    // refused with 503, and retried.
    let leader = cluster.wait_until_replicated("EVENTS").await;
    let killed_at = Instant::now();
    cluster.kill(leader);
    load.wait_for("creates after the kill", killed_at, 40).await;
    let resumed = load.first_acknowledged_after(killed_at).expect("a create after the kill") - killed_at;
    eprintln!(
        "{} killed: writes resumed after {resumed:?} (longest pause {:?})",
        cluster.name(leader),
        load.longest_pause_after(killed_at)
    );
    assert!(
        resumed <= ELECTION + Duration::from_secs(3),
        "writes resumed only {resumed:?} after the leader died"
    );
    cluster.restart(leader).await;

    // Planned maintenance: lame duck mode first, so the leader hands over before it stops.
    let leader = cluster.wait_until_replicated("EVENTS").await;
    let signalled = Instant::now();
    cluster.lame_duck(leader);
    eventually("the leadership to move", || async {
        cluster.stream_leader("EVENTS").await.is_some_and(|l| l != leader)
    })
    .await;
    load.wait_for("creates after the hand-over", Instant::now(), 40).await;
    let pause = load.longest_pause_after(signalled);
    eprintln!("{} handed over: writes paused for at most {pause:?}", cluster.name(leader));
    assert!(pause <= Duration::from_secs(5), "writes paused for {pause:?} during the hand-over");
    let creates = load.finish().await;
    report("cluster", &creates);
    // Once it has handed over, how its process ends makes no difference to the others.
    cluster.kill(leader);
    cluster.restart(leader).await;

    assert_all_acknowledged(&creates);
    let js = cluster.jetstream().await;
    wait_until_caught_up(&js).await;
    stack.wait_until_readable(&slugs_of(&creates)).await;
    assert_each_created_once(&js, &creates).await;
    let replicas =
        js.get_stream("EVENTS").await.expect("stream").info().await.expect("info").config.num_replicas;
    assert_eq!(replicas, 3);
    // The restarted node must have caught up before the read model is checked: a rebuild may
    // read from it.
    cluster.wait_until_replicated("EVENTS").await;
    cluster.wait_until_replicated("VIEWS").await;
    stack.settle_and_verify(&js).await;
}

/// A page a client may change: its slug and edit token.
type Owned = (String, String);

/// What a mixed-load client ends with: its pages, and what went wrong.
type ClientRun = (Vec<Owned>, Vec<String>);

/// A mixed load on pages each client owns: reads, slug checks, updates, creates, and reads of
/// other clients' pages. Any `5xx`, unexpected status or missing answer is recorded.
struct MixedLoad {
    stop: CancellationToken,
    clients: Vec<JoinHandle<ClientRun>>,
    requests: Arc<AtomicUsize>,
}

impl MixedLoad {
    /// `owned[i]` are client `i`'s pages, as (slug, edit token).
    fn start(stack: &Stack, owned: Vec<Vec<Owned>>) -> Self {
        let stop = CancellationToken::new();
        let requests = Arc::new(AtomicUsize::new(0));
        let everyone: Vec<String> = owned.iter().flatten().map(|(slug, _)| slug.clone()).collect();
        let clients = owned
            .into_iter()
            .enumerate()
            .map(|(client, mut pages)| {
                let (http, base, stop) = (stack.http.clone(), stack.url(""), stop.clone());
                let (requests, everyone) = (requests.clone(), everyone.clone());
                tokio::spawn(async move {
                    let mut failures = Vec::new();
                    let mut n = 0;
                    while !stop.is_cancelled() {
                        n += 1;
                        let (slug, token) = pages[n % pages.len()].clone();
                        let (what, request, expected) = match n % 5 {
                            0 => ("read", http.get(format!("{base}/api/pages/{slug}")), StatusCode::OK),
                            1 => (
                                "check",
                                http.get(format!("{base}/api/slugs/check/{slug}-{n}")),
                                StatusCode::OK,
                            ),
                            2 => (
                                "update",
                                http.patch(format!("{base}/api/pages/{slug}"))
                                    .header("x-edit-token", &token)
                                    .json(&json!({ "title": format!("Updated {n}") })),
                                StatusCode::OK,
                            ),
                            3 => {
                                let new = format!("mixed-{client}-{n}");
                                let request = http
                                    .post(format!("{base}/api/pages"))
                                    .header("idempotency-key", format!("drill-key-{new}-0000000000000000"))
                                    .json(&page_body(&new));
                                ("create", request, StatusCode::CREATED)
                            }
                            _ => {
                                let other = &everyone[n % everyone.len()];
                                (
                                    "read another",
                                    http.get(format!("{base}/api/pages/{other}")),
                                    StatusCode::OK,
                                )
                            }
                        };
                        match request.send().await {
                            Ok(response) => {
                                let status = response.status();
                                let body: Value = response.json().await.unwrap_or(Value::Null);
                                let queued = what == "create" && status == StatusCode::ACCEPTED;
                                if status != expected && !queued {
                                    failures.push(format!("{what} {slug}: {status} {body}"));
                                } else if status == StatusCode::CREATED {
                                    // Readable at once, so it joins the pages this client reads
                                    // and updates (a queued one would read 404 for a moment).
                                    let token = body["edit_token"].as_str().unwrap_or_default().to_owned();
                                    pages.push((format!("mixed-{client}-{n}"), token));
                                }
                            }
                            Err(e) => failures.push(format!("{what} {slug}: no answer: {e}")),
                        }
                        requests.fetch_add(1, Ordering::Relaxed);
                    }
                    (pages, failures)
                })
            })
            .collect();
        Self { stop, clients, requests }
    }

    fn requests(&self) -> usize {
        self.requests.load(Ordering::Relaxed)
    }

    async fn wait_for_more(&self, what: &str, count: usize) {
        let from = self.requests();
        eventually(what, || async { self.requests() >= from + count }).await;
    }

    /// Stops the clients; every page (slug, token), and every failure.
    async fn finish(self) -> ClientRun {
        self.stop.cancel();
        let (mut pages, mut failures) = (Vec::new(), Vec::new());
        for client in self.clients {
            let (p, f) = client.await.expect("a client finished");
            pages.extend(p);
            failures.extend(f);
        }
        (pages, failures)
    }
}

/// Creates pages `<prefix>-0` … concurrently, each until answered.
async fn create_pages(stack: &Stack, prefix: &str, count: usize) -> Vec<Created> {
    let misses = Arc::new(AtomicUsize::new(0));
    let tasks: Vec<_> = (0..count)
        .map(|n| {
            let (http, url, misses) = (stack.http.clone(), stack.url("/api/pages"), misses.clone());
            let slug = format!("{prefix}-{n}");
            tokio::spawn(async move {
                create(&http, &url, &slug, &format!("drill-key-{slug}-0000000000000000"), &misses).await
            })
        })
        .collect();
    let mut created = Vec::new();
    for task in tasks {
        created.push(task.await.expect("a create"));
    }
    created
}

/// Waits until `GET` of each page answers what the read model holds (the view count aside,
/// which moves with every read).
async fn assert_reads_match_the_read_model(stack: &Stack, slugs: &[String]) {
    let pool = valentine_projections::db::reader_pool(&stack.database(), 2, Duration::from_secs(60))
        .await
        .expect("the read model");
    for slug in slugs {
        let key = slug.to_ascii_lowercase();
        let row = valentine_projections::pages::row(&pool, &key).await.expect("a query").expect("a row");
        eventually(&format!("{slug} to read as the read model has it"), || async {
            let Some((StatusCode::OK, page)) = stack.get(&format!("/api/pages/{slug}")).await else {
                return false;
            };
            page["title"] == row.title.as_str()
                && page["message"] == row.message.as_str()
                && page["updated_at"] == row.updated_at.as_str()
                && page["template_id"] == row.template_id.as_str()
        })
        .await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_killed_and_restarted_with_its_data_during_a_mixed_load_gives_no_5xx_and_no_stale_page() {
    let nats = NatsServer::start().await;
    let mut stack =
        Stack::start(nats.url(), RedisServer::start_persistent().await, &[("SYNC_WAIT_MS", "1000")]).await;
    let first = create_pages(&stack, "mine", CLIENTS * 2).await;
    assert_all_acknowledged(&first);
    stack.wait_until_readable(&slugs_of(&first)).await;
    // Each client updates only its own pages, so no update waits on another's.
    let mut owned = vec![Vec::new(); CLIENTS];
    for (n, page) in first.iter().enumerate() {
        owned[n % CLIENTS].push((page.slug.clone(), page.edit_token().to_owned()));
    }
    let load = MixedLoad::start(&stack, owned);
    load.wait_for_more("requests with the cache", 200).await;

    // Killed with answers cached; it comes back with them (append-only file), some of them
    // stale by then.
    stack.redis.as_mut().expect("its own Redis").stop();
    eventually("the API to notice", || async {
        stack.api_health().await.is_some_and(|h| h["redis"] == "down")
    })
    .await;
    load.wait_for_more("requests without Redis", 200).await;
    stack.redis.as_mut().expect("its own Redis").restart().await;
    eventually("the API to use Redis again", || async {
        stack.api_health().await.is_some_and(|h| h["redis"] == "ok")
    })
    .await;
    load.wait_for_more("requests with Redis back", 200).await;
    let requests = load.requests();
    let (pages, failures) = load.finish().await;
    eprintln!("redis restart: {requests} requests, {} pages", pages.len());
    assert!(failures.is_empty(), "{} requests failed: {failures:#?}", failures.len());

    let js = nats.jetstream().await;
    wait_until_caught_up(&js).await;
    let slugs: Vec<String> = pages.iter().map(|(slug, _)| slug.clone()).collect();
    assert_reads_match_the_read_model(&stack, &slugs).await;

    // And every change from now on shows at once.
    for (slug, token) in &pages {
        let title = format!("Last word for {slug}");
        let response = stack
            .http
            .patch(stack.url(&format!("/api/pages/{slug}")))
            .header("x-edit-token", token)
            .json(&json!({ "title": title }))
            .send()
            .await
            .expect("an answer");
        assert_eq!(response.status(), StatusCode::OK, "{slug}");
    }
    wait_until_caught_up(&js).await;
    assert_reads_match_the_read_model(&stack, &slugs).await;
    for (slug, _) in &pages {
        let (_, page) = stack.get(&format!("/api/pages/{slug}")).await.expect("an answer");
        assert_eq!(page["title"], format!("Last word for {slug}"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_killed_during_creates_and_retried_with_the_same_keys_creates_each_page_once() {
    let nats = NatsServer::start().await;
    // No wait for the projection: most creates answer 202 with a job id.
    let mut stack = Stack::start(nats.url(), RedisServer::start().await, &[("SYNC_WAIT_MS", "0")]).await;
    let load = CreateLoad::start(&stack, "crash");
    load.wait_for("creates before the crash", Instant::now(), 40).await;

    stack.kill_api();
    let misses = load.misses();
    eventually("creates to go unanswered", || async { load.misses() >= misses + CLIENTS }).await;
    stack.start_api().await;
    load.wait_for("creates after the restart", Instant::now(), 40).await;
    let creates = load.finish().await;
    report("api crash", &creates);

    assert_all_acknowledged(&creates);
    let unanswered = creates.iter().filter(|c| c.earlier.iter().any(|e| e.starts_with("no answer"))).count();
    assert!(unanswered > 0, "no create went unanswered: the crash hit nothing");
    let js = nats.jetstream().await;
    wait_until_caught_up(&js).await;
    assert_each_created_once(&js, &creates).await;

    let jobs: Vec<&str> = creates.iter().filter_map(Created::job_id).collect();
    assert!(!jobs.is_empty(), "no create answered 202");
    for job in jobs {
        eventually(&format!("job {job} to finish"), || async {
            stack
                .get(&format!("/api/pages/job/{job}"))
                .await
                .is_some_and(|(status, body)| status == StatusCode::OK && body["status"] == "finished")
        })
        .await;
    }
    // The same request again is the same create: same page, same edit token.
    let misses = AtomicUsize::new(0);
    for first in &creates {
        let again = create(&stack.http, &stack.url("/api/pages"), &first.slug, &first.key, &misses).await;
        assert!(again.acknowledged(), "{} again: {} {}", first.slug, again.status, again.answer);
        assert_eq!(again.edit_token(), first.edit_token(), "{} again", first.slug);
    }
    assert_each_created_once(&js, &creates).await;
    stack.settle_and_verify(&js).await;
}

/// Sets the soft limit on the size of the files `pid` may write (`RLIMIT_FSIZE`), as
/// `prlimit --fsize`: `0` makes every write to a file fail, as on a full disk.
fn limit_file_size(pid: u32, soft: &str) {
    let status = Command::new("prlimit")
        .arg("--pid")
        .arg(pid.to_string())
        .arg(format!("--fsize={soft}:"))
        .status()
        .expect("prlimit runs (util-linux)");
    assert!(status.success(), "prlimit --fsize={soft}: failed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_model_refusing_writes_holds_back_acknowledgements_until_it_takes_them_again() {
    let nats = NatsServer::start().await;
    let js = nats.jetstream().await;
    let mut stack = Stack::start(nats.url(), RedisServer::start().await, &[("SYNC_WAIT_MS", "300")]).await;
    let mut creates = create_pages(&stack, "before", 16).await;
    assert!(creates.iter().all(|c| c.status == StatusCode::CREATED), "{creates:#?}");
    wait_until_caught_up(&js).await;

    // The fault: the projector can no longer write its files, as on a full disk.
    limit_file_size(stack.projector_pid(), "0");
    let during = create_pages(&stack, "during", 16).await;
    assert!(during.iter().all(|c| c.status == StatusCode::ACCEPTED), "stored, not projected: {during:#?}");
    eventually("the projector to report the refusal", || async {
        stack.projector_readiness().await.is_some_and(|(status, body)| {
            status == StatusCode::SERVICE_UNAVAILABLE
                && body["read_model"] == "refusing"
                && body["reason"].as_str().is_some_and(|r| r.contains("refuses"))
        })
    })
    .await;
    let (floor, ..) = consumer_state(&js).await.expect("the consumer");
    let more = create_pages(&stack, "more", 16).await;
    // Every event is delivered and some offered again: the projector keeps trying.
    eventually("the projector to retry", || async {
        consumer_state(&js).await.is_some_and(|(_, pending, in_flight, redelivered)| {
            pending == 0 && in_flight >= during.len() + more.len() && redelivered > 0
        })
    })
    .await;
    let (still, pending, in_flight, _) = consumer_state(&js).await.expect("the consumer");
    assert_eq!(still, floor, "nothing is acknowledged while the read model refuses writes");
    assert!(pending + in_flight as u64 >= 32, "the lag grows");
    let (status, _) = stack.projector_readiness().await.expect("an answer");
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    let job = during[0].job_id().expect("a job id");
    let (_, body) = stack.get(&format!("/api/pages/job/{job}")).await.expect("an answer");
    assert_ne!(body["status"], "finished", "{body}");

    // Space again: projection resumes by itself.
    limit_file_size(stack.projector_pid(), "unlimited");
    eventually("the projector to be ready again", || stack.projector_ready()).await;
    wait_until_caught_up(&js).await;
    creates.extend(during);
    creates.extend(more);
    stack.wait_until_readable(&slugs_of(&creates)).await;
    for job in creates.iter().filter_map(Created::job_id) {
        let (_, body) = stack.get(&format!("/api/pages/job/{job}")).await.expect("an answer");
        assert_eq!(body["status"], "finished", "{body}");
    }
    assert_each_created_once(&js, &creates).await;
    stack.settle_and_verify(&js).await;
}

// --- Two nodes ----------------------------------------------------------------------------

/// `GET url` naming `position` (if any), asked again after no answer or a `503` (a node
/// catching up, or NATS away) until anything else comes back; the answer. Counts in
/// `behind` each time the node said it was behind.
async fn read_at(
    http: &reqwest::Client,
    url: &str,
    position: Option<u64>,
    behind: &AtomicUsize,
) -> (StatusCode, Value) {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let mut request = http.get(url);
        if let Some(position) = position {
            request = request.header("valentine-min-position", position);
        }
        if let Ok(response) = request.send().await {
            let status = response.status();
            let body: Value = response.json().await.unwrap_or(Value::Null);
            if status != StatusCode::SERVICE_UNAVAILABLE {
                return (status, body);
            }
            if body["code"] == "behind" {
                behind.fetch_add(1, Ordering::Relaxed);
            }
        }
        assert!(Instant::now() < deadline, "{url} was never answered");
        tokio::time::sleep(BACKOFF).await;
    }
}

/// `PATCH` the page's title with its token, asked again after no answer or a `503` (the
/// change is the same each time); the answer's position.
async fn retitle_at(http: &reqwest::Client, url: &str, token: &str, title: &str) -> Result<u64, String> {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let sent =
            http.patch(url).header("x-edit-token", token).json(&json!({ "title": title })).send().await;
        if let Ok(response) = sent {
            let status = response.status();
            if status == StatusCode::OK {
                return position_of(response.headers()).ok_or_else(|| format!("{url}: no position"));
            }
            if status != StatusCode::SERVICE_UNAVAILABLE {
                return Err(format!("{url}: {status} {}", response.text().await.unwrap_or_default()));
            }
        }
        assert!(Instant::now() < deadline, "{url} was never changed");
        tokio::time::sleep(BACKOFF).await;
    }
}

/// What one client of [`TwoNodeLoad`] saw.
#[derive(Debug, Default)]
struct CrossNodeRun {
    creates: Vec<Created>,
    /// When each create was first sent, and how long until its answer.
    create_latencies: Vec<(Instant, Duration)>,
    /// Reads that named a position and did not see the write: what, and what came.
    stale: Vec<String>,
    failures: Vec<String>,
}

/// Clients that write through one node and read through the other, naming their write's
/// position, round after round: create on one node (and read it there at once without a
/// position when it was answered `201`), read it on the other, change it there, read the
/// change back on the first. Any read that names a position and does not see the write is
/// stale.
struct TwoNodeLoad {
    stop: CancellationToken,
    clients: Vec<JoinHandle<CrossNodeRun>>,
    rounds: Arc<AtomicUsize>,
    behind: Arc<AtomicUsize>,
}

impl TwoNodeLoad {
    fn start(nodes: [&Stack; 2]) -> Self {
        let stop = CancellationToken::new();
        let (rounds, behind) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let bases = [nodes[0].url(""), nodes[1].url("")];
        let clients = (0..CLIENTS)
            .map(|client| {
                let (http, bases, stop) = (nodes[0].http.clone(), bases.clone(), stop.clone());
                let (rounds, behind) = (rounds.clone(), behind.clone());
                tokio::spawn(async move {
                    let mut run = CrossNodeRun::default();
                    let misses = AtomicUsize::new(0);
                    for n in 0.. {
                        if stop.is_cancelled() {
                            break;
                        }
                        let (here, there) = (&bases[(client + n) % 2], &bases[(client + n + 1) % 2]);
                        let slug = format!("two-{client}-{n}");
                        let page = format!("/api/pages/{slug}");
                        let first = Instant::now();
                        let key = format!("drill-key-{slug}-0000000000000000");
                        let created = create(&http, &format!("{here}/api/pages"), &slug, &key, &misses).await;
                        run.create_latencies.push((first, first.elapsed()));
                        let (acknowledged, status, position) =
                            (created.acknowledged(), created.status, created.position);
                        let token = created.edit_token().to_owned();
                        let Some(position) = position.filter(|_| acknowledged) else {
                            let (answer, earlier) = (&created.answer, &created.earlier);
                            run.failures.push(format!(
                                "create {slug}: {status} without a position: {answer} after {earlier:?}"
                            ));
                            run.creates.push(created);
                            continue;
                        };
                        run.creates.push(created);
                        let mut check = |what: String, (status, body): (StatusCode, Value), title| {
                            if status != StatusCode::OK || body["title"] != title {
                                run.stale.push(format!("{what}: {status} {body}"));
                            }
                        };
                        let written = format!("For {slug}");
                        if status == StatusCode::CREATED {
                            let read = read_at(&http, &format!("{here}{page}"), None, &behind).await;
                            check(format!("{slug} at once where created"), read, written.clone());
                        }
                        let read = read_at(&http, &format!("{there}{page}"), Some(position), &behind).await;
                        check(format!("{slug} on the other node at {position}"), read, written);
                        let title = format!("Changed {n}");
                        match retitle_at(&http, &format!("{there}{page}"), &token, &title).await {
                            Ok(changed) => {
                                let read =
                                    read_at(&http, &format!("{here}{page}"), Some(changed), &behind).await;
                                check(
                                    format!("{slug} changed, back on the first node at {changed}"),
                                    read,
                                    title,
                                );
                            }
                            Err(e) => run.failures.push(e),
                        }
                        rounds.fetch_add(1, Ordering::Relaxed);
                    }
                    run
                })
            })
            .collect();
        Self { stop, clients, rounds, behind }
    }

    async fn wait_for_rounds(&self, what: &str, more: usize) {
        let from = self.rounds.load(Ordering::Relaxed);
        eventually(what, || async { self.rounds.load(Ordering::Relaxed) >= from + more }).await;
    }

    /// Stops the clients; what they saw, and how many answers said a node was behind.
    async fn finish(self) -> (CrossNodeRun, usize) {
        self.stop.cancel();
        let mut all = CrossNodeRun::default();
        for client in self.clients {
            let run = client.await.expect("a client finished");
            all.creates.extend(run.creates);
            all.create_latencies.extend(run.create_latencies);
            all.stale.extend(run.stale);
            all.failures.extend(run.failures);
        }
        (all, self.behind.load(Ordering::Relaxed))
    }
}

/// The read model's content hash.
fn content_hash_of(stack: &Stack) -> String {
    let mut conn = valentine_projections::db::reader_connection(&stack.database()).expect("opens");
    valentine_projections::hash::content_hash(&mut conn).expect("a hash")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_read_their_writes_through_a_stream_leader_crash_and_a_projector_crash() {
    let mut cluster = NatsCluster::start().await;
    let redis = RedisServer::start().await;
    let settings = [("NATS_REPLICAS", "3"), ("SYNC_WAIT_MS", "3000")];
    let mut a = Stack::start_node(cluster.urls(), None, redis.url(), "node-a", &settings).await;
    let mut b = Stack::start_node(cluster.urls(), None, redis.url(), "node-b", &settings).await;
    let load = TwoNodeLoad::start([&a, &b]);
    let started = Instant::now();
    load.wait_for_rounds("rounds before the faults", 60).await;
    let faults = Instant::now();

    // The stream's leader dies: writes wait for the followers' election, reads go on.
    let leader = cluster.wait_until_replicated("EVENTS").await;
    cluster.kill(leader);
    load.wait_for_rounds("rounds after the leader died", 30).await;
    cluster.restart(leader).await;

    // One node's projector dies: reads naming later positions on that node wait, and are
    // answered once it is back.
    b.kill_projector();
    let behind = load.behind.load(Ordering::Relaxed);
    eventually("a read on the node without its projector to be behind", || async {
        load.behind.load(Ordering::Relaxed) > behind
    })
    .await;
    b.start_projector();
    eventually("the projector to be ready again", || b.projector_ready()).await;
    load.wait_for_rounds("rounds after the projector came back", 30).await;
    let (run, behind) = load.finish().await;
    let elapsed = started.elapsed();

    let acknowledged = run.creates.iter().filter(|c| c.acknowledged()).count();
    let queued = run.creates.iter().filter(|c| c.status == StatusCode::ACCEPTED).count();
    let p99 = |latencies: Vec<Duration>| {
        let mut latencies = latencies;
        latencies.sort();
        latencies.get((latencies.len() * 99).div_ceil(100).saturating_sub(1)).copied().unwrap_or_default()
    };
    let calm: Vec<Duration> = run
        .create_latencies
        .iter()
        .filter(|(sent, took)| *sent + *took <= faults)
        .map(|(_, took)| *took)
        .collect();
    eprintln!(
        "two nodes: {} creates in {:.1?} before the faults ({:.1}/s, p99 {:?}); {acknowledged} in all \
         ({queued} answered 202) in {elapsed:.1?}, p99 {:?} with the faults; {} stale reads; {behind} \
         answers 'behind' before the read was answered",
        calm.len(),
        faults - started,
        calm.len() as f64 / (faults - started).as_secs_f64(),
        p99(calm.clone()),
        p99(run.create_latencies.iter().map(|(_, took)| *took).collect()),
        run.stale.len(),
    );
    assert!(run.stale.is_empty(), "reads that named a position saw older data: {:#?}", run.stale);
    assert!(run.failures.is_empty(), "{:#?}", run.failures);
    assert_all_acknowledged(&run.creates);
    let js = cluster.jetstream().await;
    assert_each_created_once(&js, &run.creates).await;

    // Both read models, settled, are exactly what a rebuild of the stream gives.
    cluster.wait_until_replicated("EVENTS").await;
    cluster.wait_until_replicated("VIEWS").await;
    for node in [&mut a, &mut b] {
        node.stop_api();
    }
    for node in [&a, &b] {
        node.wait_until_projected(&js).await;
    }
    let fresh = a.dir.path().join("fresh.db");
    let built = a.valentine(&["rebuild"]).env("DATABASE_PATH", &fresh).output().expect("rebuild runs");
    assert!(built.status.success(), "{}", String::from_utf8_lossy(&built.stderr));
    let rebuilt = String::from_utf8_lossy(&built.stdout).trim().to_owned();
    assert_eq!(content_hash_of(&a), rebuilt, "node-a differs from a rebuild:\n{}", a.differences(&fresh));
    assert_eq!(content_hash_of(&b), rebuilt, "node-b differs from a rebuild:\n{}", b.differences(&fresh));
}
