//! Parked events, lag, heartbeats and stuck feeds, on real servers: nats-server with
//! JetStream and SQLite files.

use std::path::Path;
use std::time::Duration;

use async_nats::jetstream;
use cqrs_es::{Aggregate, DomainEvent};
use tempfile::TempDir;
use tokio_util::sync::CancellationToken;
use valentine_bench::synthetic::{Workload, publish_events};
use valentine_domain::{Page, PageEvent, PageUpdated};
use valentine_eventstore::envelope::{Commit, EventMeta, header};
use valentine_eventstore::{NatsSettings, StreamConfig, ensure_stream, subjects};
use valentine_projections::parked::{DecideError, Decision, ParkedEvent, ParkedEvents, ParkedState};
use valentine_projections::{ReadModelId, ReadModelSettings, db, position, workers};
use valentine_projector::progress::Silent;
use valentine_projector::{Health, Projector, ReadSideConfig, rebuild};
use valentine_testkit::{NatsServer, eventually, init_tracing};

const WAIT: Duration = Duration::from_secs(60);

struct Setup {
    nats: NatsServer,
    js: jetstream::Context,
    dir: TempDir,
}

impl Setup {
    async fn start() -> Self {
        init_tracing();
        let nats = NatsServer::start().await;
        let js = nats.jetstream().await;
        ensure_stream(&js, &StreamConfig::events()).await.expect("the event stream");
        Self { nats, js, dir: tempfile::tempdir().expect("dir") }
    }

    /// The read model `name`: three deliveries before parking, stuck after a second, and a
    /// look at the consumers every 100 ms.
    fn config(&self, name: &str) -> ReadSideConfig {
        ReadSideConfig {
            nats: NatsSettings::at(self.nats.url()),
            redis_url: None,
            read_model: ReadModelSettings {
                database_path: self.dir.path().join(format!("{name}.db")),
                id: ReadModelId::new(name).expect("a read model id"),
            },
            batch_size: 64,
            max_deliveries: 3,
            stuck_after: Duration::from_secs(1),
            report_every: Duration::from_millis(100),
            ..ReadSideConfig::default()
        }
    }

    async fn parked(&self) -> ParkedEvents {
        ParkedEvents::open(&self.js, &StreamConfig::events()).await.expect("the parked events")
    }

    /// Publishes `payload` on the event subject of page `key`; returns its stream sequence.
    async fn publish(&self, key: &str, headers: async_nats::HeaderMap, payload: Vec<u8>) -> u64 {
        let subject = subjects::aggregate(&StreamConfig::events().subject_prefix, Page::TYPE, key);
        let ack = self.js.publish_with_headers(subject, headers, payload.into()).await.expect("sent");
        ack.await.expect("stored").sequence
    }

    async fn publish_commit(&self, commit: &Commit<PageEvent, EventMeta>) -> u64 {
        let mut headers = commit.headers();
        headers.insert(header::MSG_ID, commit.command_id.as_str());
        let payload = serde_json::to_vec(commit).expect("encodes");
        self.publish(&commit.aggregate_id, headers, payload).await
    }
}

/// Runs `projector` until the returned token is cancelled.
fn run(projector: Projector) -> (CancellationToken, tokio::task::JoinHandle<()>) {
    let stop = CancellationToken::new();
    let token = stop.clone();
    (stop, tokio::spawn(async move { projector.run(token).await.expect("projects") }))
}

fn query(link: &Path, sql: &str) -> Option<String> {
    let conn = db::reader_connection(link).ok()?;
    conn.query_row(sql, [], |r| r.get::<_, String>(0)).ok()
}

fn has_line(health: &Health, line: &str) -> bool {
    health.metrics().lines().any(|l| l == line)
}

async fn record(parked: &ParkedEvents, consumer: &str, sequence: u64) -> Option<ParkedEvent> {
    parked.get(consumer, sequence).await.expect("the record reads")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_poison_message_is_parked_the_rest_is_projected_and_a_skip_records_who_and_why() {
    let setup = Setup::start().await;
    let config = setup.config("poison");
    let consumer = config.read_model.events_consumer();
    let poison = setup.publish("poison", async_nats::HeaderMap::new(), b"\x00 not a commit".to_vec()).await;
    let published = publish_events(&setup.js, &config.events, Workload::new(50, 4)).await.expect("published");
    let projector = Projector::connect(config.clone()).await.expect("starts");
    let health = projector.health();
    let (stop, task) = run(projector);

    let parked = setup.parked().await;
    eventually("the poison message to be parked", WAIT, || async {
        record(&parked, &consumer, poison).await.is_some_and(|r| r.state == ParkedState::Parked)
    })
    .await;
    let first = record(&parked, &consumer, poison).await.expect("parked");
    assert_eq!((first.attempts, first.stream.as_str()), (3, "EVENTS"));
    assert!(first.error.contains("unreadable"), "{first:?}");
    let live = "SELECT CAST(count(*) AS TEXT) FROM pages WHERE deleted = 0";
    eventually("the rest of the stream to be projected", WAIT, || async {
        query(&config.read_model.database_path, live) == Some(published.live_pages.len().to_string())
    })
    .await;
    let gauge = format!(r#"valentine_parked_events{{consumer="{consumer}"}} 1"#);
    eventually("the parked gauge", WAIT, || async { has_line(&health, &gauge) }).await;
    assert!(has_line(&health, "valentine_events_parked_total 1"), "{}", health.metrics());
    assert!(health.readiness().is_ready(), "parking is no reason to be unready: {:?}", health.readiness());

    let skipped = parked
        .decide(&consumer, poison, Decision::Skip, "ops@test", "garbage, not an event")
        .await
        .expect("skipped");
    assert_eq!(skipped.state, ParkedState::Skipped);
    assert_eq!(
        (skipped.decided_by.as_deref(), skipped.decision_reason.as_deref()),
        (Some("ops@test"), Some("garbage, not an event"))
    );
    assert!(skipped.decided_at.is_some());
    assert!(matches!(
        parked.decide(&consumer, poison, Decision::Retry, "ops@test", "again").await,
        Err(DecideError::NotParked(ParkedState::Skipped))
    ));
    assert!(matches!(
        parked.decide(&consumer, poison + 1_000, Decision::Skip, "ops@test", "none").await,
        Err(DecideError::NotFound)
    ));
    let cleared = format!(r#"valentine_parked_events{{consumer="{consumer}"}} 0"#);
    eventually("the gauge to drop once skipped", WAIT, || async { has_line(&health, &cleared) }).await;
    assert_eq!(parked.list().await.expect("listed"), vec![skipped]);
    stop.cancel();
    task.await.expect("stopped");

    // A fresh build passes over the skipped message as live projection did, and agrees.
    let verified = rebuild::verify(&config, &Silent).await.expect("a skipped message stops no rebuild");
    assert!(verified.matches(), "{verified:?}");
    let rebuilt = rebuild::rebuild(&config, &Silent).await.expect("rebuilt");
    assert_eq!(rebuilt.content_hash, verified.live);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_whose_predecessor_never_came_is_parked_and_applied_by_a_retry_once_it_has() {
    let setup = Setup::start().await;
    let config = setup.config("late");
    let consumer = config.read_model.events_consumer();
    let created = Workload::new(1, 9).next_commit().expect("a creation");
    let mut updated = created.clone();
    let update =
        PageEvent::PageUpdated(PageUpdated { title: Some("Later".to_owned()), ..PageUpdated::default() });
    updated.command_id = "00000000000000000000000002".to_owned();
    updated.events[0].sequence = 2;
    updated.events[0].event_type = update.event_type();
    updated.events[0].event_version = update.event_version();
    updated.events[0].payload = update;
    let key = created.aggregate_id.clone();
    let second = setup.publish_commit(&updated).await;

    let projector = Projector::connect(config.clone()).await.expect("starts");
    let (stop, task) = run(projector);
    let parked = setup.parked().await;
    eventually("the orphan to be parked", WAIT, || async {
        record(&parked, &consumer, second).await.is_some_and(|r| r.state == ParkedState::Parked)
    })
    .await;
    let orphan = record(&parked, &consumer, second).await.expect("parked");
    assert!(orphan.error.contains("predecessor"), "{orphan:?}");

    // Its predecessor comes after all; the parked update stays out until someone retries it.
    setup.publish_commit(&created).await;
    let title = format!("SELECT title FROM pages WHERE slug_key = '{key}'");
    let link = config.read_model.database_path.clone();
    eventually("the creation to be projected", WAIT, || async { query(&link, &title).is_some() }).await;
    assert_ne!(query(&link, &title).as_deref(), Some("Later"));

    let retry = parked.decide(&consumer, second, Decision::Retry, "ops@test", "predecessor is in").await;
    assert_eq!(retry.expect("decided").state, ParkedState::Retry);
    eventually("the retry to resolve it", WAIT, || async {
        record(&parked, &consumer, second).await.is_some_and(|r| r.state == ParkedState::Resolved)
    })
    .await;
    assert_eq!(query(&link, &title).as_deref(), Some("Later"));
    let resolved = record(&parked, &consumer, second).await.expect("kept for audit");
    assert_eq!(resolved.decided_by.as_deref(), Some("ops@test"));
    assert!(matches!(
        parked.decide(&consumer, second, Decision::Skip, "ops@test", "too late").await,
        Err(DecideError::NotParked(ParkedState::Resolved))
    ));
    stop.cancel();
    task.await.expect("stopped");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_that_fails_again_parks_the_event_again_one_attempt_more() {
    let setup = Setup::start().await;
    let config = setup.config("again");
    let consumer = config.read_model.events_consumer();
    let poison = setup.publish("broken", async_nats::HeaderMap::new(), b"{}".to_vec()).await;
    let (stop, task) = run(Projector::connect(config.clone()).await.expect("starts"));
    let parked = setup.parked().await;
    eventually("it to be parked", WAIT, || async { record(&parked, &consumer, poison).await.is_some() })
        .await;
    parked.decide(&consumer, poison, Decision::Retry, "ops@test", "try once more").await.expect("decided");
    eventually("the retry to park it again", WAIT, || async {
        record(&parked, &consumer, poison)
            .await
            .is_some_and(|r| r.state == ParkedState::Parked && r.attempts == 4)
    })
    .await;
    stop.cancel();
    task.await.expect("stopped");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_projector_whose_batches_wait_on_the_write_lock_is_stuck_until_the_lock_goes() {
    let setup = Setup::start().await;
    let config = setup.config("stuck");
    publish_events(&setup.js, &config.events, Workload::new(20, 5)).await.expect("published");
    let projector = Projector::connect(config.clone()).await.expect("starts");
    let health = projector.health();

    // Someone holds the read model's write lock while events wait.
    let file = std::fs::canonicalize(&config.read_model.database_path).expect("the read model");
    let holder = rusqlite::Connection::open(file).expect("opens");
    holder.execute_batch("BEGIN IMMEDIATE").expect("the write lock");
    let (stop, task) = run(projector);
    eventually("the projector to say it is stuck", WAIT, || async {
        let readiness = health.readiness();
        !readiness.is_ready() && readiness.reason.as_deref().is_some_and(|r| r.starts_with("stuck: "))
    })
    .await;
    let reason = health.readiness().reason.expect("a reason");
    assert!(reason.starts_with("stuck: 20 events waiting, nothing committed for"), "{reason}");
    assert!(has_line(&health, r#"valentine_projector_stuck{feed="events"} 1"#), "{}", health.metrics());
    assert!(has_line(&health, "valentine_projector_ready 0"));

    holder.execute_batch("COMMIT").expect("released");
    drop(holder);
    eventually("the projector to recover", WAIT, || async {
        health.readiness().is_ready() && has_line(&health, r#"valentine_projector_stuck{feed="events"} 0"#)
    })
    .await;
    stop.cancel();
    task.await.expect("stopped");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lag_in_seconds_grows_while_no_projector_runs_and_falls_to_zero_once_one_does() {
    let setup = Setup::start().await;
    let config = setup.config("lagging");
    // Binds the consumer, then stops: nothing projects.
    drop(Projector::connect(config.clone()).await.expect("starts"));
    publish_events(&setup.js, &config.events, Workload::new(30, 8)).await.expect("published");
    let stream = setup.js.get_stream("EVENTS").await.expect("stream");
    let consumer = config.read_model.events_consumer();
    let lag = || async { position::lag(&stream, &consumer).await.expect("lag").expect("bound") };
    let before = lag().await;
    assert_eq!((before.lag_events, before.position, before.last_sequence), (30, 0, 30));
    eventually("the lag in seconds to grow", WAIT, || async {
        lag().await.lag_seconds > before.lag_seconds + 0.5
    })
    .await;

    let (stop, task) = run(Projector::connect(config.clone()).await.expect("starts"));
    eventually("the lag to fall to nothing", WAIT, || async {
        let now = lag().await;
        now.lag_events == 0 && now.lag_seconds == 0.0 && now.position == 30
    })
    .await;
    let beats = workers::open(&setup.js, &config.events).await.expect("the heartbeats");
    eventually("the heartbeat to show it caught up", WAIT, || async {
        workers::list(&beats).await.expect("listed").iter().any(|b| {
            b.role == "projector"
                && b.read_model == "lagging"
                && b.ready
                && b.consumers.iter().any(|c| c.consumer == consumer && c.lag_events == 0 && c.position == 30)
        })
    })
    .await;
    stop.cancel();
    task.await.expect("stopped");
}
