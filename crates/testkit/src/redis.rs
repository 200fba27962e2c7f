//! A real `redis-server`, per test.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

/// How long a server may take to answer PING.
const START_TIMEOUT: Duration = Duration::from_secs(20);

/// What Redis's default user may do when it has a password, as docker-compose.yml sets it
/// (`scripts/check-compose.py` checks that the two agree): Valentine's keys only, no pub/sub
/// channels, and no dangerous command (no FLUSHALL, CONFIG, DEBUG, MODULE, KEYS...).
pub const DEFAULT_USER_RULES: &str = "~valentine:* resetchannels +@all -@dangerous";

/// A running `redis-server` on 127.0.0.1, stopped on drop.
#[derive(Debug)]
pub struct RedisServer {
    child: Option<Child>,
    port: u16,
    dir: TempDir,
    persistent: bool,
    /// The default user's password, if it needs one.
    password: Option<String>,
}

impl RedisServer {
    /// Starts a server on a free port, without persistence: it restarts empty.
    ///
    /// # Panics
    /// When redis-server cannot be started or does not answer in time.
    pub async fn start() -> Self {
        Self::launched(false, None).await
    }

    /// Starts a server on a free port that writes every change to its append-only file
    /// before answering, as a production Redis with `appendonly yes` does: it restarts with
    /// its data, even after SIGKILL.
    ///
    /// # Panics
    /// As [`RedisServer::start`].
    pub async fn start_persistent() -> Self {
        Self::launched(true, None).await
    }

    /// Starts a server on a free port, without persistence, whose default user requires
    /// `password` and may do what [`DEFAULT_USER_RULES`] allow, as docker-compose.yml runs
    /// Redis. [`RedisServer::url`] stays without it; [`RedisServer::client`] uses it.
    ///
    /// # Panics
    /// As [`RedisServer::start`].
    pub async fn start_with_password(password: &str) -> Self {
        Self::launched(false, Some(password.to_owned())).await
    }

    async fn launched(persistent: bool, password: Option<String>) -> Self {
        let dir = tempfile::Builder::new().prefix("valentine-redis-").tempdir().expect("a temp dir");
        let mut server = Self { child: None, port: 0, dir, persistent, password };
        server.launch().await;
        server
    }

    /// The client URL.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// A client for this server.
    ///
    /// # Panics
    /// When the URL is malformed, which it never is.
    pub fn client(&self) -> redis::Client {
        let url = match &self.password {
            Some(password) => format!("redis://:{password}@127.0.0.1:{}", self.port),
            None => self.url(),
        };
        redis::Client::open(url).expect("a redis URL")
    }

    /// Stops the server (SIGKILL); [`RedisServer::restart`] brings it back on the same port.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port: empty, or with its data if it is
    /// [persistent](RedisServer::start_persistent).
    pub async fn restart(&mut self) {
        assert!(self.child.is_none(), "stop the server before restarting it");
        self.launch().await;
    }

    async fn launch(&mut self) {
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            let port = if self.port == 0 { free_port() } else { self.port };
            let persistence: &[&str] = if self.persistent {
                &["--appendonly", "yes", "--appendfsync", "always"]
            } else {
                &["--appendonly", "no"]
            };
            let child = Command::new("redis-server")
                .args(["--bind", "127.0.0.1", "--port", &port.to_string(), "--save", ""])
                .args(persistence)
                .args(self.password.iter().flat_map(|p| default_user(p)))
                .arg("--dir")
                .arg(self.dir.path())
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("redis-server starts (run scripts/bootstrap.sh to install it)");
            self.child = Some(child);
            self.port = port;
            if self.answers(deadline).await {
                return;
            }
            // The port was taken between choosing and binding it: choose again.
            self.stop();
            self.port = 0;
            assert!(Instant::now() < deadline, "redis-server did not start in time");
        }
    }

    async fn answers(&mut self, deadline: Instant) -> bool {
        let client = self.client();
        while Instant::now() < deadline {
            if let Some(Ok(Some(_))) = self.child.as_mut().map(Child::try_wait) {
                return false;
            }
            if let Ok(mut conn) = client.get_multiplexed_async_connection().await
                && redis::cmd("PING").query_async::<String>(&mut conn).await.is_ok()
            {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        false
    }
}

/// The arguments that set the default user's password and rules.
fn default_user(password: &str) -> Vec<String> {
    ["--user", "default", "on", &format!(">{password}")]
        .into_iter()
        .chain(DEFAULT_USER_RULES.split_whitespace())
        .map(str::to_owned)
        .collect()
}

/// A loopback port free at the moment of asking (someone may take it before it is bound).
///
/// # Panics
/// When the system has no free port.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("a free port")
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}
