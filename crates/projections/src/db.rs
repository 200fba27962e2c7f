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
    /// A projector's setup and chores (schema, checkpoint claims): every commit is fsynced.
    Projector,
    /// A live projector's batches: commits are not fsynced one by one. The projector syncs the
    /// write-ahead log with [`sync_log`] before it acknowledges what they applied, so a commit
    /// a power cut takes back is applied again from its unacknowledged messages.
    Batches,
    /// A rebuild writing a fresh generation nobody reads yet: no syncing until the end.
    Build,
    /// Queries only.
    Reader,
}

/// How often a writer that found the write lock taken tries again. SQLite's own busy timeout
/// sleeps 1, 2, 5, 10 … ms between tries, while another projector's batch usually holds the
/// lock for a few milliseconds: short, even waits hand the lock over without idling.
const BUSY_STEP: Duration = Duration::from_micros(250);

/// Busy handler of writer connections: wait [`BUSY_STEP`] and try again, for up to
/// [`BUSY_TIMEOUT`] in all.
fn wait_for_writer(attempts_so_far: i32) -> bool {
    let limit = BUSY_TIMEOUT.as_micros() / BUSY_STEP.as_micros();
    if u128::try_from(attempts_so_far).unwrap_or(u128::MAX) >= limit {
        return false;
    }
    std::thread::sleep(BUSY_STEP);
    true
}

fn options(path: &Path, mode: Mode) -> SqliteConnectOptions {
    let options = SqliteConnectOptions::new()
        .filename(path)
        .busy_timeout(BUSY_TIMEOUT)
        .pragma("cache_size", "-32768") // 32 MiB
        .pragma("temp_store", "memory");
    match mode {
        Mode::Projector | Mode::Batches => options
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .pragma("secure_delete", "on")
            .pragma("mmap_size", "268435456"),
        Mode::Build => options
            .create_if_missing(true)
            .pragma("secure_delete", "on")
            .journal_mode(SqliteJournalMode::Off)
            .synchronous(SqliteSynchronous::Off)
            .pragma("mmap_size", "268435456"),
        // No memory map for readers: in WAL mode SQLite drops a connection's whole mapping
        // at the start of every read transaction that follows a write, and unmapping costs
        // more than the point queries the API makes (measured in docs/performance.md).
        Mode::Reader => options.read_only(true).journal_mode(SqliteJournalMode::Wal).pragma("mmap_size", "0"),
    }
}

/// Makes sure `link` names a read model with the current schema, creating the first
/// generation if there is none, and returns the file it points to.
///
/// Processes that start together (an API and its projectors on a fresh volume) take turns
/// through the read model's lock, so exactly one creates the first generation and every one
/// ends on the generation the link names.
///
/// # Errors
/// When the file system or SQLite refuse.
pub async fn prepare(link: &Path) -> Result<PathBuf, ProjectionError> {
    let owned = link.to_owned();
    let lock = tokio::task::spawn_blocking(move || ReadModelLock::take(&owned))
        .await
        .map_err(std::io::Error::other)??;
    if std::fs::symlink_metadata(link).is_err() {
        let file = new_generation(link)?;
        migrate_file(&file, Mode::Projector).await?;
        point_link(link, &file)?;
        info!(path = %link.display(), generation = %file.display(), "created the read model");
    }
    let file = std::fs::canonicalize(link)?;
    migrate_file(&file, Mode::Projector).await?;
    drop(lock);
    Ok(file)
}

/// Makes a copy of another read model (a file `valentine backup` wrote, say) the read model
/// at `link`, which must not exist yet: the copy goes into a first generation, is checked and
/// brought to the current schema, and only then does the link appear. Returns the file.
///
/// # Errors
/// `AlreadyExists` when `link` names a read model already; when the copy is not a sound
/// read model, or the file system or SQLite refuse.
pub async fn adopt(link: &Path, copy: &Path) -> Result<PathBuf, ProjectionError> {
    let owned = link.to_owned();
    let lock = tokio::task::spawn_blocking(move || ReadModelLock::take(&owned))
        .await
        .map_err(std::io::Error::other)??;
    if std::fs::symlink_metadata(link).is_ok() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::AlreadyExists,
            format!("{} is a read model already", link.display()),
        )
        .into());
    }
    let file = new_generation(link)?;
    let copied = (|| {
        let source = open_sync(copy, Mode::Reader)?;
        let verdict: String = source.query_row("PRAGMA quick_check", [], |r| r.get(0))?;
        if verdict != "ok" {
            return Err(std::io::Error::other(format!("{} is damaged: {verdict}", copy.display())).into());
        }
        let target =
            file.to_str().ok_or_else(|| std::io::Error::other("the read model's path is not UTF-8"))?;
        source.execute("VACUUM INTO ?1", [target])?;
        Ok::<_, ProjectionError>(())
    })();
    if let Err(e) = copied {
        let _ = std::fs::remove_file(&file);
        return Err(e);
    }
    migrate_file(&file, Mode::Projector).await?;
    point_link(link, &file)?;
    info!(path = %link.display(), generation = %file.display(), copy = %copy.display(), "adopted a copy of a read model");
    drop(lock);
    Ok(file)
}

/// The read model's lock file, `<DATABASE_PATH>.lock`, held exclusively while one process
/// creates, migrates or swaps the read model. An advisory lock of the operating system: it
/// is released when the holder drops it or dies, so a crash never leaves it taken.
#[derive(Debug)]
struct ReadModelLock(std::fs::File);

impl ReadModelLock {
    /// Waits for the lock of the read model at `link`, and takes it.
    fn take(link: &Path) -> Result<Self, ProjectionError> {
        let file = lock_file(link, ".lock")?;
        file.lock()?;
        Ok(Self(file))
    }
}

impl Drop for ReadModelLock {
    fn drop(&mut self) {
        // Closing the file would release it too; unlocking says so.
        let _ = self.0.unlock();
    }
}

/// Opens (creating it and its folder if need be) the lock file `<link><suffix>`.
fn lock_file(link: &Path, suffix: &str) -> Result<std::fs::File, ProjectionError> {
    if let Some(parent) = link.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)?;
    }
    let mut name = link.file_name().unwrap_or_default().to_os_string();
    name.push(suffix);
    Ok(std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(link.with_file_name(name))?)
}

/// The lock of a rebuild or verification of the read model at a link,
/// `<DATABASE_PATH>.rebuild.lock`, held for its whole run: both pause the live projectors and
/// resume them at the end, so two at once would resume them under each other. Released when
/// dropped, or when the holder dies.
#[derive(Debug)]
pub struct RebuildLock(std::fs::File);

impl RebuildLock {
    /// Takes the rebuild lock of the read model at `link`; `None` while another process (or
    /// task) holds it.
    ///
    /// # Errors
    /// When the lock file cannot be opened.
    pub fn try_take(link: &Path) -> Result<Option<Self>, ProjectionError> {
        let file = lock_file(link, ".rebuild.lock")?;
        match file.try_lock() {
            Ok(()) => Ok(Some(Self(file))),
            Err(std::fs::TryLockError::WouldBlock) => Ok(None),
            Err(std::fs::TryLockError::Error(e)) => Err(e.into()),
        }
    }
}

impl Drop for RebuildLock {
    fn drop(&mut self) {
        let _ = self.0.unlock();
    }
}

async fn migrate_file(file: &Path, mode: Mode) -> Result<(), ProjectionError> {
    let mut conn = SqliteConnection::connect_with(&options(file, mode)).await?;
    sqlx::migrate!("./migrations").run(&mut conn).await?;
    conn.close().await?;
    Ok(())
}

/// Opens `file` for the synchronous write and hash paths (see `pages::project_batch`).
///
/// # Errors
/// When the database cannot be opened.
pub fn open_sync(file: &Path, mode: Mode) -> Result<rusqlite::Connection, ProjectionError> {
    use rusqlite::OpenFlags;
    let flags = match mode {
        Mode::Reader => OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        Mode::Projector | Mode::Batches | Mode::Build => {
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX
        }
    };
    let conn = rusqlite::Connection::open_with_flags(file, flags)?;
    match mode {
        Mode::Reader => conn.busy_timeout(BUSY_TIMEOUT)?,
        Mode::Projector | Mode::Batches | Mode::Build => conn.busy_handler(Some(wait_for_writer))?,
    }
    conn.set_prepared_statement_cache_capacity(32);
    if mode != Mode::Reader {
        // Erased content must not linger in freed pages of the file: deletes zero them.
        conn.pragma_update(None, "secure_delete", "on")?;
    }
    match mode {
        Mode::Projector | Mode::Batches => {
            conn.pragma_update(None, "cache_size", -32768)?; // 32 MiB
            conn.pragma_update(None, "temp_store", "memory")?;
            conn.pragma_update(None, "journal_mode", "wal")?;
            let synchronous = if mode == Mode::Batches { "normal" } else { "full" };
            conn.pragma_update(None, "synchronous", synchronous)?;
        }
        Mode::Build => {
            conn.pragma_update(None, "cache_size", -BUILD_CACHE_KIB)?;
            // Temporary data (the sorters of the deferred indexes, which hold every entry of an
            // index) goes to files, so memory stays bounded by the cache whatever the size of
            // the build.
            conn.pragma_update(None, "temp_store", "file")?;
            conn.pragma_update(None, "journal_mode", "off")?;
            conn.pragma_update(None, "synchronous", "off")?;
        }
        Mode::Reader => {
            conn.pragma_update(None, "cache_size", -32768)?; // 32 MiB
            conn.pragma_update(None, "temp_store", "memory")?;
        }
    }
    Ok(conn)
}

/// Puts on disk every commit made so far to the generation `file` (of any connection): the
/// write-ahead log is synced, and what a checkpoint already moved out of it was synced by that
/// checkpoint. Without a log (none written since the last connection closed) there is
/// nothing to sync.
///
/// # Errors
/// When the log cannot be opened or synced.
pub fn sync_log(file: &Path) -> Result<(), ProjectionError> {
    let mut log = file.as_os_str().to_owned();
    log.push("-wal");
    match std::fs::File::open(&log) {
        Ok(log) => Ok(log.sync_data()?),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// Moves everything in the write-ahead log into the database file and truncates the log to
/// nothing, so content erased from the database (whose freed pages `secure_delete` zeroed)
/// no longer survives in older frames of the log. Whether it completed: readers still on an
/// older snapshot make it give up, and it is tried again later.
///
/// # Errors
/// When SQLite fails.
pub fn truncate_log(conn: &rusqlite::Connection) -> Result<bool, ProjectionError> {
    let busy: i64 = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| r.get(0))?;
    Ok(busy == 0)
}

/// Page cache of a build's writer, in KiB. A build looks up the row of every page an event
/// changes, at random over the whole `pages` table; once the table outgrows the cache, most
/// lookups become a read from the file (and the batch's changed pages spill before the
/// commit). 256 MiB holds the slug index and much of `pages` at 10 million events; a build
/// writes no memory map (`mmap_size`), whose pages would count as resident memory too.
const BUILD_CACHE_KIB: i64 = 256 * 1024;

/// Page cache of a build's writer while it creates the deferred indexes, in KiB. SQLite's
/// sorter keeps up to a cache's worth of entries in memory before it writes a sorted run to
/// a temporary file, so this bounds the sorter's memory too.
const INDEXING_CACHE_KIB: i64 = 64 * 1024;

/// Runs `f` on `conn` on a blocking thread, and hands the connection back with the result.
/// A panic in `f` is resumed here.
pub async fn blocking<R, F>(
    mut conn: rusqlite::Connection,
    f: F,
) -> (rusqlite::Connection, Result<R, ProjectionError>)
where
    R: Send + 'static,
    F: FnOnce(&mut rusqlite::Connection) -> Result<R, ProjectionError> + Send + 'static,
{
    let handle = tokio::task::spawn_blocking(move || {
        let result = f(&mut conn);
        (conn, result)
    });
    match handle.await {
        Ok(done) => done,
        Err(e) => std::panic::resume_unwind(e.into_panic()),
    }
}

/// A writer connection for a projector, on the generation `link` points to now.
///
/// # Errors
/// When the database cannot be opened.
pub fn projector_connection(link: &Path) -> Result<(rusqlite::Connection, PathBuf), ProjectionError> {
    let file = std::fs::canonicalize(link)?;
    Ok((open_sync(&file, Mode::Projector)?, file))
}

/// A writer connection for a projector's batches, on the generation `link` points to now,
/// and that generation's file: its commits are not synced one by one (see [`Mode::Batches`]).
///
/// # Errors
/// When the database cannot be opened.
pub fn batch_connection(link: &Path) -> Result<(rusqlite::Connection, PathBuf), ProjectionError> {
    let file = std::fs::canonicalize(link)?;
    Ok((open_sync(&file, Mode::Batches)?, file))
}

/// A read-only connection to the generation `link` points to now, for hashing.
///
/// # Errors
/// When the database cannot be opened.
pub fn reader_connection(link: &Path) -> Result<rusqlite::Connection, ProjectionError> {
    open_sync(&std::fs::canonicalize(link)?, Mode::Reader)
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
    let swaps = link.to_owned();
    Ok(SqlitePoolOptions::new()
        .max_connections(size)
        .max_lifetime(max_lifetime)
        // A local file does not go away under an open connection; pinging each one before
        // handing it out doubled the cost of a point query.
        .test_before_acquire(false)
        // A connection opened before a rebuild swapped the link reads the replaced
        // generation, which no projector writes any more: it is closed, not handed out (one
        // `lstat` of the link per acquire).
        .before_acquire(move |_, meta| {
            let opened_after_swap = std::fs::symlink_metadata(&swaps)
                .and_then(|link| link.modified())
                .is_ok_and(|swapped| swapped.elapsed().is_ok_and(|since| meta.age < since));
            Box::pin(async move { Ok(opened_after_swap) })
        })
        .connect_with(options)
        .await?)
}

/// A new, empty generation file for `link`, with the schema, opened for building.
///
/// # Errors
/// When the file system or SQLite refuse.
pub async fn build_connection(link: &Path) -> Result<(rusqlite::Connection, PathBuf), ProjectionError> {
    let file = new_generation(link)?;
    migrate_file(&file, Mode::Build).await?;
    let conn = open_sync(&file, Mode::Build)?;
    defer_indexes(&conn)?;
    Ok((conn, file))
}

/// Tables whose secondary indexes a build creates once at the end: sorting all entries
/// at once is cheaper than keeping the indexes up to date through every insert.
const DEFERRED_INDEX_TABLES: &str = "'page_events'";

/// Drops the deferrable indexes of a fresh build, keeping their definitions in the build
/// itself (a half-built generation is thrown away, so nothing else needs them).
fn defer_indexes(conn: &rusqlite::Connection) -> Result<(), ProjectionError> {
    conn.execute_batch(&format!(
        "CREATE TABLE deferred_indexes AS SELECT name, sql FROM sqlite_master \
         WHERE type = 'index' AND sql IS NOT NULL AND tbl_name IN ({DEFERRED_INDEX_TABLES})"
    ))?;
    let names: Vec<String> = conn
        .prepare("SELECT name FROM deferred_indexes")?
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    for name in names {
        conn.execute_batch(&format!("DROP INDEX \"{name}\""))?;
    }
    Ok(())
}

/// Creates the indexes a build deferred. Call it before reading a build (hashing it);
/// [`finish_build`] calls it too.
///
/// # Errors
/// When SQLite refuses.
pub fn create_deferred_indexes(conn: &mut rusqlite::Connection) -> Result<(), ProjectionError> {
    let pending: bool = conn.query_row(
        "SELECT count(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = 'deferred_indexes'",
        [],
        |r| r.get(0),
    )?;
    if !pending {
        return Ok(());
    }
    // The build's rows are written: a smaller cache now, which also bounds the sorters.
    conn.pragma_update(None, "cache_size", -INDEXING_CACHE_KIB)?;
    let tx = conn.transaction()?;
    let definitions: Vec<String> = tx
        .prepare("SELECT sql FROM deferred_indexes")?
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    for sql in definitions {
        tx.execute_batch(&sql)?;
    }
    tx.execute_batch("DROP TABLE deferred_indexes")?;
    tx.commit()?;
    Ok(())
}

/// Readies a build for its last rounds, done while live projection runs: indexes complete,
/// WAL mode (so a snapshot can be read while it is written), every commit synced from here
/// on, statistics for the planner. What is left to write is a small delta.
///
/// # Errors
/// When SQLite refuses.
pub fn seal_build(conn: &mut rusqlite::Connection) -> Result<(), ProjectionError> {
    create_deferred_indexes(conn)?;
    conn.pragma_update(None, "journal_mode", "wal")?;
    conn.pragma_update(None, "synchronous", "full")?;
    conn.execute_batch("PRAGMA optimize")?;
    Ok(())
}

/// A read-only connection to `file` inside a read transaction opened now: whatever it reads
/// later is what the file held at this moment, however it is written meanwhile. End it with
/// `COMMIT`.
///
/// # Errors
/// When SQLite refuses.
pub fn snapshot(file: &Path) -> Result<rusqlite::Connection, ProjectionError> {
    let conn = open_sync(file, Mode::Reader)?;
    // Reading each page once: a big cache would only cost memory.
    conn.pragma_update(None, "cache_size", -2048)?;
    conn.execute_batch("BEGIN")?;
    // A read transaction takes its snapshot at its first read.
    conn.query_row("SELECT count(*) FROM stream_positions", [], |_| Ok(()))?;
    Ok(conn)
}

/// Makes a built generation durable and ready for readers: its indexes complete, WAL mode,
/// synced to disk.
///
/// # Errors
/// When SQLite refuses.
pub fn finish_build(mut conn: rusqlite::Connection) -> Result<(), ProjectionError> {
    create_deferred_indexes(&mut conn)?;
    conn.pragma_update(None, "synchronous", "full")?;
    conn.pragma_update(None, "journal_mode", "wal")?;
    conn.execute_batch("PRAGMA optimize")?;
    conn.close().map_err(|(_, e)| e)?;
    Ok(())
}

/// Completes a build and returns its content hash. The deferred indexes are created on the
/// build's connection while a second connection hashes a snapshot of the rows at the same
/// time: indexes change no content, and the two together take as long as the longer one.
///
/// # Errors
/// When SQLite refuses.
pub async fn complete_build(conn: rusqlite::Connection, file: &Path) -> Result<String, ProjectionError> {
    // WAL lets the reader below keep a snapshot while the writer creates indexes.
    conn.pragma_update(None, "journal_mode", "wal")?;
    let reader = open_sync(file, Mode::Reader)?;
    // It reads each page once: a big cache would only cost memory.
    reader.pragma_update(None, "cache_size", -2048)?;
    let ((_, hashed), (conn, indexed)) =
        tokio::join!(blocking(reader, crate::hash::content_hash), blocking(conn, create_deferred_indexes));
    indexed?;
    let content_hash = hashed?;
    finish_build(conn)?;
    Ok(content_hash)
}

/// Atomically points `link` at `generation`, then removes generations older than the
/// previous one.
///
/// # Errors
/// When the file system refuses.
pub fn swap_in(link: &Path, generation: &Path) -> Result<(), ProjectionError> {
    let _lock = ReadModelLock::take(link)?;
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
    // A link relative to its own folder keeps the folder movable (backups, containers),
    // whatever the working directory. A target elsewhere gets an absolute link.
    let generations = generations_dir(link);
    let target = std::fs::canonicalize(target)?;
    let pointer = match (target.parent(), target.file_name(), generations.file_name()) {
        (Some(dir), Some(file), Some(dir_name)) if dir == std::fs::canonicalize(&generations)? => {
            Path::new(dir_name).join(file)
        }
        _ => target.clone(),
    };
    let temp = link.with_file_name(format!(".{}.link", Ulid::new()));
    std::os::unix::fs::symlink(&pointer, &temp)?;
    std::fs::rename(&temp, link)?;
    Ok(())
}

/// Removes every generation but the current one, provided the link was swapped to it at
/// least `readers_gone_after` ago (readers reopen their connections within that, so none is
/// left on an older one): an older generation still holds what was erased since. Whether
/// none is left.
///
/// # Errors
/// When the file system refuses.
pub fn remove_older_generations(link: &Path, readers_gone_after: Duration) -> Result<bool, ProjectionError> {
    let swapped = std::fs::symlink_metadata(link)?.modified()?;
    let current = std::fs::canonicalize(link)?;
    let dir = generations_dir(link);
    let older: Vec<PathBuf> = std::fs::read_dir(&dir)?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "sqlite"))
        .filter(|p| std::fs::canonicalize(p).ok().as_ref() != Some(&current))
        .collect();
    if older.is_empty() {
        return Ok(true);
    }
    if swapped.elapsed().unwrap_or_default() < readers_gone_after {
        return Ok(false);
    }
    for old in older {
        remove_generation(&old);
    }
    Ok(true)
}

fn remove_generation(file: &Path) {
    for suffix in ["", "-wal", "-shm"] {
        let mut path = file.to_owned().into_os_string();
        path.push(suffix);
        let _ = std::fs::remove_file(PathBuf::from(path));
    }
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
        remove_generation(&old);
    }
    Ok(())
}
