//! Several nodes on one NATS and one Redis, each an API with its own read model (and its own
//! projector when started): write answers carry `Valentine-Position`, reads that send it back
//! as `Valentine-Min-Position` wait for their node's read model, and no node serves another's
//! cache.

use std::time::Duration;

use reqwest::{Response, StatusCode};
use serde_json::{Value, json};
use tempfile::TempDir;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use valentine_api::{ApiConfig, Application};
use valentine_projections::{ReadModelId, ReadModelSettings};
use valentine_projector::Projector;

use crate::app::{TestApp, answer, assert_error, page_body, spawn_app, unique_slug};

/// Another node beside `TestApp`'s: an API on the same servers with a read model of its own.
struct Node {
    _dir: TempDir,
    config: ApiConfig,
    address: std::net::SocketAddr,
    http: reqwest::Client,
    api: (CancellationToken, JoinHandle<()>),
    projector: Option<(CancellationToken, JoinHandle<()>)>,
}

impl Node {
    /// Starts the API of read model `id` (no projector yet), waiting at most `sync_wait`.
    async fn start(app: &TestApp, id: &str, sync_wait: Duration) -> Self {
        let dir = tempfile::tempdir().expect("a temp dir");
        let config = ApiConfig {
            read_model: ReadModelSettings {
                database_path: dir.path().join("read.db"),
                id: ReadModelId::new(id).expect("an id"),
            },
            sync_wait,
            ..app.config.clone()
        };
        let built = Application::build(config.clone()).await.expect("the API starts");
        let address = built.local_addr().expect("an address");
        let token = CancellationToken::new();
        let stop = token.clone();
        let task = tokio::spawn(async move { built.run(stop).await.expect("the API serves") });
        Self { _dir: dir, config, address, http: reqwest::Client::new(), api: (token, task), projector: None }
    }

    async fn start_projector(&mut self, app: &TestApp) {
        let config = valentine_projector::ReadSideConfig {
            read_model: self.config.read_model.clone(),
            ..app.projector_config()
        };
        let projector = Projector::connect(config).await.expect("the projector starts");
        let token = CancellationToken::new();
        let stop = token.clone();
        let task = tokio::spawn(async move { projector.run(stop).await.expect("the projector runs") });
        self.projector = Some((token, task));
    }

    async fn stop_projector(&mut self) {
        if let Some((token, task)) = self.projector.take() {
            token.cancel();
            task.await.expect("the projector stopped cleanly");
        }
    }

    async fn get(&self, path: &str, min_position: Option<u64>) -> Response {
        let mut request = self.http.get(format!("http://{}{path}", self.address));
        if let Some(position) = min_position {
            request = request.header("valentine-min-position", position);
        }
        request.send().await.expect("GET answered")
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.api.0.cancel();
        self.api.1.abort();
        if let Some((token, task)) = self.projector.take() {
            token.cancel();
            task.abort();
        }
    }
}

/// The `Valentine-Position` of a write answer.
pub(crate) fn position_of(response: &Response) -> u64 {
    response
        .headers()
        .get("valentine-position")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no Valentine-Position in {:?}", response.headers()))
}

pub(crate) async fn get_with(app: &TestApp, path: &str, min_position: u64) -> Response {
    app.http
        .get(app.url(path))
        .header("valentine-min-position", min_position)
        .send()
        .await
        .expect("GET answered")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_write_answer_carries_the_stream_position_of_its_event() {
    let app = spawn_app().await;
    let slug = unique_slug("positions");
    let created = app.post_json("/api/pages", &page_body(&slug)).await;
    let at_create = position_of(&created);
    let (status, body) = answer(created).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(body["page"]["id"], at_create, "a page's id is the position of its creation");
    let token = body["edit_token"].as_str().expect("a token").to_owned();

    let changed = app.patch(&slug, Some(&token), &json!({ "title": "Changed" })).await;
    let at_change = position_of(&changed);
    assert_eq!(changed.status(), StatusCode::OK);
    assert!(at_change > at_create);
    // Nothing changes: the answer still names where the page stands.
    let unchanged = app.patch(&slug, Some(&token), &json!({ "title": "Changed" })).await;
    assert_eq!((unchanged.status(), position_of(&unchanged)), (StatusCode::OK, at_change));

    let deleted = app.delete(&slug, Some(&token)).await;
    assert_eq!(deleted.status(), StatusCode::OK);
    assert!(position_of(&deleted) > at_change);

    // Reads that name a position the read model has reached answer at once, like any other.
    let (status, body) = answer(get_with(&app, &format!("/api/slugs/check/{slug}"), at_change).await).await;
    assert_eq!((status, &body["available"]), (StatusCode::OK, &json!(true)));
    // A position past the end of the stream names no write: nothing to wait for.
    let started = std::time::Instant::now();
    let (status, body) =
        answer(get_with(&app, &format!("/api/pages/{slug}"), i64::MAX.unsigned_abs()).await).await;
    assert_error(status, &body, StatusCode::NOT_FOUND);
    assert!(started.elapsed() < app.config.sync_wait, "answered without waiting");
    // ... and from the cache, like a read naming none: a made-up position costs no more
    // (as many Redis commands as a plain read that hits the cache, no refill).
    let live = unique_slug("cached");
    let created = app.create(&live).await;
    app.opened(&live, created["edit_token"].as_str().expect("a token")).await;
    assert_eq!(app.get(&format!("/api/pages/{live}")).await.status(), StatusCode::OK);
    let mut redis = app.redis().client().get_multiplexed_async_connection().await.expect("redis");
    let mut commands = async || {
        let info: String = redis::cmd("INFO").arg("stats").query_async(&mut redis).await.expect("INFO");
        let line = info.lines().find_map(|l| l.strip_prefix("total_commands_processed:"));
        line.expect("a count").trim().parse::<u64>().expect("a number")
    };
    let start = commands().await;
    assert_eq!(app.get(&format!("/api/pages/{live}")).await.status(), StatusCode::OK);
    let plain = commands().await - start;
    let start = commands().await;
    let far = get_with(&app, &format!("/api/pages/{live}"), i64::MAX.unsigned_abs()).await;
    assert_eq!(far.status(), StatusCode::OK);
    assert_eq!(commands().await - start, plain, "a position past the end refilled the cache");
    for bad in ["soon", "-1", "1.5", "99999999999999999999999"] {
        let response = app
            .http
            .get(app.url(&format!("/api/pages/{slug}")))
            .header("valentine-min-position", bad)
            .send()
            .await;
        let (status, body) = answer(response.expect("answered")).await;
        assert_error(status, &body, StatusCode::BAD_REQUEST);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_on_one_node_is_read_on_another_once_that_node_has_it_and_never_before() {
    let app = spawn_app().await;
    let mut other = Node::start(&app, "other", Duration::from_millis(400)).await;
    let slug = unique_slug("across");
    let created = app.post_json("/api/pages", &page_body(&slug)).await;
    let at_create = position_of(&created);
    let (_, body) = answer(created).await;
    let token = body["edit_token"].as_str().expect("a token").to_owned();
    let page = format!("/api/pages/{slug}");

    // The other node has no projector yet: it cannot know the page, and says so instead of
    // answering 404.
    let (status, body) = answer(other.get(&page, Some(at_create)).await).await;
    assert_error(status, &body, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body["code"], "behind");
    let behind = other.get(&page, Some(at_create)).await;
    assert_eq!(behind.headers().get("retry-after").and_then(|v| v.to_str().ok()), Some("1"));
    assert_eq!(
        other.get(&page, None).await.status(),
        StatusCode::NOT_FOUND,
        "without a position: as it stands"
    );
    let (status, body) = answer(other.get(&format!("/api/slugs/check/{slug}"), Some(at_create)).await).await;
    assert_eq!((status, &body["code"]), (StatusCode::SERVICE_UNAVAILABLE, &json!("behind")));

    other.start_projector(&app).await;
    let (status, body) = answer(other.get(&page, Some(at_create)).await).await;
    assert_eq!((status, &body["title"]), (StatusCode::OK, &json!("Be mine")));

    // Every change is seen on the other node by a read that names it, never the page before.
    for round in 0..20 {
        let title = format!("Round {round}");
        let changed = app.patch(&slug, Some(&token), &json!({ "title": title })).await;
        assert_eq!(changed.status(), StatusCode::OK);
        let at = position_of(&changed);
        let (status, body) = answer(other.get(&page, Some(at)).await).await;
        assert_eq!((status, &body["title"]), (StatusCode::OK, &json!(title)), "round {round}");
        let (status, body) = answer(other.get(&format!("{page}/history"), Some(at)).await).await;
        assert_error(status, &body, StatusCode::UNAUTHORIZED);
    }
    let deleted = app.delete(&slug, Some(&token)).await;
    let at = position_of(&deleted);
    assert_eq!(other.get(&page, Some(at)).await.status(), StatusCode::NOT_FOUND);
    let (status, body) = answer(other.get(&format!("/api/slugs/check/{slug}"), Some(at)).await).await;
    assert_eq!((status, &body["available"]), (StatusCode::OK, &json!(true)));
    other.stop_projector().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_that_lags_fills_only_its_own_cache() {
    let app = crate::app::spawn_app_with(|c| c.page_cache = true).await;
    let mut other = Node::start(&app, "lagging", Duration::from_secs(10)).await;
    other.start_projector(&app).await;
    let slug = unique_slug("cached");
    let created = app.post_json("/api/pages", &page_body(&slug)).await;
    let at_create = position_of(&created);
    let (_, body) = answer(created).await;
    let token = body["edit_token"].as_str().expect("a token").to_owned();
    let page = format!("/api/pages/{slug}");
    assert_eq!(other.get(&page, Some(at_create)).await.status(), StatusCode::OK);

    // The other node stops projecting, then the page changes: it keeps answering the old
    // page from its own cache and read model, while this node answers the new one.
    other.stop_projector().await;
    let changed = app.patch(&slug, Some(&token), &json!({ "title": "New" })).await;
    assert_eq!(changed.status(), StatusCode::OK);
    for _ in 0..3 {
        let (_, stale) = answer(other.get(&page, None).await).await;
        assert_eq!(stale["title"], "Be mine");
        let (_, fresh) = answer(app.get(&page).await).await;
        assert_eq!(fresh["title"], "New", "a lagging node's answer reached this node's cache");
    }
    let mut redis = app.redis().client().get_multiplexed_async_connection().await.expect("redis");
    let key = |settings: &ReadModelSettings| settings.cache_keys().page(&slug);
    let ours: Option<String> =
        redis::cmd("GET").arg(key(&app.config.read_model)).query_async(&mut redis).await.expect("get");
    let theirs: Option<String> =
        redis::cmd("GET").arg(key(&other.config.read_model)).query_async(&mut redis).await.expect("get");
    assert!(ours.is_some_and(|v| v.contains("New")), "this node's cache holds the new page");
    assert!(theirs.is_some_and(|v| v.contains("Be mine")), "the lagging node's holds its own");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cached_answer_older_than_the_position_a_read_names_is_not_served() {
    // Between a projector's commit and its deleting the answers the commit made stale, the
    // read model has reached a position its cache does not reflect yet. An entry records the
    // position it reflects; a read naming a later one reads the read model instead.
    let app = crate::app::spawn_app_with(|c| c.page_cache = true).await;
    let slug = unique_slug("as-of");
    let created = app.post_json("/api/pages", &page_body(&slug)).await;
    let at = position_of(&created);
    let token =
        created.json::<Value>().await.expect("JSON")["edit_token"].as_str().expect("a token").to_owned();
    app.opened(&slug, &token).await;
    let page = format!("/api/pages/{slug}");
    let (_, fresh) = answer(app.get(&page).await).await;
    let mut redis = app.redis().client().get_multiplexed_async_connection().await.expect("redis");
    let keys = app.config.read_model.cache_keys();
    let stale = format!("{} 0 1 - 0 0\n{}", fresh["id"], json!({ "id": fresh["id"], "title": "Stale" }));
    redis::cmd("SET").arg(keys.page(&slug)).arg(&stale).query_async::<()>(&mut redis).await.expect("set");
    redis::cmd("SET")
        .arg(keys.slug_check(&slug))
        .arg("0 0")
        .query_async::<()>(&mut redis)
        .await
        .expect("set");

    let (_, body) = answer(app.get(&page).await).await;
    assert_eq!(body["title"], "Stale", "without a position, the cache answers");
    let (_, body) = answer(get_with(&app, &page, at).await).await;
    assert_eq!(body["title"], "Be mine", "a position the entry is older than reads the read model");
    let (_, body) = answer(app.get(&page).await).await;
    assert_eq!(body["title"], "Be mine", "and refreshes the entry");

    // Slug checks are never cached: an entry an older version left is not read.
    let check = format!("/api/slugs/check/{slug}");
    let (_, body) = answer(app.get(&check).await).await;
    assert_eq!(body["available"], false, "checks read the read model");
    let (_, body) = answer(get_with(&app, &check, at).await).await;
    assert_eq!(body["available"], false);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_page_cache_every_read_is_the_read_models_within_its_budget() {
    let app = crate::app::spawn_app_with(|c| {
        c.page_cache = false;
        c.reads_per_minute = 4;
    })
    .await;
    let slug = unique_slug("uncached");
    let created = app.post_json("/api/pages", &page_body(&slug)).await;
    let token =
        created.json::<Value>().await.expect("JSON")["edit_token"].as_str().expect("a token").to_owned();
    let page = format!("/api/pages/{slug}");
    let (_, body) = answer(app.get(&page).await).await;
    assert_eq!(body["title"], "Be mine");
    let changed = app.patch(&slug, Some(&token), &json!({ "title": "Anew" })).await;
    let at = position_of(&changed);
    let (_, body) = answer(get_with(&app, &page, at).await).await;
    assert_eq!(body["title"], "Anew");
    let (_, body) = answer(app.get(&page).await).await;
    assert_eq!(body["title"], "Anew");

    let mut redis = app.redis().client().get_multiplexed_async_connection().await.expect("redis");
    let keys = app.config.read_model.cache_keys();
    let cached: Option<String> =
        redis::cmd("GET").arg(keys.page(&slug)).query_async(&mut redis).await.expect("get");
    assert_eq!(cached, None, "no answer is kept in Redis");
    let (status, body) = answer(app.get(&page).await).await;
    assert_eq!((status, &body["title"]), (StatusCode::OK, &json!("Anew")), "the fourth read");
    let (status, body) = answer(app.get(&page).await).await;
    assert_error(status, &body, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_over_its_budget_is_refused_before_it_waits_for_a_position() {
    let app = crate::app::spawn_app_without_projector(|c| {
        c.reads_per_minute = 1;
        c.sync_wait = Duration::from_secs(1);
    })
    .await;
    let slug = unique_slug("budget");
    let queued = app.post_json("/api/pages", &page_body(&slug)).await;
    assert_eq!(queued.status(), StatusCode::ACCEPTED, "nothing projects here");
    let at = position_of(&queued);
    let page = format!("/api/pages/{slug}");
    let (status, body) = answer(get_with(&app, &page, at).await).await;
    assert_eq!((status, &body["code"]), (StatusCode::SERVICE_UNAVAILABLE, &json!("behind")));
    let started = std::time::Instant::now();
    let (status, _) = answer(get_with(&app, &page, at).await).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert!(started.elapsed() < app.config.sync_wait, "refused without waiting");
}
