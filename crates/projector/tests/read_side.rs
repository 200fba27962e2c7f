//! The read side on real servers: nats-server with JetStream, redis-server, SQLite files.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_nats::jetstream;
use futures::{StreamExt, TryStreamExt};
use sqlx::{Connection, SqliteConnection};
use tempfile::TempDir;
use tokio_util::sync::CancellationToken;
use valentine_bench::synthetic::{Workload, publish_events, publish_tallies, publish_view_batches};
use valentine_domain::page::versions;
use valentine_domain::{CreatePage, EditToken, Page, PageCommand, PageExtras, PageRules, Slug, UpdatePage};
use valentine_eventstore::tallies::{self, PageViews, TallyBatch};
use valentine_eventstore::{JetStreamCqrs, NatsSettings, Password, StreamConfig, jetstream_cqrs, receipt};
use valentine_projections::{
    PositionWatch, ReadModelId, ReadModelSettings, applied, db, hash, page_store, pages, position,
    view_checkpoints::{Chunk, SavedCount},
};
use valentine_projector::progress::Silent;
use valentine_projector::{Projector, ReadSideConfig, checkpointer, rebuild};
use valentine_testkit::{NatsServer, RedisCluster, RedisServer, eventually, init_tracing, redis_cluster};

const WAIT: Duration = Duration::from_secs(120);

struct Servers {
    nats: NatsServer,
    redis: RedisServer,
    dir: TempDir,
}

impl Servers {
    async fn start() -> Self {
        Self::with_redis(RedisServer::start().await).await
    }

    async fn with_redis(redis: RedisServer) -> Self {
        init_tracing();
        Self { nats: NatsServer::start().await, redis, dir: tempfile::tempdir().expect("dir") }
    }

    fn config(&self, name: &str) -> ReadSideConfig {
        ReadSideConfig { redis_url: Some(self.redis.url()), ..read_side(&self.nats, self.dir.path(), name) }
    }
}

/// The read model `name` on `nats`, its file in `dir`, without Redis.
fn read_side(nats: &NatsServer, dir: &Path, name: &str) -> ReadSideConfig {
    ReadSideConfig {
        nats: NatsSettings::at(nats.url()),
        redis_url: None,
        read_model: ReadModelSettings {
            database_path: dir.join(format!("{name}.db")),
            id: ReadModelId::new(name).expect("a read model id"),
        },
        batch_size: 64,
        ..ReadSideConfig::default()
    }
}

/// A read model named `name` with `events` synthetic events (from `seed`) published and
/// projected once.
async fn projected(servers: &Servers, name: &str, events: usize, seed: u64) -> ReadSideConfig {
    let config = servers.config(name);
    let js = servers.nats.jetstream().await;
    publish_events(&js, &config.events, Workload::new(events, seed)).await.expect("published");
    let projector = Projector::connect(config.clone()).await.expect("projector starts");
    projector.process_available().await.expect("projected");
    config
}

/// Runs `n` projectors in this process, each with its own NATS and SQLite connections.
struct Running {
    shutdown: CancellationToken,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

async fn run_projectors(config: &ReadSideConfig, n: usize) -> Running {
    let shutdown = CancellationToken::new();
    let mut tasks = Vec::new();
    for _ in 0..n {
        let projector = Projector::connect(config.clone()).await.expect("projector starts");
        let token = shutdown.clone();
        tasks.push(tokio::spawn(async move { projector.run(token).await.expect("projector runs") }));
    }
    Running { shutdown, tasks }
}

impl Running {
    async fn stop(self) {
        self.shutdown.cancel();
        for task in self.tasks {
            task.await.expect("projector stopped cleanly");
        }
    }
}

/// Waits until both consumers have nothing pending or in flight.
async fn drained(js: &jetstream::Context, config: &ReadSideConfig) {
    let deadline = tokio::time::Instant::now() + WAIT;
    let targets =
        [("EVENTS", config.read_model.events_consumer()), ("VIEWS", config.read_model.tallies_consumer())];
    for (stream, consumer) in targets {
        let stream = js.get_stream(stream).await.expect("stream");
        loop {
            let progress = position::progress(&stream, &consumer).await.expect("progress").expect("bound");
            if progress.lag() == 0 {
                break;
            }
            assert!(tokio::time::Instant::now() < deadline, "{consumer} not drained: {progress:?}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

fn read_hash(link: &Path) -> String {
    hash::content_hash(&mut db::reader_connection(link).expect("opens")).expect("hash")
}

async fn count(link: &Path, sql: &str) -> i64 {
    let file = std::fs::canonicalize(link).expect("the read model exists");
    let mut conn =
        SqliteConnection::connect(&format!("sqlite://{}?mode=ro", file.display())).await.expect("opens");
    sqlx::query_scalar(sql).fetch_one(&mut conn).await.expect("count")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_two_and_four_projectors_build_the_same_read_model_as_a_rebuild() {
    let servers = Servers::start().await;
    let js = servers.nats.jetstream().await;
    let events = StreamConfig::default();
    let views = StreamConfig::tallies();
    valentine_eventstore::ensure_stream(&js, &views).await.expect("views stream");
    let published = publish_events(&js, &events, Workload::new(10_000, 7)).await.expect("published");
    assert_eq!(published.messages, 10_000);
    let views_total = publish_tallies(&js, &views, &published.live_pages, 2_000, 11).await.expect("tallies");

    let mut hashes = Vec::new();
    for n in [1, 2, 4] {
        let config = servers.config(&format!("n{n}"));
        let running = run_projectors(&config, n).await;
        drained(&js, &config).await;
        running.stop().await;
        let live =
            count(&config.read_model.database_path, "SELECT count(*) FROM pages WHERE deleted = 0").await;
        assert_eq!(usize::try_from(live).expect("a count"), published.live_pages.len(), "{n} projectors");
        let counted =
            count(&config.read_model.database_path, "SELECT coalesce(sum(view_count), 0) FROM pages").await;
        assert_eq!(u64::try_from(counted).expect("a count"), views_total, "{n} projectors");
        hashes.push((n, read_hash(&config.read_model.database_path)));
    }
    let history =
        count(&servers.config("n4").read_model.database_path, "SELECT count(*) FROM page_events").await;
    assert_eq!(history, 10_000);

    let rebuilt = rebuild::rebuild(&servers.config("rebuilt"), &Silent).await.expect("rebuilt");
    assert_eq!(rebuilt.commits, 10_000);
    for (n, hash) in &hashes {
        assert_eq!(hash, &rebuilt.content_hash, "{n} projectors differ from the rebuild");
    }
    assert_eq!(read_hash(&servers.config("rebuilt").read_model.database_path), rebuilt.content_hash);
}

/// Commands on pages through `nats`, and a watch of where `config`'s read model stands.
async fn commands(nats: &NatsServer, config: &ReadSideConfig) -> (PositionWatch, JetStreamCqrs<Page>) {
    let client = nats.client().await;
    let watch = PositionWatch::start(&client, config.read_model.announcements()).await.expect("watching");
    let repo = page_store::open(&jetstream::new(client), &config.events).await.expect("repo");
    (watch, jetstream_cqrs::<Page>(repo, PageRules::default(), versions::upcasters()))
}

fn create(slug: &str) -> PageCommand {
    PageCommand::Create(CreatePage {
        slug: Slug::parse(slug).expect("valid"),
        title: "Hello".to_owned(),
        message: "You".to_owned(),
        sender_name: None,
        recipient_name: None,
        template_id: None,
        edit_token_hash: EditToken::presented("tok").hash(),
        notify: None,
        extras: PageExtras::default(),
    })
}

fn retitle(title: &str) -> PageCommand {
    let mut update = UpdatePage::with_token(EditToken::presented("tok"));
    update.title = Some(title.to_owned());
    PageCommand::Update(update)
}

#[tokio::test]
async fn cached_answers_are_gone_once_the_change_is_projected() {
    let servers = Servers::start().await;
    let config = servers.config("cache");
    let (watch, cqrs) = commands(&servers.nats, &config).await;
    let mut redis = servers.redis.client().get_connection_manager().await.expect("redis");
    let running = run_projectors(&config, 1).await;

    let (created, at) = receipt::capture(cqrs.execute("ann", create("Ann"))).await;
    created.expect("created");
    assert!(watch.wait_for(at.expect("receipt").stream_sequence, WAIT).await, "create projected");

    // The API caches the page and its slug check; then the page changes.
    for key in config.read_model.cache_keys().answers("ann") {
        redis::cmd("SET").arg(&key).arg("stale").query_async::<()>(&mut redis).await.expect("set");
    }
    let (updated, at) = receipt::capture(cqrs.execute("ann", retitle("Changed"))).await;
    updated.expect("updated");
    assert!(watch.wait_for(at.expect("receipt").stream_sequence, WAIT).await, "update projected");
    for key in config.read_model.cache_keys().answers("ann") {
        let exists: bool = redis::cmd("EXISTS").arg(&key).query_async(&mut redis).await.expect("exists");
        assert!(!exists, "{key} still cached after the update was projected");
    }
    let conn = db::reader_connection(&config.read_model.database_path).expect("opens");
    assert_eq!(pages::live_page(&conn, "ann").expect("query").expect("live").title, "Changed");
    running.stop().await;
}

#[tokio::test]
async fn what_a_projector_applied_is_acknowledged_after_its_sync_without_another_batch_or_a_redelivery() {
    let servers = Servers::start().await;
    let config = servers.config("held");
    let (watch, cqrs) = commands(&servers.nats, &config).await;
    let running = run_projectors(&config, 1).await;

    // One create and then nothing: its acknowledgement waits for the log's sync, which must
    // come on its own, long before JetStream's ack wait would offer the message again.
    let (created, at) = receipt::capture(cqrs.execute("hal", create("Hal"))).await;
    created.expect("created");
    let sequence = at.expect("receipt").stream_sequence;
    assert!(watch.wait_for(sequence, WAIT).await, "create projected");
    let conn = db::reader_connection(&config.read_model.database_path).expect("opens");
    assert!(pages::live_page(&conn, "hal").expect("query").is_some());

    let js = jetstream::new(servers.nats.client().await);
    let stream = js.get_stream(&config.events.stream_name).await.expect("stream");
    let consumer = config.read_model.events_consumer();
    eventually("the create acknowledged", WAIT, || async {
        let progress = position::progress(&stream, &consumer).await.expect("progress").expect("bound");
        progress.acknowledged >= sequence && progress.unacknowledged == 0
    })
    .await;
    // Each delivery, redeliveries too, takes a consumer sequence: one means delivered once.
    let info = stream.clone().consumer_info(&consumer).await.expect("consumer info");
    assert_eq!(info.delivered.consumer_sequence, 1, "acknowledged only after a redelivery: {info:?}");
    running.stop().await;
}

#[tokio::test]
async fn stale_answers_a_returning_redis_brings_back_are_deleted_without_new_events() {
    // A Redis with an append-only file comes back with what it held when it went away.
    let mut servers = Servers::with_redis(RedisServer::start_persistent().await).await;
    let config = servers.config("comeback");
    let (watch, cqrs) = commands(&servers.nats, &config).await;
    let running = run_projectors(&config, 1).await;
    let (created, at) = receipt::capture(cqrs.execute("bea", create("Bea"))).await;
    created.expect("created");
    assert!(watch.wait_for(at.expect("receipt").stream_sequence, WAIT).await, "create projected");
    let mut redis = servers.redis.client().get_connection_manager().await.expect("redis");
    for key in config.read_model.cache_keys().answers("bea") {
        redis::cmd("SET").arg(&key).arg("cached").query_async::<()>(&mut redis).await.expect("set");
    }

    // The page changes while Redis is away: its invalidation fails (the announcement of the
    // update follows the attempt).
    servers.redis.stop();
    let (updated, at) = receipt::capture(cqrs.execute("bea", retitle("Changed"))).await;
    updated.expect("updated");
    assert!(watch.wait_for(at.expect("receipt").stream_sequence, WAIT).await, "update projected");
    servers.redis.restart().await;
    let mut redis = servers.redis.client().get_connection_manager().await.expect("redis");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    for key in config.read_model.cache_keys().answers("bea") {
        loop {
            let exists: bool = redis::cmd("EXISTS").arg(&key).query_async(&mut redis).await.expect("exists");
            if !exists {
                break;
            }
            assert!(tokio::time::Instant::now() < deadline, "{key} still cached with nothing new to project");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    running.stop().await;
}

#[tokio::test]
async fn on_a_redis_cluster_invalidations_reach_the_keys_on_every_master() {
    init_tracing();
    const PASSWORD: &str = "cluster-hunter2";
    let cluster = RedisCluster::start_with_password(PASSWORD).await;
    let nats = NatsServer::start().await;
    let dir = tempfile::tempdir().expect("dir");
    let config = ReadSideConfig {
        redis_url: Some(cluster.urls()),
        redis_cluster: true,
        redis_password: Some(Password::new(PASSWORD)),
        ..read_side(&nats, dir.path(), "sharded")
    };
    let keys = config.read_model.cache_keys();
    // Two slugs served by each master.
    let mut on_node = vec![Vec::new(); redis_cluster::MASTERS];
    for slug in (0..).map(|i| format!("spread-{i}")) {
        if on_node.iter().all(|slugs: &Vec<String>| slugs.len() >= 2) {
            break;
        }
        let node = cluster.node_of(&keys.version(&slug)).await;
        if on_node[node].len() < 2 {
            on_node[node].push(slug);
        }
    }
    let (watch, cqrs) = commands(&nats, &config).await;
    let running = run_projectors(&config, 1).await;
    let mut last = 0;
    for slug in on_node.iter().flatten() {
        let (created, at) = receipt::capture(cqrs.execute(slug, create(slug))).await;
        created.expect("created");
        last = at.expect("receipt").stream_sequence;
    }
    assert!(watch.wait_for(last, WAIT).await, "creates projected");

    // The API caches answers about every slug, each on the master serving its slot; then
    // every master forgets its scripts (as after a restart or a failover), and the pages change.
    let mut redis = cluster.client().get_async_connection().await.expect("the cluster");
    let mut versions = Vec::new();
    for (node, slug) in
        on_node.iter().enumerate().flat_map(|(node, slugs)| slugs.iter().map(move |s| (node, s)))
    {
        for key in keys.answers(slug) {
            redis::cmd("SET").arg(&key).arg("stale").query_async::<()>(&mut redis).await.expect("set");
        }
        let mut master =
            cluster.node_client(node).get_multiplexed_async_connection().await.expect("a master");
        let version: Option<u64> =
            redis::cmd("GET").arg(keys.version(slug)).query_async(&mut master).await.expect("its own key");
        versions.push((node, slug.clone(), version.unwrap_or(0)));
    }
    for node in 0..redis_cluster::MASTERS {
        let mut master =
            cluster.node_client(node).get_multiplexed_async_connection().await.expect("a master");
        redis::cmd("SCRIPT").arg("FLUSH").query_async::<()>(&mut master).await.expect("scripts flushed");
    }
    for slug in on_node.iter().flatten() {
        let (updated, at) = receipt::capture(cqrs.execute(slug, retitle("Changed"))).await;
        updated.expect("updated");
        last = at.expect("receipt").stream_sequence;
    }
    assert!(watch.wait_for(last, WAIT).await, "updates projected");

    // The projector invalidates before it announces: every answer is gone, and every
    // version moved on, on the master serving it.
    for (node, slug, before) in versions {
        for key in keys.answers(&slug) {
            let exists: bool = redis::cmd("EXISTS").arg(&key).query_async(&mut redis).await.expect("exists");
            assert!(!exists, "{key} (node {node}) still cached after the update was projected");
        }
        let mut master =
            cluster.node_client(node).get_multiplexed_async_connection().await.expect("a master");
        let after: u64 =
            redis::cmd("GET").arg(keys.version(&slug)).query_async(&mut master).await.expect("its own key");
        assert!(after > before, "{slug} (node {node}): version {before} then {after}");
    }
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_rebuild_swaps_in_while_projectors_and_readers_keep_working() {
    let servers = Servers::start().await;
    let config = servers.config("swap");
    let js = servers.nats.jetstream().await;
    publish_events(&js, &config.events, Workload::new(3_000, 3)).await.expect("published");
    let running = run_projectors(&config, 2).await;
    drained(&js, &config).await;
    let before: PathBuf = std::fs::canonicalize(&config.read_model.database_path).expect("exists");

    // Readers query without pause through the swap.
    let pool =
        db::reader_pool(&config.read_model.database_path, 4, Duration::from_millis(200)).await.expect("pool");
    let (reads, failures) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let stop_readers = CancellationToken::new();
    let readers = tokio::spawn({
        let (reads, failures, stop) = (Arc::clone(&reads), Arc::clone(&failures), stop_readers.clone());
        async move {
            while !stop.is_cancelled() {
                match pages::row(&pool, "page-1").await {
                    Ok(_) => reads.fetch_add(1, Ordering::Relaxed),
                    Err(_) => failures.fetch_add(1, Ordering::Relaxed),
                };
                tokio::task::yield_now().await;
            }
        }
    });
    // Events keep arriving during the rebuild, for other pages.
    let writer = tokio::spawn({
        let config = config.clone();
        let client = servers.nats.client().await;
        async move {
            let repo = page_store::open(&jetstream::new(client), &config.events).await.expect("repo");
            let cqrs = jetstream_cqrs::<Page>(repo, PageRules::default(), versions::upcasters());
            for i in 0..50 {
                cqrs.execute(&format!("late-{i}"), create(&format!("late-{i}"))).await.expect("created");
            }
        }
    });
    let report = rebuild::rebuild(&config, &Silent).await.expect("rebuilt");
    writer.await.expect("writer done");
    drained(&js, &config).await;
    stop_readers.cancel();
    readers.await.expect("readers done");

    assert_eq!(failures.load(Ordering::Relaxed), 0, "a reader failed during the swap");
    assert!(reads.load(Ordering::Relaxed) > 0);
    let after = std::fs::canonicalize(&config.read_model.database_path).expect("exists");
    assert_ne!(before, after, "a new generation is in use");
    assert_eq!(after, report.generation);
    // Live projectors moved to the new generation and kept projecting into it.
    let late =
        count(&config.read_model.database_path, "SELECT count(*) FROM pages WHERE slug_key LIKE 'late-%'")
            .await;
    assert_eq!(late, 50);
    let verification = rebuild::verify(&config, &Silent).await.expect("verified");
    assert!(verification.matches(), "{verification:?}");
    running.stop().await;
}

#[tokio::test]
async fn process_available_projects_what_the_streams_hold_and_returns() {
    let servers = Servers::start().await;
    let config = servers.config("drain");
    let js = servers.nats.jetstream().await;
    let published = publish_events(&js, &config.events, Workload::new(1_000, 9)).await.expect("published");
    let views = publish_tallies(&js, &config.tallies, &published.live_pages, 300, 13).await.expect("tallies");
    // A tally for a page the stream never had: it waits for its page, and the drain does not.
    let orphan = TallyBatch { pages: vec![PageViews { slug: "nobody".to_owned(), page_id: 1, count: 1 }] };
    tallies::publish(&js, &config.tallies, &orphan, "orphan").await.expect("orphan");
    let projector = Projector::connect(config.clone()).await.expect("projector starts");

    let processed = projector.process_available().await.expect("projected");
    assert_eq!(processed.commits, 1_000);
    assert_eq!(processed.tallies, 300);
    assert_eq!(processed.deferred_tallies, 1);
    let counted =
        count(&config.read_model.database_path, "SELECT coalesce(sum(view_count), 0) FROM pages").await;
    assert_eq!(u64::try_from(counted).expect("a count"), views);

    // More events later: the next drain projects only those.
    let client = servers.nats.client().await;
    let repo = page_store::open(&jetstream::new(client), &config.events).await.expect("repo");
    jetstream_cqrs::<Page>(repo, PageRules::default(), versions::upcasters())
        .execute("later", create("later"))
        .await
        .expect("created");
    let processed = projector.process_available().await.expect("projected");
    assert_eq!((processed.commits, processed.tallies, processed.deferred_tallies), (1, 0, 1));
    let later =
        count(&config.read_model.database_path, "SELECT count(*) FROM pages WHERE slug_key = 'later'").await;
    assert_eq!(later, 1);
}

#[tokio::test]
async fn a_malformed_tally_counts_for_nothing_live_and_in_a_rebuild() {
    let servers = Servers::start().await;
    let config = servers.config("malformed");
    let js = servers.nats.jetstream().await;
    let published = publish_events(&js, &config.events, Workload::new(100, 21)).await.expect("published");
    let views = publish_tallies(&js, &config.tallies, &published.live_pages, 50, 22).await.expect("tallies");
    let subject = tallies::subject(&config.tallies, "page-1");
    js.publish(subject, "not a tally".into()).await.expect("sent").await.expect("stored");

    let projector = Projector::connect(config.clone()).await.expect("projector starts");
    let processed = projector.process_available().await.expect("projected");
    assert_eq!((processed.tallies, processed.deferred_tallies), (50, 0));
    let counted =
        count(&config.read_model.database_path, "SELECT coalesce(sum(view_count), 0) FROM pages").await;
    assert_eq!(u64::try_from(counted).expect("a count"), views);

    let report = rebuild::rebuild(&config, &Silent).await.expect("rebuilt");
    assert_eq!((report.tallies, report.skipped_tallies), (50, 1));
    assert!(rebuild::verify(&config, &Silent).await.expect("verified").matches());
}

#[tokio::test]
async fn verify_notices_a_read_model_that_drifted_from_the_stream() {
    let servers = Servers::start().await;
    let config = projected(&servers, "drift", 200, 5).await;
    assert!(rebuild::verify(&config, &Silent).await.expect("verified").matches());

    let file = std::fs::canonicalize(&config.read_model.database_path).expect("exists");
    let mut conn = SqliteConnection::connect(&format!("sqlite://{}", file.display())).await.expect("opens");
    sqlx::query("UPDATE pages SET title = 'tampered' WHERE slug_key = 'page-0'")
        .execute(&mut conn)
        .await
        .expect("ok");
    conn.close().await.expect("closed");
    assert!(!rebuild::verify(&config, &Silent).await.expect("verified").matches());
}

#[tokio::test]
async fn many_invalidations_kept_through_a_redis_outage_all_go_out_when_it_returns() {
    // More slugs than one invalidation call takes, so they go out in several.
    const PAGES: usize = 1_200;
    let mut servers = Servers::with_redis(RedisServer::start_persistent().await).await;
    let config = servers.config("backlog");
    let (watch, cqrs) = commands(&servers.nats, &config).await;
    let running = run_projectors(&config, 1).await;
    let slugs: Vec<String> = (0..PAGES).map(|i| format!("page-{i}")).collect();
    let mut last = 0;
    for slug in &slugs {
        let (created, at) = receipt::capture(cqrs.execute(slug, create(slug))).await;
        created.expect("created");
        last = at.expect("receipt").stream_sequence;
    }
    assert!(watch.wait_for(last, WAIT).await, "creates projected");
    let keys: Vec<String> = slugs.iter().flat_map(|s| config.read_model.cache_keys().answers(s)).collect();
    let mut redis = servers.redis.client().get_connection_manager().await.expect("redis");
    for key in &keys {
        redis::cmd("SET").arg(key).arg("cached").query_async::<()>(&mut redis).await.expect("set");
    }

    servers.redis.stop();
    for slug in &slugs {
        let (updated, at) = receipt::capture(cqrs.execute(slug, retitle("Changed"))).await;
        updated.expect("updated");
        last = at.expect("receipt").stream_sequence;
    }
    assert!(watch.wait_for(last, WAIT).await, "updates projected");
    servers.redis.restart().await;
    let mut redis = servers.redis.client().get_connection_manager().await.expect("redis");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let cached: usize = redis::cmd("EXISTS").arg(&keys).query_async(&mut redis).await.expect("exists");
        if cached == 0 {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "{cached} stale answers still cached");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    running.stop().await;
}

/// Progress that holds the run at the start of its `hold_at`th phase (the first two copy
/// the streams; the third and fourth catch up with the live consumers paused) until told to
/// go on.
struct HeldAtStart {
    hold_at: usize,
    phases: AtomicU64,
    started: std::sync::Mutex<Option<std::sync::mpsc::Sender<()>>>,
    go_on: std::sync::Mutex<std::sync::mpsc::Receiver<()>>,
}

impl HeldAtStart {
    /// The progress, a receiver told when it holds, and a sender that lets it go on.
    fn at(hold_at: usize) -> (Arc<Self>, std::sync::mpsc::Receiver<()>, std::sync::mpsc::Sender<()>) {
        let (started_tx, started_rx) = std::sync::mpsc::channel();
        let (go_on_tx, go_on_rx) = std::sync::mpsc::channel();
        let held = Self {
            hold_at,
            phases: AtomicU64::new(0),
            started: std::sync::Mutex::new(Some(started_tx)),
            go_on: std::sync::Mutex::new(go_on_rx),
        };
        (Arc::new(held), started_rx, go_on_tx)
    }

    /// Rebuilds on a thread and runtime of its own (holding blocks the thread it runs on).
    fn rebuild(
        self: &Arc<Self>,
        config: &ReadSideConfig,
    ) -> std::thread::JoinHandle<Result<PathBuf, String>> {
        let (config, held) = (config.clone(), self.clone());
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Runtime::new().expect("a runtime");
            runtime.block_on(async {
                rebuild::rebuild(&config, held.as_ref())
                    .await
                    .map(|r| r.generation)
                    .map_err(|e| e.to_string())
            })
        })
    }
}

impl valentine_projector::progress::Progress for HeldAtStart {
    fn start(&self, _: &str, _: u64) {
        let phase = self.phases.fetch_add(1, Ordering::SeqCst) + 1;
        if usize::try_from(phase).ok() == Some(self.hold_at)
            && let Some(started) = self.started.lock().expect("lock").take()
        {
            let _ = started.send(());
            let _ = self.go_on.lock().expect("lock").recv();
        }
    }
    fn advance(&self, _: u64) {}
    fn finish(&self) {}
}

async fn held(started: std::sync::mpsc::Receiver<()>) {
    tokio::task::spawn_blocking(move || started.recv_timeout(WAIT))
        .await
        .expect("joined")
        .expect("the rebuild reached the phase it is held at");
}

async fn finished(rebuild: std::thread::JoinHandle<Result<PathBuf, String>>) -> PathBuf {
    tokio::task::spawn_blocking(move || rebuild.join().expect("the rebuild's thread"))
        .await
        .expect("joined")
        .expect("the rebuild completes")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_second_rebuild_or_verify_while_one_runs_is_refused_and_the_first_completes() {
    let servers = Servers::start().await;
    let config = projected(&servers, "once", 200, 7).await;

    let (holder, started, go_on) = HeldAtStart::at(1);
    let first = holder.rebuild(&config);
    held(started).await;
    for second in [
        rebuild::rebuild(&config, &Silent).await.map(|_| ()),
        rebuild::verify(&config, &Silent).await.map(|_| ()),
    ] {
        assert!(matches!(second, Err(valentine_projector::ProjectorError::RebuildRunning)), "{second:?}");
    }
    go_on.send(()).expect("the first goes on");
    let generation = finished(first).await;
    assert_eq!(std::fs::canonicalize(&config.read_model.database_path).expect("exists"), generation);
    // Once it is done, the next one may run.
    assert!(rebuild::verify(&config, &Silent).await.expect("verified").matches());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_rebuild_keeps_the_live_projectors_paused_past_the_lease_for_as_long_as_it_works() {
    // The pause once ran out after a fixed time, and live projectors then wrote to the old
    // generation what the swap dropped. Now the rebuild renews it while it works.
    let servers = Servers::start().await;
    let config = ReadSideConfig { pause_lease: Duration::from_secs(2), ..servers.config("lease") };
    let js = servers.nats.jetstream().await;
    publish_events(&js, &config.events, Workload::new(200, 9)).await.expect("published");
    let running = run_projectors(&config, 1).await;
    drained(&js, &config).await;

    // Phases: the first pass (events, views), one quiet catch-up round (events, views), then
    // the paused delta's events.
    let (holder, started, go_on) = HeldAtStart::at(5);
    let rebuilding = holder.rebuild(&config);
    held(started).await;
    // Held in the catch-up, paused: a create arrives and three leases go by.
    let repo = page_store::open(&js, &config.events).await.expect("repo");
    jetstream_cqrs::<Page>(repo, PageRules::default(), versions::upcasters())
        .execute("during-the-pause", create("during-the-pause"))
        .await
        .expect("created");
    let stream = js.get_stream(&config.events.stream_name).await.expect("stream");
    let held_since = std::time::Instant::now();
    while held_since.elapsed() < config.pause_lease * 3 {
        let info = stream
            .get_consumer::<jetstream::consumer::pull::Config>(&config.read_model.events_consumer())
            .await
            .expect("the live consumer")
            .info()
            .await
            .expect("its info")
            .clone();
        assert!(info.paused, "the pause ran out after {:?}", held_since.elapsed());
        let projected = count(
            &config.read_model.database_path,
            "SELECT count(*) FROM pages WHERE slug_key = 'during-the-pause'",
        )
        .await;
        assert_eq!(projected, 0, "a live projector wrote to the generation being replaced");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    go_on.send(()).expect("the rebuild goes on");
    let generation = finished(rebuilding).await;
    assert_eq!(std::fs::canonicalize(&config.read_model.database_path).expect("exists"), generation);
    // The page created during the pause is in the new generation, by the catch-up or by the
    // live projectors once resumed.
    drained(&js, &config).await;
    let found = count(
        &config.read_model.database_path,
        "SELECT count(*) FROM pages WHERE slug_key = 'during-the-pause'",
    )
    .await;
    assert_eq!(found, 1);
    running.stop().await;
}

/// Every page's view count, by slug.
async fn view_counts(link: &Path) -> Vec<(String, i64)> {
    let file = std::fs::canonicalize(link).expect("the read model exists");
    let mut conn =
        SqliteConnection::connect(&format!("sqlite://{}?mode=ro", file.display())).await.expect("opens");
    sqlx::query_as("SELECT slug_key, view_count FROM pages ORDER BY slug_key")
        .fetch_all(&mut conn)
        .await
        .expect("counts")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn view_counts_survive_the_views_stream_forgetting_what_checkpoints_hold() {
    let servers = Servers::start().await;
    let config = ReadSideConfig { views_checkpoint_every: Duration::from_secs(1), ..servers.config("aging") };
    let js = servers.nats.jetstream().await;
    let published = publish_events(&js, &config.events, Workload::new(300, 31)).await.expect("published");
    let early = publish_tallies(&js, &config.tallies, &published.live_pages, 200, 32).await.expect("tallies");
    let running = run_projectors(&config, 2).await;
    drained(&js, &config).await;

    // Two projectors, any order: the read model's positions are the streams' ends, and no
    // bookkeeping is left behind.
    let mut views = js.get_stream(&config.tallies.stream_name).await.expect("views");
    let views_last = views.info().await.expect("info").state.last_sequence;
    let events_last = js
        .get_stream(&config.events.stream_name)
        .await
        .expect("events")
        .info()
        .await
        .expect("info")
        .state
        .last_sequence;
    let positioned = |link: PathBuf| async move {
        let conn = db::reader_connection(&link).expect("opens");
        (
            applied::through(&conn, applied::EVENTS).expect("events"),
            applied::through(&conn, applied::VIEWS).expect("views"),
        )
    };
    eventually("the read model's positions at the streams' ends", WAIT, || async {
        positioned(config.read_model.database_path.clone()).await == (events_last, views_last)
    })
    .await;
    assert_eq!(count(&config.read_model.database_path, "SELECT count(*) FROM applied_ahead").await, 0);

    // A checkpoint run covers every tally so far; then the stream forgets them all.
    let store = checkpointer::bucket(&js, &config.tallies).await.expect("bucket");
    eventually("a checkpoint run past every tally", WAIT, || async {
        checkpointer::complete_through(&store).await.expect("read") >= views_last
    })
    .await;
    views.purge().sequence(views_last + 1).await.expect("purged");
    assert_eq!(views.info().await.expect("info").state.messages, 0);

    // Later views come as API processes send them now: one batch of many pages per flush.
    let late =
        publish_view_batches(&js, &config.tallies, &published.live_pages, 20, 10, 33).await.expect("batches");
    drained(&js, &config).await;
    let live = view_counts(&config.read_model.database_path).await;
    let total: i64 = live.iter().map(|(_, c)| c).sum();
    assert_eq!(u64::try_from(total).expect("a count"), early + late);

    let report = rebuild::rebuild(&config, &Silent).await.expect("rebuilt");
    assert!(report.checkpoints > 0, "{report:?}");
    assert_eq!(report.tallies, 20, "only the tally batches the stream still holds are read");
    assert_eq!(view_counts(&config.read_model.database_path).await, live, "exact counts after the rebuild");
    let verification = rebuild::verify(&config, &Silent).await.expect("verified");
    assert!(verification.matches(), "{verification:?}");
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checkpoint_chunks_a_run_of_every_page_supersedes_are_removed_and_counts_stay_exact() {
    let servers = Servers::start().await;
    let config = servers.config("chunked");
    let js = servers.nats.jetstream().await;
    let published = publish_events(&js, &config.events, Workload::new(300, 51)).await.expect("published");
    let projector = Projector::connect(config.clone()).await.expect("starts");
    projector.process_available().await.expect("projected");
    let store = checkpointer::bucket(&js, &config.tallies).await.expect("bucket");
    let link = &config.read_model.database_path;
    let chunks = || async {
        let keys: Vec<String> = store.keys().await.expect("keys").try_collect().await.expect("listed");
        keys.into_iter().filter(|k| k.starts_with("c.")).count()
    };

    // Rounds of views, each checkpointed: a run saves only the pages viewed since the last
    // and adds a chunk. 300 pages fill one chunk, so the eleventh chunk (more than twice
    // that, and eight) makes the next run save every page and remove the chunks before it.
    let mut runs = Vec::new();
    for round in 0..14 {
        publish_tallies(&js, &config.tallies, &published.live_pages, 5, 60 + round).await.expect("tallies");
        projector.process_available().await.expect("projected");
        let viewed = view_counts(link).await.iter().filter(|(_, c)| *c > 0).count() as u64;
        let run = checkpointer::run_once(link, &store, Duration::ZERO).await.expect("ran").expect("its turn");
        runs.push((run, viewed));
        assert_eq!(chunks().await, if round < 11 { round as usize + 1 } else { round as usize - 10 });
    }
    for (round, (run, viewed)) in runs.iter().enumerate() {
        let viewed = *viewed;
        assert_eq!(run.chunks, 1, "round {round}: {run:?}");
        if round == 11 {
            assert_eq!((run.pages, run.removed), (viewed, 11), "every viewed page saved: {run:?}");
        } else {
            // Five tallies of one page each: only the pages they counted.
            assert!(run.pages <= 5 && run.removed == 0, "round {round}: {run:?}");
        }
    }

    // The stream forgets every tally; a rebuild from the chunks left has every count.
    let live = view_counts(link).await;
    let (last, viewed) = runs.last().expect("runs");
    let (through, viewed) = (last.complete_through, *viewed);
    let mut views = js.get_stream(&config.tallies.stream_name).await.expect("views");
    assert_eq!(views.info().await.expect("info").state.last_sequence, through);
    views.purge().sequence(through + 1).await.expect("purged");
    let report = rebuild::rebuild(&config, &Silent).await.expect("rebuilt");
    assert_eq!((report.checkpoints, report.tallies), (viewed, 0), "{report:?}");
    assert_eq!(view_counts(link).await, live, "exact counts from the chunks alone");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn verify_compares_at_the_live_position_without_ever_pausing_live_projection() {
    let servers = Servers::start().await;
    let config = servers.config("unpaused");
    let js = servers.nats.jetstream().await;
    let published = publish_events(&js, &config.events, Workload::new(2_000, 41)).await.expect("published");
    publish_tallies(&js, &config.tallies, &published.live_pages, 300, 42).await.expect("tallies");
    let running = run_projectors(&config, 2).await;
    drained(&js, &config).await;

    // Creates and views keep coming, and someone watches the live consumers throughout.
    let stop = CancellationToken::new();
    let writer = tokio::spawn({
        let (config, client, stop) = (config.clone(), servers.nats.client().await, stop.clone());
        async move {
            let repo = page_store::open(&jetstream::new(client), &config.events).await.expect("repo");
            let cqrs = jetstream_cqrs::<Page>(repo, PageRules::default(), versions::upcasters());
            let mut created = 0;
            while !stop.is_cancelled() {
                cqrs.execute(&format!("meanwhile-{created}"), create(&format!("meanwhile-{created}")))
                    .await
                    .expect("created");
                created += 1;
            }
            created
        }
    });
    let watcher = tokio::spawn({
        let (js, config, stop) = (js.clone(), config.clone(), stop.clone());
        async move {
            let streams = [
                (config.events.stream_name.clone(), config.read_model.events_consumer()),
                (config.tallies.stream_name.clone(), config.read_model.tallies_consumer()),
            ];
            let mut looks = 0;
            while !stop.is_cancelled() {
                for (stream, consumer) in &streams {
                    let stream = js.get_stream(stream).await.expect("stream");
                    let progress =
                        position::progress(&stream, consumer).await.expect("progress").expect("bound");
                    assert!(!progress.paused, "{consumer} was paused during a verification");
                }
                looks += 1;
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            looks
        }
    });
    let verification = rebuild::verify(&config, &Silent).await.expect("verified");
    stop.cancel();
    let created = writer.await.expect("writer");
    let looks = watcher.await.expect("watcher");
    assert!(verification.matches(), "{verification:?}");
    assert!(created > 0 && looks > 0, "{created} creates, {looks} looks");
    assert!(verification.events_through >= 2_000, "{verification:?}");
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_rebuild_whose_pause_ran_out_leaves_the_live_generation_in_use() {
    // NATS goes away while the live consumers are paused, for longer than the lease: the
    // pause runs out and nobody can renew it. The rebuild must not swap in then.
    let mut servers = Servers::start().await;
    let config =
        ReadSideConfig { pause_lease: Duration::from_secs(2), ..projected(&servers, "lapse", 300, 43).await };
    let live = std::fs::canonicalize(&config.read_model.database_path).expect("exists");
    let hash_before = read_hash(&config.read_model.database_path);

    // Held in the paused delta (see the lease test for the phases).
    let (holder, started, go_on) = HeldAtStart::at(5);
    let rebuilding = holder.rebuild(&config);
    held(started).await;
    servers.nats.stop();
    let stopped = std::time::Instant::now();
    while stopped.elapsed() < config.pause_lease * 2 {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    servers.nats.restart().await;
    go_on.send(()).expect("the rebuild goes on");
    let outcome = tokio::task::spawn_blocking(move || rebuilding.join().expect("the rebuild's thread"))
        .await
        .expect("joined");
    let error = outcome.expect_err("no swap after the pause ran out");
    assert_eq!(error, valentine_projector::ProjectorError::PauseLost.to_string());

    assert_eq!(std::fs::canonicalize(&config.read_model.database_path).expect("exists"), live);
    assert_eq!(read_hash(&config.read_model.database_path), hash_before);
    let mut generations = config.read_model.database_path.clone().into_os_string();
    generations.push(".generations");
    let files = std::fs::read_dir(generations)
        .expect("the generations folder")
        .filter_map(Result::ok)
        .filter(|e| e.path().extension().is_some_and(|x| x == "sqlite"))
        .count();
    assert_eq!(files, 1, "the half-built generation is removed");
    // The live consumers are not left paused.
    let js = servers.nats.jetstream().await;
    let stream = js.get_stream(&config.events.stream_name).await.expect("stream");
    let progress = position::progress(&stream, &config.read_model.events_consumer())
        .await
        .expect("progress")
        .expect("bound");
    assert!(!progress.paused, "{progress:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_copied_read_model_resumes_after_its_own_position_under_a_new_consumer() {
    let servers = Servers::start().await;
    let config = projected(&servers, "original", 500, 51).await;
    let js = servers.nats.jetstream().await;
    let through = {
        let conn = db::reader_connection(&config.read_model.database_path).expect("opens");
        applied::through(&conn, applied::EVENTS).expect("position")
    };
    assert!(through >= 500);
    // A copy, as `valentine backup` makes it, for a second node with a consumer of its own.
    let copy_link = servers.dir.path().join("copy.db");
    db::prepare(&copy_link).await.expect("a read model");
    let copy_file = std::fs::canonicalize(&copy_link).expect("exists");
    std::fs::remove_file(&copy_file).expect("removed");
    let original = db::reader_connection(&config.read_model.database_path).expect("opens");
    original.execute("VACUUM INTO ?1", [copy_file.to_str().expect("utf-8")]).expect("copied");
    drop(original);
    // Events the copy does not have.
    let repo = page_store::open(&js, &config.events).await.expect("repo");
    let cqrs = jetstream_cqrs::<Page>(repo, PageRules::default(), versions::upcasters());
    for i in 0..20 {
        cqrs.execute(&format!("later-{i}"), create(&format!("later-{i}"))).await.expect("created");
    }

    let copy = ReadSideConfig {
        read_model: ReadModelSettings {
            database_path: copy_link.clone(),
            id: ReadModelId::new("copy").expect("a read model id"),
        },
        ..config.clone()
    };
    let projector = Projector::connect(copy.clone()).await.expect("projector starts");
    let stream = js.get_stream(&config.events.stream_name).await.expect("stream");
    let info = stream
        .get_consumer::<jetstream::consumer::pull::Config>(&copy.read_model.events_consumer())
        .await
        .expect("the new consumer")
        .info()
        .await
        .expect("its info")
        .clone();
    assert_eq!(
        info.config.deliver_policy,
        jetstream::consumer::DeliverPolicy::ByStartSequence { start_sequence: through + 1 }
    );
    assert_eq!(info.num_pending, 20, "only what the copy lacks is delivered");
    let processed = projector.process_available().await.expect("projected");
    assert_eq!(processed.commits, 20);

    // The original catches up the long way; both end with the same rows.
    Projector::connect(config.clone()).await.expect("starts").process_available().await.expect("projected");
    assert_eq!(read_hash(&copy_link), read_hash(&config.read_model.database_path));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn checkpoints_rewritten_while_a_build_loads_them_are_all_loaded() {
    // Projectors keep checkpointing while a rebuild or a verification loads the bucket. In a
    // bucket of one key per page (as written before chunks), keys already read get newer
    // entries, and keys not read yet lose their entries to newer ones past where the reading
    // began. Every key must still be loaded, or its page would start from nothing and lose
    // the views the stream has forgotten.
    assert!(loaded_while_rewritten(Shape::PerPage, 20_000).await > 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn chunks_superseded_and_removed_while_a_build_loads_them_leave_every_count_loaded() {
    // A run that saves every page writes new chunks and then removes the older ones, while a
    // rebuild may be reading the bucket: chunks it has not reached yet disappear. The newer
    // chunks, written before the removal, come later in the stream, so every page is loaded.
    assert!(loaded_while_rewritten(Shape::Chunks, 5_000).await > 2);
}

/// How a bucket's checkpoints are written.
#[derive(Clone, Copy)]
enum Shape {
    /// One key per page, rewritten in place.
    PerPage,
    /// Chunks of many pages, as runs saving every page write them.
    Chunks,
}

/// Loads the checkpoints of `pages` pages into fresh builds while they are rewritten in
/// `shape`, asserting each load finds them all; returns how many times they were rewritten.
async fn loaded_while_rewritten(shape: Shape, pages: usize) -> u64 {
    let servers = Servers::start().await;
    let config = servers.config("reloaded");
    let js = servers.nats.jetstream().await;
    let store = checkpointer::bucket(&js, &config.tallies).await.expect("bucket");
    let keys: Vec<String> = (0..pages).map(|i| format!("page-{i:05}")).collect();
    rewrite(shape, &store, &keys, 1).await;
    let stop = CancellationToken::new();
    let writer = tokio::spawn({
        let (store, keys, stop) = (store.clone(), keys.clone(), stop.clone());
        async move {
            let mut through = 1;
            while !stop.is_cancelled() {
                through += 1;
                rewrite(shape, &store, &keys, through).await;
            }
            through
        }
    });
    for round in 0..5 {
        db::prepare(&config.read_model.database_path).await.expect("prepared");
        let (conn, generation) = db::build_connection(&config.read_model.database_path).await.expect("build");
        let (conn, loaded) = checkpointer::load_into(&js, &config.tallies, conn).await.expect("loaded");
        let rows: i64 =
            conn.query_row("SELECT count(*) FROM view_checkpoints", [], |r| r.get(0)).expect("rows");
        assert_eq!((loaded as usize, rows as usize), (pages, pages), "round {round}: every page is loaded");
        drop(conn);
        std::fs::remove_file(generation).expect("removed");
    }
    stop.cancel();
    writer.await.expect("writer")
}

fn saved(through: u64) -> SavedCount {
    SavedCount { page_id: 1, count: through, through, by_day: Default::default() }
}

/// Writes checkpoints at `through`: in one key per page, the first time every page and then
/// a varying share of them; in chunks, every page in chunks of a thousand, and then every
/// older chunk removed, as a run saving every page does.
async fn rewrite(shape: Shape, store: &jetstream::kv::Store, keys: &[String], through: u64) {
    match shape {
        Shape::PerPage => {
            let step = if through == 1 { 1 } else { (1 + through as usize % 7) * 13 };
            let value = serde_json::to_vec(&saved(through)).expect("encodes");
            let puts = (0..keys.len()).step_by(step).map(|i| store.put(&keys[i], value.clone().into()));
            futures::stream::iter(puts).buffer_unordered(64).try_collect::<Vec<_>>().await.expect("put");
        }
        Shape::Chunks => {
            let pages: Vec<(String, SavedCount)> = keys.iter().map(|k| (k.clone(), saved(through))).collect();
            let chunks: Vec<(String, Vec<u8>)> = pages
                .chunks(1_000)
                .enumerate()
                .map(|(i, part)| {
                    let value = serde_json::to_vec(&Chunk::of(through, part)).expect("encodes");
                    (format!("c.{through}.{i}"), value)
                })
                .collect();
            let puts = chunks.into_iter().map(|(key, value)| store.put(key, value.into()));
            futures::stream::iter(puts).buffer_unordered(8).try_collect::<Vec<_>>().await.expect("put");
            let older: Vec<String> = store.keys().await.expect("keys").try_collect().await.expect("listed");
            for key in older.iter().filter(|k| !k.starts_with(&format!("c.{through}."))) {
                store.stream.purge().filter(format!("{}{key}", store.prefix)).await.expect("removed");
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_seeded_site_projects_to_its_live_opened_and_edited_pages() {
    // The benchmark's site: every page live, the share asked for opened, one in five edited.
    let servers = Servers::start().await;
    let config = servers.config("site");
    let js = servers.nats.jetstream().await;
    let published =
        publish_events(&js, &config.events, Workload::pages(2_000, 90, 5)).await.expect("published");
    assert_eq!((published.messages, published.live_pages.len()), (2_000 + 400 + 1_800, 2_000));
    let projector = Projector::connect(config.clone()).await.expect("projector starts");
    projector.process_available().await.expect("projected");
    let link = &config.read_model.database_path;
    assert_eq!(count(link, "SELECT count(*) FROM pages WHERE deleted = 0").await, 2_000);
    assert_eq!(count(link, "SELECT count(*) FROM pages WHERE first_opened_at IS NOT NULL").await, 1_800);
    assert_eq!(count(link, "SELECT count(*) FROM page_events WHERE event_type = 'PageUpdated'").await, 400);
    // The newest pages are the ones nobody opened yet.
    let conn = db::reader_connection(link).expect("opens");
    assert!(pages::live_page(&conn, "page-0").expect("query").expect("live").first_opened_at.is_some());
    assert!(pages::live_page(&conn, "page-1999").expect("query").expect("live").first_opened_at.is_none());
    let longest = count(link, "SELECT max(length(message)) FROM pages").await;
    let shortest = count(link, "SELECT min(length(message)) FROM pages").await;
    assert!(shortest >= 40 && longest <= 2_000 && longest > 1_000, "{shortest}..{longest}");
}
