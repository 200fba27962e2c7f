//! `spawn_app()`: the API on port 0 against real nats-server, redis-server and SQLite, with
//! a projector running, all private to one test; `spawn_app_on_redis_cluster()` the same on a
//! three-master Redis Cluster.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use reqwest::{Response, StatusCode};
use secrecy::SecretString;
use serde_json::{Value, json};
use tempfile::TempDir;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use valentine_api::{ApiConfig, Application};
use valentine_eventstore::NatsSettings;
use valentine_projections::ReadModelSettings;
use valentine_projector::{Projector, ReadSideConfig};
use valentine_testkit::{NatsServer, RedisCluster, RedisServer, init_tracing};

/// Longest any condition is waited for.
pub(crate) const PATIENCE: Duration = Duration::from_secs(30);

/// The Redis a test's API and projector use.
enum TestRedis {
    Server(RedisServer),
    Cluster(RedisCluster),
}

pub(crate) struct TestApp {
    pub nats: NatsServer,
    redis: TestRedis,
    /// Holds the read model's folder until the test ends.
    _dir: TempDir,
    pub config: ApiConfig,
    pub address: SocketAddr,
    pub http: reqwest::Client,
    api: Option<(CancellationToken, JoinHandle<()>)>,
    projector: Option<(CancellationToken, JoinHandle<()>)>,
}

/// The API with default settings (limits off) and a projector.
pub(crate) async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// The API with settings adjusted by `adjust`, and a projector.
pub(crate) async fn spawn_app_with(adjust: impl FnOnce(&mut ApiConfig)) -> TestApp {
    let mut app = spawn_servers(adjust).await;
    app.start_projector().await;
    app.start_api().await;
    app
}

/// The API on `cluster` (`REDIS_CLUSTER=true`), with settings adjusted by `adjust`, and a
/// projector.
pub(crate) async fn spawn_app_on_redis_cluster(
    cluster: RedisCluster,
    adjust: impl FnOnce(&mut ApiConfig),
) -> TestApp {
    let mut app = spawn_servers_on(TestRedis::Cluster(cluster), adjust).await;
    app.start_projector().await;
    app.start_api().await;
    app
}

/// The API without a projector: creates are stored but never projected until
/// [`TestApp::start_projector`].
pub(crate) async fn spawn_app_without_projector(adjust: impl FnOnce(&mut ApiConfig)) -> TestApp {
    let mut app = spawn_servers(adjust).await;
    app.start_api().await;
    app
}

/// Fresh servers and a fresh read-model folder, with nothing started on them yet.
pub(crate) async fn spawn_servers(adjust: impl FnOnce(&mut ApiConfig)) -> TestApp {
    spawn_servers_on(TestRedis::Server(RedisServer::start().await), adjust).await
}

/// [`spawn_servers`] with `redis`.
async fn spawn_servers_on(redis: TestRedis, adjust: impl FnOnce(&mut ApiConfig)) -> TestApp {
    init_tracing();
    let nats = NatsServer::start().await;
    let (redis_url, redis_cluster) = match &redis {
        TestRedis::Server(server) => (server.url(), false),
        TestRedis::Cluster(cluster) => (cluster.urls(), true),
    };
    let dir = tempfile::tempdir().expect("a temp dir");
    let mut config = ApiConfig {
        nats: NatsSettings::at(nats.url()),
        redis_url: Some(redis_url),
        redis_cluster,
        read_model: ReadModelSettings {
            database_path: dir.path().join("read.db"),
            ..ReadModelSettings::default()
        },
        bind_addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        allowed_origins: vec!["https://app.example".to_owned()],
        frontend_domain: "https://valentine.example".to_owned(),
        pages_per_hour: 0,
        slug_checks_per_minute: 0,
        edits_per_minute: 0,
        page_edits_per_hour: 0,
        job_polls_per_minute: 0,
        reads_per_minute: 0,
        answers_per_minute: 0,
        photos_per_hour: 0,
        pin_guesses_per_hour: 0,
        page_pin_guesses_per_hour: 0,
        page_pin_guesses_per_month: 0,
        sync_wait: Duration::from_secs(10),
        ip_hash_secret: Some(SecretString::from("test secret")),
        ..ApiConfig::default()
    };
    adjust(&mut config);
    let http = reqwest::Client::builder().pool_max_idle_per_host(64).build().expect("an HTTP client");
    TestApp {
        nats,
        redis,
        _dir: dir,
        config,
        address: SocketAddr::from(([127, 0, 0, 1], 0)),
        http,
        api: None,
        projector: None,
    }
}

impl TestApp {
    /// The Redis server.
    ///
    /// # Panics
    /// When the app runs on a Redis Cluster.
    pub(crate) fn redis(&self) -> &RedisServer {
        match &self.redis {
            TestRedis::Server(server) => server,
            TestRedis::Cluster(_) => panic!("the app runs on a Redis Cluster"),
        }
    }

    /// [`TestApp::redis`], to stop or restart.
    pub(crate) fn redis_mut(&mut self) -> &mut RedisServer {
        match &mut self.redis {
            TestRedis::Server(server) => server,
            TestRedis::Cluster(_) => panic!("the app runs on a Redis Cluster"),
        }
    }

    /// The Redis Cluster.
    ///
    /// # Panics
    /// When the app runs on one Redis server.
    pub(crate) fn redis_cluster(&self) -> &RedisCluster {
        match &self.redis {
            TestRedis::Cluster(cluster) => cluster,
            TestRedis::Server(_) => panic!("the app runs on one Redis server"),
        }
    }

    /// [`TestApp::redis_cluster`], to stop or restart nodes.
    pub(crate) fn redis_cluster_mut(&mut self) -> &mut RedisCluster {
        match &mut self.redis {
            TestRedis::Cluster(cluster) => cluster,
            TestRedis::Server(_) => panic!("the app runs on one Redis server"),
        }
    }

    /// Starts the API (again, after [`TestApp::stop_api`]) on a new port.
    pub(crate) async fn start_api(&mut self) {
        self.serve(Application::build(self.config.clone()).await.expect("the API starts"));
    }

    /// Runs a built API until [`TestApp::stop_api`].
    fn serve(&mut self, app: Application) {
        self.address = app.local_addr().expect("an address");
        let token = CancellationToken::new();
        let stop = token.clone();
        let task = tokio::spawn(async move { app.run(stop).await.expect("the API serves") });
        self.api = Some((token, task));
    }

    /// Runs a connected projector until [`TestApp::stop_projector`].
    fn project(&mut self, projector: Projector) {
        let token = CancellationToken::new();
        let stop = token.clone();
        let task = tokio::spawn(async move { projector.run(stop).await.expect("the projector runs") });
        self.projector = Some((token, task));
    }

    /// Stops the API gracefully.
    pub(crate) async fn stop_api(&mut self) {
        if let Some((token, task)) = self.api.take() {
            token.cancel();
            task.await.expect("the API stopped cleanly");
        }
    }

    /// A projector of the API's read model, on the same servers.
    pub(crate) fn projector_config(&self) -> ReadSideConfig {
        ReadSideConfig {
            nats: self.config.nats.clone(),
            redis_url: self.config.redis_url.clone(),
            redis_cluster: self.config.redis_cluster,
            redis_password: self.config.redis_password.clone(),
            read_model: self.config.read_model.clone(),
            events: self.config.events.clone(),
            tallies: self.config.tallies.clone(),
            batch_size: 64,
            ..ReadSideConfig::default()
        }
    }

    /// Builds the API and a projector at the same moment, as `docker compose up` starts
    /// them, then runs both.
    pub(crate) async fn start_api_and_projector_together(&mut self) {
        let (app, projector) = tokio::join!(
            Application::build(self.config.clone()),
            Projector::connect(self.projector_config())
        );
        self.serve(app.expect("the API starts"));
        self.project(projector.expect("the projector starts"));
    }

    pub(crate) async fn start_projector(&mut self) {
        self.project(Projector::connect(self.projector_config()).await.expect("the projector starts"));
    }

    /// Starts a projector whose settings `adjust` changes.
    pub(crate) async fn start_projector_with(&mut self, adjust: impl FnOnce(&mut ReadSideConfig)) {
        let mut config = self.projector_config();
        adjust(&mut config);
        self.project(Projector::connect(config).await.expect("the projector starts"));
    }

    /// Stops the projector gracefully: what is appended from now on stays unprojected.
    pub(crate) async fn stop_projector(&mut self) {
        if let Some((token, task)) = self.projector.take() {
            token.cancel();
            task.await.expect("the projector stopped cleanly");
        }
    }

    pub(crate) fn database(&self) -> PathBuf {
        self.config.read_model.database_path.clone()
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    pub(crate) async fn get(&self, path: &str) -> Response {
        self.http.get(self.url(path)).send().await.expect("GET answered")
    }

    pub(crate) async fn post_json(&self, path: &str, body: &Value) -> Response {
        self.http.post(self.url(path)).json(body).send().await.expect("POST answered")
    }

    /// `POST /api/pages` with a raw body and content type.
    pub(crate) async fn post_raw(&self, body: impl Into<reqwest::Body>, content_type: &str) -> Response {
        self.http
            .post(self.url("/api/pages"))
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .expect("POST answered")
    }

    pub(crate) async fn patch(&self, slug: &str, token: Option<&str>, body: &Value) -> Response {
        let mut request = self.http.patch(self.url(&format!("/api/pages/{slug}"))).json(body);
        if let Some(token) = token {
            request = request.header("x-edit-token", token);
        }
        request.send().await.expect("PATCH answered")
    }

    pub(crate) async fn delete(&self, slug: &str, token: Option<&str>) -> Response {
        let mut request = self.http.delete(self.url(&format!("/api/pages/{slug}")));
        if let Some(token) = token {
            request = request.header("x-edit-token", token);
        }
        request.send().await.expect("DELETE answered")
    }

    pub(crate) async fn history(&self, slug: &str, token: Option<&str>) -> Response {
        self.authors_read(slug, "history", token).await
    }

    pub(crate) async fn export(&self, slug: &str, token: Option<&str>) -> Response {
        self.authors_read(slug, "export", token).await
    }

    /// `GET /api/pages/{slug}/{what}`, with the edit token if given.
    async fn authors_read(&self, slug: &str, what: &str, token: Option<&str>) -> Response {
        let mut request = self.http.get(self.url(&format!("/api/pages/{slug}/{what}")));
        if let Some(token) = token {
            request = request.header("x-edit-token", token);
        }
        request.send().await.expect("GET answered")
    }

    /// Creates a page and expects `201`; returns the answer.
    pub(crate) async fn create(&self, slug: &str) -> Value {
        let response = self.post_json("/api/pages", &page_body(slug)).await;
        let status = response.status();
        let body: Value = response.json().await.expect("JSON");
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body
    }

    /// Reads the page `slug` as a visitor (its first open) and waits until the open is
    /// projected, so that no later read of it records one (and no projection of an open
    /// empties the page's cached answers afterwards).
    pub(crate) async fn opened(&self, slug: &str, token: &str) {
        assert_eq!(self.get(&format!("/api/pages/{slug}")).await.status(), StatusCode::OK);
        self.eventually("the page's first open to be projected", || async {
            let response = self.authors_read(slug, "insights", Some(token)).await;
            let seen: Value = response.json().await.unwrap_or_default();
            seen["first_opened_at"].is_string()
        })
        .await;
    }

    /// Waits until `check` holds, polling; panics after [`PATIENCE`].
    pub(crate) async fn eventually<F, Fut>(&self, what: &str, check: F)
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = bool>,
    {
        valentine_testkit::eventually(what, PATIENCE, check).await;
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        for (token, task) in [self.api.take(), self.projector.take()].into_iter().flatten() {
            token.cancel();
            task.abort();
        }
    }
}

/// A valid create body.
pub(crate) fn page_body(slug: &str) -> Value {
    json!({
        "slug": slug,
        "title": "Be mine",
        "message": "Every day with you is a gift.",
        "sender_name": "Sam",
        "recipient_name": "Alex",
        "template_id": "envelope",
    })
}

/// A slug no other test uses.
pub(crate) fn unique_slug(prefix: &str) -> String {
    format!("{prefix}-{}", ulid::Ulid::new().to_string().to_ascii_lowercase())
}

/// Status and JSON body of a response.
pub(crate) async fn answer(response: Response) -> (StatusCode, Value) {
    let status = response.status();
    let text = response.text().await.expect("a body");
    let body = serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON ({status}): {text:?}"));
    (status, body)
}

/// Asserts the error shape: `{"detail": <non-empty string>, "code": <string>}`.
pub(crate) fn assert_error(status: StatusCode, body: &Value, expected: StatusCode) {
    assert_eq!(status, expected, "{body}");
    assert!(body["detail"].as_str().is_some_and(|d| !d.is_empty()), "no detail in {body}");
    assert!(body["code"].is_string(), "no code in {body}");
}
