//! `valentine status`, `backup` and `restore` as operators run them, against real servers.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use valentine_bench::synthetic::{Workload, publish_events, publish_tallies};
use valentine_eventstore::StreamConfig;
use valentine_projector::checkpointer;
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
