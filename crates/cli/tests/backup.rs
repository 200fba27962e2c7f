//! `valentine status`, `backup` and `restore` as operators run them, against real servers.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use valentine_bench::synthetic::{Workload, publish_events, publish_tallies};
use valentine_domain::page::versions;
use valentine_domain::{CreatePage, EditToken, Page, PageCommand, PageExtras, PageRules, Slug};
use valentine_eventstore::{StreamConfig, jetstream_cqrs};
use valentine_projections::{ReadModelId, ReadModelSettings, page_store};
use valentine_projector::{Projector, ReadSideConfig, checkpointer};
use valentine_testkit::NatsServer;

fn valentine(nats: &NatsServer, db: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_valentine"))
        .args(args)
        .env("NATS_URL", nats.url())
        .env("REDIS_URL", "")
        .env("DATABASE_PATH", db)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .output()
        .expect("valentine runs")
}

fn stdout(output: &Output) -> String {
    assert!(output.status.success(), "failed: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout.clone()).expect("utf-8")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_restored_into_a_fresh_server_rebuilds_the_same_read_model() {
    let dir = tempfile::tempdir().expect("dir");
    let original = NatsServer::start().await;
    let js = original.jetstream().await;
    let published =
        publish_events(&js, &StreamConfig::default(), Workload::new(2_000, 7)).await.expect("events");
    publish_tallies(&js, &StreamConfig::tallies(), &published.live_pages, 300, 7).await.expect("tallies");

    let live_db = dir.path().join("live.db");
    let hash = stdout(&valentine(&original, &live_db, &["rebuild"])).trim().to_owned();

    let status: serde_json::Value =
        serde_json::from_str(&stdout(&valentine(&original, &live_db, &["status", "--json"]))).expect("json");
    let events = &status["streams"][0];
    assert_eq!(events["name"], "EVENTS");
    assert_eq!(events["messages"], published.messages);
    assert_eq!(status["read_model"]["pages"], published.live_pages.len());
    let text = stdout(&valentine(&original, &live_db, &["status"]));
    assert!(text.contains("EVENTS") && text.contains("no projector has run yet"), "{text}");

    let backup = dir.path().join("backup");
    let printed = stdout(&valentine(&original, &live_db, &["backup", backup.to_str().expect("utf-8")]));
    assert_eq!(printed.trim(), backup.to_str().expect("utf-8"));
    for file in ["backup.json", "events.jsonl", "views.jsonl", "read-model.sqlite"] {
        assert!(backup.join(file).is_file(), "{file} missing");
    }
    let again = valentine(&original, &live_db, &["backup", backup.to_str().expect("utf-8")]);
    assert!(!again.status.success(), "a backup never overwrites another");

    // Into a fresh server: every message at its old sequence, so a rebuild gives the same rows.
    let fresh = NatsServer::start().await;
    let restored_db = dir.path().join("restored.db");
    stdout(&valentine(&fresh, &restored_db, &["restore", backup.to_str().expect("utf-8")]));
    let rebuilt = stdout(&valentine(&fresh, &restored_db, &["rebuild"])).trim().to_owned();
    assert_eq!(rebuilt, hash);

    // The copied read model is a working read model too.
    let copy =
        valentine_projections::db::reader_connection(&backup.join("read-model.sqlite")).expect("opens");
    let pages: i64 =
        copy.query_row("SELECT count(*) FROM pages WHERE deleted = 0", [], |r| r.get(0)).expect("count");
    assert_eq!(usize::try_from(pages).expect("count"), published.live_pages.len());

    let twice = valentine(&fresh, &restored_db, &["restore", backup.to_str().expect("utf-8")]);
    assert!(!twice.status.success());
    assert!(String::from_utf8_lossy(&twice.stderr).contains("not empty"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_views_stream_that_forgot_its_oldest_tallies_restores_at_its_sequences_with_its_checkpoints() {
    let dir = tempfile::tempdir().expect("dir");
    let original = NatsServer::start().await;
    let js = original.jetstream().await;
    let published =
        publish_events(&js, &StreamConfig::default(), Workload::new(300, 11)).await.expect("events");
    let tallies = StreamConfig::tallies();
    let early = publish_tallies(&js, &tallies, &published.live_pages, 200, 11).await.expect("tallies");
    let live_db = dir.path().join("live.db");
    stdout(&valentine(&original, &live_db, &["rebuild"]));

    // Every count is checkpointed; then the stream forgets every tally so far, as its age
    // limit would, and more views come.
    let store = checkpointer::bucket(&js, &tallies).await.expect("bucket");
    let run = checkpointer::run_once(&live_db, &store, Duration::ZERO).await.expect("ran").expect("its turn");
    assert_eq!(run.complete_through, 200);
    let views = js.get_stream("VIEWS").await.expect("views");
    views.purge().sequence(201).await.expect("purged");
    let late = publish_tallies(&js, &tallies, &published.live_pages, 50, 12).await.expect("tallies");
    let hash = stdout(&valentine(&original, &live_db, &["rebuild"])).trim().to_owned();
    assert_eq!(total_views(&live_db), early + late);

    let backup = dir.path().join("backup");
    stdout(&valentine(&original, &live_db, &["backup", backup.to_str().expect("utf-8")]));
    let fresh = NatsServer::start().await;
    let restored_db = dir.path().join("restored.db");
    stdout(&valentine(&fresh, &restored_db, &["restore", backup.to_str().expect("utf-8")]));
    let mut restored = fresh.jetstream().await.get_stream("VIEWS").await.expect("views");
    let state = restored.info().await.expect("info").state.clone();
    assert_eq!((state.first_sequence, state.last_sequence, state.messages), (201, 250, 50));
    assert_eq!(stdout(&valentine(&fresh, &restored_db, &["rebuild"])).trim(), hash);
    assert_eq!(total_views(&restored_db), early + late);
}

fn total_views(db: &Path) -> u64 {
    let conn = valentine_projections::db::reader_connection(db).expect("opens");
    let total: i64 =
        conn.query_row("SELECT coalesce(sum(view_count), 0) FROM pages", [], |r| r.get(0)).expect("sum");
    u64::try_from(total).expect("a count")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_node_bootstrapped_from_a_backup_projects_only_what_the_copy_lacks() {
    let dir = tempfile::tempdir().expect("dir");
    let nats = NatsServer::start().await;
    let js = nats.jetstream().await;
    let published =
        publish_events(&js, &StreamConfig::default(), Workload::new(1_500, 21)).await.expect("events");
    publish_tallies(&js, &StreamConfig::tallies(), &published.live_pages, 100, 21).await.expect("tallies");
    let live_db = dir.path().join("live.db");
    stdout(&valentine(&nats, &live_db, &["rebuild"]));
    let backup = dir.path().join("backup");
    stdout(&valentine(&nats, &live_db, &["backup", backup.to_str().expect("utf-8")]));

    // Pages created after the backup: the copy lacks them.
    let repo = page_store::open(&js, &StreamConfig::default()).await.expect("repo");
    let cqrs = jetstream_cqrs::<Page>(repo, PageRules::default(), versions::upcasters());
    for i in 0..25 {
        let slug = format!("after-backup-{i}");
        let command = PageCommand::Create(CreatePage {
            slug: Slug::parse(&slug).expect("valid"),
            title: "Later".to_owned(),
            message: "Written after the copy".to_owned(),
            sender_name: None,
            recipient_name: None,
            template_id: None,
            edit_token_hash: EditToken::presented("a-token").hash(),
            notify: None,
            extras: PageExtras::default(),
        });
        cqrs.execute(&slug, command).await.expect("created");
    }

    let node_db = dir.path().join("node-b.db");
    let node = |db: &Path| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_valentine"));
        command
            .env("NATS_URL", nats.url())
            .env("REDIS_URL", "")
            .env("DATABASE_PATH", db)
            .env("READ_MODEL_ID", "node-b")
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null());
        command
    };
    let adopted = node(&node_db).args(["bootstrap", backup.to_str().expect("utf-8")]).output().expect("runs");
    let file = stdout(&adopted);
    assert!(Path::new(file.trim()).is_file(), "{file}");
    let said = String::from_utf8_lossy(&adopted.stderr);
    assert!(said.contains("projector-node-b"), "{said}");

    // The node's projector starts right after the copy's position: only the later pages.
    let config = ReadSideConfig {
        nats: valentine_eventstore::NatsSettings::at(nats.url()),
        redis_url: None,
        read_model: ReadModelSettings {
            database_path: node_db.clone(),
            id: ReadModelId::new("node-b").expect("id"),
        },
        ..ReadSideConfig::default()
    };
    let projected =
        Projector::connect(config).await.expect("starts").process_available().await.expect("projects");
    assert_eq!(projected.commits, 25, "{projected:?}");
    let fresh = stdout(&valentine(&nats, &dir.path().join("fresh.db"), &["rebuild"])).trim().to_owned();
    let mut conn = valentine_projections::db::reader_connection(&node_db).expect("opens");
    assert_eq!(valentine_projections::hash::content_hash(&mut conn).expect("hash"), fresh);

    // Once is enough: a read model is never overwritten, and a read model id with consumers
    // of its own would resume from them, not from a copy.
    let again = node(&node_db).args(["bootstrap", backup.to_str().expect("utf-8")]).output().expect("runs");
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("read model already"), "{again:?}");
    let taken = node(&dir.path().join("other.db"))
        .args(["bootstrap", backup.to_str().expect("utf-8")])
        .output()
        .expect("runs");
    assert!(!taken.status.success());
    assert!(String::from_utf8_lossy(&taken.stderr).contains("new READ_MODEL_ID"), "{taken:?}");
}

/// Restoring a backup stores every message anew: the opens and replies it holds are old news,
/// and a notifier must not mail them again as if they had just happened.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restored_stream_sends_no_mail_about_what_happened_before_the_backup() {
    use valentine_notifier::{Notifier, NotifierConfig};

    let dir = tempfile::tempdir().expect("dir");
    let original = NatsServer::start().await;
    opened_page_with_an_address(&original, "OldNews").await;
    let opened_at = std::time::Instant::now();

    // The open grows older than the notifier's window of news; then the stream is backed
    // up and restored into a fresh server, every message stored again now.
    let max_age = Duration::from_secs(3);
    valentine_testkit::eventually("the open to age", Duration::from_secs(30), || async {
        opened_at.elapsed() > max_age + Duration::from_secs(1)
    })
    .await;
    let backup = dir.path().join("backup");
    stdout(&valentine(&original, &dir.path().join("live.db"), &["backup", backup.to_str().expect("utf-8")]));
    let fresh = NatsServer::start().await;
    stdout(&valentine(&fresh, &dir.path().join("fresh.db"), &["restore", backup.to_str().expect("utf-8")]));

    // A notifier on the restored stream: its new consumer starts within the window, so it is
    // given the restored messages, and judges them by when they happened.
    let smtp = valentine_testkit::SmtpServer::start().await;
    let config = NotifierConfig {
        nats: valentine_eventstore::NatsSettings::at(fresh.url()),
        smtp_url: secrecy::SecretString::from(smtp.url()),
        max_age,
        ..NotifierConfig::default()
    };
    let notifier = Notifier::connect(config).await.expect("starts");
    let stop = tokio_util::sync::CancellationToken::new();
    let task = tokio::spawn({
        let stop = stop.clone();
        async move { notifier.run(stop).await.expect("notifies") }
    });
    let js = fresh.jetstream().await;
    let events = js.get_stream("EVENTS").await.expect("restored");
    valentine_testkit::eventually(
        "the notifier to settle the restored events",
        Duration::from_secs(30),
        || async {
            events.consumer_info("notifier").await.is_ok_and(|i| {
                i.delivered.stream_sequence >= 2 && i.num_pending == 0 && i.num_ack_pending == 0
            })
        },
    )
    .await;
    assert_eq!(smtp.delivered(), Vec::new(), "old news mailed again after a restore");
    stop.cancel();
    task.await.expect("stopped");
}

/// The ledger of mails travels with the backup: what was mailed before it is not mailed again
/// by a notifier on the restored system.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restored_system_does_not_mail_again_what_was_mailed_before_the_backup() {
    use valentine_notifier::{Notifier, NotifierConfig};

    let dir = tempfile::tempdir().expect("dir");
    let smtp = valentine_testkit::SmtpServer::start().await;
    let notify_through = |nats: &NatsServer| NotifierConfig {
        nats: valentine_eventstore::NatsSettings::at(nats.url()),
        smtp_url: secrecy::SecretString::from(smtp.url()),
        ..NotifierConfig::default()
    };
    let run = |config: NotifierConfig| async move {
        let notifier = Notifier::connect(config).await.expect("starts");
        let stop = tokio_util::sync::CancellationToken::new();
        let task = tokio::spawn({
            let stop = stop.clone();
            async move { notifier.run(stop).await.expect("notifies") }
        });
        (stop, task)
    };
    let original = NatsServer::start().await;
    opened_page_with_an_address(&original, "Mailed").await;
    let (stop, task) = run(notify_through(&original)).await;
    notifier_settled(&original).await;
    assert_eq!(smtp.delivered().len(), 1, "the open was mailed");
    stop.cancel();
    task.await.expect("stopped");

    let backup = dir.path().join("backup");
    stdout(&valentine(&original, &dir.path().join("live.db"), &["backup", backup.to_str().expect("utf-8")]));
    assert!(backup.join("mails.jsonl").is_file());
    let fresh = NatsServer::start().await;
    stdout(&valentine(&fresh, &dir.path().join("fresh.db"), &["restore", backup.to_str().expect("utf-8")]));
    let (stop, task) = run(notify_through(&fresh)).await;
    notifier_settled(&fresh).await;
    assert_eq!(smtp.delivered().len(), 1, "mailed again after the restore");
    stop.cancel();
    task.await.expect("stopped");
}

/// Waits until the notifier has settled every event of `nats`'s stream (two at least).
async fn notifier_settled(nats: &NatsServer) {
    let events = nats.jetstream().await.get_stream("EVENTS").await.expect("the stream");
    valentine_testkit::eventually("the notifier to settle", Duration::from_secs(30), || async {
        events
            .consumer_info("notifier")
            .await
            .is_ok_and(|i| i.delivered.stream_sequence >= 2 && i.num_pending == 0 && i.num_ack_pending == 0)
    })
    .await;
}

/// A page at `slug` on `nats`'s stream with an address for mails, opened by a reader.
async fn opened_page_with_an_address(nats: &NatsServer, slug: &str) {
    use valentine_domain::{NotifyChange, OpenPage};
    let repo = page_store::open(&nats.jetstream().await, &StreamConfig::default()).await.expect("repo");
    let cqrs = jetstream_cqrs::<Page>(repo, PageRules::default(), versions::upcasters());
    let token = EditToken::presented("a-token");
    let key = slug.to_ascii_lowercase();
    let create = PageCommand::Create(CreatePage {
        slug: Slug::parse(slug).expect("valid"),
        title: format!("{slug} news"),
        message: "Opened before the backup".to_owned(),
        sender_name: None,
        recipient_name: None,
        template_id: None,
        edit_token_hash: token.hash(),
        notify: Some(NotifyChange { email: "sam@example.com".to_owned(), unsubscribe_key: "k".to_owned() }),
        extras: PageExtras::default(),
    });
    cqrs.execute(&key, create).await.expect("created");
    cqrs.execute(&key, PageCommand::Open(OpenPage { life: token.hash(), presented: None }))
        .await
        .expect("opened");
}
