//! A real three-master Redis Cluster on loopback ports, per test.
//!
//! Each master is its own `redis-server` in cluster mode with a client port and a cluster bus
//! port (both free loopback ports), its own directory and cluster configuration file, and no
//! persistence. The 16384 hash slots are split into three equal ranges, node `i` serving the
//! `i`th ([`RedisCluster::slots_of`]); the nodes are introduced with `CLUSTER MEET`, and the
//! cluster is ready once every node reports `cluster_state:ok` with every slot served and
//! knows the other two. A node can be stopped and restarted on its configuration.

use std::fmt::Write as _;
use std::ops::Range;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use redis::cluster::ClusterClient;
use tempfile::TempDir;

use crate::cluster::free_ports;

/// Masters in the cluster.
pub const MASTERS: usize = 3;

/// Hash slots of a Redis Cluster.
const SLOTS: u16 = 16_384;

/// How long the cluster may take to agree that every slot is served.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// Start attempts: a free port can be taken by someone else before a node binds it.
const START_ATTEMPTS: usize = 3;

/// One master of a [`RedisCluster`].
#[derive(Debug)]
struct Node {
    port: u16,
    bus_port: u16,
    dir: PathBuf,
    child: Option<Child>,
}

impl Node {
    fn launch(&mut self, password: Option<&str>) {
        let log = std::fs::File::create(self.dir.join("redis.log")).expect("a log file");
        let child = Command::new("redis-server")
            .args(["--bind", "127.0.0.1", "--port", &self.port.to_string()])
            .args(["--cluster-enabled", "yes", "--cluster-port", &self.bus_port.to_string()])
            .args(["--cluster-node-timeout", "5000", "--save", "", "--appendonly", "no"])
            .args(password.iter().flat_map(|p| ["--requirepass", p, "--masterauth", p]))
            .arg("--cluster-config-file")
            .arg(self.dir.join("nodes.conf"))
            .arg("--dir")
            .arg(&self.dir)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("a log handle"))
            .stderr(log)
            .spawn()
            .expect("redis-server starts (run scripts/bootstrap.sh to install it)");
        self.child = Some(child);
    }

    fn exited(&mut self) -> bool {
        matches!(self.child.as_mut().map(Child::try_wait), Some(Ok(Some(_))))
    }

    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("redis.log")).unwrap_or_default()
    }
}

/// Three `redis-server` masters forming one Redis Cluster, stopped and cleaned up on drop.
/// Nodes are numbered 0, 1, 2.
#[derive(Debug)]
pub struct RedisCluster {
    nodes: Vec<Node>,
    dir: TempDir,
    /// What every node's `requirepass` (and `masterauth`) is set to, if anything.
    password: Option<String>,
}

impl RedisCluster {
    /// Starts three masters without a password and waits until they serve every slot.
    ///
    /// # Panics
    /// When the cluster does not form in time: a test cannot go on without it.
    pub async fn start() -> Self {
        Self::launched(None).await
    }

    /// Starts three masters that require `password` (their `requirepass`). [`Self::urls`]
    /// stay without it; [`Self::client`] and [`Self::node_client`] use it.
    ///
    /// # Panics
    /// As [`RedisCluster::start`].
    pub async fn start_with_password(password: &str) -> Self {
        Self::launched(Some(password.to_owned())).await
    }

    async fn launched(password: Option<String>) -> Self {
        let dir = tempfile::Builder::new().prefix("valentine-redis-cluster-").tempdir().expect("a temp dir");
        let mut cluster = Self { nodes: Vec::new(), dir, password };
        for attempt in 1..=START_ATTEMPTS {
            cluster.configure(attempt);
            for node in &mut cluster.nodes {
                node.launch(cluster.password.as_deref());
            }
            match cluster.form().await {
                Ok(()) => return cluster,
                Err(why) if attempt < START_ATTEMPTS && cluster.nodes.iter_mut().any(Node::exited) => {
                    // Most likely a port was taken between choosing and binding it.
                    eprintln!("the Redis Cluster did not start ({why}); trying again with other ports");
                    cluster.nodes.iter_mut().for_each(Node::kill);
                }
                Err(why) => panic!("the Redis Cluster did not form: {why}\n{}", cluster.logs()),
            }
        }
        unreachable!("the last attempt either forms the cluster or panics")
    }

    /// Fresh ports and directories for every node, under `attempt-<n>/node-<i>/`.
    fn configure(&mut self, attempt: usize) {
        let ports = free_ports(MASTERS * 2);
        self.nodes = (0..MASTERS)
            .map(|i| {
                let dir = self.dir.path().join(format!("attempt-{attempt}/node-{i}"));
                std::fs::create_dir_all(&dir).expect("a node dir");
                Node { port: ports[i * 2], bus_port: ports[i * 2 + 1], dir, child: None }
            })
            .collect();
    }

    /// Gives each node its slots, introduces them to each other and waits until every node
    /// says the cluster is whole.
    async fn form(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + START_TIMEOUT;
        let mut connections = Vec::with_capacity(MASTERS);
        for i in 0..MASTERS {
            connections.push(self.wait_until_answering(i, deadline).await?);
        }
        for (i, connection) in connections.iter_mut().enumerate() {
            let mut add = redis::cmd("CLUSTER");
            add.arg("ADDSLOTS").arg(Self::slots_of(i).collect::<Vec<_>>());
            add.query_async::<()>(connection).await.map_err(|e| format!("node {i}: ADDSLOTS: {e}"))?;
        }
        for node in &self.nodes[1..] {
            redis::cmd("CLUSTER")
                .arg("MEET")
                .arg("127.0.0.1")
                .arg(node.port)
                .arg(node.bus_port)
                .query_async::<()>(&mut connections[0])
                .await
                .map_err(|e| format!("MEET {}: {e}", node.port))?;
        }
        self.whole_by(deadline).await
    }

    /// Waits until every node says the cluster is whole: `cluster_state:ok`, every slot
    /// served, every node known.
    ///
    /// # Panics
    /// When that does not happen in time, or a node is stopped.
    pub async fn wait_until_whole(&mut self) {
        if let Err(why) = self.whole_by(Instant::now() + START_TIMEOUT).await {
            panic!("the Redis Cluster is not whole: {why}\n{}", self.logs());
        }
    }

    async fn whole_by(&mut self, deadline: Instant) -> Result<(), String> {
        loop {
            let why = match self.whole().await {
                Ok(()) => return Ok(()),
                Err(why) => why,
            };
            if Instant::now() >= deadline || self.nodes.iter_mut().any(Node::exited) {
                return Err(why);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn whole(&self) -> Result<(), String> {
        for i in 0..MASTERS {
            let mut connection = self
                .node_client(i)
                .get_multiplexed_async_connection()
                .await
                .map_err(|e| format!("node {i}: {e}"))?;
            let info: String = redis::cmd("CLUSTER")
                .arg("INFO")
                .query_async(&mut connection)
                .await
                .map_err(|e| format!("node {i}: CLUSTER INFO: {e}"))?;
            let says = |line: &str| info.lines().any(|l| l.trim() == line);
            if !(says("cluster_state:ok")
                && says(&format!("cluster_slots_ok:{SLOTS}"))
                && says(&format!("cluster_known_nodes:{MASTERS}")))
            {
                return Err(format!("node {i} says {}", info.lines().take(7).collect::<Vec<_>>().join(", ")));
            }
        }
        Ok(())
    }

    /// Stops node `i` (SIGKILL); its slots go unserved and, once the other nodes notice, the
    /// cluster refuses every command until it is back ([`RedisCluster::restart`]).
    pub fn stop(&mut self, i: usize) {
        self.nodes[i].kill();
    }

    /// Starts node `i` again on its ports and cluster configuration file (so with its slots,
    /// but empty), and waits until it answers. [`RedisCluster::wait_until_whole`] waits for
    /// the cluster.
    ///
    /// # Panics
    /// When the node is running, or does not answer in time.
    pub async fn restart(&mut self, i: usize) {
        assert!(self.nodes[i].child.is_none(), "stop the node before restarting it");
        let password = self.password.clone();
        self.nodes[i].launch(password.as_deref());
        if let Err(why) = self.wait_until_answering(i, Instant::now() + START_TIMEOUT).await {
            panic!("node {i} did not come back: {why}\n{}", self.logs());
        }
    }

    /// A connection to node `i` once it answers PING.
    async fn wait_until_answering(
        &mut self,
        i: usize,
        deadline: Instant,
    ) -> Result<redis::aio::MultiplexedConnection, String> {
        let client = self.node_client(i);
        loop {
            if self.nodes[i].exited() {
                return Err(format!("node {i} exited"));
            }
            if let Ok(mut connection) = client.get_multiplexed_async_connection().await
                && redis::cmd("PING").query_async::<String>(&mut connection).await.is_ok()
            {
                return Ok(connection);
            }
            if Instant::now() >= deadline {
                return Err(format!("node {i} did not answer PING"));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The hash slots node `i` serves.
    pub fn slots_of(i: usize) -> Range<u16> {
        let share = |i: usize| u16::try_from(usize::from(SLOTS) * i / MASTERS).expect("a slot number");
        share(i)..share(i + 1)
    }

    /// The client URL of node `i`.
    pub fn url(&self, i: usize) -> String {
        format!("redis://127.0.0.1:{}", self.nodes[i].port)
    }

    /// Every node's client URL, comma separated, as `REDIS_URL` takes them (with
    /// `REDIS_CLUSTER=true`).
    pub fn urls(&self) -> String {
        (0..MASTERS).map(|i| self.url(i)).collect::<Vec<_>>().join(",")
    }

    /// A cluster client, which routes each command to the node serving its keys.
    ///
    /// # Panics
    /// When the URLs are malformed, which they never are.
    pub fn client(&self) -> ClusterClient {
        let builder = ClusterClient::builder((0..MASTERS).map(|i| self.url(i)));
        let builder = match &self.password {
            Some(password) => builder.password(password.clone()),
            None => builder,
        };
        builder.build().expect("a cluster client")
    }

    /// A plain client of node `i` alone: it answers for its own slots and redirects the rest.
    ///
    /// # Panics
    /// When the URL is malformed, which it never is.
    pub fn node_client(&self, i: usize) -> redis::Client {
        let port = self.nodes[i].port;
        let url = match &self.password {
            Some(password) => format!("redis://:{password}@127.0.0.1:{port}"),
            None => format!("redis://127.0.0.1:{port}"),
        };
        redis::Client::open(url).expect("a redis URL")
    }

    /// The node serving `key`, by the slot the cluster itself computes for it
    /// (`CLUSTER KEYSLOT`).
    ///
    /// # Panics
    /// When node 0 does not answer.
    pub async fn node_of(&self, key: &str) -> usize {
        let mut connection =
            self.node_client(0).get_multiplexed_async_connection().await.expect("node 0 answers");
        let slot: u16 =
            redis::cmd("CLUSTER").arg("KEYSLOT").arg(key).query_async(&mut connection).await.expect("a slot");
        (0..MASTERS).find(|&i| Self::slots_of(i).contains(&slot)).expect("every slot has a node")
    }

    /// What every node has logged so far, for failure messages.
    pub fn logs(&self) -> String {
        let mut out = String::new();
        for (i, node) in self.nodes.iter().enumerate() {
            let _ = writeln!(out, "--- redis node {i} ---\n{}", node.log());
        }
        out
    }
}

impl Drop for RedisCluster {
    fn drop(&mut self) {
        self.nodes.iter_mut().for_each(Node::kill);
    }
}
