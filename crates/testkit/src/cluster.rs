//! A real three-node JetStream cluster on loopback ports, per test.
//!
//! Each node is its own `nats-server` process with a client port, a cluster (route) port and
//! a monitoring port, all free loopback ports, its own store directory and a `server_name`.
//! The configuration files are generated into the cluster's temp dir from the same settings
//! as `deploy/nats-cluster/*.conf`, with loopback addresses instead of host names.

use std::fmt::Write as _;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use async_nats::jetstream;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use tempfile::TempDir;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::tool;

/// Nodes in the cluster: the smallest that keeps a quorum with one node down.
pub const NODES: usize = 3;

/// How long the cluster may take to elect a meta leader with JetStream ready on every node.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// Start attempts: a free port can be taken by someone else before a node binds it.
const START_ATTEMPTS: usize = 3;

/// One node of a [`NatsCluster`].
#[derive(Debug)]
struct Node {
    name: String,
    client_port: u16,
    cluster_port: u16,
    http_port: u16,
    dir: PathBuf,
    child: Option<Child>,
}

impl Node {
    fn config_file(&self) -> PathBuf {
        self.dir.join("nats-server.conf")
    }

    fn log_file(&self) -> PathBuf {
        self.dir.join("nats.log")
    }

    fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.client_port)
    }

    fn launch(&mut self) {
        let log = std::fs::File::create(self.log_file()).expect("a log file");
        let child = Command::new(tool("nats-server", "NATS_SERVER_BIN"))
            .arg("-c")
            .arg(self.config_file())
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("a log handle"))
            .stderr(log)
            .spawn()
            .expect("nats-server starts (run scripts/bootstrap.sh to install it)");
        self.child = Some(child);
    }

    fn signal_and_wait(&mut self, signal: Signal) {
        if let Some(mut child) = self.child.take() {
            let pid = Pid::from_raw(i32::try_from(child.id()).expect("a pid fits in i32"));
            let _ = kill(pid, signal);
            let _ = child.wait();
        }
    }

    fn exited(&mut self) -> bool {
        matches!(self.child.as_mut().map(Child::try_wait), Some(Ok(Some(_))))
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.log_file()).unwrap_or_default()
    }
}

/// Three `nats-server` processes routed to each other with JetStream, stopped and cleaned up
/// on drop. Nodes are numbered 0, 1, 2.
#[derive(Debug)]
pub struct NatsCluster {
    nodes: Vec<Node>,
    dir: TempDir,
}

impl NatsCluster {
    /// Starts three nodes and waits until they have elected a meta leader and every node
    /// answers JetStream requests.
    ///
    /// # Panics
    /// When the cluster does not form in time: a test cannot go on without it.
    pub async fn start() -> Self {
        let dir = tempfile::Builder::new().prefix("valentine-nats-cluster-").tempdir().expect("a temp dir");
        let mut cluster = Self { nodes: Vec::new(), dir };
        let mut attempt = 0;
        loop {
            attempt += 1;
            cluster.configure(attempt);
            for node in &mut cluster.nodes {
                node.launch();
            }
            match cluster.wait_until_formed(START_TIMEOUT).await {
                Ok(()) => {
                    cluster.wait_until_placing().await;
                    return cluster;
                }
                Err(why) if attempt < START_ATTEMPTS && cluster.nodes.iter_mut().any(Node::exited) => {
                    // Most likely a port was taken between choosing and binding it.
                    eprintln!("the cluster did not start ({why}); trying again with other ports");
                    for node in &mut cluster.nodes {
                        node.signal_and_wait(Signal::SIGKILL);
                    }
                }
                Err(why) => panic!("the cluster did not form: {why}\n{}", cluster.logs()),
            }
        }
    }

    /// Writes each node's configuration with fresh ports, into `attempt-<n>/node-<i>/`.
    fn configure(&mut self, attempt: usize) {
        let ports = free_ports(NODES * 3);
        self.nodes = (0..NODES)
            .map(|i| {
                let dir = self.dir.path().join(format!("attempt-{attempt}/node-{}", i + 1));
                std::fs::create_dir_all(dir.join("jetstream")).expect("a node dir");
                Node {
                    name: format!("valentine-{}", i + 1),
                    client_port: ports[i * 3],
                    cluster_port: ports[i * 3 + 1],
                    http_port: ports[i * 3 + 2],
                    dir,
                    child: None,
                }
            })
            .collect();
        let routes: Vec<String> =
            self.nodes.iter().map(|n| format!("nats-route://127.0.0.1:{}", n.cluster_port)).collect();
        for node in &self.nodes {
            std::fs::write(node.config_file(), node_config(node, &routes)).expect("a config file");
        }
    }

    /// The client URL of node `i`.
    pub fn url(&self, i: usize) -> String {
        self.nodes[i].url()
    }

    /// Every node's client URL, comma separated, as `NATS_URL` takes them.
    pub fn urls(&self) -> String {
        self.nodes.iter().map(Node::url).collect::<Vec<_>>().join(",")
    }

    /// The `server_name` of node `i`.
    pub fn name(&self, i: usize) -> &str {
        &self.nodes[i].name
    }

    /// The node with this `server_name`.
    pub fn index_of(&self, server_name: &str) -> Option<usize> {
        self.nodes.iter().position(|n| n.name == server_name)
    }

    /// Whether node `i` is running.
    pub fn is_running(&self, i: usize) -> bool {
        self.nodes[i].child.is_some()
    }

    /// A new client connection to node `i`.
    ///
    /// # Panics
    /// When the node cannot be reached.
    pub async fn client(&self, i: usize) -> async_nats::Client {
        async_nats::connect(self.url(i)).await.expect("connect to a cluster node")
    }

    /// A JetStream context on a new connection to the first running node.
    ///
    /// # Panics
    /// When no node is running or reachable.
    pub async fn jetstream(&self) -> jetstream::Context {
        let i = (0..NODES).find(|&i| self.is_running(i)).expect("a running node");
        jetstream::new(self.client(i).await)
    }

    /// The node leading `stream`'s replicas, asked of any running node; `None` while there is
    /// none (e.g. during an election) or the stream does not exist.
    pub async fn stream_leader(&self, stream: &str) -> Option<usize> {
        for i in (0..NODES).filter(|&i| self.is_running(i)) {
            let Ok(client) = async_nats::ConnectOptions::new()
                .connection_timeout(Duration::from_secs(2))
                .connect(self.url(i))
                .await
            else {
                continue;
            };
            let js = jetstream::new(client);
            let Ok(Ok(mut handle)) =
                tokio::time::timeout(Duration::from_secs(2), js.get_stream(stream)).await
            else {
                continue;
            };
            if let Ok(Ok(info)) = tokio::time::timeout(Duration::from_secs(2), handle.info()).await {
                return info.cluster.as_ref()?.leader.as_deref().and_then(|name| self.index_of(name));
            }
        }
        None
    }

    /// Waits until `stream` has a leader and a current replica on every other node (all must
    /// be running); returns the leader.
    ///
    /// # Panics
    /// When that does not happen within a minute.
    pub async fn wait_until_replicated(&self, stream: &str) -> usize {
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Some(leader) = self.replicated(stream).await {
                return leader;
            }
            assert!(Instant::now() < deadline, "{stream} is not fully replicated in time\n{}", self.logs());
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn replicated(&self, stream: &str) -> Option<usize> {
        let js = jetstream::new(
            async_nats::ConnectOptions::new()
                .connection_timeout(Duration::from_secs(2))
                .connect(self.nodes.iter().filter(|n| n.child.is_some()).map(Node::url).collect::<Vec<_>>())
                .await
                .ok()?,
        );
        let mut handle = js.get_stream(stream).await.ok()?;
        let info = handle.info().await.ok()?;
        let cluster = info.cluster.as_ref()?;
        let leader = self.index_of(cluster.leader.as_deref()?)?;
        // Current and with nothing left to catch up: a follower that has just restarted reports
        // itself current a moment before it has applied everything, and readers it answers
        // (direct gets) would see an older stream.
        let current = cluster
            .replicas
            .iter()
            .filter(|peer| peer.current && !peer.offline && peer.lag.unwrap_or(0) == 0)
            .count();
        (current == NODES - 1).then_some(leader)
    }

    /// The meta leader's node, as the running nodes report it (all must agree).
    pub async fn meta_leader(&self) -> Option<usize> {
        let mut leader = None;
        for i in (0..NODES).filter(|&i| self.is_running(i)) {
            let jsz = monitor(self.nodes[i].http_port, "/jsz").await?;
            let name = jsz.get("meta_cluster")?.get("leader")?.as_str()?.to_owned();
            let index = self.index_of(&name)?;
            if leader.is_some_and(|l| l != index) {
                return None;
            }
            leader = Some(index);
        }
        leader
    }

    /// Kills node `i` abruptly (SIGKILL), as a crash would.
    pub fn kill(&mut self, i: usize) {
        self.nodes[i].signal_and_wait(Signal::SIGKILL);
    }

    /// Stops node `i` (SIGTERM). It tries to hand over the leaderships it holds on its way
    /// out, but does not wait to see them taken: followers may still wait out an election.
    pub fn stop(&mut self, i: usize) {
        self.nodes[i].signal_and_wait(Signal::SIGTERM);
    }

    /// Puts node `i` into lame duck mode (SIGUSR2), as before planned maintenance: it accepts
    /// no new clients and hands its leaderships to the other nodes, then keeps running until
    /// its grace period is over. Stop or kill it afterwards.
    pub fn lame_duck(&mut self, i: usize) {
        if let Some(child) = &self.nodes[i].child {
            let pid = Pid::from_raw(i32::try_from(child.id()).expect("a pid fits in i32"));
            let _ = kill(pid, Signal::SIGUSR2);
        }
    }

    /// Starts node `i` again on its ports and store, and waits until the cluster agrees on a
    /// meta leader with every node answering.
    ///
    /// # Panics
    /// When the node is running, or the cluster does not form again in time.
    pub async fn restart(&mut self, i: usize) {
        assert!(!self.is_running(i), "stop or kill the node before restarting it");
        self.nodes[i].launch();
        if let Err(why) = self.wait_until_formed(START_TIMEOUT).await {
            panic!("the cluster did not form again: {why}\n{}", self.logs());
        }
    }

    /// Waits until the running nodes agree on a meta leader and each answers a JetStream
    /// account request.
    async fn wait_until_formed(&mut self, within: Duration) -> Result<(), String> {
        let deadline = Instant::now() + within;
        loop {
            if let Some(i) = self.nodes.iter_mut().position(Node::exited) {
                return Err(format!("{} exited", self.nodes[i].name));
            }
            let why = match self.check_formed().await {
                Ok(()) => return Ok(()),
                Err(why) => why,
            };
            if Instant::now() >= deadline {
                return Err(why);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn check_formed(&self) -> Result<(), String> {
        if self.meta_leader().await.is_none() {
            return Err("no meta leader agreed on".to_owned());
        }
        for node in self.nodes.iter().filter(|n| n.child.is_some()) {
            let client = async_nats::ConnectOptions::new()
                .connection_timeout(Duration::from_secs(2))
                .connect(node.url())
                .await
                .map_err(|e| format!("{}: {e}", node.name))?;
            jetstream::new(client).query_account().await.map_err(|e| format!("{}: {e}", node.name))?;
        }
        Ok(())
    }

    /// Waits until the cluster places a three-replica stream: a freshly elected meta leader
    /// may still refuse or time out on the first ones.
    async fn wait_until_placing(&self) {
        const PROBE: &str = "TESTKIT_PLACEMENT";
        let deadline = Instant::now() + START_TIMEOUT;
        let js = self.jetstream().await;
        let config = jetstream::stream::Config {
            name: PROBE.to_owned(),
            subjects: vec!["testkit.placement".to_owned()],
            num_replicas: NODES,
            ..Default::default()
        };
        while let Err(e) = js.get_or_create_stream(config.clone()).await {
            assert!(
                Instant::now() < deadline,
                "no three-replica stream placed in time: {e}\n{}",
                self.logs()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        self.wait_until_replicated(PROBE).await;
        js.delete_stream(PROBE).await.expect("the probe stream deleted");
    }

    /// What every node has logged so far, for failure messages.
    pub fn logs(&self) -> String {
        let mut out = String::new();
        for node in &self.nodes {
            let _ = writeln!(out, "--- {} ---\n{}", node.name, node.log());
        }
        out
    }
}

impl Drop for NatsCluster {
    fn drop(&mut self) {
        for node in &mut self.nodes {
            node.signal_and_wait(Signal::SIGKILL);
        }
    }
}

/// A node's configuration: `deploy/nats-cluster/node.conf` on loopback ports with a store
/// of its own, plus a monitoring port the harness reads the meta leader from.
fn node_config(node: &Node, routes: &[String]) -> String {
    let store = node.dir.join("jetstream");
    format!(
        r#"server_name: {name}
listen: 127.0.0.1:{client}
http: 127.0.0.1:{http}
max_payload: 1MB

jetstream {{
  store_dir: "{store}"
  max_memory_store: 256MB
  max_file_store: 2GB
}}

cluster {{
  name: valentine
  listen: 127.0.0.1:{cluster}
  routes: [
    {routes}
  ]
}}
"#,
        name = node.name,
        client = node.client_port,
        http = node.http_port,
        store = store.display(),
        cluster = node.cluster_port,
        routes = routes.join("\n    "),
    )
}

/// `n` distinct free loopback ports (all bound at once, so none repeats).
pub(crate) fn free_ports(n: usize) -> Vec<u16> {
    let listeners: Vec<TcpListener> =
        (0..n).map(|_| TcpListener::bind("127.0.0.1:0").expect("a free port")).collect();
    listeners.iter().map(|l| l.local_addr().expect("an address").port()).collect()
}

/// A monitoring endpoint's JSON, over plain HTTP/1.0; `None` when it does not answer.
async fn monitor(port: u16, path: &str) -> Option<serde_json::Value> {
    let exchange = async {
        let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.ok()?;
        let request = format!("GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n");
        stream.write_all(request.as_bytes()).await.ok()?;
        let mut response = Vec::new();
        stream.read_to_end(&mut response).await.ok()?;
        let text = String::from_utf8(response).ok()?;
        let (head, body) = text.split_once("\r\n\r\n")?;
        (head.split_whitespace().nth(1) == Some("200")).then_some(())?;
        serde_json::from_str(body).ok()
    };
    tokio::time::timeout(Duration::from_secs(2), exchange).await.ok().flatten()
}
