//! A real `nats-server` with JetStream, per test.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use async_nats::jetstream;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use tempfile::TempDir;

use crate::tls::TestPki;
use crate::{repo_root, tool};

/// How long a server may take to accept clients with JetStream ready.
const START_TIMEOUT: Duration = Duration::from_secs(20);

/// A running `nats-server -js` on 127.0.0.1, stopped and cleaned up on drop.
#[derive(Debug)]
pub struct NatsServer {
    child: Option<Child>,
    port: u16,
    dir: TempDir,
    /// The configuration file, under the repository's `nats/`.
    config: &'static str,
    /// The server's environment: the users' passwords, when it has users.
    env: Vec<(&'static str, String)>,
    /// Who the harness's own connections log in as.
    login: Option<(String, String)>,
    /// The authority the harness's own connections trust, and their client certificate and
    /// key, when the server speaks TLS.
    tls: Option<[PathBuf; 3]>,
}

/// The users of `nats/users.conf`, as `nats/secured.conf` (docker-compose.yml) lets them in.
pub const API_USER: &str = "api";
/// The user of projectors and the operator commands in `nats/users.conf`.
pub const PROJECTOR_USER: &str = "projector";

impl NatsServer {
    /// Starts a server on a free port with an empty store.
    ///
    /// # Panics
    /// When nats-server cannot be started or does not become ready in time: a test cannot
    /// go on without it.
    pub async fn start() -> Self {
        Self::launched("nats-server.conf", Vec::new(), None, None).await
    }

    /// Starts a server as docker-compose.yml runs it: `nats/secured.conf`, whose users
    /// ([`API_USER`], [`PROJECTOR_USER`]) need these passwords. The harness's own
    /// connections ([`NatsServer::client`]) log in as the projector.
    ///
    /// # Panics
    /// As [`NatsServer::start`].
    pub async fn start_secured(api_password: &str, projector_password: &str) -> Self {
        let env = vec![
            ("NATS_API_PASSWORD", api_password.to_owned()),
            ("NATS_PROJECTOR_PASSWORD", projector_password.to_owned()),
        ];
        let login = Some((PROJECTOR_USER.to_owned(), projector_password.to_owned()));
        Self::launched("secured.conf", env, login, None).await
    }

    /// Starts a server as [`NatsServer::start_secured`] with TLS on its client port
    /// (`nats/secured-tls.conf`), its certificate signed by `pki`. With `verify_clients`,
    /// every client must also present a certificate `pki` signed (mutual TLS). The harness's
    /// own connections trust `pki` and present its client certificate.
    ///
    /// # Panics
    /// As [`NatsServer::start`].
    pub async fn start_tls(
        api_password: &str,
        projector_password: &str,
        pki: &TestPki,
        verify_clients: bool,
    ) -> Self {
        let path = |p: PathBuf| p.display().to_string();
        let env = vec![
            ("NATS_API_PASSWORD", api_password.to_owned()),
            ("NATS_PROJECTOR_PASSWORD", projector_password.to_owned()),
            ("NATS_SERVER_TLS_CERT", path(pki.server_cert())),
            ("NATS_SERVER_TLS_KEY", path(pki.server_key())),
            ("NATS_SERVER_TLS_CA", path(pki.ca())),
            ("NATS_SERVER_TLS_VERIFY", verify_clients.to_string()),
        ];
        let login = Some((PROJECTOR_USER.to_owned(), projector_password.to_owned()));
        let tls = Some([pki.ca(), pki.client_cert(), pki.client_key()]);
        Self::launched("secured-tls.conf", env, login, tls).await
    }

    async fn launched(
        config: &'static str,
        env: Vec<(&'static str, String)>,
        login: Option<(String, String)>,
        tls: Option<[PathBuf; 3]>,
    ) -> Self {
        let dir = tempfile::Builder::new().prefix("valentine-nats-").tempdir().expect("a temp dir");
        let mut server = Self { child: None, port: 0, dir, config, env, login, tls };
        server.launch(None).await;
        server
    }

    /// The client URL.
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// The client port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The JetStream store directory, kept across restarts.
    pub fn store_dir(&self) -> PathBuf {
        self.dir.path().join("jetstream")
    }

    /// A new client connection.
    ///
    /// # Panics
    /// When the server cannot be reached.
    pub async fn client(&self) -> async_nats::Client {
        self.connect().await.expect("connect to the test nats-server")
    }

    async fn connect(&self) -> Result<async_nats::Client, async_nats::ConnectError> {
        let mut options = match &self.login {
            Some((user, password)) => {
                async_nats::ConnectOptions::with_user_and_password(user.clone(), password.clone())
            }
            None => async_nats::ConnectOptions::new(),
        };
        if let Some([ca, cert, key]) = &self.tls {
            options =
                options.add_root_certificates(ca.clone()).add_client_certificate(cert.clone(), key.clone());
        }
        options.connect(self.url()).await
    }

    /// A JetStream context on a new connection.
    pub async fn jetstream(&self) -> jetstream::Context {
        jetstream::new(self.client().await)
    }

    /// Stops the server gracefully (SIGTERM) and waits for it to exit.
    pub fn stop(&mut self) {
        self.signal_and_wait(Signal::SIGTERM);
    }

    /// Kills the server abruptly (SIGKILL), as a crash would.
    pub fn kill(&mut self) {
        self.signal_and_wait(Signal::SIGKILL);
    }

    /// Starts the server again on the same port and store directory.
    ///
    /// # Panics
    /// As [`NatsServer::start`]; also if the server is still running.
    pub async fn restart(&mut self) {
        assert!(self.child.is_none(), "stop or kill the server before restarting it");
        self.launch(Some(self.port)).await;
    }

    fn signal_and_wait(&mut self, signal: Signal) {
        if let Some(mut child) = self.child.take() {
            let pid = Pid::from_raw(i32::try_from(child.id()).expect("a pid fits in i32"));
            let _ = kill(pid, signal);
            let _ = child.wait();
        }
    }

    async fn launch(&mut self, port: Option<u16>) {
        let ports_dir = self.dir.path().join("ports");
        std::fs::create_dir_all(&ports_dir).expect("a ports dir");
        let log = std::fs::File::create(self.dir.path().join("nats.log")).expect("a log file");
        let port_arg = port.map_or_else(|| "-1".to_owned(), |p| p.to_string());
        let child = Command::new(tool("nats-server", "NATS_SERVER_BIN"))
            .arg("-c")
            .arg(repo_root().join("nats").join(self.config))
            .envs(self.env.iter().map(|(name, value)| (name, value)))
            .args(["-a", "127.0.0.1", "-p", &port_arg, "-js", "-sd"])
            .arg(self.dir.path())
            .arg("--ports_file_dir")
            .arg(&ports_dir)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("a log handle"))
            .stderr(log)
            .spawn()
            .expect("nats-server starts (run scripts/bootstrap.sh to install it)");
        let pid = child.id();
        self.child = Some(child);
        self.port = wait_for_port(&ports_dir, pid, self).await;
        self.wait_for_jetstream().await;
    }

    async fn wait_for_jetstream(&self) {
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Ok(client) = self.connect().await
                && jetstream::new(client).query_account().await.is_ok()
            {
                return;
            }
            assert!(Instant::now() < deadline, "JetStream not ready in time; log:\n{}", self.log());
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// What the server has logged so far, for failure messages.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("nats.log")).unwrap_or_default()
    }
}

/// Reads the client port from the ports file the server writes once it listens.
async fn wait_for_port(ports_dir: &Path, pid: u32, server: &mut NatsServer) -> u16 {
    let file = ports_dir.join(format!("nats-server_{pid}.ports"));
    let deadline = Instant::now() + START_TIMEOUT;
    loop {
        if let Some(port) = std::fs::read_to_string(&file).ok().and_then(|text| client_port(&text)) {
            return port;
        }
        if let Some(Ok(Some(status))) = server.child.as_mut().map(Child::try_wait) {
            panic!("nats-server exited with {status}; log:\n{}", server.log());
        }
        assert!(Instant::now() < deadline, "nats-server did not listen in time; log:\n{}", server.log());
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn client_port(ports_json: &str) -> Option<u16> {
    let ports: serde_json::Value = serde_json::from_str(ports_json).ok()?;
    let url = ports.get("nats")?.get(0)?.as_str()?;
    url.rsplit(':').next()?.parse().ok()
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        self.signal_and_wait(Signal::SIGKILL);
    }
}
