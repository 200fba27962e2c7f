//! How the API and the projectors reach Redis: one server, or a Redis Cluster.
//!
//! `REDIS_URL` names the server. With `REDIS_CLUSTER=true` it names nodes of a Redis Cluster
//! instead, comma separated: one is enough (the others are learned from it), more let a start
//! succeed while one is down. The password Redis requires (`REDIS_PASSWORD`) is never part of
//! a URL, so URLs can be shown.
//!
//! Either way the result is a [`RedisConnection`] that reconnects on its own; on a cluster it
//! sends each command to the master serving its keys. So every command, script call or
//! pipeline must keep to one hash slot: the keys Valentine uses together share a hash tag
//! (`cache_keys`, one key per rate-limit call), and calls about different slots go through
//! [`RedisConnection::send_all`].

use std::fmt;
use std::time::Duration;

use futures::future::join_all;
use redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig};
use redis::cluster::{ClusterClient, ClusterConfig};
use redis::cluster_async::ClusterConnection;
use redis::{
    Cmd, ErrorKind, IntoConnectionInfo, Pipeline, RedisError, RedisFuture, RedisResult, ServerErrorKind,
    Value,
};
use valentine_eventstore::Password;

/// How long the start-up login check waits for Redis before going on without it.
pub const LOGIN_CHECK_TIMEOUT: Duration = Duration::from_secs(2);

/// Retries of a command whose connection failed, before the caller hears of it (the API's
/// breaker and the projector's retries take over from there).
const RETRIES: usize = 1;

/// How long a connection waits for Redis.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// For a connection to be made.
    pub connect: Duration,
    /// For an answer to a command.
    pub response: Duration,
    /// Longest pause between reconnection attempts; `None` keeps the client's default.
    pub max_reconnect_delay: Option<Duration>,
}

/// Where Redis is: one server, or the nodes of a Redis Cluster.
#[derive(Debug, Clone)]
pub enum RedisTarget {
    /// One server (`REDIS_URL`).
    Server(redis::Client),
    /// A Redis Cluster (`REDIS_CLUSTER=true`), known by the nodes `REDIS_URL` names.
    Cluster {
        /// Routes commands to the masters serving their slots (boxed: it is large).
        client: Box<ClusterClient>,
        /// Each named node on its own, for the login check.
        nodes: Vec<redis::Client>,
    },
}

impl RedisTarget {
    /// The Redis `url` names: one server, or with `cluster` nodes of a Redis Cluster (comma
    /// separated); logging in with `password` if one is given (as Redis's default user, the
    /// one `requirepass` sets).
    ///
    /// # Errors
    /// When a URL is malformed, or several are given for one server.
    pub fn new(url: &str, cluster: bool, password: Option<&Password>) -> RedisResult<Self> {
        let urls: Vec<&str> = url.split(',').map(str::trim).filter(|u| !u.is_empty()).collect();
        if !cluster {
            let [url] = urls[..] else {
                return Err(RedisError::from((
                    ErrorKind::InvalidClientConfig,
                    "one Redis server takes one URL; several name a Redis Cluster (REDIS_CLUSTER=true)",
                )));
            };
            return server(url, password).map(Self::Server);
        }
        let nodes = urls.iter().map(|u| server(u, password)).collect::<RedisResult<Vec<_>>>()?;
        let mut builder = ClusterClient::builder(nodes.iter().map(|n| n.get_connection_info().clone()))
            .retries(u32::try_from(RETRIES).unwrap_or(1))
            .min_retry_wait(10)
            .max_retry_wait(100);
        if let Some(password) = password {
            builder = builder.password(password.expose());
        }
        Ok(Self::Cluster { client: Box::new(builder.build()?), nodes })
    }

    /// The Redis the settings name (`REDIS_URL`, `REDIS_CLUSTER`, `REDIS_PASSWORD`), if any:
    /// `None` when `url` is (Redis is off).
    ///
    /// # Errors
    /// As [`RedisTarget::new`].
    pub fn from_settings(
        url: Option<&str>,
        cluster: bool,
        password: Option<&Password>,
    ) -> RedisResult<Option<Self>> {
        url.map(|url| Self::new(url, cluster, password)).transpose()
    }

    /// Whether this is a Redis Cluster.
    pub fn is_cluster(&self) -> bool {
        matches!(self, Self::Cluster { .. })
    }

    /// A connection made now.
    ///
    /// # Errors
    /// When Redis cannot be reached (on a cluster: none of the nodes), or refuses.
    pub async fn connect(&self, timeouts: Timeouts) -> RedisResult<RedisConnection> {
        match self {
            Self::Server(client) => client
                .get_connection_manager_with_config(manager_config(timeouts))
                .await
                .map(RedisConnection::Server),
            Self::Cluster { client, .. } => client
                .get_async_connection_with_config(cluster_config(timeouts))
                .await
                .map(RedisConnection::Cluster),
        }
    }

    /// A connection made in the background: commands fail until Redis is reached.
    ///
    /// # Errors
    /// When the settings cannot make a connection at all.
    pub fn connect_lazily(&self, timeouts: Timeouts) -> RedisResult<RedisConnection> {
        match self {
            Self::Server(client) => {
                ConnectionManager::new_lazy_with_config(client.clone(), manager_config(timeouts))
                    .map(RedisConnection::Server)
            }
            Self::Cluster { client, .. } => Ok(RedisConnection::Cluster(
                client.get_pending_async_connection_with_config(cluster_config(timeouts)),
            )),
        }
    }

    /// Whether Redis refuses the login: a wrong `REDIS_PASSWORD`, or none where Redis
    /// requires one. That is a setting to fix, so the API and the projectors stop at start
    /// on it, unlike an unreachable Redis, which they ride out. `Ok` when Redis takes the
    /// login, or does not answer within `timeout`; on a cluster, when no named node refuses.
    ///
    /// # Errors
    /// Redis's refusal (its message names no password).
    pub async fn check_login(&self, timeout: Duration) -> RedisResult<()> {
        match self {
            Self::Server(client) => check_login(client, timeout).await,
            Self::Cluster { nodes, .. } => {
                join_all(nodes.iter().map(|node| check_login(node, timeout))).await.into_iter().collect()
            }
        }
    }
}

/// A client for the server at `url`, logging in with `password`.
fn server(url: &str, password: Option<&Password>) -> RedisResult<redis::Client> {
    let mut info = url.into_connection_info()?;
    if let Some(password) = password {
        let settings = info.redis_settings().clone().set_password(password.expose());
        info = info.set_redis_settings(settings);
    }
    redis::Client::open(info)
}

fn manager_config(timeouts: Timeouts) -> ConnectionManagerConfig {
    let config = ConnectionManagerConfig::new()
        .set_connection_timeout(Some(timeouts.connect))
        .set_response_timeout(Some(timeouts.response))
        .set_number_of_retries(RETRIES);
    match timeouts.max_reconnect_delay {
        Some(delay) => config.set_max_delay(delay),
        None => config,
    }
}

fn cluster_config(timeouts: Timeouts) -> ClusterConfig {
    ClusterConfig::new().set_connection_timeout(timeouts.connect).set_response_timeout(timeouts.response)
}

async fn check_login(client: &redis::Client, timeout: Duration) -> RedisResult<()> {
    let attempt = async {
        let mut connection = client.get_multiplexed_async_connection().await?;
        redis::cmd("PING").query_async::<String>(&mut connection).await
    };
    match tokio::time::timeout(timeout, attempt).await {
        Ok(Err(e)) if refuses_login(&e) => Err(e),
        _ => Ok(()),
    }
}

fn refuses_login(e: &RedisError) -> bool {
    e.kind() == ErrorKind::AuthenticationFailed || matches!(e.code(), Some("NOAUTH" | "WRONGPASS"))
}

/// A connection to one Redis server or to a Redis Cluster; cheap to clone (clones share it),
/// and it reconnects on its own.
#[derive(Clone)]
pub enum RedisConnection {
    /// To one server.
    Server(ConnectionManager),
    /// To every master of a cluster, each command sent to the one serving its slot.
    Cluster(ClusterConnection),
}

impl fmt::Debug for RedisConnection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Server(_) => "RedisConnection::Server",
            Self::Cluster(_) => "RedisConnection::Cluster",
        })
    }
}

impl RedisConnection {
    /// Runs `calls`, each about the keys of one hash slot, in one go, ignoring their answers:
    /// on one server as one pipeline (one round trip); on a cluster all at once, each sent
    /// to the master serving its slot (a pipeline there must keep to one slot).
    ///
    /// # Errors
    /// When a call fails: `NOSCRIPT` if any call met a server without its script (every
    /// call may be sent again once it is loaded), else the first failure. Calls that did
    /// not fail took effect.
    pub async fn send_all(&mut self, calls: &[Cmd]) -> RedisResult<()> {
        match self {
            Self::Server(connection) => {
                let mut pipeline = redis::pipe();
                for call in calls {
                    pipeline.add_command(call.clone()).ignore();
                }
                pipeline.query_async(connection).await
            }
            Self::Cluster(connection) => {
                let answers = join_all(calls.iter().map(|call| {
                    let mut connection = connection.clone();
                    async move { call.query_async::<()>(&mut connection).await }
                }))
                .await;
                let mut failures = answers.into_iter().filter_map(Result::err).peekable();
                let Some(first) = failures.peek().cloned() else { return Ok(()) };
                Err(failures.find(is_no_script).unwrap_or(first))
            }
        }
    }
}

/// Whether Redis answered that it does not know the script called.
pub fn is_no_script(e: &RedisError) -> bool {
    e.kind() == ErrorKind::Server(ServerErrorKind::NoScript)
}

impl ConnectionLike for RedisConnection {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Self::Server(connection) => connection.req_packed_command(cmd),
            Self::Cluster(connection) => connection.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Self::Server(connection) => connection.req_packed_commands(pipeline, offset, count),
            Self::Cluster(connection) => connection.req_packed_commands(pipeline, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Self::Server(connection) => connection.get_db(),
            Self::Cluster(connection) => connection.get_db(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_password_is_sent_as_the_default_users() {
        let target = RedisTarget::new("redis://127.0.0.1:6379/2", false, Some(&Password::new("hunter2")))
            .expect("a client");
        let RedisTarget::Server(client) = target else { panic!("one server") };
        let settings = client.get_connection_info().redis_settings();
        assert_eq!((settings.password(), settings.username(), settings.db()), (Some("hunter2"), None, 2));
        let RedisTarget::Server(open) =
            RedisTarget::new("redis://127.0.0.1:6379", false, None).expect("a client")
        else {
            panic!("one server")
        };
        assert_eq!(open.get_connection_info().redis_settings().password(), None);
    }

    #[test]
    fn a_cluster_is_known_by_any_of_its_nodes_and_logs_in_on_each() {
        let password = Password::new("hunter2");
        let target =
            RedisTarget::new(" redis://10.0.0.1:6379, redis://10.0.0.2:6379 ,", true, Some(&password))
                .expect("a cluster");
        let RedisTarget::Cluster { nodes, .. } = &target else { panic!("a cluster") };
        let logins: Vec<_> = nodes
            .iter()
            .map(|n| n.get_connection_info().redis_settings().password().map(str::to_owned))
            .collect();
        assert_eq!(logins, [Some("hunter2".to_owned()), Some("hunter2".to_owned())]);
        assert!(
            RedisTarget::new("redis://10.0.0.1:6379", true, None).expect("one node is enough").is_cluster()
        );
        assert!(!format!("{target:?}").contains("hunter2"), "{target:?}");
    }

    #[test]
    fn several_urls_without_cluster_are_refused() {
        let error =
            RedisTarget::new("redis://a:6379,redis://b:6379", false, None).expect_err("several servers");
        assert!(error.to_string().contains("REDIS_CLUSTER"), "{error}");
        assert!(RedisTarget::new("", true, None).is_err(), "a cluster needs a node");
        assert!(RedisTarget::new("not a url", true, None).is_err());
    }
}
