//! A real SMTP server, per test: `aiosmtpd` (PyPI, in the project's `.venv`) on a free
//! loopback port, delivering every message it accepts into a Maildir the test reads.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

use crate::redis::free_port;
use crate::tool;

/// How long the server may take to accept connections.
const START_TIMEOUT: Duration = Duration::from_secs(20);

/// A running SMTP server on 127.0.0.1, stopped on drop.
#[derive(Debug)]
pub struct SmtpServer {
    child: Option<Child>,
    port: u16,
    dir: TempDir,
}

/// One delivered message: its raw text (headers, a blank line, the body).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivered {
    /// The file it was delivered to.
    pub path: PathBuf,
    /// The message as received.
    pub raw: String,
}

impl Delivered {
    /// The first header named `name` (case-insensitive), unfolded; `None` without one.
    pub fn header(&self, name: &str) -> Option<String> {
        let head = self.raw.split("\n\n").next().unwrap_or_default().replace("\r\n", "\n");
        let mut found: Option<String> = None;
        for line in head.lines() {
            if line.starts_with([' ', '\t']) {
                if let Some(value) = found.as_mut() {
                    value.push(' ');
                    value.push_str(line.trim());
                }
                continue;
            }
            if found.is_some() {
                break;
            }
            if let Some((key, value)) = line.split_once(':')
                && key.eq_ignore_ascii_case(name)
            {
                found = Some(value.trim().to_owned());
            }
        }
        found
    }

    /// The body: everything after the header block.
    pub fn body(&self) -> String {
        let raw = self.raw.replace("\r\n", "\n");
        raw.split_once("\n\n").map(|(_, body)| body.to_owned()).unwrap_or_default()
    }
}

impl SmtpServer {
    /// Starts a server on a free port.
    ///
    /// # Panics
    /// When aiosmtpd cannot be started or does not accept connections in time.
    pub async fn start() -> Self {
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            let dir = tempfile::Builder::new().prefix("valentine-smtp-").tempdir().expect("a temp dir");
            let port = free_port();
            let child = Command::new(tool("aiosmtpd", "AIOSMTPD"))
                .args(["-n", "-l", &format!("127.0.0.1:{port}"), "-c", "aiosmtpd.handlers.Mailbox"])
                .arg(dir.path().join("mail"))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("aiosmtpd starts (run scripts/bootstrap.sh to install it)");
            let mut server = Self { child: Some(child), port, dir };
            if server.accepts(deadline).await {
                return server;
            }
            // The port was taken between choosing and binding it: choose again.
            drop(server);
            assert!(Instant::now() < deadline, "aiosmtpd did not start in time");
        }
    }

    async fn accepts(&mut self, deadline: Instant) -> bool {
        while Instant::now() < deadline {
            if let Some(Ok(Some(_))) = self.child.as_mut().map(Child::try_wait) {
                return false;
            }
            if let Ok(stream) = tokio::net::TcpStream::connect(("127.0.0.1", self.port)).await {
                let mut greeting = [0u8; 3];
                stream.readable().await.ok();
                if stream.try_read(&mut greeting).is_ok_and(|n| n == 3) && &greeting == b"220" {
                    return true;
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        false
    }

    /// The URL to send through: `smtp://127.0.0.1:<port>` (no TLS, no login).
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// The Maildir messages are delivered to.
    pub fn maildir(&self) -> PathBuf {
        self.dir.path().join("mail")
    }

    /// Every message delivered so far, oldest first (by file name, which starts with the
    /// delivery time).
    pub fn delivered(&self) -> Vec<Delivered> {
        read_maildir(&self.maildir())
    }

    /// Stops the server (SIGKILL).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The messages in a Maildir's `new/` and `cur/`, by file name.
pub fn read_maildir(maildir: &Path) -> Vec<Delivered> {
    let mut paths: Vec<PathBuf> = ["new", "cur"]
        .iter()
        .filter_map(|sub| std::fs::read_dir(maildir.join(sub)).ok())
        .flatten()
        .filter_map(Result::ok)
        .map(|e| e.path())
        .collect();
    paths.sort_by(|a, b| a.file_name().cmp(&b.file_name()));
    paths
        .into_iter()
        .filter_map(|path| {
            let raw = String::from_utf8_lossy(&std::fs::read(&path).ok()?).into_owned();
            Some(Delivered { path, raw })
        })
        .collect()
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        self.stop();
    }
}
