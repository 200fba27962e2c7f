//! Opening the read model, and swapping in a rebuilt one.
//!
//! `DATABASE_PATH` is a symbolic link to the current *generation*, a SQLite file in the
//! folder `<DATABASE_PATH>.generations/`. A rebuild writes a new generation and renames a new
//! link over the old one: one atomic step. Readers holding connections to the previous
//! generation keep working on it until they reconnect; SQLite resolves the link, so each
//! generation keeps its own WAL beside its own file.

use std::path::{Path, PathBuf};
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Connection, SqliteConnection, SqlitePool};
use tracing::info;
use ulid::Ulid;

use crate::error::ProjectionError;

/// How long a connection waits for another writer before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// Generations kept besides the current one, for readers still on them.
const KEEP_PREVIOUS: usize = 1;

/// How a connection will be used; decides its durability settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// A live projector: every commit is fsynced before events are acknowledged.
    Projector,
    /// A rebuild writing a fresh generation nobody reads yet: no syncing until the end.
    Build,
    /// Queries only.
    Reader,
}

fn options(path: &Path, mode: Mode) -> SqliteConnectOptions {
    let options = SqliteConnectOptions::new()
        .filename(path)
        .busy_timeout(BUSY_TIMEOUT)
        .pragma("cache_size", "-32768") // 32 MiB
        .pragma("temp_store", "memory")
        .pragma("mmap_size", "268435456");
    match mode {
        Mode::Projector => options
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full),
        Mode::Build => options
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Off)
            .synchronous(SqliteSynchronous::Off),
        Mode::Reader => options.read_only(true).journal_mode(SqliteJournalMode::Wal),
    }
}

/// Makes sure `link` names a read model with the current schema, creating the first
/// generation if there is none, and returns the file it points to.
///
/// # Errors
/// When the file system or SQLite refuse.
pub async fn prepare(link: &Path) -> Result<PathBuf, ProjectionError> {
    if std::fs::symlink_metadata(link).is_err() {
        let file = new_generation(link)?;
        migrate_file(&file, Mode::Projector).await?;
        point_link(link, &file)?;
        info!(path = %link.display(), generation = %file.display(), "created the read model");
    }
    let file = std::fs::canonicalize(link)?;
    migrate_file(&file, Mode::Projector).await?;
    Ok(file)
}

async fn migrate_file(file: &Path, mode: Mode) -> Result<(), ProjectionError> {
    let mut conn = SqliteConnection::connect_with(&options(file, mode)).await?;
    sqlx::migrate!("./migrations").run(&mut conn).await?;
    conn.close().await?;
    Ok(())
}

/// A writer connection for a projector, on the generation `link` points to now.
///
/// # Errors
/// When the database cannot be opened.
pub async fn projector_connection(link: &Path) -> Result<(SqliteConnection, PathBuf), ProjectionError> {
    let file = std::fs::canonicalize(link)?;
    let conn = SqliteConnection::connect_with(&options(&file, Mode::Projector)).await?;
    Ok((conn, file))
}

/// A pool of read-only connections to whatever `link` points to when each connects.
/// Connections are recycled after `max_lifetime`, so readers move to a rebuilt generation
/// within that time.
///
/// # Errors
/// When the database cannot be opened.
pub async fn reader_pool(
    link: &Path,
    size: u32,
    max_lifetime: Duration,
) -> Result<SqlitePool, ProjectionError> {
    let options = options(link, Mode::Reader);
    Ok(SqlitePoolOptions::new()
        .max_connections(size)
        .max_lifetime(max_lifetime)
        .connect_with(options)
        .await?)
}

/// A new, empty generation file for `link`, with the schema, opened for building.
///
/// # Errors
/// When the file system or SQLite refuse.
pub async fn build_connection(link: &Path) -> Result<(SqliteConnection, PathBuf), ProjectionError> {
    let file = new_generation(link)?;
    let mut conn = SqliteConnection::connect_with(&options(&file, Mode::Build)).await?;
    sqlx::migrate!("./migrations").run(&mut conn).await?;
    Ok((conn, file))
}

/// Makes a built generation durable and ready for readers: WAL mode, synced to disk.
///
/// # Errors
/// When SQLite refuses.
pub async fn finish_build(mut conn: SqliteConnection) -> Result<(), ProjectionError> {
    sqlx::query("PRAGMA synchronous = FULL").execute(&mut conn).await?;
    sqlx::query("PRAGMA journal_mode = WAL").execute(&mut conn).await?;
    sqlx::query("PRAGMA optimize").execute(&mut conn).await?;
    conn.close().await?;
    Ok(())
}

/// Atomically points `link` at `generation`, then removes generations older than the
/// previous one.
///
/// # Errors
/// When the file system refuses.
pub fn swap_in(link: &Path, generation: &Path) -> Result<(), ProjectionError> {
    point_link(link, generation)?;
    prune_generations(link, generation)?;
    Ok(())
}

fn generations_dir(link: &Path) -> PathBuf {
    let mut name = link.file_name().unwrap_or_default().to_os_string();
    name.push(".generations");
    link.with_file_name(name)
}

fn new_generation(link: &Path) -> Result<PathBuf, ProjectionError> {
    let dir = generations_dir(link);
    std::fs::create_dir_all(&dir)?;
    // ULIDs sort by time, so generation names sort oldest first.
    Ok(dir.join(format!("{}.sqlite", Ulid::new())))
}

fn point_link(link: &Path, target: &Path) -> Result<(), ProjectionError> {
    if let Some(parent) = link.parent() {
        std::fs::create_dir_all(parent)?;
    }
    // A relative target keeps the folder movable (backups, containers).
    let relative = match (target.parent(), target.file_name()) {
        (Some(dir), Some(file)) if dir == std::fs::canonicalize(generations_dir(link))? => {
            Path::new(generations_dir(link).file_name().unwrap_or_default()).join(file)
        }
        _ => target.to_path_buf(),
    };
    let temp = link.with_file_name(format!(".{}.{}", Ulid::new(), "link"));
    std::os::unix::fs::symlink(&relative, &temp)?;
    std::fs::rename(&temp, link)?;
    Ok(())
}

fn prune_generations(link: &Path, current: &Path) -> Result<(), ProjectionError> {
    let dir = generations_dir(link);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "sqlite"))
        .collect();
    files.sort();
    let current = std::fs::canonicalize(current)?;
    let older: Vec<_> =
        files.into_iter().filter(|f| std::fs::canonicalize(f).ok() != Some(current.clone())).collect();
    let excess = older.len().saturating_sub(KEEP_PREVIOUS);
    for old in older.into_iter().take(excess) {
        for suffix in ["", "-wal", "-shm"] {
            let mut path = old.clone().into_os_string();
            path.push(suffix);
            let _ = std::fs::remove_file(PathBuf::from(path));
        }
    }
    Ok(())
}
