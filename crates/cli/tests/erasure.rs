//! Erasure, end to end against real servers: a deleted page's words are nowhere afterwards
//! (not in the JetStream store, the SQLite files, a backup, Redis or a replay), an operator
//! erases without the token, a restored key store does not bring an erased page back, the
//! golden corpus written before sealing existed still rebuilds to its hash and erases, and
//! the later ones (v2: songs, PINs and photos; v3: reports and take-downs) restore and
//! rebuild to theirs.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use async_nats::jetstream::stream::DirectGetErrorKind;
use reqwest::StatusCode;
use secrecy::SecretString;
use serde_json::{Value, json};
use tempfile::TempDir;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use valentine_api::{AdminTokens, ApiConfig, Application};
use valentine_cli::ops::backup::{self, Restoring};
use valentine_cli::ops::{erase, replay};
use valentine_eventstore::envelope::header;
use valentine_eventstore::{DataKeys, KeyLookup, NatsSettings, StreamConfig};
use valentine_projections::ReadModelSettings;
use valentine_projector::{Projector, ReadSideConfig};
use valentine_testkit::{NatsServer, RedisServer, eventually, init_tracing, repo_root};

const PATIENCE: Duration = Duration::from_secs(30);

/// The API and a projector on their own servers and read model.
struct Node {
    nats: NatsServer,
    redis: RedisServer,
    dir: TempDir,
    config: ApiConfig,
    base: String,
    http: reqwest::Client,
    /// The token of this node's one admin, `auditor`.
    admin_token: String,
    tasks: Vec<(CancellationToken, JoinHandle<()>)>,
}

impl Node {
    async fn start() -> Self {
        Self::start_on(NatsServer::start().await).await
    }

    async fn start_on(nats: NatsServer) -> Self {
        init_tracing();
        let redis = RedisServer::start().await;
        let dir = tempfile::tempdir().expect("a temp dir");
        let admin = AdminTokens::issue("auditor").expect("an admin token");
        let config = ApiConfig {
            nats: NatsSettings::at(nats.url()),
            redis_url: Some(redis.url()),
            read_model: ReadModelSettings {
                database_path: dir.path().join("read.db"),
                ..ReadModelSettings::default()
            },
            bind_addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            frontend_domain: "https://valentine.example".to_owned(),
            pages_per_hour: 0,
            slug_checks_per_minute: 0,
            edits_per_minute: 0,
            page_edits_per_hour: 0,
            job_polls_per_minute: 0,
            reads_per_minute: 0,
            sync_wait: Duration::from_secs(10),
            ip_hash_secret: Some(SecretString::from("test secret")),
            admin_tokens: AdminTokens::parse(&admin.entry).expect("its entry"),
            ..ApiConfig::default()
        };
        let mut node = Self {
            nats,
            redis,
            dir,
            config,
            base: String::new(),
            http: reqwest::Client::new(),
            admin_token: admin.token.expose().to_owned(),
            tasks: Vec::new(),
        };
        let projector = Projector::connect(node.read_side()).await.expect("the projector starts");
        let stop = CancellationToken::new();
        let token = stop.clone();
        node.tasks.push((stop, tokio::spawn(async move { projector.run(token).await.expect("projects") })));
        let app = Application::build(node.config.clone()).await.expect("the API starts");
        node.base = format!("http://{}", app.local_addr().expect("an address"));
        let stop = CancellationToken::new();
        let token = stop.clone();
        node.tasks.push((stop, tokio::spawn(async move { app.run(token).await.expect("serves") })));
        node
    }

    fn read_side(&self) -> ReadSideConfig {
        ReadSideConfig {
            nats: self.config.nats.clone(),
            redis_url: self.config.redis_url.clone(),
            read_model: self.config.read_model.clone(),
            ..ReadSideConfig::default()
        }
    }

    async fn create(&self, body: &Value) -> (String, String) {
        let answer =
            self.http.post(format!("{}/api/pages", self.base)).json(body).send().await.expect("answers");
        assert_eq!(answer.status(), StatusCode::CREATED);
        let created: Value = answer.json().await.expect("JSON");
        let slug = created["page"]["slug"].as_str().expect("a slug").to_owned();
        (slug, created["edit_token"].as_str().expect("a token").to_owned())
    }

    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request =
            self.http.request(method, format!("{}{path}", self.base)).header("X-Edit-Token", token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let answer = request.send().await.expect("answers");
        let status = answer.status();
        (status, answer.json().await.unwrap_or(Value::Null))
    }

    /// `GET path` in the console, as its admin.
    async fn admin_get(&self, path: &str) -> (StatusCode, Value) {
        let answer = self
            .http
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.admin_token)
            .send()
            .await
            .expect("answers");
        let status = answer.status();
        (status, answer.json().await.unwrap_or(Value::Null))
    }

    async fn status_of(&self, slug: &str) -> StatusCode {
        self.http.get(format!("{}/api/pages/{slug}", self.base)).send().await.expect("answers").status()
    }

    /// Runs the `valentine` binary against this node.
    fn valentine(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_valentine"))
            .args(args)
            .env("NATS_URL", self.nats.url())
            .env("REDIS_URL", self.redis.url())
            .env("DATABASE_PATH", &self.config.read_model.database_path)
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .output()
            .expect("valentine runs")
    }

    /// Every file of the read model: each generation's database, WAL and shared memory.
    fn read_model_files(&self) -> Vec<PathBuf> {
        files_under(self.dir.path())
    }

    /// Every key and value in Redis, dumped.
    async fn redis_contents(&self) -> Vec<u8> {
        let mut conn = self.redis.client().get_multiplexed_async_connection().await.expect("redis");
        let keys: Vec<Vec<u8>> = redis::cmd("KEYS").arg("*").query_async(&mut conn).await.expect("keys");
        let mut all = Vec::new();
        for key in keys {
            let dumped: Vec<u8> =
                redis::cmd("DUMP").arg(&key).query_async(&mut conn).await.unwrap_or_default();
            all.extend_from_slice(&key);
            all.extend_from_slice(&dumped);
        }
        all
    }

    async fn stop(mut self) -> NatsServer {
        for (stop, task) in self.tasks.drain(..).rev() {
            stop.cancel();
            task.await.expect("stopped cleanly");
        }
        self.nats
    }
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut folders = vec![dir.to_owned()];
    while let Some(folder) = folders.pop() {
        let Ok(entries) = std::fs::read_dir(&folder) else { continue };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                folders.push(path);
            } else if path.is_file() {
                files.push(path);
            }
        }
    }
    files
}

/// The files among `files` holding `needle`.
fn holding(files: &[PathBuf], needle: &[u8]) -> Vec<PathBuf> {
    files.iter().filter(|f| std::fs::read(f).is_ok_and(|bytes| contains(&bytes, needle))).cloned().collect()
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

fn unique(prefix: &str) -> String {
    format!("{prefix}{}", ulid::Ulid::new().to_string().to_ascii_lowercase())
}

/// The data key id named by the newest event message of `slug`.
async fn data_key_of(nats: &NatsServer, slug: &str) -> String {
    let js = nats.jetstream().await;
    let stream = js.get_stream("EVENTS").await.expect("the stream");
    let message = stream.direct_get_last_for_subject(format!("events.page.{slug}")).await.expect("a message");
    message.headers.get(header::DATA_KEY).expect("a sealed commit names its key").as_str().to_owned()
}

async fn key_bytes(nats: &NatsServer, id: &str) -> Vec<u8> {
    let js = nats.jetstream().await;
    let kv = js
        .get_key_value(valentine_eventstore::data_keys::bucket_name(&StreamConfig::events()))
        .await
        .expect("bucket");
    kv.get(id).await.expect("reads").expect("the key is there").to_vec()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_page_is_found_nowhere_afterwards() {
    let node = Node::start().await;
    let marker = unique("mk");
    let edited = unique("mked");
    let slug = unique("erase-");
    let body = json!({
        "slug": slug,
        "title": format!("Title {marker}"),
        "message": format!("Dear {marker}, always"),
        "sender_name": format!("S{marker}")[..20].to_owned(),
        "recipient_name": format!("R{marker}")[..20].to_owned(),
        "template_id": "envelope",
        "notify_email": format!("{marker}@example.com"),
    });
    let (slug, token) = node.create(&body).await;
    let path = format!("/api/pages/{slug}");
    let (status, _) = node
        .call(reqwest::Method::PATCH, &path, &token, Some(json!({ "message": format!("Now {edited}") })))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(node.status_of(&slug).await, StatusCode::OK, "read once, so cached");

    // Sealed at rest: even while the page lives, its words are not in the event store's files.
    let store = node.nats.store_dir();
    assert_eq!(holding(&files_under(&store), marker.as_bytes()), Vec::<PathBuf>::new());
    assert_eq!(holding(&files_under(&store), edited.as_bytes()), Vec::<PathBuf>::new());
    // Its author can take everything away, opened.
    let (status, export) = node.call(reqwest::Method::GET, &format!("{path}/export"), &token, None).await;
    assert_eq!(status, StatusCode::OK, "{export}");
    // The read above was the page's first open (recorded after it was answered): the export
    // holds it too once it is there.
    let events: Vec<&Value> = export["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter(|e| e["event_type"] != "PageOpened")
        .collect();
    assert_eq!(events.len(), 3, "{export}");
    assert_eq!(events[0]["event_type"], "PageCreated");
    assert_eq!(events[0]["data"]["title"], format!("Title {marker}"));
    assert!(events[0]["data"].get("edit_token_hash").is_none());
    // The address for mails, in the same commit, without its unsubscribe key.
    assert_eq!(events[1]["data"], json!({ "email": format!("{marker}@example.com") }));
    assert_eq!(events[2]["data"], json!({ "message": format!("Now {edited}") }));
    assert_eq!(export["page"]["message"], format!("Now {edited}"));
    let (status, _) = node.call(reqwest::Method::GET, &format!("{path}/export"), "not-the-token", None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let key_id = data_key_of(&node.nats, &slug.to_ascii_lowercase()).await;
    let key = key_bytes(&node.nats, &key_id).await;
    assert_eq!(key.len(), 32);

    let (status, _) = node.call(reqwest::Method::DELETE, &path, &token, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(node.status_of(&slug).await, StatusCode::NOT_FOUND);
    let read_side = node.read_side();
    let backup_dir = node.dir.path().join("backup-after");
    backup::backup(&read_side, &backup_dir).await.expect("backed up");

    let keys = DataKeys::open(&node.nats.jetstream().await, &StreamConfig::events()).await.expect("keys");
    let found = keys.lookup(&key_id).await.expect("looks up");
    assert!(matches!(found, KeyLookup::Destroyed), "{found:?}");
    let replayed = replay::history(&read_side, &slug).await.expect("replays");
    assert_eq!(
        replayed
            .iter()
            .filter(|e| e.event_type != "PageOpened")
            .map(|e| (e.event_type.as_str(), e.erased))
            .collect::<Vec<_>>(),
        [("PageCreated", true), ("NotificationsSet", true), ("PageUpdated", true), ("PageErased", false)]
    );
    let replayed = serde_json::to_vec(&replayed).expect("JSON");
    let store_files = files_under(&store);
    let model_files = node.read_model_files();
    let redis = node.redis_contents().await;
    for needle in [marker.as_bytes(), edited.as_bytes()] {
        assert_eq!(holding(&store_files, needle), Vec::<PathBuf>::new(), "JetStream store");
        assert_eq!(holding(&model_files, needle), Vec::<PathBuf>::new(), "read model or backup");
        assert!(!contains(&redis, needle), "Redis");
        assert!(!contains(&replayed, needle), "replay");
    }
    assert_eq!(holding(&store_files, &key), Vec::<PathBuf>::new(), "the data key's bytes are erased too");
    assert_eq!(holding(&files_under(&backup_dir), &key), Vec::<PathBuf>::new(), "backup");

    // The slug is free again, for anyone.
    let (again, _) = node.create(&json!({ "slug": slug, "title": "New", "message": "Someone else" })).await;
    assert_eq!(again, slug);
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_erases_without_the_token_and_the_reason_stays_in_the_stream() {
    let node = Node::start().await;
    let marker = unique("op");
    let slug = unique("legal-");
    let (slug, token) =
        node.create(&json!({ "slug": slug, "title": "Hi", "message": format!("About {marker}") })).await;

    let key_id = data_key_of(&node.nats, &slug.to_ascii_lowercase()).await;

    let erased =
        node.valentine(&["erase", &slug.to_ascii_uppercase(), "--reason", "request 2026-42", "--json"]);
    assert!(erased.status.success(), "{}", String::from_utf8_lossy(&erased.stderr));
    let report: Value = serde_json::from_slice(&erased.stdout).expect("JSON");
    assert_eq!(report[0]["slug"], slug.to_ascii_lowercase(), "{report}");
    assert_eq!(report[0]["stream_sequence"], 2, "{report}");
    // The projector carries out the erasure it applies as well, so either may have destroyed
    // the key and removed the message first: what matters is that both are gone.
    let keys = DataKeys::open(&node.nats.jetstream().await, &StreamConfig::events()).await.expect("keys");
    let found = keys.lookup(&key_id).await.expect("looks up");
    assert!(matches!(found, KeyLookup::Destroyed), "{found:?}");
    let stream = node.nats.jetstream().await.get_stream("EVENTS").await.expect("the stream");
    let created = stream.direct_get(1).await;
    assert!(
        matches!(&created, Err(e) if e.kind() == DirectGetErrorKind::NotFound),
        "the sealed create is removed from the stream: {created:?}"
    );
    eventually("the erasure to be projected", PATIENCE, || async {
        node.status_of(&slug).await == StatusCode::NOT_FOUND
    })
    .await;
    let (status, _) =
        node.call(reqwest::Method::GET, &format!("/api/pages/{slug}/export"), &token, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let table = String::from_utf8(node.valentine(&["replay", &slug]).stdout).expect("utf-8");
    assert!(table.contains(r#"by operator: "request 2026-42""#), "{table}");
    assert!(!table.contains(&marker), "{table}");

    // Nothing is left to erase.
    let again = node.valentine(&["erase", &slug, "--reason", "twice"]);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("nothing to erase"), "{again:?}");
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restoring_an_older_key_store_does_not_bring_an_erased_page_back() {
    let node = Node::start().await;
    let marker = unique("rs");
    let (kept, _) =
        node.create(&json!({ "slug": unique("kept-"), "title": "Kept", "message": "Stays" })).await;
    let (gone, token) = node
        .create(&json!({ "slug": unique("gone-"), "title": "Gone", "message": format!("Was {marker}") }))
        .await;
    let gone_key = data_key_of(&node.nats, &gone.to_ascii_lowercase()).await;
    let read_side = node.read_side();
    // Kept apart from the read model: an older backup holds what was erased since (until it
    // is itself deleted), which is what restoring it must not bring back.
    let backups = tempfile::tempdir().expect("a temp dir");
    let older = backups.path().join("backup-before");
    backup::backup(&read_side, &older).await.expect("backed up");
    let (status, _) = node.call(reqwest::Method::DELETE, &format!("/api/pages/{gone}"), &token, None).await;
    assert_eq!(status, StatusCode::OK);

    // The key store is restored from the older backup, which still holds the erased page's key.
    let (_, erased) = backup::restore(&read_side, &older, Restoring::DataKeys).await.expect("restored");
    assert_eq!(erased.len(), 1, "{erased:?}");
    assert_eq!(erased[0].slug, gone.to_ascii_lowercase());
    assert_eq!(erased[0].keys_destroyed, 1);
    let keys = DataKeys::open(&node.nats.jetstream().await, &StreamConfig::events()).await.expect("keys");
    let found = keys.lookup(&gone_key).await.expect("looks up");
    assert!(matches!(found, KeyLookup::Destroyed), "{found:?}");

    // A rebuild from the streams then shows the kept page and nothing of the erased one.
    let rebuilt = node.valentine(&["rebuild", "--verify"]);
    assert!(rebuilt.status.success(), "{}", String::from_utf8_lossy(&rebuilt.stderr));
    let rebuilt = node.valentine(&["rebuild"]);
    assert!(rebuilt.status.success(), "{}", String::from_utf8_lossy(&rebuilt.stderr));
    assert_eq!(node.status_of(&kept).await, StatusCode::OK);
    assert_eq!(node.status_of(&gone).await, StatusCode::NOT_FOUND);
    assert_eq!(holding(&node.read_model_files(), marker.as_bytes()), Vec::<PathBuf>::new());

    // A new node started from the older copy has the erasure applied before anything reads it.
    let node_b = backups.path().join("node-b");
    let database = node_b.join("read.db");
    let adopted = Command::new(env!("CARGO_BIN_EXE_valentine"))
        .args(["bootstrap", older.to_str().expect("utf-8")])
        .env("NATS_URL", node.nats.url())
        .env("REDIS_URL", "")
        .env("DATABASE_PATH", &database)
        .env("READ_MODEL_ID", "node-b")
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .output()
        .expect("runs");
    assert!(adopted.status.success(), "{}", String::from_utf8_lossy(&adopted.stderr));
    assert!(String::from_utf8_lossy(&adopted.stderr).contains("1 erasure"), "{adopted:?}");
    assert!(contains(&std::fs::read(older.join("read-model.sqlite")).expect("the copy"), marker.as_bytes()));
    assert_eq!(holding(&files_under(&node_b), marker.as_bytes()), Vec::<PathBuf>::new(), "the adopted copy");
    let config = ReadSideConfig {
        redis_url: None,
        read_model: ReadModelSettings {
            database_path: database.clone(),
            id: valentine_projections::ReadModelId::new("node-b").expect("an id"),
        },
        ..node.read_side()
    };
    Projector::connect(config).await.expect("starts").process_available().await.expect("projects");
    let mut conn = valentine_projections::db::reader_connection(&database).expect("opens");
    let hash = valentine_projections::hash::content_hash(&mut conn).expect("a hash");
    let fresh = node.valentine(&["rebuild"]);
    assert_eq!(String::from_utf8_lossy(&fresh.stdout).trim(), hash, "the node ends as a rebuild would");
    node.stop().await;
}

/// The golden corpus `version` (`v1` wrote every event in the clear).
fn corpus(version: &str) -> PathBuf {
    repo_root().join("crates/cli/tests/corpus").join(version)
}

/// A golden corpus restored into a fresh server.
struct Restored {
    nats: NatsServer,
    config: ReadSideConfig,
    expected: Value,
    pages: Value,
    /// The erasures the restore carried out again that did something.
    erased: Vec<erase::Erasure>,
    _scratch: TempDir,
}

/// Restores the corpus `version` into a fresh server, checking it lands whole.
async fn restored_corpus(version: &str) -> Restored {
    let dir = corpus(version);
    let read = |file: &str| -> Value {
        serde_json::from_slice(&std::fs::read(dir.join(file)).expect(file)).expect("JSON")
    };
    let (expected, pages) = (read("expected.json"), read("pages.json"));
    let nats = NatsServer::start().await;
    let scratch = tempfile::tempdir().expect("a temp dir");
    let config = ReadSideConfig {
        nats: NatsSettings::at(nats.url()),
        redis_url: None,
        read_model: ReadModelSettings {
            database_path: scratch.path().join("read.db"),
            ..ReadModelSettings::default()
        },
        ..ReadSideConfig::default()
    };
    let (manifest, erased) = backup::restore(&config, &dir, Restoring::Everything).await.expect("restored");
    assert_eq!(
        manifest.streams[0].last_sequence,
        expected["events_last_sequence"].as_u64().expect("a number")
    );
    Restored { nats, config, expected, pages, erased, _scratch: scratch }
}

/// `valentine ARGS` on the restored corpus's server and read model.
fn valentine_on(nats: &NatsServer, config: &ReadSideConfig, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_valentine"))
        .args(args)
        .env("NATS_URL", nats.url())
        .env("REDIS_URL", "")
        .env("DATABASE_PATH", &config.read_model.database_path)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .output()
        .expect("valentine runs")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_golden_corpus_rebuilds_to_its_hash_and_its_pages_erase() {
    let Restored { nats, config, expected, pages, erased, _scratch } = restored_corpus("v1").await;
    assert!(erased.is_empty(), "v1 knew no erasure");
    let rebuild = |args: &[&str]| valentine_on(&nats, &config, args);
    let built = rebuild(&["rebuild"]);
    assert!(built.status.success(), "{}", String::from_utf8_lossy(&built.stderr));
    // The parts hashed when the corpus was written are exactly as they were; what later
    // versions added (views per day, say) is built from the same events and tallies.
    let mut built_model = rusqlite::Connection::open(&config.read_model.database_path).expect("opens");
    assert_eq!(
        valentine_projections::hash::original_content_hash(&mut built_model).expect("hashes"),
        expected["content_hash"].as_str().expect("a hash")
    );
    assert_eq!(
        valentine_projections::hash::content_hash(&mut built_model).expect("hashes"),
        String::from_utf8_lossy(&built.stdout).trim()
    );
    drop(built_model);

    // Pages written in the clear: a live one and one deleted before deletion erased.
    let node = Node::start_on(nats).await;
    let rose = &pages["slugs"]["rose"];
    let token = rose["edit_token"].as_str().expect("rose is alive");
    let (status, export) = node.call(reqwest::Method::GET, "/api/pages/rose/export", token, None).await;
    assert_eq!(status, StatusCode::OK, "{export}");
    assert_eq!(export["events"][0]["event_type"], "PageCreated");
    let (status, _) = node
        .call(reqwest::Method::PATCH, "/api/pages/rose", token, Some(json!({ "title": "Sealed now" })))
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = node.call(reqwest::Method::DELETE, "/api/pages/rose", token, None).await;
    assert_eq!(status, StatusCode::OK);
    let lily = node.valentine(&["erase", "lily", "--reason", "old deleted page", "--json"]);
    assert!(lily.status.success(), "{}", String::from_utf8_lossy(&lily.stderr));
    let lily: Value = serde_json::from_slice(&lily.stdout).expect("JSON");
    assert!(lily[0]["messages_removed"].as_u64() >= Some(1), "{lily}");
    eventually("the erasures to be projected", PATIENCE, || async {
        node.status_of("rose").await == StatusCode::NOT_FOUND
    })
    .await;
    let store = files_under(&node.nats.store_dir());
    for slug in ["rose", "lily"] {
        let prefix = format!("gc1-{slug}-");
        assert_eq!(
            holding(&store, prefix.as_bytes()),
            Vec::<PathBuf>::new(),
            "{slug} in the JetStream store"
        );
        let replayed = serde_json::to_vec(&replay::history(&node.read_side(), slug).await.expect("replays"))
            .expect("JSON");
        assert!(!contains(&replayed, prefix.as_bytes()), "{slug} in a replay");
    }
    assert!(!holding(&store, b"gc1-tulip-").is_empty(), "the other pages are untouched");
    // The erased history still rebuilds, to what the live projection holds.
    let verified = node.valentine(&["rebuild", "--verify"]);
    assert!(verified.status.success(), "{}", String::from_utf8_lossy(&verified.stderr));
    let again = erase::erase_again(&node.read_side()).await.expect("again");
    assert!(again.iter().all(|e| e.keys_destroyed == 0 && e.messages_removed == 0), "{again:?}");
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_golden_corpus_v2_restores_with_its_gap_and_rebuilds_to_its_hash_with_songs_pins_and_photos() {
    // finch was erased before the backup: its messages are a gap the restore fills.
    let Restored { nats, config, expected, pages, _scratch, .. } = restored_corpus("v2").await;
    let built = valentine_on(&nats, &config, &["rebuild"]);
    assert!(built.status.success(), "{}", String::from_utf8_lossy(&built.stderr));
    assert_eq!(
        String::from_utf8_lossy(&built.stdout).trim(),
        expected["content_hash"].as_str().expect("a hash")
    );

    let node = Node::start_on(nats).await;
    // Each page reads as its author last read it when the corpus was written.
    for slug in ["lark", "wren"] {
        let token = pages["slugs"][slug]["edit_token"].as_str().expect("alive");
        let (status, mut page) =
            node.call(reqwest::Method::GET, &format!("/api/pages/{slug}"), token, None).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        page.as_object_mut().map(|p| p.remove("view_count"));
        assert_eq!(page, pages["slugs"][slug]["life"]["page"], "{slug}");
    }
    // lark's PIN is its second one, and its photo opens with the restored key.
    let lark = &pages["slugs"]["lark"];
    let pin_read = |pin: &'static str| {
        node.http.get(format!("{}/api/pages/lark", node.base)).header("X-Page-Pin", pin).send()
    };
    assert_eq!(pin_read("2468").await.expect("answers").status(), StatusCode::UNAUTHORIZED);
    assert_eq!(pin_read("97531").await.expect("answers").status(), StatusCode::OK);
    let photo = lark["life"]["page"]["photo"]["url"].as_str().expect("a photo");
    let token = lark["edit_token"].as_str().expect("alive");
    let served = node
        .http
        .get(format!("{}{photo}", node.base))
        .header("X-Edit-Token", token)
        .send()
        .await
        .expect("answers");
    assert_eq!(served.status(), StatusCode::OK);
    assert!(!served.bytes().await.expect("the image").is_empty());
    assert_eq!(node.status_of("finch").await, StatusCode::NOT_FOUND);
    node.stop().await;
}

/// The steps of the v3 corpus's `slug` that did `action`.
fn steps_of<'a>(pages: &'a Value, slug: &str, action: &str) -> Vec<&'a Value> {
    let steps = pages["slugs"][slug]["steps"].as_array().expect("steps");
    steps.iter().filter(|s| s["action"] == action).collect()
}

/// The event at `position` among `events` (the console's), which must be there.
fn event_at<'a>(events: &'a [Value], position: &Value) -> &'a Value {
    events.iter().find(|e| e["stream_sequence"] == *position).expect("an event at the step's position")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_golden_corpus_v3_restores_and_rebuilds_to_its_hash_with_reports_and_take_downs() {
    // stork was erased before the backup, its report with it: a gap the restore fills.
    let Restored { nats, config, expected, pages, erased, _scratch: scratch } = restored_corpus("v3").await;
    assert!(erased.is_empty(), "stork was erased before the backup was taken");
    let built = valentine_on(&nats, &config, &["rebuild"]);
    assert!(built.status.success(), "{}", String::from_utf8_lossy(&built.stderr));
    assert_eq!(
        String::from_utf8_lossy(&built.stdout).trim(),
        expected["content_hash"].as_str().expect("a hash")
    );
    let slugs = &pages["slugs"];

    let node = Node::start_on(nats).await;
    eventually("egret's take-down to be projected", PATIENCE, || async {
        node.status_of("egret").await == StatusCode::UNAVAILABLE_FOR_LEGAL_REASONS
    })
    .await;

    // The console shows every event where it was, every report with its reason and note and
    // every decision with its admin and reason, as they were written.
    let mut steps_checked = 0;
    for slug in ["heron", "egret", "stork"] {
        let (status, answer) = node.admin_get(&format!("/api/admin/pages/{slug}/events")).await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        let events = answer["events"].as_array().expect("events");
        let recorded = slugs[slug]["console_events"].as_array().expect("recorded");
        let outline = |events: &[Value]| -> Vec<(Value, Value)> {
            events.iter().map(|e| (e["stream_sequence"].clone(), e["event_type"].clone())).collect()
        };
        assert_eq!(outline(events), outline(recorded), "{slug}");
        for event in events.iter().filter(|e| {
            ["PageReported", "PageTakenDown", "PageReinstated"]
                .contains(&e["event_type"].as_str().unwrap_or(""))
        }) {
            let then = event_at(recorded, &event["stream_sequence"]);
            assert_eq!(
                (&event["event_version"], &event["payload"]),
                (&then["event_version"], &then["payload"])
            );
        }
        for report in steps_of(&pages, slug, "report") {
            steps_checked += 1;
            let event = event_at(events, &report["position"]);
            assert_eq!(event["event_type"], "PageReported", "{event}");
            if slug == "stork" {
                assert_eq!((&event["erased"], &event["payload"]), (&json!(true), &Value::Null), "{event}");
            } else {
                let sent = &report["sent"];
                let want = match sent.get("note") {
                    Some(note) => json!({ "reason": sent["reason"], "note": note }),
                    None => json!({ "reason": sent["reason"] }),
                };
                assert_eq!(event["payload"], json!({ "PageReported": want }), "{slug}");
            }
        }
        for (action, kind) in [("take-down", "PageTakenDown"), ("reinstate", "PageReinstated")] {
            for decision in steps_of(&pages, slug, action) {
                steps_checked += 1;
                let event = event_at(events, &decision["position"]);
                assert_eq!(event["event_type"], kind);
                let want = json!({ "by": decision["admin"], "reason": decision["sent"]["reason"] });
                assert_eq!(event["payload"], json!({ kind: want }), "{slug}");
            }
        }
        let shown = answer.to_string();
        assert!(!shown.contains("gc3-stork-") && !shown.contains("gc3-egret-note-2"), "{slug}: {shown}");
    }
    assert_eq!(steps_checked, 4 + 3, "four reports taken and three decisions");
    let admins_of = |slug: &str| -> Vec<Value> {
        let decided =
            steps_of(&pages, slug, "take-down").into_iter().chain(steps_of(&pages, slug, "reinstate"));
        decided.map(|d| d["admin"].clone()).collect()
    };
    assert_eq!(
        (admins_of("heron"), admins_of("egret")),
        (vec![json!("ana"), json!("ben")], vec![json!("ana")])
    );
    let (status, reports) = node.admin_get("/api/admin/pages/heron/reports").await;
    assert_eq!(status, StatusCode::OK, "{reports}");
    let notes = |reports: &Value| -> Vec<(Value, Value)> {
        let reports = reports.as_array().expect("reports");
        reports.iter().map(|r| (r["reason"].clone(), r["note"].clone())).collect()
    };
    assert_eq!(notes(&reports["reports"]), notes(&slugs["heron"]["console_reports"]));
    assert!(
        notes(&reports["reports"])
            .iter()
            .any(|(_, n)| n.as_str().is_some_and(|n| n.contains("gc3-heron-note-1")))
    );

    // Each author reads their page and its history as when the corpus was written: egret
    // down with its reason, heron up with the edit made while down (brought back by a
    // restore); neither shows a report.
    for slug in ["heron", "egret"] {
        let token = slugs[slug]["edit_token"].as_str().expect("alive");
        let (status, mut page) =
            node.call(reqwest::Method::GET, &format!("/api/pages/{slug}"), token, None).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        page.as_object_mut().map(|p| p.remove("view_count"));
        assert_eq!(page, slugs[slug]["page"], "{slug}");
        let (status, history) =
            node.call(reqwest::Method::GET, &format!("/api/pages/{slug}/history"), token, None).await;
        assert_eq!(status, StatusCode::OK, "{history}");
        assert_eq!(history["events"], slugs[slug]["history"], "{slug}");
        assert!(!history.to_string().contains("-note-"), "{slug}: a report shown to its author");
    }
    let egret_down = &steps_of(&pages, "egret", "take-down")[0]["sent"]["reason"];
    assert_eq!(slugs["egret"]["page"]["taken_down"]["reason"], *egret_down);
    assert_eq!(slugs["heron"]["page"]["taken_down"], Value::Null);
    assert!(steps_of(&pages, "heron", "restore").len() == 1, "heron's restore is in the corpus");

    // Operators replay every report and decision; of stork, nothing it said or was told.
    let replayed = |slug: &str| {
        let read_side = node.read_side();
        let slug = slug.to_owned();
        async move {
            serde_json::to_string(&replay::history(&read_side, &slug).await.expect("replays")).expect("JSON")
        }
    };
    let heron = replayed("heron").await;
    for marker in ["gc3-heron-note-1", "gc3-heron-takedown-1", "gc3-heron-reinstate-1", "\"ben\""] {
        assert!(heron.contains(marker), "{marker} in heron's replay");
    }
    assert!(!replayed("stork").await.contains("gc3-stork-"), "stork in a replay");
    let files: Vec<PathBuf> =
        [files_under(&node.nats.store_dir()), node.read_model_files(), files_under(scratch.path())].concat();
    for gone in ["gc3-stork-", "gc3-egret-note-2"] {
        assert_eq!(holding(&files, gone.as_bytes()), Vec::<PathBuf>::new(), "{gone}");
    }
    // The moderators' read model keeps the notes of live pages.
    assert!(!holding(&node.read_model_files(), b"gc3-heron-note-1").is_empty(), "heron's note");

    // A reader: egret is down, heron reads as its author left it.
    assert_eq!(node.status_of("egret").await, StatusCode::UNAVAILABLE_FOR_LEGAL_REASONS);
    let read = node.http.get(format!("{}/api/pages/heron", node.base)).send().await.expect("answers");
    assert_eq!(read.status(), StatusCode::OK);
    let heron: Value = read.json().await.expect("JSON");
    let written = &slugs["heron"]["page"];
    assert_eq!((&heron["title"], &heron["message"]), (&written["title"], &written["message"]));
    assert!(heron["message"].as_str().is_some_and(|m| m.ends_with("gc3-heron-message-2")), "{heron}");
    assert_eq!(node.status_of("stork").await, StatusCode::NOT_FOUND);
    node.stop().await;
}
