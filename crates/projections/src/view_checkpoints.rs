//! View count checkpoints: what lets the VIEWS stream forget old tallies.
//!
//! Every page counted since its last checkpoint is marked unsaved (`views_unsaved`). A
//! checkpoint run reads, in one snapshot, the views position `through` and each unsaved page's
//! count at exactly that position (its `view_count` less what messages above the position
//! added, kept in `views_ahead`), stores them outside the read model, and then marks the pages
//! saved. A rebuild starts each page from its checkpoint and counts only later tallies, so the
//! stream need keep only tallies newer than the last complete run.
//!
//! Counts are stored in [`Chunk`]s, many pages per message. A page may be in several chunks;
//! the one at the latest position holds its count. Now and then a run saves every counted
//! page ([`Scope::Counted`]), after which the chunks it supersedes can go.

use std::collections::BTreeMap;
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};

use crate::applied;
use crate::error::ProjectionError;

/// One page's count at a position of the VIEWS stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SavedCount {
    /// Which life of the slug it counts.
    pub page_id: u64,
    /// Every view tallied at or below `through`.
    pub count: u64,
    /// The VIEWS stream sequence it is exact at.
    pub through: u64,
    /// The same views per UTC day (`YYYY-MM-DD`); empty in checkpoints written before days
    /// were counted.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub by_day: BTreeMap<String, u64>,
}

/// Many pages' counts, all exact at one position: what one checkpoint message holds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Chunk {
    /// The VIEWS stream sequence every count is exact at.
    pub through: u64,
    /// The pages, in slug order.
    pub pages: Vec<ChunkPage>,
}

/// One page in a [`Chunk`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChunkPage {
    /// The page's slug key.
    #[serde(rename = "slug")]
    pub slug_key: String,
    /// Which life of the slug it counts.
    pub page_id: u64,
    /// Every view tallied at or below the chunk's position.
    pub count: u64,
    /// The same views per UTC day (`YYYY-MM-DD`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub by_day: BTreeMap<String, u64>,
}

impl Chunk {
    /// The chunk holding `pages`, all exact at `through`.
    pub fn of(through: u64, pages: &[(String, SavedCount)]) -> Self {
        let pages = pages
            .iter()
            .map(|(key, saved)| ChunkPage {
                slug_key: key.clone(),
                page_id: saved.page_id,
                count: saved.count,
                by_day: saved.by_day.clone(),
            })
            .collect();
        Self { through, pages }
    }

    /// Each page's count, as [`load`] takes them.
    pub fn into_counts(self) -> impl Iterator<Item = (String, SavedCount)> {
        let through = self.through;
        self.pages.into_iter().map(move |p| {
            (p.slug_key, SavedCount { page_id: p.page_id, count: p.count, through, by_day: p.by_day })
        })
    }
}

/// Which pages a checkpoint run saves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Those counted since their last checkpoint.
    Unsaved,
    /// Every page with a view: a run whose chunks supersede all older ones.
    Counted,
}

/// Pages' counts, all exact at one position.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Due {
    /// The views position they are exact at.
    pub through: u64,
    /// Slug key and count, in slug order.
    pub pages: Vec<(String, SavedCount)>,
}

fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn to_u64(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

/// Claims the next checkpoint run for this process when none ran within `every`: projectors
/// sharing a read model take turns instead of all writing the same counts.
///
/// # Errors
/// When SQLite fails.
pub fn claim(conn: &Connection, every: Duration, now_unix: i64) -> Result<bool, ProjectionError> {
    let every = i64::try_from(every.as_secs()).unwrap_or(i64::MAX);
    let claimed = conn
        .prepare_cached(
            "UPDATE stream_positions SET checkpointed_at = ?1 \
             WHERE stream = ?2 AND checkpointed_at <= ?1 - ?3",
        )?
        .execute(params![now_unix, applied::VIEWS, every])?;
    Ok(claimed == 1)
}

/// The next `limit` pages of `scope` after slug key `after`, with their counts at the current
/// views position, read in one snapshot; `None` while the position is short of the first
/// sequence a checkpoint may describe (a read model from before positions).
///
/// # Errors
/// When SQLite fails.
pub fn due(
    conn: &mut Connection,
    after: &str,
    limit: usize,
    scope: Scope,
) -> Result<Option<Due>, ProjectionError> {
    let tx = conn.transaction()?;
    let (through, from): (i64, i64) = tx
        .prepare_cached("SELECT through, checkpoint_from FROM stream_positions WHERE stream = ?1")?
        .query_row([applied::VIEWS], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?
        .unwrap_or((0, 0));
    if through < from {
        return Ok(None);
    }
    let mut rows = tx.prepare_cached(match scope {
        Scope::Unsaved => {
            "SELECT u.slug_key, p.page_id, p.view_count - coalesce((SELECT sum(a.count) FROM views_ahead a \
             WHERE a.slug_key = u.slug_key AND a.page_id = p.page_id), 0) \
             FROM views_unsaved u JOIN pages p ON p.slug_key = u.slug_key \
             WHERE u.slug_key > ?1 ORDER BY u.slug_key LIMIT ?2"
        }
        Scope::Counted => {
            "SELECT p.slug_key, p.page_id, p.view_count - coalesce((SELECT sum(a.count) FROM views_ahead a \
             WHERE a.slug_key = p.slug_key AND a.page_id = p.page_id), 0) \
             FROM pages p WHERE p.slug_key > ?1 AND p.view_count > 0 ORDER BY p.slug_key LIMIT ?2"
        }
    })?;
    let through = to_u64(through);
    let mut pages = rows
        .query_map(params![after, i64::try_from(limit).unwrap_or(i64::MAX)], |r| {
            Ok((
                r.get::<_, String>(0)?,
                SavedCount {
                    page_id: to_u64(r.get(1)?),
                    count: to_u64(r.get(2)?),
                    through,
                    by_day: BTreeMap::new(),
                },
            ))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    // Each page's views per day at the position: what its days hold, less what messages
    // above the position added to them.
    let mut days = tx.prepare_cached(
        "SELECT d.day, d.views - coalesce((SELECT sum(a.count) FROM views_ahead a \
         WHERE a.slug_key = d.slug_key AND a.page_id = d.page_id AND a.day = d.day), 0) \
         FROM page_views_by_day d WHERE d.slug_key = ?1 AND d.page_id = ?2",
    )?;
    for (key, saved) in &mut pages {
        let found = days.query_map(params![key.as_str(), to_i64(saved.page_id)], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
        })?;
        for day in found {
            let (day, views) = day?;
            if views > 0 {
                saved.by_day.insert(day, to_u64(views));
            }
        }
    }
    drop(days);
    drop(rows);
    Ok(Some(Due { through, pages }))
}

/// Marks `slug_keys` saved at `through`: a page counted again above it stays unsaved.
///
/// # Errors
/// When SQLite fails.
pub fn saved(conn: &mut Connection, through: u64, slug_keys: &[String]) -> Result<(), ProjectionError> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    {
        let mut forget =
            tx.prepare_cached("DELETE FROM views_unsaved WHERE slug_key = ?1 AND last_sequence <= ?2")?;
        for key in slug_keys {
            forget.execute(params![key, to_i64(through)])?;
        }
    }
    tx.commit()?;
    Ok(())
}

/// The number of pages the read model ever held at most (their row ids are not reused), a
/// bound on the pages a [`Scope::Counted`] run saves.
///
/// # Errors
/// When SQLite fails.
pub fn pages_bound(conn: &Connection) -> Result<u64, ProjectionError> {
    let bound: Option<i64> = conn.query_row("SELECT max(rowid) FROM pages", [], |r| r.get(0))?;
    Ok(bound.map_or(0, to_u64))
}

/// Pages awaiting a checkpoint.
///
/// # Errors
/// When SQLite fails.
pub fn unsaved(conn: &Connection) -> Result<u64, ProjectionError> {
    Ok(to_u64(conn.query_row("SELECT count(*) FROM views_unsaved", [], |r| r.get(0))?))
}

/// Loads checkpoints into a build, before its tallies are projected, in any order: of a
/// page's checkpoints, the one at the latest position stays.
///
/// # Errors
/// When SQLite fails.
pub fn load(conn: &mut Connection, saved: &[(String, SavedCount)]) -> Result<(), ProjectionError> {
    let tx = conn.transaction()?;
    {
        let mut insert = tx.prepare_cached(
            "INSERT INTO view_checkpoints (slug_key, page_id, count, through, by_day) \
             VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (slug_key) DO UPDATE SET \
             page_id = excluded.page_id, count = excluded.count, through = excluded.through, \
             by_day = excluded.by_day WHERE excluded.through > view_checkpoints.through",
        )?;
        for (key, c) in saved {
            let by_day = serde_json::to_string(&c.by_day).unwrap_or_else(|_| "{}".to_owned());
            insert.execute(params![key, to_i64(c.page_id), to_i64(c.count), to_i64(c.through), by_day])?;
        }
    }
    tx.commit()?;
    Ok(())
}

/// How many pages have a loaded checkpoint.
///
/// # Errors
/// When SQLite fails.
pub fn loaded(conn: &Connection) -> Result<u64, ProjectionError> {
    Ok(to_u64(conn.query_row("SELECT count(*) FROM view_checkpoints", [], |r| r.get(0))?))
}

/// The latest position among the loaded checkpoints (0 when none is loaded).
///
/// # Errors
/// When SQLite fails.
pub fn newest(conn: &Connection) -> Result<u64, ProjectionError> {
    let newest: Option<i64> =
        conn.query_row("SELECT max(through) FROM view_checkpoints", [], |r| r.get(0))?;
    Ok(newest.map_or(0, to_u64))
}

/// Starts every built page whose life has a checkpoint at its checkpointed count. Call it
/// once every event is projected and before any tally.
///
/// # Errors
/// When SQLite fails.
pub fn start_counts(conn: &Connection) -> Result<u64, ProjectionError> {
    let started = conn.execute(
        "UPDATE pages SET view_count = c.count FROM view_checkpoints c \
         WHERE c.slug_key = pages.slug_key AND c.page_id = pages.page_id",
        [],
    )?;
    conn.execute(
        "INSERT INTO page_views_by_day (slug_key, page_id, day, views) \
         SELECT c.slug_key, c.page_id, d.key, d.value FROM view_checkpoints c \
         JOIN pages p ON p.slug_key = c.slug_key AND p.page_id = c.page_id, json_each(c.by_day) d \
         WHERE true ON CONFLICT (slug_key, page_id, day) DO UPDATE SET views = excluded.views",
        [],
    )?;
    Ok(started as u64)
}

/// Drops loaded checkpoints the views position has passed: every tally still to come is
/// above them, so none can be held by them any more. Until then a checkpoint stays, in a
/// build and after its swap alike, so that a tally it holds never counts twice.
///
/// # Errors
/// When SQLite fails.
pub fn forget_passed(conn: &Connection) -> Result<u64, ProjectionError> {
    let through = applied::through(conn, applied::VIEWS)?;
    Ok(conn.execute("DELETE FROM view_checkpoints WHERE through <= ?1", [to_i64(through)])? as u64)
}
