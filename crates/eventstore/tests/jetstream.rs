//! The event store against a real nats-server with JetStream.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::stream::DiscardPolicy;
use cqrs_es::persist::{
    EventStoreAggregateContext, PersistedEventRepository, PersistedEventStore, PersistenceError,
    SerializedEvent,
};
use cqrs_es::{Aggregate, AggregateError, CqrsFramework, DomainEvent, EventEnvelope, EventStore};
use futures::future::join_all;
use serde_json::json;
use tokio::sync::Barrier;
use valentine_domain::{
    CreatePage, DeletePage, EditToken, Page, PageCommand, PageCreated, PageError, PageEvent, PageExtras,
    PageRules, PageUpdated, Slug, TemplateId, UpdatePage,
};
use valentine_eventstore::envelope::{Commit, header, meta};
use valentine_eventstore::repository::Sealing;
use valentine_eventstore::tallies::{self, PageViews, TallyBatch};
use valentine_eventstore::{
    DataKeys, JetStreamCqrs, JetStreamEventRepository, JetStreamStore, StreamConfig, ensure_stream,
    execute_new_with_receipt, jetstream_cqrs, receipt, subjects,
};
use valentine_testkit::{NatsServer, SeveringProxy, init_tracing};

fn token() -> EditToken {
    EditToken::from_random_bytes([9; 32])
}

fn create(slug: &str) -> PageCommand {
    PageCommand::Create(CreatePage {
        slug: Slug::parse(slug).expect("valid slug"),
        title: "Be mine".to_owned(),
        message: "Every day".to_owned(),
        sender_name: None,
        recipient_name: None,
        template_id: None,
        edit_token_hash: token().hash(),
        notify: None,
        extras: PageExtras::default(),
    })
}

fn retitle(title: &str) -> PageCommand {
    let mut update = UpdatePage::with_token(token());
    update.title = Some(title.to_owned());
    PageCommand::Update(update)
}

async fn repository(server: &NatsServer) -> JetStreamEventRepository {
    init_tracing();
    JetStreamEventRepository::new(server.jetstream().await, StreamConfig::default())
        .await
        .expect("stream set up")
}

fn serialized(id: &str, sequence: usize, event: &PageEvent, command_id: &str) -> SerializedEvent {
    SerializedEvent {
        aggregate_id: id.to_owned(),
        sequence,
        aggregate_type: Page::TYPE.to_owned(),
        event_type: event.event_type(),
        event_version: event.event_version(),
        payload: serde_json::to_value(event).expect("serializes"),
        metadata: json!({ "command_id": command_id }),
    }
}

fn created_event(slug: &str) -> PageEvent {
    PageEvent::PageCreated(PageCreated {
        slug: slug.to_owned(),
        title: "Be mine".to_owned(),
        message: "Every day".to_owned(),
        sender_name: None,
        recipient_name: None,
        template_id: TemplateId::Classic,
        edit_token_hash: token().hash(),
        song_url: None,
        reveal_at: None,
        pin_hash: None,
    })
}

fn updated_event(title: String) -> PageEvent {
    PageEvent::PageUpdated(PageUpdated { title: Some(title), ..PageUpdated::default() })
}

async fn messages_on(repo: &JetStreamEventRepository, id: &str) -> usize {
    let subject = subjects::aggregate("events", Page::TYPE, id);
    repo.load_commits(&subject).await.expect("loads").len()
}

async fn stream_messages(repo: &JetStreamEventRepository) -> u64 {
    repo.stream().clone().info().await.expect("stream info").state.messages
}

/// An event store that holds every loaded aggregate until all racers have loaded, so that all
/// of them decide on the same state and race only at the append.
struct LoadBarrier {
    inner: JetStreamStore<Page>,
    barrier: Arc<Barrier>,
}

impl EventStore<Page> for LoadBarrier {
    type AC = EventStoreAggregateContext<Page>;

    async fn load_events(&self, id: &str) -> Result<Vec<EventEnvelope<Page>>, AggregateError<PageError>> {
        self.inner.load_events(id).await
    }

    async fn load_aggregate(&self, id: &str) -> Result<Self::AC, AggregateError<PageError>> {
        let context = self.inner.load_aggregate(id).await?;
        self.barrier.wait().await;
        Ok(context)
    }

    async fn commit(
        &self,
        events: Vec<PageEvent>,
        context: Self::AC,
        metadata: HashMap<String, String>,
    ) -> Result<Vec<EventEnvelope<Page>>, AggregateError<PageError>> {
        self.inner.commit(events, context, metadata).await
    }
}

#[tokio::test]
async fn hundred_concurrent_creates_of_one_slug_have_exactly_one_winner() {
    let server = NatsServer::start().await;
    let repo = repository(&server).await;
    let racers = 100;
    let cqrs = Arc::new(CqrsFramework::new(
        LoadBarrier {
            inner: PersistedEventStore::new_event_store(repo.clone()),
            barrier: Arc::new(Barrier::new(racers)),
        },
        Vec::new(),
        PageRules::default(),
    ));

    let results = join_all((0..racers).map(|_| {
        let cqrs = Arc::clone(&cqrs);
        tokio::spawn(async move { cqrs.execute("alice", create("Alice")).await })
    }))
    .await;

    let mut created = 0;
    let mut conflicts = 0;
    for result in results {
        match result.expect("task ran") {
            Ok(()) => created += 1,
            Err(AggregateError::AggregateConflict) => conflicts += 1,
            Err(other) => panic!("unexpected outcome {other:?}"),
        }
    }
    assert_eq!((created, conflicts), (1, 99));
    let events = PersistedEventStore::<_, Page>::new_event_store(repo.clone()).load_events("alice").await;
    let types: Vec<_> = events.expect("loads").iter().map(|e| e.payload.event_type()).collect();
    assert_eq!(types, ["PageCreated"]);
    assert_eq!(stream_messages(&repo).await, 1);
}

#[tokio::test]
async fn unsynchronised_racers_each_get_a_conflict_or_slug_taken_and_one_page_exists() {
    let server = NatsServer::start().await;
    let repo = repository(&server).await;
    let cqrs = Arc::new(jetstream_cqrs::<Page>(repo.clone(), PageRules::default(), Vec::new()));

    let results = join_all((0..50).map(|i| {
        let cqrs = Arc::clone(&cqrs);
        tokio::spawn(async move { cqrs.execute("bob", create(if i % 2 == 0 { "bob" } else { "BOB" })).await })
    }))
    .await;

    let mut created = 0;
    for result in results {
        match result.expect("task ran") {
            Ok(()) => created += 1,
            Err(AggregateError::AggregateConflict | AggregateError::UserError(PageError::SlugTaken)) => {}
            Err(other) => panic!("unexpected outcome {other:?}"),
        }
    }
    assert_eq!(created, 1);
    assert_eq!(messages_on(&repo, "bob").await, 1);
}

#[tokio::test]
async fn an_append_resent_with_the_same_command_id_is_stored_once() {
    let server = NatsServer::start().await;
    let repo = repository(&server).await;

    // A create resent, as after a lost acknowledgement.
    let create = [serialized("carol", 1, &created_event("carol"), "01JCREATE")];
    let (first, r1) = receipt::capture(repo.persist::<Page>(&create, None)).await;
    let (again, r2) = receipt::capture(repo.persist::<Page>(&create, None)).await;
    first.expect("stored");
    again.expect("recognised as already stored");
    let (r1, r2) = (r1.expect("a receipt"), r2.expect("a receipt"));
    assert_eq!(r1.stream_sequence, r2.stream_sequence);
    assert!(!r1.duplicate && r2.duplicate);

    // An update resent.
    let update = [serialized("carol", 2, &updated_event("Two".to_owned()), "01JUPDATE")];
    repo.persist::<Page>(&update, None).await.expect("stored");
    let (again, receipt) = receipt::capture(repo.persist::<Page>(&update, None)).await;
    again.expect("recognised as already stored");
    assert!(receipt.expect("a receipt").duplicate);
    assert_eq!(messages_on(&repo, "carol").await, 2);

    // Another command at a sequence already taken is a conflict, not a duplicate.
    let rival = [serialized("carol", 2, &updated_event("Rival".to_owned()), "01JRIVAL")];
    let err = repo.persist::<Page>(&rival, None).await.expect_err("conflict");
    assert!(matches!(err, PersistenceError::OptimisticLockError), "{err:?}");
    let rival_create = [serialized("carol", 1, &created_event("carol"), "01JOTHER")];
    let err = repo.persist::<Page>(&rival_create, None).await.expect_err("conflict");
    assert!(matches!(err, PersistenceError::OptimisticLockError), "{err:?}");
    assert_eq!(stream_messages(&repo).await, 2);
}

#[tokio::test]
async fn a_commands_events_are_one_message_and_a_refused_commit_stores_none_of_them() {
    let server = NatsServer::start().await;
    let repo = repository(&server).await;
    let commit: Vec<_> = std::iter::once(serialized("dana", 1, &created_event("dana"), "c1"))
        .chain((2..=3).map(|seq| serialized("dana", seq, &updated_event(format!("t{seq}")), "c1")))
        .collect();
    repo.persist::<Page>(&commit, None).await.expect("stored");
    assert_eq!(stream_messages(&repo).await, 1);
    let loaded = repo.get_events::<Page>("dana").await.expect("loads");
    assert_eq!(loaded.iter().map(|e| e.sequence).collect::<Vec<_>>(), [1, 2, 3]);

    // The same three sequences again from another command: refused whole.
    let rival: Vec<_> = commit
        .iter()
        .cloned()
        .map(|mut e| {
            e.metadata = json!({ "command_id": "c2" });
            e
        })
        .collect();
    assert!(repo.persist::<Page>(&rival, None).await.is_err());
    assert_eq!(stream_messages(&repo).await, 1);
}

#[tokio::test]
async fn events_carry_ids_command_id_timestamp_and_schema_version() {
    let server = NatsServer::start().await;
    let repo = repository(&server).await;
    let cqrs = jetstream_cqrs::<Page>(repo.clone(), PageRules::default(), Vec::new());
    let metadata = HashMap::from([("command_id".to_owned(), "01JCMD0000000000000000000A".to_owned())]);
    let (result, receipt) =
        receipt::capture(cqrs.execute_with_metadata("erin", create("erin"), metadata)).await;
    result.expect("created");
    let receipt = receipt.expect("the append left a receipt");

    let message = repo.stream().direct_get(receipt.stream_sequence).await.expect("stored");
    assert_eq!(message.subject.as_str(), "events.page.erin");
    let header = |name: &str| message.headers.get(name).map(|v| v.as_str().to_owned());
    assert_eq!(header(header::MSG_ID).as_deref(), Some("01JCMD0000000000000000000A"));
    assert_eq!(header(header::EVENT_TYPES).as_deref(), Some("PageCreated"));

    let stored = Commit::decode(message.sequence, &message.payload).expect("a commit");
    let meta = &stored.commit.events[0].metadata;
    assert!(meta["event_id"].as_str().expect("an event id").parse::<ulid::Ulid>().is_ok());
    assert_eq!(meta["command_id"], "01JCMD0000000000000000000A");
    assert_eq!(meta["schema_version"], "2");
    let at = meta["timestamp"].as_str().expect("a timestamp");
    assert!(time::OffsetDateTime::parse(at, &time::format_description::well_known::Rfc3339).is_ok());
    // Only the hash of the token is stored.
    let text = String::from_utf8_lossy(&message.payload);
    assert!(!text.contains(token().expose()));
    assert!(text.contains(&token().hash().to_hex()));
}

#[tokio::test]
async fn events_survive_a_graceful_restart_and_a_crash_of_the_server() {
    let mut server = NatsServer::start().await;
    {
        let cqrs = jetstream_cqrs::<Page>(repository(&server).await, PageRules::default(), Vec::new());
        cqrs.execute("frank", create("Frank")).await.expect("created");
        cqrs.execute("frank", retitle("Still mine")).await.expect("updated");
    }
    server.stop();
    server.restart().await;
    {
        let cqrs = jetstream_cqrs::<Page>(repository(&server).await, PageRules::default(), Vec::new());
        let store = PersistedEventStore::<_, Page>::new_event_store(repository(&server).await);
        let events = store.load_events("frank").await.expect("loads");
        assert_eq!(
            events.iter().map(|e| e.payload.event_type()).collect::<Vec<_>>(),
            ["PageCreated", "PageUpdated"]
        );
        cqrs.execute("frank", retitle("Forever")).await.expect("updated after restart");
    }
    server.kill();
    server.restart().await;
    let store = PersistedEventStore::<_, Page>::new_event_store(repository(&server).await);
    let page = store.load_aggregate("frank").await.expect("loads").aggregate;
    assert_eq!(page.live().expect("live").title, "Forever");
}

#[tokio::test]
async fn a_page_with_a_thousand_events_loads_complete_and_in_order() {
    let server = NatsServer::start().await;
    let repo = repository(&server).await;
    repo.persist::<Page>(&[serialized("gina", 1, &created_event("gina"), "c0")], None)
        .await
        .expect("created");
    for seq in 2..=1000 {
        let event = updated_event(format!("title {seq}"));
        repo.persist::<Page>(&[serialized("gina", seq, &event, &format!("c{seq}"))], None)
            .await
            .expect("appended");
    }
    // Other pages interleaved on the same stream must not leak into the load.
    for other in ["hal", "ivy"] {
        repo.persist::<Page>(&[serialized(other, 1, &created_event(other), other)], None)
            .await
            .expect("created");
    }

    let store = PersistedEventStore::<_, Page>::new_event_store(repo);
    let events = store.load_events("gina").await.expect("loads");
    assert_eq!(events.len(), 1000);
    for (i, envelope) in events.iter().enumerate() {
        assert_eq!(envelope.sequence, i + 1);
        assert_eq!(envelope.aggregate_id, "gina");
        if i > 0 {
            assert_eq!(envelope.payload, updated_event(format!("title {}", i + 1)));
        }
    }
    let page = store.load_aggregate("gina").await.expect("loads").aggregate;
    assert_eq!(page.live().expect("live").title, "title 1000");
}

#[tokio::test]
async fn a_slug_lives_again_after_deletion_and_every_life_is_kept() {
    let server = NatsServer::start().await;
    let repo = repository(&server).await;
    let cqrs: JetStreamCqrs<Page> = jetstream_cqrs(repo.clone(), PageRules::default(), Vec::new());
    cqrs.execute("jack", create("jack")).await.expect("created");
    cqrs.execute("jack", PageCommand::Delete(DeletePage { edit_token: token(), erasing: Vec::new() }))
        .await
        .expect("deleted");
    cqrs.execute("jack", create("Jack")).await.expect("created again");
    cqrs.execute("jack", retitle("Second life")).await.expect("updated");
    let err = cqrs.execute("jack", create("JACK")).await.expect_err("taken");
    assert!(matches!(err, AggregateError::UserError(PageError::SlugTaken)), "{err:?}");

    let events = repo.get_events::<Page>("jack").await.expect("loads");
    let types: Vec<_> = events.iter().map(|e| e.event_type.as_str()).collect();
    assert_eq!(types, ["PageCreated", "PageErased", "PageCreated", "PageUpdated"]);
}

#[tokio::test]
async fn an_update_that_lost_the_race_is_a_conflict() {
    let server = NatsServer::start().await;
    let repo = repository(&server).await;
    let cqrs = jetstream_cqrs::<Page>(repo.clone(), PageRules::default(), Vec::new());
    cqrs.execute("kate", create("kate")).await.expect("created");

    // Both updates decided on sequence 1; only one may follow it.
    let first = [serialized("kate", 2, &updated_event("A".to_owned()), "u1")];
    let second = [serialized("kate", 2, &updated_event("B".to_owned()), "u2")];
    let (a, b) = tokio::join!(repo.persist::<Page>(&first, None), repo.persist::<Page>(&second, None));
    assert!(a.is_ok() != b.is_ok(), "exactly one of {a:?} and {b:?} must win");
    assert_eq!(messages_on(&repo, "kate").await, 2);
}

#[tokio::test]
async fn replays_stream_every_event_once_and_end() {
    let server = NatsServer::start().await;
    let repo = repository(&server).await;
    let cqrs = jetstream_cqrs::<Page>(repo.clone(), PageRules::default(), Vec::new());
    for slug in ["lena", "mark", "nina"] {
        cqrs.execute(slug, create(slug)).await.expect("created");
    }
    cqrs.execute("mark", retitle("Hello")).await.expect("updated");

    let mut all = repo.stream_all_events::<Page>().await.expect("replay");
    let mut seen = Vec::new();
    while let Some(envelope) =
        tokio::time::timeout(Duration::from_secs(10), all.next::<Page>(&[])).await.expect("ends")
    {
        let envelope = envelope.expect("decodes");
        seen.push((envelope.aggregate_id, envelope.sequence));
    }
    assert_eq!(seen, [("lena".into(), 1), ("mark".into(), 1), ("nina".into(), 1), ("mark".into(), 2)]);

    let mut one = repo.stream_events::<Page>("mark").await.expect("replay");
    let mut sequences = Vec::new();
    while let Some(envelope) =
        tokio::time::timeout(Duration::from_secs(10), one.next::<Page>(&[])).await.expect("ends")
    {
        sequences.push(envelope.expect("decodes").sequence);
    }
    assert_eq!(sequences, [1, 2]);

    let empty = repo.stream_events::<Page>("nobody").await.expect("replay");
    let mut empty = empty;
    assert!(
        tokio::time::timeout(Duration::from_secs(10), empty.next::<Page>(&[])).await.expect("ends").is_none()
    );
}

#[tokio::test]
async fn stream_setup_is_idempotent_concurrent_and_repairs_drifted_settings() {
    let server = NatsServer::start().await;
    let js = server.jetstream().await;
    let config = StreamConfig::default();
    let setups = join_all((0..5).map(|_| JetStreamEventRepository::new(js.clone(), config.clone()))).await;
    assert!(setups.iter().all(Result::is_ok), "{setups:?}");

    // Someone shortened the duplicate window and capped the stream: set up puts it right.
    let mut stream = js.get_stream("EVENTS").await.expect("exists");
    let mut drifted = stream.info().await.expect("info").config.clone();
    drifted.duplicate_window = Duration::from_secs(5);
    drifted.max_messages = 10;
    js.update_stream(drifted).await.expect("updated");
    JetStreamEventRepository::new(js.clone(), config).await.expect("set up");

    let info = stream.info().await.expect("info").config.clone();
    assert_eq!(info.subjects, ["events.>"]);
    assert_eq!(info.storage, async_nats::jetstream::stream::StorageType::File);
    assert_eq!(info.duplicate_window, Duration::from_secs(120));
    assert_eq!((info.max_messages, info.max_bytes, info.max_age), (-1, -1, Duration::ZERO));
    assert!(info.allow_direct);
}

#[tokio::test]
async fn an_id_that_cannot_be_a_subject_is_refused_cleanly() {
    let server = NatsServer::start().await;
    let repo = repository(&server).await;
    assert!(repo.get_events::<Page>("a.b").await.is_err());
    assert!(repo.get_events::<Page>("*").await.is_err());
    let cqrs = jetstream_cqrs::<Page>(repo, PageRules::default(), Vec::new());
    assert!(cqrs.execute("a b", create("abc")).await.is_err());
}

#[tokio::test]
async fn a_command_loads_only_the_current_life_of_its_slug() {
    let server = NatsServer::start().await;
    let repo = repository(&server).await.restarting_at(Page::RESTARTS);
    let cqrs = jetstream_cqrs::<Page>(repo.clone(), PageRules::default(), Vec::new());
    let delete = || PageCommand::Delete(DeletePage { edit_token: token(), erasing: Vec::new() });
    // Twenty lives of four events each, the last one deleted: the slug is free.
    for life in 0..20 {
        cqrs.execute("lives", create("lives")).await.expect("created");
        cqrs.execute("lives", retitle(&format!("Life {life}"))).await.expect("updated");
        cqrs.execute("lives", retitle(&format!("Life {life}, again"))).await.expect("updated");
        cqrs.execute("lives", delete()).await.expect("deleted");
    }
    let current = repo.get_events::<Page>("lives").await.expect("loads");
    let loaded: Vec<(usize, &str)> = current.iter().map(|e| (e.sequence, e.event_type.as_str())).collect();
    assert_eq!(loaded, [(80, "PageErased")], "a free slug loads its erasure alone");

    // A new life: its deletion's predecessor and its own events, nothing older.
    cqrs.execute("lives", create("lives")).await.expect("created anew");
    cqrs.execute("lives", retitle("Life 21")).await.expect("updated");
    let current = repo.get_events::<Page>("lives").await.expect("loads");
    let loaded: Vec<(usize, &str)> = current.iter().map(|e| (e.sequence, e.event_type.as_str())).collect();
    assert_eq!(loaded, [(80, "PageErased"), (81, "PageCreated"), (82, "PageUpdated")]);
    // Decisions still see the whole truth: the slug is taken, appends follow on.
    let taken = cqrs.execute("lives", create("lives")).await.expect_err("taken");
    assert!(matches!(taken, AggregateError::UserError(PageError::SlugTaken)), "{taken:?}");
    cqrs.execute("lives", retitle("Life 21, again")).await.expect("updated");
    // The full history is all there for auditors.
    let subject = subjects::aggregate("events", Page::TYPE, "lives");
    let all = repo.load_commits(&subject).await.expect("loads");
    assert_eq!(all.iter().map(|c| c.commit.events.len()).sum::<usize>(), 83);
}

#[tokio::test]
async fn commits_without_a_load_from_header_load_from_the_start() {
    // Written before restarts were recorded: loads read everything, and stay correct.
    let server = NatsServer::start().await;
    let plain = repository(&server).await;
    let subject = subjects::aggregate("events", Page::TYPE, "older");
    let js = server.jetstream().await;
    let events = [created_event("older"), updated_event("One".to_owned())];
    for (i, event) in events.iter().enumerate() {
        let commit = Commit::new(
            Page::TYPE,
            &[serialized("older", i + 1, event, &format!("c{i}"))],
            &format!("c{i}"),
            time::OffsetDateTime::now_utc(),
        );
        let mut headers = commit.headers();
        headers.insert(header::MSG_ID, format!("c{i}").as_str());
        js.publish_with_headers(subject.clone(), headers, commit.encode().expect("encodes"))
            .await
            .expect("published")
            .await
            .expect("stored");
    }
    let repo = plain.restarting_at(Page::RESTARTS);
    assert_eq!(repo.get_events::<Page>("older").await.expect("loads").len(), 2);
    let cqrs = jetstream_cqrs::<Page>(repo.clone(), PageRules::default(), Vec::new());
    cqrs.execute("older", PageCommand::Delete(DeletePage { edit_token: token(), erasing: Vec::new() }))
        .await
        .expect("deleted");
    let current = repo.get_events::<Page>("older").await.expect("loads");
    assert_eq!(current.iter().map(|e| e.sequence).collect::<Vec<_>>(), [3]);
}

#[tokio::test]
async fn the_tally_stream_forgets_batches_older_than_its_age_and_keeps_their_sequences() {
    let server = NatsServer::start().await;
    let js = server.jetstream().await;
    // The default: a month, with the duplicate window the events have.
    let views = ensure_stream(&js, &StreamConfig::tallies()).await.expect("set up");
    let config = views.cached_info().config.clone();
    assert_eq!(config.max_age, Duration::from_secs(30 * 86_400));
    assert_eq!(config.duplicate_window, Duration::from_secs(120));
    assert_eq!(config.discard, DiscardPolicy::New);

    // A shorter age, as `VIEWS_MAX_AGE_DAYS` sets it, reaches the running stream; the
    // duplicate window cannot outlive the messages.
    let short = StreamConfig { max_age: Duration::from_secs(1), ..StreamConfig::tallies() };
    let mut views = ensure_stream(&js, &short).await.expect("updated");
    let config = views.info().await.expect("info").config.clone();
    assert_eq!((config.max_age, config.duplicate_window), (Duration::from_secs(1), Duration::from_secs(1)));
    let batch = TallyBatch { pages: vec![PageViews { slug: "ann".to_owned(), page_id: 1, count: 3 }] };
    for id in ["a", "b", "c"] {
        tallies::publish(&js, &short, &batch, id).await.expect("published");
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let state = views.info().await.expect("info").state.clone();
        if state.messages == 0 {
            // Forgotten, not renumbered: the next batch continues the sequence.
            assert_eq!(state.first_sequence, 4);
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "still held: {state:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(tallies::publish(&js, &short, &batch, "d").await.expect("published"), 4);
}

/// One batch of keys stored ahead: what the key store holds after the first new life.
const ONE_BATCH: usize = valentine_eventstore::data_keys::STORED_AHEAD;

/// Data keys in the key store that were not destroyed.
async fn keys_stored(js: &async_nats::jetstream::Context, config: &StreamConfig) -> usize {
    use futures::TryStreamExt;
    let bucket =
        js.get_key_value(valentine_eventstore::data_keys::bucket_name(config)).await.expect("bucket");
    let keys: Vec<String> = bucket.keys().await.expect("keys").try_collect().await.expect("listed");
    keys.len()
}

/// Pages sealed with data keys in the key store: the repository, a store for appends
/// without reading, and the usual command framework.
async fn sealed_pages(
    js: &async_nats::jetstream::Context,
    config: &StreamConfig,
) -> (JetStreamEventRepository, JetStreamStore<Page>, JetStreamCqrs<Page>) {
    let keys = DataKeys::open(js, config).await.expect("key store");
    let sealing = Sealing { personal: Page::PERSONAL, begins_life: Page::BEGINS_LIFE, erases: Page::ERASES };
    init_tracing();
    let repo = JetStreamEventRepository::new(js.clone(), config.clone())
        .await
        .expect("stream set up")
        .restarting_at(Page::RESTARTS)
        .sealing(keys, sealing);
    let fresh = PersistedEventStore::new_event_store(repo.clone());
    let cqrs = jetstream_cqrs::<Page>(repo.clone(), PageRules::default(), Vec::new());
    (repo, fresh, cqrs)
}

#[tokio::test]
async fn a_create_appended_without_reading_lands_first_and_a_slug_with_a_history_refuses_it() {
    let server = NatsServer::start().await;
    let js = server.jetstream().await;
    let config = StreamConfig::default();
    let (repo, fresh, cqrs) = sealed_pages(&js, &config).await;
    let rules = PageRules::default();
    let with_id = |id: &str| HashMap::from([(meta::COMMAND_ID.to_owned(), id.to_owned())]);

    // A new slug: stored as its first event, under a fresh key (one of a batch stored ahead),
    // readable the usual way.
    let (result, stored) =
        execute_new_with_receipt(&fresh, &rules, "cleo", create("cleo"), with_id("c-1")).await;
    result.expect("created");
    let stored = stored.expect("a receipt");
    assert!(!stored.duplicate);
    assert_eq!((messages_on(&repo, "cleo").await, keys_stored(&js, &config).await), (1, ONE_BATCH));
    let events = fresh.load_events("cleo").await.expect("loads");
    assert_eq!(
        events.iter().map(|e| (e.sequence, e.payload.event_type())).collect::<Vec<_>>(),
        [(1, "PageCreated".to_owned())]
    );

    // The same command again (a lost answer resent): the stored event, and no key written or
    // removed (the attempt's key goes back to those stored ahead).
    let (result, again) =
        execute_new_with_receipt(&fresh, &rules, "cleo", create("cleo"), with_id("c-1")).await;
    result.expect("the earlier attempt");
    let again = again.expect("a receipt");
    assert!(again.duplicate);
    assert_eq!(again.stream_sequence, stored.stream_sequence);
    assert_eq!((messages_on(&repo, "cleo").await, keys_stored(&js, &config).await), (1, ONE_BATCH));

    // Another create at the taken slug: refused as a conflict, nothing stored, its key kept
    // for the next.
    let (result, none) =
        execute_new_with_receipt(&fresh, &rules, "cleo", create("cleo"), with_id("c-2")).await;
    assert!(matches!(result, Err(AggregateError::AggregateConflict)), "{result:?}");
    assert!(none.is_none());
    assert_eq!((messages_on(&repo, "cleo").await, keys_stored(&js, &config).await), (1, ONE_BATCH));

    // Deleted, the slug has a history: the fast path still refuses, the usual path creates anew.
    let delete = PageCommand::Delete(DeletePage { edit_token: token(), erasing: Vec::new() });
    cqrs.execute_with_metadata("cleo", delete, with_id("c-3")).await.expect("deleted");
    let (result, _) = execute_new_with_receipt(&fresh, &rules, "cleo", create("cleo"), with_id("c-4")).await;
    assert!(matches!(result, Err(AggregateError::AggregateConflict)), "{result:?}");
    assert_eq!(messages_on(&repo, "cleo").await, 2);
    cqrs.execute_with_metadata("cleo", create("cleo"), with_id("c-5")).await.expect("a new life");
    assert_eq!(messages_on(&repo, "cleo").await, 3);
}

#[tokio::test]
async fn a_commit_whose_acknowledgement_was_lost_is_resent_and_keeps_its_data_key() {
    let server = NatsServer::start().await;
    let link = SeveringProxy::start(server.port()).await;
    let client = async_nats::connect(link.url()).await.expect("connected through the proxy");
    let mut js = async_nats::jetstream::new(client);
    // An answer that never comes is given up on soon, and the append is resent.
    js.set_timeout(Duration::from_millis(500));
    let config = StreamConfig::default();
    let (repo, fresh, cqrs) = sealed_pages(&js, &config).await;
    let with_id = |id: &str| HashMap::from([(meta::COMMAND_ID.to_owned(), id.to_owned())]);

    // The create lands, its answer is lost, the resend is told it is a duplicate of itself.
    link.sever_after_publish_to(&subjects::aggregate("events", Page::TYPE, "dora"));
    let (result, stored) =
        execute_new_with_receipt(&fresh, &PageRules::default(), "dora", create("dora"), with_id("d-1")).await;
    result.expect("created");
    assert_eq!(link.times_severed(), 1, "the first send's answer was lost");
    let stored = stored.expect("a receipt");
    assert!(!stored.duplicate, "the resend met this very commit: it is the create's, not an earlier one's");
    assert!(stored.timestamp.is_some());
    assert_eq!((messages_on(&repo, "dora").await, keys_stored(&js, &config).await), (1, ONE_BATCH));

    // The page opens with its key, and the next change is sealed with it too.
    let (result, _) =
        receipt::capture(cqrs.execute_with_metadata("dora", retitle("Still mine"), with_id("d-2"))).await;
    result.expect("updated: the page's key is there");
    let events = fresh.load_events("dora").await.expect("readable");
    assert_eq!(
        events.iter().map(|e| e.payload.event_type()).collect::<Vec<_>>(),
        ["PageCreated".to_owned(), "PageUpdated".to_owned()]
    );

    // Lost on an update too: the same.
    link.sever_after_publish_to(&subjects::aggregate("events", Page::TYPE, "dora"));
    let (result, updated) =
        receipt::capture(cqrs.execute_with_metadata("dora", retitle("Always"), with_id("d-3"))).await;
    result.expect("updated");
    assert_eq!(link.times_severed(), 2);
    assert!(!updated.expect("a receipt").duplicate);
    assert_eq!(fresh.load_events("dora").await.expect("readable").len(), 3);
    assert_eq!(keys_stored(&js, &config).await, ONE_BATCH);
}

#[tokio::test]
async fn data_keys_are_stored_ahead_in_batches_and_each_is_handed_out_once() {
    use valentine_eventstore::data_keys::KeyLookup;
    let server = NatsServer::start().await;
    let js = server.jetstream().await;
    let config = StreamConfig::default();
    let keys = DataKeys::open(&js, &config).await.expect("key store");

    // Creates at once, more than two batches: each gets its own key, and only whole batches
    // were written.
    let wanted = 2 * ONE_BATCH + 7;
    let made = join_all((0..wanted).map(|_| keys.create())).await;
    let ids: Vec<String> = made.into_iter().map(|k| k.expect("a key").id().to_owned()).collect();
    let distinct: std::collections::BTreeSet<&String> = ids.iter().collect();
    assert_eq!(distinct.len(), wanted);
    assert_eq!(keys_stored(&js, &config).await, 3 * ONE_BATCH);

    // Every key handed out is stored: another process finds each of them.
    let other = DataKeys::open(&js, &config).await.expect("key store");
    let found = other.lookup_all(ids.iter().cloned()).await.expect("looked up");
    assert!(ids.iter().all(|id| matches!(found.get(id), Some(KeyLookup::Found(k)) if k.id() == id)));

    // A key put back is the next one handed out, and nothing is written for it.
    let spare = keys.create().await.expect("a key");
    let spare_id = spare.id().to_owned();
    keys.put_back(spare).await;
    assert_eq!(keys.create().await.expect("a key").id(), spare_id);
    assert_eq!(keys_stored(&js, &config).await, 3 * ONE_BATCH);

    // Destroying one leaves the others of its batch (read by a process that keeps none).
    assert!(keys.destroy(&ids[0]).await.expect("destroyed"));
    let third = DataKeys::open(&js, &config).await.expect("key store");
    assert!(matches!(third.lookup(&ids[0]).await.expect("read"), KeyLookup::Destroyed));
    assert!(matches!(third.lookup(&ids[1]).await.expect("read"), KeyLookup::Found(_)));
    assert_eq!(keys_stored(&js, &config).await, 3 * ONE_BATCH - 1);
}
