//! NATS and Redis that require credentials, as docker-compose.yml runs them: nats-server with
//! the users of `nats/users.conf`, redis-server with a `requirepass`. The binary logs in with
//! NATS_USER, NATS_PASSWORD and REDIS_PASSWORD, and without them refuses to start, saying why
//! without repeating a password. With TLS (`nats/secured-tls.conf`, as deploy/tls/compose.yml
//! runs it), it trusts the authority of NATS_TLS_CA and presents NATS_TLS_CERT.

use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use tempfile::TempDir;
use valentine_testkit::nats::{API_USER, PROJECTOR_USER};
use valentine_testkit::{NatsServer, RedisServer, TestPki, free_port};

const PATIENCE: Duration = Duration::from_secs(60);
const API_PASSWORD: &str = "api-hunter2-secret";
const PROJECTOR_PASSWORD: &str = "projector-hunter2-secret";
const REDIS_PASSWORD: &str = "redis-hunter2-secret";

struct Servers {
    nats: NatsServer,
    redis: RedisServer,
    dir: TempDir,
}

impl Servers {
    async fn start() -> Self {
        Self::with(NatsServer::start_secured(API_PASSWORD, PROJECTOR_PASSWORD).await).await
    }

    async fn with(nats: NatsServer) -> Self {
        Self {
            nats,
            redis: RedisServer::start_with_password(REDIS_PASSWORD).await,
            dir: tempfile::tempdir().expect("a temp dir"),
        }
    }

    /// `valentine <args>` on these servers with no credentials; `logins` adds some.
    fn valentine(&self, args: &[&str], logins: &[(&str, &str)]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_valentine"));
        command
            .args(args)
            .env_clear()
            .env("NATS_URL", self.nats.url())
            .env("REDIS_URL", self.redis.url())
            .env("DATABASE_PATH", self.dir.path().join("read.db"))
            .env("RATE_LIMIT_PAGES_PER_HOUR", "0")
            .env("RUST_LOG", "info")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null());
        for (name, value) in logins {
            command.env(name, value);
        }
        command
    }

    fn spawn(&self, args: &[&str], logins: &[(&str, &str)], log: &str) -> Running {
        let log = std::fs::File::create(self.dir.path().join(log)).expect("a log file");
        let child = self
            .valentine(args, logins)
            .stdout(log.try_clone().expect("a log handle"))
            .stderr(log)
            .spawn()
            .expect("valentine starts");
        Running(child)
    }

    /// Runs `valentine <args>` until it exits, within [`PATIENCE`].
    fn run(&self, args: &[&str], logins: &[(&str, &str)]) -> Output {
        let mut child = self
            .valentine(args, logins)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("valentine starts");
        let deadline = std::time::Instant::now() + PATIENCE;
        while child.try_wait().expect("waits").is_none() {
            assert!(std::time::Instant::now() < deadline, "{args:?} did not exit");
            std::thread::sleep(Duration::from_millis(25));
        }
        child.wait_with_output().expect("its output")
    }
}

/// A process killed when the test ends.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn redis_login() -> (&'static str, &'static str) {
    ("REDIS_PASSWORD", REDIS_PASSWORD)
}

async fn eventually<F, Fut>(what: &str, check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    valentine_testkit::eventually(what, PATIENCE, check).await;
}

fn log_of(dir: &Path, name: &str) -> String {
    std::fs::read_to_string(dir.join(name)).unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_and_a_projector_logged_in_as_their_users_serve_a_create_and_its_read() {
    let servers = Servers::start().await;
    let _projector = servers.spawn(
        &["projector"],
        &[("NATS_USER", PROJECTOR_USER), ("NATS_PASSWORD", PROJECTOR_PASSWORD), redis_login()],
        "projector.log",
    );
    let database = servers.dir.path().join("read.db");
    eventually("the projector to create the read model", || async { database.exists() }).await;
    let port = free_port();
    let _api = servers.spawn(
        &["api"],
        &[
            ("NATS_USER", API_USER),
            ("NATS_PASSWORD", API_PASSWORD),
            redis_login(),
            ("BIND_ADDR", &format!("127.0.0.1:{port}")),
            // Page answers cached, so that reads use the password too.
            ("PAGE_CACHE", "true"),
        ],
        "api.log",
    );
    let http = reqwest::Client::new();
    let url = |path: &str| format!("http://127.0.0.1:{port}{path}");
    eventually("the API to be ready", || async {
        http.get(url("/ready")).send().await.is_ok_and(|r| r.status() == StatusCode::OK)
    })
    .await;

    let slug = "behind-a-password";
    let body = json!({"slug": slug, "title": "Behind a password", "message": "Only we know.", "template_id": "classic"});
    let created = http.post(url("/api/pages")).json(&body).send().await.expect("answered");
    assert_eq!(created.status(), StatusCode::CREATED, "{}", log_of(servers.dir.path(), "api.log"));
    let created: Value = created.json().await.expect("JSON");
    let created_token = created["edit_token"].as_str().expect("a token").to_owned();
    let read = http.get(url(&format!("/api/pages/{slug}"))).send().await.expect("answered");
    assert_eq!(read.status(), StatusCode::OK);
    let page: Value = read.json().await.expect("JSON");
    assert_eq!(page["title"], "Behind a password");

    // Reads go through the cache: Redis took the password. The projector deletes the answer
    // whenever the page changes (its first open, its view count), so a read is looked for
    // right after it is answered, until one is seen.
    let mut redis = servers.redis.client().get_multiplexed_async_connection().await.expect("redis");
    let key = valentine_projections::ReadModelSettings::default().cache_keys().page(slug);
    eventually("a read to leave the page's answer in Redis", || {
        let (http, mut redis, key, token) = (http.clone(), redis.clone(), key.clone(), created_token.clone());
        let read = url(&format!("/api/pages/{slug}"));
        async move {
            let answered = http.get(read).header("X-Edit-Token", token).send().await;
            if !answered.is_ok_and(|r| r.status() == StatusCode::OK) {
                return false;
            }
            redis::cmd("EXISTS").arg(&key).query_async::<bool>(&mut redis).await.expect("EXISTS")
        }
    })
    .await;
    // The password opens Valentine's keys only: nothing else, and no dangerous command.
    let flushed = redis::cmd("FLUSHALL").query_async::<()>(&mut redis).await;
    let elsewhere = redis::cmd("SET").arg("other:key").arg("1").query_async::<()>(&mut redis).await;
    for refused in [flushed, elsewhere] {
        assert!(refused.is_err_and(|e| e.code() == Some("NOPERM")), "Redis let the password do more");
    }
    // The operator commands log in as the projector.
    let projector_login =
        [("NATS_USER", PROJECTOR_USER), ("NATS_PASSWORD", PROJECTOR_PASSWORD), redis_login()];
    let status = servers.run(&["status", "--json"], &projector_login);
    assert!(status.status.success(), "{}", String::from_utf8_lossy(&status.stderr));

    // Deleting erases: the API may delete the erased messages and destroy their key.
    let token = created_token;
    let deleted = http
        .delete(url(&format!("/api/pages/{slug}")))
        .header("X-Edit-Token", &token)
        .send()
        .await
        .expect("answered");
    assert_eq!(deleted.status(), StatusCode::OK);
    eventually("the erasure to be carried out", || async {
        let js = servers.nats.jetstream().await;
        let events = js.get_stream("EVENTS").await.expect("readable");
        // The creation (and the read's first open, if it came first) is gone; the erasure,
        // the last message, stays.
        events.get_info().await.is_ok_and(|i| {
            i.state.messages == 1
                && i.state.first_sequence == i.state.last_sequence
                && i.state.last_sequence >= 2
        })
    })
    .await;
    assert!(!log_of(servers.dir.path(), "api.log").contains("erasure recorded; the projectors finish it"));

    // Neither user may purge the event stream, nor delete a view tally.
    eventually("the read's view tally", || async {
        let js = servers.nats.jetstream().await;
        js.get_stream("VIEWS").await.expect("readable").get_info().await.is_ok_and(|i| i.state.messages > 0)
    })
    .await;
    for (user, password) in [(API_USER, API_PASSWORD), (PROJECTOR_USER, PROJECTOR_PASSWORD)] {
        let client = async_nats::ConnectOptions::with_user_and_password(user.to_owned(), password.to_owned())
            .connect(servers.nats.url())
            .await
            .expect("logs in");
        let js = async_nats::jetstream::new(client);
        let mut events = js.get_stream("EVENTS").await.expect("readable");
        assert!(events.purge().await.is_err(), "{user} purged the stream");
        assert_eq!(events.info().await.expect("info").state.messages, 1, "{user}");
        let mut views = js.get_stream("VIEWS").await.expect("readable");
        let before = views.info().await.expect("info").state.clone();
        assert!(views.delete_message(before.first_sequence).await.is_err(), "{user} deleted a view tally");
        assert_eq!(views.info().await.expect("info").state.messages, before.messages, "{user}");
    }

    for log in ["api.log", "projector.log"] {
        let text = log_of(servers.dir.path(), log);
        assert!(!text.contains("hunter2"), "{log} shows a password:\n{text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_its_credentials_the_api_refuses_to_start_and_says_why_without_a_password() {
    let servers = Servers::start().await;
    let port = format!("127.0.0.1:{}", free_port());
    let bind = ("BIND_ADDR", port.as_str());
    let refusals = [
        ("no NATS user", vec![bind, redis_login()]),
        (
            "a wrong NATS password",
            vec![bind, ("NATS_USER", API_USER), ("NATS_PASSWORD", "wrong-hunter2"), redis_login()],
        ),
        (
            "another user's password",
            vec![bind, ("NATS_USER", API_USER), ("NATS_PASSWORD", PROJECTOR_PASSWORD)],
        ),
        ("no Redis password", vec![bind, ("NATS_USER", API_USER), ("NATS_PASSWORD", API_PASSWORD)]),
        (
            "a wrong Redis password",
            vec![
                bind,
                ("NATS_USER", API_USER),
                ("NATS_PASSWORD", API_PASSWORD),
                ("REDIS_PASSWORD", "wrong-hunter2"),
            ],
        ),
    ];
    for (case, logins) in refusals {
        let output = servers.run(&["api"], &logins);
        let said =
            format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
        assert!(!output.status.success(), "{case}: started:\n{said}");
        let why = if case.contains("Redis") { "Redis" } else { "authorization" };
        assert!(said.contains(why), "{case}: no clear reason:\n{said}");
        assert!(!said.contains("hunter2"), "{case}: a password is shown:\n{said}");
    }

    // Credentials in a URL are refused before anything is tried, without repeating them.
    let in_url = format!("nats://{API_USER}:{API_PASSWORD}@127.0.0.1:{}", servers.nats.port());
    let output = servers.run(&["status"], &[("NATS_URL", &in_url)]);
    let said = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{said}");
    assert!(said.contains("NATS_USER") && !said.contains("hunter2"), "{said}");
}

/// What `valentine <args>` printed, both streams, and whether it succeeded.
fn said(output: &Output) -> (bool, String) {
    let text =
        format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    (output.status.success(), text)
}

/// `first`, then `then`, as one list of settings.
fn joined<'a>(first: &[(&'a str, &'a str)], then: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    first.iter().chain(then).copied().collect()
}

fn path_of(path: &Path) -> String {
    path.display().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_tls_the_binary_trusts_the_authority_of_nats_tls_ca_and_is_refused_without_it() {
    let pki = TestPki::new();
    let servers =
        Servers::with(NatsServer::start_tls(API_PASSWORD, PROJECTOR_PASSWORD, &pki, false).await).await;
    let ca = path_of(&pki.ca());
    let login = [("NATS_USER", PROJECTOR_USER), ("NATS_PASSWORD", PROJECTOR_PASSWORD), redis_login()];

    let (ok, text) = said(&servers.run(&["status", "--json"], &joined(&login, &[("NATS_TLS_CA", &ca)])));
    assert!(ok, "status with NATS_TLS_CA:\n{text}");
    let tls_url = format!("tls://127.0.0.1:{}", servers.nats.port());
    let (ok, text) =
        said(&servers.run(&["status"], &joined(&login, &[("NATS_TLS_CA", &ca), ("NATS_URL", &tls_url)])));
    assert!(ok, "status at a tls:// URL:\n{text}");

    // Without the authority, the server's certificate is not trusted: the error names the
    // setting, whether the URL asks for TLS or the server does.
    for url in [servers.nats.url(), tls_url] {
        let (ok, text) = said(&servers.run(&["status"], &joined(&login, &[("NATS_URL", &url)])));
        assert!(!ok, "{url}: connected without NATS_TLS_CA:\n{text}");
        assert!(text.contains("NATS_TLS_CA") && text.contains("TLS"), "{url}: no clear reason:\n{text}");
        assert!(!text.contains("hunter2"), "{url}: a password is shown:\n{text}");
    }
    // A file that is not there stops the binary before it connects, naming the setting.
    let missing = path_of(&servers.dir.path().join("no-ca.pem"));
    let output = servers.run(&["status"], &joined(&login, &[("NATS_TLS_CA", &missing)]));
    let (_, text) = said(&output);
    assert_eq!(output.status.code(), Some(2), "{text}");
    assert!(text.contains("NATS_TLS_CA") && text.contains("no-ca.pem"), "{text}");

    // With a TLS setting the connection requires TLS: a server without it is refused, and
    // the password never leaves in the clear.
    let plain = Servers::start().await;
    let (ok, text) = said(&plain.run(&["status"], &joined(&login, &[("NATS_TLS_CA", &ca)])));
    assert!(!ok, "connected to a server without TLS:\n{text}");
    assert!(text.contains("NATS_TLS_CA") && !text.contains("hunter2"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_verifies_clients_lets_in_the_api_and_a_projector_with_their_certificate_only() {
    let pki = TestPki::new();
    let servers =
        Servers::with(NatsServer::start_tls(API_PASSWORD, PROJECTOR_PASSWORD, &pki, true).await).await;
    let (ca, cert, key) = (path_of(&pki.ca()), path_of(&pki.client_cert()), path_of(&pki.client_key()));
    let trust = [("NATS_TLS_CA", ca.as_str())];
    let mutual =
        [("NATS_TLS_CA", ca.as_str()), ("NATS_TLS_CERT", cert.as_str()), ("NATS_TLS_KEY", key.as_str())];

    let (ok, text) = said(&servers.run(
        &["status"],
        &joined(
            &[("NATS_USER", PROJECTOR_USER), ("NATS_PASSWORD", PROJECTOR_PASSWORD), redis_login()],
            &trust,
        ),
    ));
    assert!(!ok, "connected without a client certificate:\n{text}");
    assert!(text.contains("NATS_TLS_CERT") && !text.contains("hunter2"), "no clear reason:\n{text}");

    let projector_env = joined(
        &[("NATS_USER", PROJECTOR_USER), ("NATS_PASSWORD", PROJECTOR_PASSWORD), redis_login()],
        &mutual,
    );
    let _projector = servers.spawn(&["projector"], &projector_env, "projector.log");
    let database = servers.dir.path().join("read.db");
    eventually("the projector to create the read model", || async { database.exists() }).await;
    let port = free_port();
    let bind = format!("127.0.0.1:{port}");
    let mut api_env =
        joined(&[("NATS_USER", API_USER), ("NATS_PASSWORD", API_PASSWORD), redis_login()], &mutual);
    api_env.push(("BIND_ADDR", &bind));
    let _api = servers.spawn(&["api"], &api_env, "api.log");
    let http = reqwest::Client::new();
    let url = |path: &str| format!("http://127.0.0.1:{port}{path}");
    eventually("the API to be ready", || async {
        http.get(url("/ready")).send().await.is_ok_and(|r| r.status() == StatusCode::OK)
    })
    .await;
    let body =
        json!({"slug": "over-tls", "title": "Over TLS", "message": "Sealed.", "template_id": "classic"});
    let created = http.post(url("/api/pages")).json(&body).send().await.expect("answered");
    assert_eq!(created.status(), StatusCode::CREATED, "{}", log_of(servers.dir.path(), "api.log"));

    let (ok, text) = said(&servers.run(&["status"], &projector_env));
    assert!(ok, "status with the client certificate:\n{text}");
    for log in ["api.log", "projector.log"] {
        let text = log_of(servers.dir.path(), log);
        assert!(!text.contains("hunter2") && !text.contains("PRIVATE KEY"), "{log}:\n{text}");
    }
}
