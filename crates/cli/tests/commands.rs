//! The `valentine` binary as operators run it, against real servers.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use async_nats::jetstream;
use tempfile::TempDir;
use valentine_bench::synthetic::{Workload, publish_events};
use valentine_domain::page::versions;
use valentine_domain::{
    CreatePage, DeletePage, EditToken, Page, PageCommand, PageExtras, PageRules, Slug, UpdatePage,
};
use valentine_eventstore::{StreamConfig, execute_with_receipt, jetstream_cqrs};
use valentine_projections::page_store;
use valentine_testkit::{NatsServer, RedisServer};

const WAIT: Duration = Duration::from_secs(120);

struct Env {
    nats: NatsServer,
    redis: RedisServer,
    dir: TempDir,
}

impl Env {
    async fn start() -> Self {
        Self {
            nats: NatsServer::start().await,
            redis: RedisServer::start().await,
            dir: tempfile::tempdir().expect("dir"),
        }
    }

    fn db(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn valentine(&self, db: &Path, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_valentine"));
        command
            .args(args)
            .env("NATS_URL", self.nats.url())
            .env("REDIS_URL", self.redis.url())
            .env("DATABASE_PATH", db)
            .env("READ_MODEL_ID", "main")
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null());
        command
    }

    fn run(&self, db: &Path, args: &[&str]) -> Output {
        self.valentine(db, args).output().expect("valentine runs")
    }

    fn spawn_projector(&self, db: &Path) -> Child {
        self.valentine(db, &["projector"])
            .env("PROJECTOR_BATCH_SIZE", "50")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("projector starts")
    }
}

async fn consumer_state(js: &jetstream::Context, name: &str) -> Option<(u64, u64, usize)> {
    let stream = js.get_stream("EVENTS").await.ok()?;
    let info = stream.consumer_info(name).await.ok()?;
    Some((info.ack_floor.stream_sequence, info.num_pending, info.num_ack_pending))
}

fn hash_of(link: &Path) -> String {
    let mut conn = valentine_projections::db::reader_connection(link).expect("opens");
    valentine_projections::hash::content_hash(&mut conn).expect("hash")
}

fn stdout(output: &Output) -> String {
    assert!(output.status.success(), "failed: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout.clone()).expect("utf-8")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_projector_killed_mid_batch_resumes_to_the_same_read_model_as_a_rebuild() {
    let env = Env::start().await;
    let js = env.nats.jetstream().await;
    publish_events(&js, &StreamConfig::default(), Workload::new(20_000, 21)).await.expect("published");
    let live = env.db("live.db");

    // Kill -9 while it is busy: some events applied, many still to come.
    let mut projector = env.spawn_projector(&live);
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        if let Some((floor, pending, _)) = consumer_state(&js, "projector-main").await
            && floor > 2_000
        {
            assert!(pending > 0, "finished before it could be interrupted");
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "no progress");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    projector.kill().expect("killed"); // SIGKILL
    projector.wait().expect("reaped");

    let mut projector = env.spawn_projector(&live);
    let deadline = tokio::time::Instant::now() + WAIT;
    while consumer_state(&js, "projector-main")
        .await
        .is_none_or(|(_, pending, in_flight)| pending + in_flight as u64 > 0)
    {
        assert!(tokio::time::Instant::now() < deadline, "did not catch up");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let _ = Command::new("kill").args(["-TERM", &projector.id().to_string()]).status();
    let status = projector.wait().expect("stopped");
    assert!(status.success(), "a graceful stop exits 0, got {status}");

    let rebuilt = env.db("rebuilt.db");
    let output = env.run(&rebuilt, &["rebuild"]);
    let hash = stdout(&output).trim().to_owned();
    assert_eq!(hash.len(), 64, "a SHA-256 hex digest: {hash:?}");
    assert_eq!(hash_of(&live), hash);
    assert_eq!(hash_of(&rebuilt), hash);

    let verified = env.run(&live, &["rebuild", "--verify"]);
    assert!(verified.status.success(), "{}", String::from_utf8_lossy(&verified.stderr));
}

#[tokio::test]
async fn replay_shows_every_life_of_a_slug_as_a_table_and_as_json() {
    let env = Env::start().await;
    let repo = page_store::open(&env.nats.jetstream().await, &StreamConfig::default()).await.expect("repo");
    let cqrs = jetstream_cqrs::<Page>(repo.clone(), PageRules::default(), versions::upcasters());
    let token = EditToken::presented("secret-token");
    let create = |title: &str| {
        PageCommand::Create(CreatePage {
            slug: Slug::parse("Mia").expect("valid"),
            title: title.to_owned(),
            message: "Line one\nline two".to_owned(),
            sender_name: None,
            recipient_name: Some("Leo".to_owned()),
            template_id: Some("envelope".to_owned()),
            edit_token_hash: token.hash(),
            notify: None,
            extras: PageExtras::default(),
        })
    };
    cqrs.execute("mia", create("First words")).await.expect("created");
    let erasing = page_store::erasure_skeleton(&repo, "mia").await.expect("reads");
    let delete = PageCommand::Delete(DeletePage { edit_token: token.clone(), erasing });
    let (deleted, receipt) = execute_with_receipt(&cqrs, "mia", delete, HashMap::new()).await;
    deleted.expect("deleted");
    let erased_at = receipt.expect("stored").stream_sequence;
    let report = repo.erase::<Page>("mia", erased_at).await.expect("erased");
    assert_eq!(report.keys_destroyed.len(), 1);
    assert_eq!(report.messages_removed, [1]);
    cqrs.execute("mia", create("Second")).await.expect("created again");
    let mut update = UpdatePage::with_token(token.clone());
    update.title = Some("Second, edited".to_owned());
    cqrs.execute("mia", PageCommand::Update(update)).await.expect("updated");

    let db = env.db("unused.db");
    let table = stdout(&env.run(&db, &["replay", "MIA"]));
    let lines: Vec<&str> = table.lines().collect();
    assert!(lines[0].starts_with("STREAM"), "{table}");
    let types: Vec<&str> =
        lines[1..5].iter().map(|l| l.split_whitespace().nth(4).unwrap_or_default()).collect();
    assert_eq!(types, ["PageCreated", "PageErased", "PageCreated", "PageUpdated"], "{table}");
    assert!(lines[1].ends_with("(erased)"), "the first life's words are gone: {table}");
    assert!(lines[2].ends_with("by author"), "{table}");
    assert!(!table.contains("First words"), "{table}");
    assert!(table.contains(r#"title="Second, edited""#), "{table}");
    assert!(table.contains(r#"message="Line one\nline two""#), "one event stays on one line: {table}");
    assert!(table.ends_with("4 events, 2 page(s) at this slug\n"), "{table}");
    assert!(!table.contains("secret-token"));

    let json: serde_json::Value =
        serde_json::from_str(&stdout(&env.run(&db, &["replay", "mia", "--json"]))).expect("JSON");
    let events = json.as_array().expect("an array");
    assert_eq!(events.len(), 4);
    let pages: Vec<u64> = events.iter().map(|e| e["page_id"].as_u64().expect("a page id")).collect();
    assert_eq!((pages[0], pages[1]), (1, 1));
    assert_eq!((pages[2], pages[3]), (3, 3));
    assert_eq!(events[3]["changed_fields"], serde_json::json!(["title"]));
    let erased: Vec<bool> = events.iter().map(|e| e["erased"].as_bool().expect("a flag")).collect();
    assert_eq!(erased, [true, false, false, false]);
    assert_eq!(events[0]["payload"], serde_json::Value::Null);
    assert!(events[0]["timestamp"].as_str().is_some_and(|t| t.ends_with('Z')), "the skeleton keeps the time");
    assert!(events[1..].iter().all(|e| e["event_id"].as_str().is_some_and(|id| id.len() == 26)));

    let nothing = stdout(&env.run(&db, &["replay", "nobody-here"]));
    assert_eq!(nothing.trim(), r#"no events for "nobody-here""#);

    // What each event changed, and the page as of any point.
    let diff = stdout(&env.run(&db, &["replay", "mia", "--diff"]));
    assert!(diff.contains(r#"    title: "Second" → "Second, edited""#), "{diff}");
    assert!(diff.contains(r#"    recipient_name: - → "Leo""#), "a creation sets each field: {diff}");
    assert!(!diff.contains("secret-token") && !diff.contains("edit_token_hash"), "{diff}");
    let second = pages[2].to_string();
    let then = stdout(&env.run(&db, &["replay", "mia", "--as-of", &second]));
    assert!(then.contains("3 events, 2 page(s) at this slug"), "{then}");
    assert!(then.contains("the page then:") && then.contains(r#"title           "Second""#), "{then}");
    assert!(!then.contains("Second, edited"), "{then}");
    let erased = stdout(&env.run(&db, &["replay", "mia", "--as-of", "1"]));
    assert!(erased.contains(r#"what the page at "mia" said then is erased"#), "{erased}");
    let before = stdout(&env.run(&db, &["replay", "mia", "--as-of", "2000-01-01T00:00:00Z", "--json"]));
    let before: serde_json::Value = serde_json::from_str(&before).expect("JSON");
    assert_eq!(before, serde_json::json!({ "events": [], "page": null }));
    let now = stdout(&env.run(&db, &["replay", "mia", "--as-of", "2999-01-01T00:00:00Z", "--json"]));
    let now: serde_json::Value = serde_json::from_str(&now).expect("JSON");
    assert_eq!(now["page"]["title"], "Second, edited");
    assert_eq!(now["events"].as_array().map(Vec::len), Some(4));
    assert_eq!(
        now["events"][3]["changes"],
        serde_json::json!([{ "field": "title", "before": "Second", "after": "Second, edited" }])
    );
    let refused = env.run(&db, &["replay", "mia", "--as-of", "yesterday"]);
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("neither a stream sequence nor an RFC 3339 time")
    );
}

#[tokio::test]
async fn a_relative_database_path_resolves_from_the_working_directory() {
    let env = Env::start().await;
    let js = env.nats.jetstream().await;
    publish_events(&js, &StreamConfig::default(), Workload::new(300, 4)).await.expect("published");

    // As on a developer machine: DATABASE_PATH=data/valentine.db, run from the project folder.
    let relative = Path::new("data/valentine.db");
    let rebuilt = env.valentine(relative, &["rebuild"]).current_dir(env.dir.path()).output().expect("runs");
    let hash = stdout(&rebuilt).trim().to_owned();
    let link = env.dir.path().join(relative);
    let target = std::fs::read_link(&link).expect("a link");
    assert!(target.is_relative(), "the link is relative to its folder: {target:?}");
    assert_eq!(hash_of(&link), hash);

    let mut projector =
        env.valentine(relative, &["projector"]).current_dir(env.dir.path()).spawn().expect("starts");
    let deadline = tokio::time::Instant::now() + WAIT;
    while consumer_state(&js, "projector-main")
        .await
        .is_none_or(|(_, pending, in_flight)| pending + in_flight as u64 > 0)
    {
        assert!(projector.try_wait().expect("status").is_none(), "the projector exited");
        assert!(tokio::time::Instant::now() < deadline, "did not catch up");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let _ = Command::new("kill").args(["-TERM", &projector.id().to_string()]).status();
    assert!(projector.wait().expect("stopped").success());
    let verified =
        env.valentine(relative, &["rebuild", "--verify"]).current_dir(env.dir.path()).output().expect("runs");
    assert!(verified.status.success(), "{}", String::from_utf8_lossy(&verified.stderr));
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn valentine_api_takes_its_settings_from_the_environment_and_stops_on_sigterm() {
    let env = Env::start().await;
    let db = env.db("api.db");
    let mut projector = env.spawn_projector(&db);
    let port = free_port();
    let mut api = env
        .valentine(&db, &["api"])
        .env("BIND_ADDR", format!("127.0.0.1:{port}"))
        .env("FRONTEND_DOMAIN", "https://love.example")
        .env("RATE_LIMIT_PAGES_PER_HOUR", "1")
        .env("IP_HASH_SECRET", "s3cret")
        .env("SYNC_WAIT_MS", "10000")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("api starts");

    let http = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{port}");
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        if let Ok(r) = http.get(format!("{base}/ready")).send().await
            && r.status().is_success()
        {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "the API did not become ready");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let body = serde_json::json!({ "slug": "from-env", "title": "T", "message": "M" });
    let created = http.post(format!("{base}/api/pages")).json(&body).send().await.expect("answered");
    assert_eq!(created.status(), 201);
    let created: serde_json::Value = created.json().await.expect("json");
    assert_eq!(created["url"], "https://love.example/from-env");
    let body = serde_json::json!({ "slug": "second-one", "title": "T", "message": "M" });
    let limited = http.post(format!("{base}/api/pages")).json(&body).send().await.expect("answered");
    assert_eq!(limited.status(), 429, "RATE_LIMIT_PAGES_PER_HOUR=1 applies");

    for child in [&mut api, &mut projector] {
        let pid = nix::unistd::Pid::from_raw(i32::try_from(child.id()).expect("pid"));
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).expect("signal");
        let status = child.wait().expect("exits");
        assert!(status.success(), "{status}");
    }
}

#[test]
fn an_unusable_setting_is_refused_at_start_with_its_name() {
    for (name, value) in [
        ("BIND_ADDR", "nowhere"),
        ("TRUSTED_PROXIES", "10.0.0.0/99"),
        ("FRONTEND_DOMAIN", "valentine.example"),
        ("NATS_URL", "nats://127.0.0.1:4222,http://127.0.0.1:4223"),
        ("NATS_URL", " , "),
        ("PROJECTOR_HEALTH_ADDR", "9100"),
        ("PROJECTOR_BATCH_SIZE", "lots"),
    ] {
        let output = Command::new(env!("CARGO_BIN_EXE_valentine"))
            .arg("api")
            .env(name, value)
            .stdin(Stdio::null())
            .output()
            .expect("runs");
        assert_eq!(output.status.code(), Some(2), "{name}");
        assert!(String::from_utf8_lossy(&output.stderr).contains(name), "{name}");
    }
}

fn probe(url: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_valentine"))
        .args(["probe", url])
        .stdin(Stdio::null())
        .output()
        .expect("valentine probe runs")
}

#[tokio::test]
async fn probe_tells_a_ready_projector_from_one_that_is_gone() {
    let env = Env::start().await;
    let port = free_port();
    let mut projector = env
        .valentine(&env.db("probe.db"), &["projector"])
        .env("PROJECTOR_HEALTH_ADDR", format!("127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("projector starts");
    let ready = format!("http://127.0.0.1:{port}/ready");
    let deadline = tokio::time::Instant::now() + WAIT;
    let answer = loop {
        let output = probe(&ready);
        if output.status.success() {
            break String::from_utf8(output.stdout).expect("utf-8");
        }
        assert_eq!(output.status.code(), Some(1), "not ready yet is exit 1");
        assert!(projector.try_wait().expect("status").is_none(), "the projector exited");
        assert!(tokio::time::Instant::now() < deadline, "the projector did not become ready");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(answer.starts_with(r#"200 {"status":"ready","nats":"connected","read_model":"ok""#), "{answer}");
    let alive = probe(&format!("http://127.0.0.1:{port}/health"));
    assert!(alive.status.success());
    assert_eq!(String::from_utf8_lossy(&alive.stdout).trim(), r#"200 {"status":"healthy"}"#);
    let metrics = probe(&format!("http://127.0.0.1:{port}/metrics"));
    let text = String::from_utf8_lossy(&metrics.stdout);
    assert!(metrics.status.success() && text.contains("\nvalentine_projector_ready 1\n"), "{text}");
    let missing = probe(&format!("http://127.0.0.1:{port}/nowhere"));
    assert_eq!(missing.status.code(), Some(1), "any answer but 2xx fails");
    assert!(String::from_utf8_lossy(&missing.stdout).starts_with("404"));

    let pid = nix::unistd::Pid::from_raw(i32::try_from(projector.id()).expect("pid"));
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).expect("signal");
    assert!(projector.wait().expect("exits").success());
    let gone = probe(&ready);
    assert_eq!(gone.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&gone.stderr).contains(&ready), "names what it probed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sigterm_while_nats_has_not_answered_yet_stops_the_api_and_the_projector_cleanly() {
    // A NATS that takes connections and says nothing: starting waits on it.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("listens");
    let url = format!("nats://{}", silent.local_addr().expect("addr"));
    let dir = tempfile::tempdir().expect("dir");
    for command in ["api", "projector"] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_valentine"))
            .arg(command)
            .env("NATS_URL", &url)
            .env("REDIS_URL", "")
            .env("DATABASE_PATH", dir.path().join(format!("{command}.db")))
            .env("BIND_ADDR", format!("127.0.0.1:{}", free_port()))
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starts");
        let (held, _) =
            tokio::time::timeout(WAIT, silent.accept()).await.expect("it connects").expect("accepted");
        let pid = nix::unistd::Pid::from_raw(i32::try_from(child.id()).expect("pid"));
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).expect("signal");
        let status = tokio::task::spawn_blocking(move || child.wait().expect("exits")).await.expect("waited");
        assert!(status.success(), "{command}: {status}");
        drop(held);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn valentine_parked_lists_retries_and_skips_what_projectors_parked() {
    use valentine_projections::parked::{ParkedEvent, ParkedEvents, ParkedState};

    let env = Env::start().await;
    let db = env.db("parked.db");
    let js = env.nats.jetstream().await;
    let events = StreamConfig::events();
    valentine_eventstore::ensure_stream(&js, &events).await.expect("the event stream");
    let mut garbage = Vec::new();
    for key in ["first", "second"] {
        let subject = valentine_eventstore::subjects::aggregate(&events.subject_prefix, "page", key);
        let ack = js.publish(subject, "not a commit".into()).await.expect("sent");
        garbage.push(ack.await.expect("stored").sequence);
    }
    let (skipped, retried) = (garbage[0].to_string(), garbage[1].to_string());
    let mut projector = env
        .valentine(&db, &["projector"])
        .env("PROJECTOR_MAX_DELIVERIES", "2")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("projector starts");
    let parked = ParkedEvents::open(&js, &events).await.expect("the parked events");
    let state = |sequence: u64| {
        let parked = parked.clone();
        async move { parked.get("projector-main", sequence).await.expect("reads") }
    };
    valentine_testkit::eventually("both to be parked", WAIT, || async {
        state(garbage[0]).await.is_some() && state(garbage[1]).await.is_some()
    })
    .await;

    let listed: Vec<ParkedEvent> =
        serde_json::from_str(&stdout(&env.run(&db, &["parked", "--json"]))).expect("JSON");
    assert_eq!(listed.len(), 2);
    assert!(listed.iter().all(|e| e.state == ParkedState::Parked && e.attempts == 2), "{listed:?}");
    let table = stdout(&env.run(&db, &["parked"]));
    assert!(table.contains(&skipped) && table.contains("unreadable"), "{table}");

    let decide = |what: &str, sequence: &str, reason: &str| {
        env.valentine(&db, &["parked", what, sequence, "--reason", reason])
            .env("USER", "kim")
            .output()
            .expect("runs")
    };
    let output = decide("skip", &skipped, "not an event");
    assert!(output.status.success() && stdout(&output).contains("skipped"), "{output:?}");
    let record = state(garbage[0]).await.expect("kept");
    assert_eq!(
        (record.state, record.decided_by.as_deref(), record.decision_reason.as_deref()),
        (ParkedState::Skipped, Some("kim"), Some("not an event"))
    );
    let again = decide("skip", &skipped, "twice");
    assert!(!again.status.success(), "a decided event takes no second decision");
    assert!(String::from_utf8_lossy(&again.stderr).contains("not parked"), "{again:?}");

    // Still garbage: the retry parks it again, one attempt more.
    let output = decide("retry", &retried, "after the fix");
    assert!(output.status.success(), "{output:?}");
    valentine_testkit::eventually("the retry to be tried and parked again", WAIT, || async {
        state(garbage[1]).await.is_some_and(|r| r.state == ParkedState::Parked && r.attempts == 3)
    })
    .await;
    let _ = Command::new("kill").args(["-TERM", &projector.id().to_string()]).status();
    assert!(projector.wait().expect("stopped").success());
}
