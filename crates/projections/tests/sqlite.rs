//! The read model on a real SQLite file: delivery order and repetition never change the
//! outcome.

use cqrs_es::Aggregate;
use sqlx::{Connection, SqliteConnection};
use tempfile::TempDir;
use valentine_domain::{EditToken, Page, PageCreated, PageDeleted, PageEvent, PageUpdated, TemplateId};
use valentine_eventstore::StoredCommit;
use valentine_eventstore::envelope::{Commit, EventMeta, WireEvent};
use valentine_eventstore::tallies::PageViews;
use valentine_projections::applied::{self, Position};
use valentine_projections::read_connections::ReadConnections;
use valentine_projections::tallies::{DeliveredTally, project_tallies};
use valentine_projections::view_checkpoints::{SavedCount, Scope};
use valentine_projections::{PageCommit, Verdict, db, hash, pages, project_batch, view_checkpoints};

fn commit(slug: &str, stream_sequence: u64, sequence: usize, payload: PageEvent) -> PageCommit {
    let event_type = cqrs_es::DomainEvent::event_type(&payload);
    StoredCommit {
        stream_sequence,
        commit: Commit {
            aggregate_type: Page::TYPE.to_owned(),
            aggregate_id: slug.to_owned(),
            command_id: format!("cmd-{stream_sequence}"),
            events: vec![WireEvent {
                sequence,
                event_type,
                event_version: "1.0".to_owned(),
                payload: valentine_eventstore::sealing::Body::Open(payload),
                metadata: EventMeta {
                    event_id: format!("ev-{stream_sequence}"),
                    timestamp: format!("2026-02-14T09:00:{stream_sequence:02}Z"),
                },
            }],
        },
    }
}

fn created(slug: &str, title: &str) -> PageEvent {
    PageEvent::PageCreated(PageCreated {
        slug: slug.to_owned(),
        title: title.to_owned(),
        message: "Every day".to_owned(),
        sender_name: Some("Sam".to_owned()),
        recipient_name: None,
        template_id: TemplateId::Scratch,
        edit_token_hash: EditToken::presented("t").hash(),
        song_url: None,
        reveal_at: None,
        pin_hash: None,
    })
}

fn titled(title: &str) -> PageEvent {
    PageEvent::PageUpdated(PageUpdated { title: Some(title.to_owned()), ..PageUpdated::default() })
}

/// A fresh read model: the projection's writer connection, and an async connection for the
/// queries the API makes.
async fn fresh_db() -> (TempDir, rusqlite::Connection, SqliteConnection) {
    let dir = tempfile::tempdir().expect("a temp dir");
    let link = dir.path().join("valentine.db");
    let file = db::prepare(&link).await.expect("prepared");
    let (writer, _) = db::projector_connection(&link).expect("opened");
    let reader = SqliteConnection::connect(&format!("sqlite://{}", file.display())).await.expect("opened");
    (dir, writer, reader)
}

#[tokio::test]
async fn duplicate_and_out_of_order_deliveries_apply_once_and_never_regress() {
    let (_dir, mut conn, mut read) = fresh_db().await;
    let c1 = commit("amy", 1, 1, created("Amy", "one"));
    let c2 = commit("amy", 4, 2, titled("two"));
    let c3 = commit("amy", 9, 3, titled("three"));

    // Out of order: 3 and 2 before 1; then 1, 2, 3 with repeats.
    let outcome = project_batch(&mut conn, vec![c3.clone(), c2.clone()]).expect("projected");
    assert_eq!(outcome.verdicts, [Verdict::Deferred, Verdict::Deferred]);
    assert!(pages::row(&mut read, "amy").await.expect("query").is_none());

    let outcome =
        project_batch(&mut conn, vec![c1.clone(), c3.clone(), c2.clone(), c2.clone()]).expect("projected");
    assert_eq!(
        outcome.verdicts,
        [Verdict::Applied, Verdict::Deferred, Verdict::Applied, Verdict::AlreadyApplied]
    );
    let outcome = project_batch(&mut conn, vec![c3.clone(), c1.clone(), c2.clone()]).expect("projected");
    assert_eq!(outcome.verdicts, [Verdict::Applied, Verdict::AlreadyApplied, Verdict::AlreadyApplied]);

    // An old event redelivered after the newest one changes nothing.
    let before = hash::content_hash(&mut conn).expect("hash");
    let outcome = project_batch(&mut conn, vec![c2, c1]).expect("projected");
    assert_eq!(outcome.verdicts, [Verdict::AlreadyApplied, Verdict::AlreadyApplied]);
    assert!(outcome.touched.is_empty());
    assert_eq!(hash::content_hash(&mut conn).expect("hash"), before);

    let row = pages::live_page(&conn, "amy").expect("query").expect("live");
    assert_eq!((row.title.as_str(), row.slug.as_str(), row.page_id), ("three", "Amy", 1));
    assert_eq!((row.last_sequence, row.last_stream_sequence), (3, 9));
    assert_eq!(row.created_at, "2026-02-14T09:00:01Z");
    assert_eq!(row.updated_at, "2026-02-14T09:00:09Z");
    let history = pages::history(&mut read, "amy", 1).await.expect("query");
    assert_eq!(history.iter().map(|h| h.sequence).collect::<Vec<_>>(), [1, 2, 3]);
    assert_eq!(history[1].changed_fields, r#"["title"]"#);
}

#[tokio::test]
async fn deletion_frees_the_slug_and_a_new_life_gets_a_new_id_and_history() {
    let (_dir, mut conn, mut read) = fresh_db().await;
    let batch = [
        commit("bo", 2, 1, created("Bo", "first")),
        commit("bo", 3, 2, PageEvent::PageDeleted(PageDeleted {})),
    ];
    project_batch(&mut conn, batch.to_vec()).expect("projected");
    assert!(pages::live_page(&conn, "bo").expect("query").is_none());
    assert!(pages::taken(&conn, &["bo"]).expect("query").is_empty());

    project_batch(&mut conn, vec![commit("bo", 7, 3, created("BO", "second"))]).expect("projected");
    let row = pages::live_page(&conn, "bo").expect("query").expect("live");
    assert_eq!((row.page_id, row.slug.as_str(), row.title.as_str()), (7, "BO", "second"));
    assert_eq!(pages::history(&mut read, "bo", 7).await.expect("query").len(), 1);
    assert_eq!(pages::history(&mut read, "bo", 2).await.expect("query").len(), 2);
    let job = pages::event_of_command(&conn, "cmd-7").expect("query").expect("found");
    assert_eq!((job.slug_key.as_str(), job.stream_sequence), ("bo", 7));
    assert!(pages::is_projected(&mut read, "bo", 7).await.expect("query"));
    assert!(!pages::is_projected(&mut read, "bo", 8).await.expect("query"));
}

#[tokio::test]
async fn a_creation_alone_makes_no_cached_answer_stale_and_every_other_change_does() {
    let (_dir, mut conn, _read) = fresh_db().await;
    let outcome =
        project_batch(&mut conn, vec![commit("dee", 1, 1, created("Dee", "one"))]).expect("projected");
    assert_eq!(outcome.verdicts, [Verdict::Applied]);
    assert!(outcome.touched.is_empty(), "nothing is cached about a slug without a live page");
    let outcome = project_batch(&mut conn, vec![commit("dee", 2, 2, titled("two"))]).expect("projected");
    assert_eq!(outcome.touched, ["dee"]);
    // A deletion and the next life's creation in one batch: the deletion's invalidation stands.
    let batch = vec![
        commit("dee", 3, 3, PageEvent::PageDeleted(PageDeleted {})),
        commit("dee", 4, 4, created("Dee", "again")),
        commit("eve", 5, 1, created("Eve", "new")),
    ];
    let outcome = project_batch(&mut conn, batch).expect("projected");
    assert_eq!(outcome.touched, ["dee"]);
}

#[tokio::test]
async fn tallies_count_once_and_only_for_their_own_life_of_the_slug() {
    let (_dir, mut conn, _read) = fresh_db().await;
    project_batch(&mut conn, vec![commit("cy", 1, 1, created("cy", "hi"))]).expect("projected");
    let tally = |seq, page_id, count| DeliveredTally {
        stream_sequence: seq,
        day: "2026-02-14".to_owned(),
        pages: vec![PageViews { slug: "cy".to_owned(), page_id, count }],
    };
    let outcome = project_tallies(&mut conn, &[tally(1, 1, 3), tally(2, 1, 2), tally(1, 1, 3)]).expect("ok");
    assert_eq!(outcome.verdicts, [Verdict::Applied, Verdict::Applied, Verdict::AlreadyApplied]);
    assert_eq!(outcome.touched, ["cy"]);
    // A tally for a life not projected yet waits; one for an earlier life counts for nothing.
    let outcome = project_tallies(&mut conn, &[tally(2, 1, 2), tally(3, 99, 50)]).expect("ok");
    assert_eq!(outcome.verdicts, [Verdict::AlreadyApplied, Verdict::Deferred]);
    assert_eq!(pages::live_page(&conn, "cy").expect("query").expect("live").view_count, 5);

    project_batch(&mut conn, vec![commit("cy", 99, 2, PageEvent::PageDeleted(PageDeleted {}))]).expect("ok");
    project_batch(&mut conn, vec![commit("cy", 120, 3, created("cy", "again"))]).expect("ok");
    let outcome = project_tallies(&mut conn, &[tally(4, 1, 7), tally(5, 120, 1)]).expect("ok");
    assert_eq!(outcome.verdicts, [Verdict::Applied, Verdict::Applied]);
    assert_eq!(pages::live_page(&conn, "cy").expect("query").expect("live").view_count, 1);
}

#[tokio::test]
async fn the_content_hash_ignores_how_and_in_what_order_rows_were_written() {
    let events = [
        commit("dee", 1, 1, created("dee", "a")),
        commit("eve", 2, 1, created("eve", "b")),
        commit("dee", 3, 2, titled("c")),
        commit("eve", 4, 2, PageEvent::PageDeleted(PageDeleted {})),
    ];
    let (_a, mut one_batch, _) = fresh_db().await;
    project_batch(&mut one_batch, events.to_vec()).expect("projected");

    let (_b, mut shuffled, _) = fresh_db().await;
    for delivery in [&events[3], &events[1], &events[2], &events[0], &events[3], &events[2]] {
        project_batch(&mut shuffled, vec![delivery.clone()]).expect("projected");
    }
    let (_c, mut partial, _) = fresh_db().await;
    project_batch(&mut partial, events[..3].to_vec()).expect("projected");

    let first = hash::content_hash(&mut one_batch).expect("hash");
    assert_eq!(first, hash::content_hash(&mut shuffled).expect("hash"));
    assert_ne!(first, hash::content_hash(&mut partial).expect("hash"));
}

/// Views tallied at `seq`: messages 1 to 3 on one day, later ones on the next.
fn views(seq: u64, counts: &[(&str, u64, u64)]) -> DeliveredTally {
    DeliveredTally {
        stream_sequence: seq,
        day: if seq <= 3 { "2026-02-13" } else { "2026-02-14" }.to_owned(),
        pages: counts
            .iter()
            .map(|(slug, page_id, count)| PageViews {
                slug: (*slug).to_owned(),
                page_id: *page_id,
                count: *count,
            })
            .collect(),
    }
}

async fn view_counts(read: &mut SqliteConnection) -> Vec<(String, i64)> {
    sqlx::query_as("SELECT slug_key, view_count FROM pages ORDER BY slug_key")
        .fetch_all(read)
        .await
        .expect("query")
}

#[tokio::test]
async fn a_batch_of_many_pages_waits_whole_until_every_page_is_projected() {
    let (_dir, mut conn, mut read) = fresh_db().await;
    project_batch(&mut conn, vec![commit("fa", 1, 1, created("fa", "hi"))]).expect("projected");
    let both = views(1, &[("fa", 1, 2), ("gi", 2, 5)]);
    let outcome = project_tallies(&mut conn, std::slice::from_ref(&both)).expect("ok");
    assert_eq!(outcome.verdicts, [Verdict::Deferred]);
    assert_eq!(view_counts(&mut read).await, [("fa".to_owned(), 0)]);

    project_batch(&mut conn, vec![commit("gi", 2, 1, created("gi", "yo"))]).expect("projected");
    let outcome = project_tallies(&mut conn, &[both.clone(), both]).expect("ok");
    assert_eq!(outcome.verdicts, [Verdict::Applied, Verdict::AlreadyApplied]);
    assert_eq!(view_counts(&mut read).await, [("fa".to_owned(), 2), ("gi".to_owned(), 5)]);
}

#[tokio::test]
async fn the_read_model_records_its_position_in_the_same_transaction_as_its_rows() {
    let (_dir, mut conn, _read) = fresh_db().await;
    project_batch(
        &mut conn,
        vec![commit("ha", 1, 1, created("ha", "a")), commit("ib", 2, 1, created("ib", "b"))],
    )
    .expect("projected");
    // A later commit of another projector lands first.
    project_batch(&mut conn, vec![commit("ha", 4, 2, titled("c"))]).expect("projected");
    assert_eq!(
        applied::position(&conn, applied::EVENTS).expect("read"),
        Position { through: 2, ahead: vec![4] }
    );
    // A commit whose predecessor is missing is deferred, and not recorded.
    project_batch(&mut conn, vec![commit("ib", 6, 3, titled("d"))]).expect("deferred");
    project_batch(&mut conn, vec![commit("ib", 3, 2, titled("e"))]).expect("projected");
    assert_eq!(
        applied::position(&conn, applied::EVENTS).expect("read"),
        Position { through: 4, ahead: vec![] }
    );
    let rows: i64 = conn.query_row("SELECT count(*) FROM applied_ahead", [], |r| r.get(0)).expect("count");
    assert_eq!(rows, 0, "nothing is kept once the position passes it");
}

#[tokio::test]
async fn counts_checkpointed_at_a_position_plus_later_tallies_rebuild_exactly() {
    // The live model: tallies committed out of order, as parallel projectors do.
    let (_live_dir, mut live, mut live_read) = fresh_db().await;
    let events = vec![commit("jo", 1, 1, created("jo", "a")), commit("ka", 2, 1, created("ka", "b"))];
    project_batch(&mut live, events.clone()).expect("projected");
    let tallies = [
        views(1, &[("jo", 1, 3)]),
        views(2, &[("jo", 1, 1), ("ka", 2, 4)]),
        views(3, &[("ka", 2, 2)]),
        views(4, &[("jo", 1, 10)]),
        views(5, &[("jo", 1, 7), ("ka", 2, 1)]),
    ];
    project_tallies(&mut live, &[tallies[0].clone(), tallies[1].clone(), tallies[3].clone()]).expect("ok");
    // Position 2, with message 4 ahead: the checkpoint must not count message 4.
    let due =
        view_checkpoints::due(&mut live, "", 100, Scope::Unsaved).expect("due").expect("may checkpoint");
    assert_eq!(due.through, 2);
    let saved: Vec<(String, u64)> = due.pages.iter().map(|(k, c)| (k.clone(), c.count)).collect();
    assert_eq!(saved, [("jo".to_owned(), 4), ("ka".to_owned(), 4)]);
    let keys: Vec<String> = due.pages.iter().map(|(k, _)| k.clone()).collect();
    view_checkpoints::saved(&mut live, due.through, &keys).expect("saved");
    // "jo" was counted above the position (message 4): it stays unsaved.
    assert_eq!(view_checkpoints::unsaved(&live).expect("count"), 1);
    let unsaved = view_checkpoints::due(&mut live, "", 100, Scope::Unsaved).expect("due").expect("may");
    let unsaved: Vec<&str> = unsaved.pages.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(unsaved, ["jo"]);
    // A run that supersedes every older checkpoint saves every counted page, saved or not.
    let every = view_checkpoints::due(&mut live, "", 100, Scope::Counted).expect("due").expect("may");
    assert_eq!(every, due, "the same counts at the same position");
    project_tallies(&mut live, &[tallies[2].clone(), tallies[4].clone()]).expect("ok");

    // A rebuild from the checkpoints and only the tallies the stream still holds (3 to 5).
    let (_built_dir, mut built, mut built_read) = fresh_db().await;
    let by_day: Vec<_> = due.pages.iter().map(|(k, c)| (k.as_str(), c.by_day.len())).collect();
    assert_eq!(by_day, [("jo", 1), ("ka", 1)], "message 4, a day later, is above the position");
    // Of a page's checkpoints, the latest holds, in whatever order they are read.
    let chunk = view_checkpoints::Chunk::of(due.through, &due.pages);
    let older = view_checkpoints::Chunk::of(
        1,
        &[("jo".to_owned(), SavedCount { page_id: 1, count: 3, through: 1, by_day: Default::default() })],
    );
    let entries: Vec<_> = chunk.into_counts().chain(older.into_counts()).collect();
    view_checkpoints::load(&mut built, &entries).expect("loaded");
    project_batch(&mut built, events).expect("projected");
    assert_eq!(view_checkpoints::start_counts(&built).expect("started"), 2);
    applied::settle_through(&mut built, applied::VIEWS, 2).expect("settled");
    project_tallies(&mut built, &tallies[2..]).expect("ok");
    assert_eq!(view_counts(&mut built_read).await, view_counts(&mut live_read).await);
    assert_eq!(view_counts(&mut live_read).await, [("jo".to_owned(), 21), ("ka".to_owned(), 7)]);
    for read in [&mut built_read, &mut live_read] {
        let jo = pages::views_by_day(&mut *read, "jo", 1).await.expect("days");
        assert_eq!(jo, [("2026-02-13".to_owned(), 4), ("2026-02-14".to_owned(), 17)]);
    }
    // The hash covers the views per day as well.
    assert_eq!(hash::content_hash(&mut built).expect("hash"), hash::content_hash(&mut live).expect("hash"));
}

#[tokio::test]
async fn a_replaced_generation_is_removed_once_no_reader_can_be_on_it() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let link = dir.path().join("read.db");
    let first = db::prepare(&link).await.expect("a first generation");
    let (conn, second) = db::build_connection(&link).await.expect("a build");
    drop(conn);
    db::swap_in(&link, &second).expect("swapped");
    let generations = || {
        let mut files: Vec<_> = std::fs::read_dir(dir.path().join("read.db.generations"))
            .expect("the folder")
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "sqlite"))
            .collect();
        files.sort();
        files
    };
    assert_eq!(generations().len(), 2, "the replaced one is kept for readers still on it");
    let just_swapped = std::time::Duration::from_secs(3600);
    assert!(!db::remove_older_generations(&link, just_swapped).expect("checks"), "too early");
    assert!(generations().contains(&std::fs::canonicalize(&first).expect("exists")));
    assert!(db::remove_older_generations(&link, std::time::Duration::ZERO).expect("removes"));
    assert_eq!(generations(), [std::fs::canonicalize(&second).expect("exists")]);
}

#[tokio::test]
async fn point_lookups_read_the_generation_the_link_names_and_follow_a_swap() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let link = dir.path().join("read.db");
    db::prepare(&link).await.expect("a first generation");
    let (mut writer, _) = db::projector_connection(&link).expect("opened");
    project_batch(&mut writer, vec![commit("fay", 1, 1, created("Fay", "one"))]).expect("projected");
    let points = ReadConnections::new(&link);
    let taken = |keys: &[&str]| points.read(|c| pages::taken(c, keys)).expect("looked up");
    assert_eq!(taken(&["fay", "gus"]).into_iter().collect::<Vec<_>>(), ["fay"]);
    let row = points.read(|c| pages::live_page(c, "fay")).expect("read").expect("live");
    assert_eq!((row.title.as_str(), row.page_id), ("one", 1));
    let job = points.read(|c| pages::event_of_command(c, "cmd-1")).expect("read").expect("found");
    assert_eq!((job.slug_key.as_str(), job.stream_sequence), ("fay", 1));
    assert!(points.read(|c| pages::event_of_command(c, "cmd-9")).expect("read").is_none());

    // A rebuild swaps in a generation without the page: the next lookup reads it there.
    let (mut build, second) = db::build_connection(&link).await.expect("a build");
    project_batch(&mut build, vec![commit("gus", 1, 1, created("Gus", "two"))]).expect("projected");
    db::finish_build(build).expect("finished");
    db::swap_in(&link, &second).expect("swapped");
    assert_eq!(taken(&["fay", "gus"]).into_iter().collect::<Vec<_>>(), ["gus"]);
    assert!(points.read(|c| pages::live_page(c, "fay")).expect("read").is_none());
}

#[tokio::test]
async fn batch_writers_leave_syncing_to_sync_log_which_syncs_the_generation_log() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let link = dir.path().join("valentine.db");
    let file = db::prepare(&link).await.expect("prepared");
    let synchronous = |conn: &rusqlite::Connection| -> i64 {
        conn.query_row("PRAGMA synchronous", [], |r| r.get(0)).expect("a pragma")
    };
    // 1 is NORMAL: no fsync per commit in WAL mode. 2 is FULL.
    let (mut batches, generation) = db::batch_connection(&link).expect("opened");
    assert_eq!(generation, file);
    assert_eq!(synchronous(&batches), 1);
    let (chores, _) = db::projector_connection(&link).expect("opened");
    assert_eq!(synchronous(&chores), 2);

    let outcome =
        project_batch(&mut batches, vec![commit("ivy", 1, 1, created("Ivy", "one"))]).expect("projected");
    assert_eq!(outcome.verdicts, [Verdict::Applied]);
    let mut log = generation.clone().into_os_string();
    log.push("-wal");
    assert!(std::fs::metadata(&log).expect("a write-ahead log").len() > 0);
    db::sync_log(&generation).expect("synced");

    // Once the last connection has closed, the log is gone with everything checkpointed.
    drop((batches, chores));
    assert!(std::fs::metadata(&log).is_err());
    db::sync_log(&generation).expect("nothing to sync");
    assert!(db::sync_log(&dir.path().join("missing").join("valentine.db")).is_ok());
}
