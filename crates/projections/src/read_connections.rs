//! Read-only SQLite connections for point lookups, used in place on the caller's thread.
//!
//! A lookup in an index of a warm read model takes a few microseconds. Through sqlx it costs
//! far more than that: every query travels to the connection's worker thread and back, and
//! its values are copied on the way. So the hot point lookups (is a slug taken, which of a few
//! candidates are) run on a plain rusqlite connection taken from a small pool, without
//! leaving the task; anything that scans or may wait goes through sqlx as before.
//!
//! Connections follow a rebuild's swap: each remembers the generation it opened, and one
//! whose generation the link no longer names is closed instead of used (one `readlink` per
//! lookup).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use crate::db::{self, Mode};
use crate::error::ProjectionError;

/// Most idle connections kept; more are opened under load and closed after use.
const KEPT: usize = 8;

/// A pool of read-only connections to the generation a read model's link points to;
/// cheap to clone.
#[derive(Clone)]
pub struct ReadConnections {
    inner: Arc<Inner>,
}

struct Inner {
    link: PathBuf,
    idle: Mutex<Vec<Idle>>,
}

struct Idle {
    conn: rusqlite::Connection,
    /// The link's target when it was opened: the generation it reads.
    generation: PathBuf,
}

impl std::fmt::Debug for ReadConnections {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReadConnections").field("link", &self.inner.link).finish_non_exhaustive()
    }
}

impl ReadConnections {
    /// Connections to the read model at `link` (opened as they are needed).
    pub fn new(link: &Path) -> Self {
        Self { inner: Arc::new(Inner { link: link.to_owned(), idle: Mutex::new(Vec::new()) }) }
    }

    /// Runs `read` on a connection to the current generation, in place: for lookups of a
    /// few rows by an index, never for scans.
    ///
    /// # Errors
    /// When the read model cannot be opened, or `read` fails.
    pub fn read<R>(
        &self,
        read: impl FnOnce(&rusqlite::Connection) -> Result<R, ProjectionError>,
    ) -> Result<R, ProjectionError> {
        let generation = std::fs::read_link(&self.inner.link)?;
        let taken = self.inner.idle.lock().unwrap_or_else(PoisonError::into_inner).pop();
        let idle = match taken {
            Some(idle) if idle.generation == generation => idle,
            _ => {
                let file = self.inner.link.parent().unwrap_or_else(|| Path::new("")).join(&generation);
                Idle { conn: db::open_sync(&file, Mode::Reader)?, generation }
            }
        };
        let result = read(&idle.conn);
        let mut pool = self.inner.idle.lock().unwrap_or_else(PoisonError::into_inner);
        if pool.len() < KEPT {
            pool.push(idle);
        }
        result
    }
}
