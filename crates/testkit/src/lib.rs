//! Test harness for Valentine: real servers, isolated per test.
//!
//! Each [`NatsServer`] is its own `nats-server -js` process on a free loopback port with a
//! throwaway store directory, configured from the repository's `nats/nats-server.conf`. It is
//! stopped and its store removed when dropped, so tests run in parallel without sharing state.
//! Only a dev-dependency: nothing here ships.
//!
//! # Layout
//! - [`nats`]: [`NatsServer`]: start (open, with the users of `nats/secured.conf`, or with
//!   those and TLS: `nats/secured-tls.conf`), stop, kill, restart on the same store.
//! - [`cluster`]: [`NatsCluster`]: three routed JetStream nodes; find a stream's leader,
//!   kill, stop or drain (lame duck) a node, restart it on its store.
//! - [`redis`]: [`RedisServer`]: start (with or without persistence or a password), stop,
//!   restart.
//! - [`redis_cluster`]: [`RedisCluster`]: three Redis Cluster masters, each serving a third
//!   of the hash slots (with or without a password); which node serves a key; stop and
//!   restart a node.
//! - [`severing_proxy`]: [`SeveringProxy`]: a relay in front of a nats-server that lets a
//!   publish through and loses its acknowledgement, for appends whose answer never came.
//! - [`smtp`]: [`SmtpServer`]: aiosmtpd delivering into a Maildir the test reads.
//! - [`tls`]: [`TestPki`]: a certificate authority made at test time, with a server and a
//!   client certificate.
//! - [`tracing`](init_tracing): opt-in test logs with `TEST_LOG=1`.

pub mod cluster;
pub mod nats;
pub mod redis;
pub mod redis_cluster;
pub mod severing_proxy;
pub mod smtp;
pub mod tls;

use std::path::PathBuf;
use std::sync::Once;

pub use cluster::NatsCluster;
pub use nats::NatsServer;
pub use redis::{RedisServer, free_port};
pub use redis_cluster::RedisCluster;
pub use severing_proxy::SeveringProxy;
pub use smtp::SmtpServer;
pub use tls::TestPki;

/// The repository root, for files the tests share with development (e.g. `nats/`).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Finds a tool: `$<ENV_VAR>`, else the project's `.venv/bin/<name>`, else `<name>` on `PATH`.
pub fn tool(name: &str, env_var: &str) -> PathBuf {
    if let Some(path) = std::env::var_os(env_var) {
        return path.into();
    }
    let local = repo_root().join(".venv/bin").join(name);
    if local.is_file() { local } else { name.into() }
}

/// Sends tracing output to the test's captured stdout when `TEST_LOG` is set.
pub fn init_tracing() {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        if std::env::var_os("TEST_LOG").is_some() {
            let filter = tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,valentine=debug".into());
            tracing_subscriber::fmt().with_env_filter(filter).with_test_writer().init();
        }
    });
}

/// Waits until `check` holds, polling every 25 ms; panics naming `what` once `patience` has
/// passed. Tests wait on conditions this way, never on fixed sleeps.
pub async fn eventually<F, Fut>(what: &str, patience: std::time::Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + patience;
    while !check().await {
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
}
