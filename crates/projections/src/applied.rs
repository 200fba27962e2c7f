//! What the read model has applied: its position on each stream, recorded in the same
//! transaction as the rows.
//!
//! A position is a sequence `through` (every message at or below it is settled) plus the few
//! messages settled above it while projectors worked in parallel (`applied_ahead`). As the
//! gap below them fills, `through` moves up and those rows leave, so the bookkeeping stays as
//! small as the work in flight, however long the stream grows.

use rusqlite::{Connection, OptionalExtension, params};
use sqlx::SqlitePool;

use crate::error::ProjectionError;

/// The page event stream.
pub const EVENTS: &str = "events";
/// The view tally stream.
pub const VIEWS: &str = "views";

/// Where the read model stands on one stream.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Position {
    /// Every message at or below this stream sequence is settled.
    pub through: u64,
    /// Messages settled above `through`, ascending.
    pub ahead: Vec<u64>,
}

impl Position {
    /// Whether the message at `sequence` is settled in the read model.
    pub fn covers(&self, sequence: u64) -> bool {
        sequence <= self.through || self.ahead.binary_search(&sequence).is_ok()
    }

    /// The highest sequence settled.
    pub fn highest(&self) -> u64 {
        self.ahead.last().copied().unwrap_or(self.through).max(self.through)
    }
}

fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn to_u64(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

/// The position `through` of `stream` (0 when nothing is settled).
///
/// # Errors
/// When SQLite fails.
pub fn through(conn: &Connection, stream: &str) -> Result<u64, ProjectionError> {
    let through: Option<i64> = conn
        .prepare_cached("SELECT through FROM stream_positions WHERE stream = ?1")?
        .query_row([stream], |r| r.get(0))
        .optional()?;
    Ok(through.map_or(0, to_u64))
}

/// Where the read model stands on `stream`, read in the caller's transaction (or snapshot).
///
/// # Errors
/// When SQLite fails.
pub fn position(conn: &Connection, stream: &str) -> Result<Position, ProjectionError> {
    let through = through(conn, stream)?;
    let ahead = conn
        .prepare_cached("SELECT sequence FROM applied_ahead WHERE stream = ?1 ORDER BY sequence")?
        .query_map([stream], |r| r.get::<_, i64>(0))?
        .map(|s| s.map(to_u64))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Position { through, ahead })
}

/// Whether the message at `sequence` of `stream` is settled already.
///
/// # Errors
/// When SQLite fails.
pub fn is_settled(
    conn: &Connection,
    stream: &str,
    through: u64,
    sequence: u64,
) -> Result<bool, ProjectionError> {
    if sequence <= through {
        return Ok(true);
    }
    Ok(conn
        .prepare_cached("SELECT 1 FROM applied_ahead WHERE stream = ?1 AND sequence = ?2")?
        .exists(params![stream, to_i64(sequence)])?)
}

/// Records the messages at `sequences` of `stream` as settled, in the caller's write
/// transaction, and moves the position up over every gap they close. Returns the new
/// `through`; the sequences above it stay recorded as ahead.
///
/// # Errors
/// When SQLite fails.
pub fn record(conn: &Connection, stream: &str, sequences: &[u64]) -> Result<u64, ProjectionError> {
    let mut through = through(conn, stream)?;
    let mut fresh: Vec<u64> = sequences.iter().copied().filter(|&s| s > through).collect();
    if fresh.is_empty() {
        return Ok(through);
    }
    fresh.sort_unstable();
    fresh.dedup();
    // Most batches continue the position directly: no rows at all.
    let mut rest = fresh.as_slice();
    while let Some((&first, tail)) = rest.split_first() {
        if first != through + 1 {
            break;
        }
        through = first;
        rest = tail;
    }
    if !rest.is_empty() {
        let mut insert =
            conn.prepare_cached("INSERT OR IGNORE INTO applied_ahead (stream, sequence) VALUES (?1, ?2)")?;
        for &s in rest {
            insert.execute(params![stream, to_i64(s)])?;
        }
    }
    through = close_gaps(conn, stream, through)?;
    set_through(conn, stream, through)?;
    Ok(through)
}

/// Moves `through` up over the rows ahead that continue it, deleting them.
fn close_gaps(conn: &Connection, stream: &str, mut through: u64) -> Result<u64, ProjectionError> {
    let mut next = conn.prepare_cached(
        "SELECT sequence FROM applied_ahead WHERE stream = ?1 AND sequence > ?2 ORDER BY sequence LIMIT 256",
    )?;
    loop {
        let ahead: Vec<u64> = next
            .query_map(params![stream, to_i64(through)], |r| r.get::<_, i64>(0))?
            .map(|s| s.map(to_u64))
            .collect::<Result<_, _>>()?;
        let before = through;
        for s in &ahead {
            if *s != through + 1 {
                break;
            }
            through = *s;
        }
        if through == before || through < ahead.last().copied().unwrap_or(0) || ahead.len() < 256 {
            break;
        }
    }
    Ok(through)
}

fn set_through(conn: &Connection, stream: &str, through: u64) -> Result<(), ProjectionError> {
    let through = to_i64(through);
    conn.prepare_cached(
        "INSERT INTO stream_positions (stream, through) VALUES (?1, ?2) \
         ON CONFLICT (stream) DO UPDATE SET through = max(through, excluded.through)",
    )?
    .execute(params![stream, through])?;
    conn.prepare_cached("DELETE FROM applied_ahead WHERE stream = ?1 AND sequence <= ?2")?
        .execute(params![stream, through])?;
    if stream == VIEWS {
        conn.prepare_cached("DELETE FROM views_ahead WHERE sequence <= ?1")?.execute([through])?;
    }
    Ok(())
}

/// Moves the position of `stream` up to `floor` when every message up to there is known to
/// be settled by other means: the projectors' shared consumer has acknowledged (or
/// terminated) all of them, and a projector acknowledges only after its commit. This passes
/// over messages that were never applied because they are unreadable or gone from the stream.
/// Returns the new `through`.
///
/// # Errors
/// When SQLite fails.
pub fn settle_through(conn: &mut Connection, stream: &str, floor: u64) -> Result<u64, ProjectionError> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let mut through = through(&tx, stream)?;
    if floor > through {
        through = close_gaps(&tx, stream, floor)?;
        set_through(&tx, stream, through)?;
    }
    tx.commit()?;
    Ok(through)
}

/// The read model's `through` on the events and the views stream, for status and job queries.
///
/// # Errors
/// When SQLite fails.
pub async fn positions(pool: &SqlitePool) -> Result<(u64, u64), ProjectionError> {
    let rows: Vec<(String, i64)> =
        sqlx::query_as("SELECT stream, through FROM stream_positions").fetch_all(pool).await?;
    let of = |name: &str| rows.iter().find(|(s, _)| s == name).map_or(0, |(_, t)| to_u64(*t));
    Ok((of(EVENTS), of(VIEWS)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model() -> Connection {
        let conn = Connection::open_in_memory().expect("open");
        conn.execute_batch(
            "CREATE TABLE stream_positions (stream TEXT PRIMARY KEY, through INTEGER NOT NULL, \
             checkpoint_from INTEGER NOT NULL DEFAULT 0, checkpointed_at INTEGER NOT NULL DEFAULT 0);
             CREATE TABLE applied_ahead (stream TEXT, sequence INTEGER, PRIMARY KEY (stream, sequence));
             CREATE TABLE views_ahead (sequence INTEGER, slug_key TEXT, page_id INTEGER, count INTEGER);",
        )
        .expect("schema");
        conn
    }

    #[test]
    fn in_order_batches_move_the_position_without_rows() {
        let conn = model();
        assert_eq!(record(&conn, EVENTS, &[1, 2, 3]).expect("record"), 3);
        assert_eq!(record(&conn, EVENTS, &[4, 5]).expect("record"), 5);
        assert_eq!(position(&conn, EVENTS).expect("position"), Position { through: 5, ahead: vec![] });
    }

    #[test]
    fn a_batch_committed_early_waits_ahead_until_the_gap_closes() {
        let conn = model();
        record(&conn, VIEWS, &[1, 2]).expect("record");
        assert_eq!(record(&conn, VIEWS, &[6, 5, 9]).expect("record"), 2);
        let early = position(&conn, VIEWS).expect("position");
        assert_eq!(early, Position { through: 2, ahead: vec![5, 6, 9] });
        assert!(early.covers(6) && !early.covers(4) && !early.covers(7));
        assert_eq!(early.highest(), 9);
        assert_eq!(record(&conn, VIEWS, &[4, 3]).expect("record"), 6);
        assert_eq!(position(&conn, VIEWS).expect("position"), Position { through: 6, ahead: vec![9] });
        assert_eq!(record(&conn, VIEWS, &[8, 7, 2]).expect("record"), 9);
        assert_eq!(position(&conn, VIEWS).expect("position").ahead, Vec::<u64>::new());
    }

    #[test]
    fn a_long_run_ahead_closes_in_one_step() {
        let conn = model();
        let ahead: Vec<u64> = (2..=1000).collect();
        assert_eq!(record(&conn, EVENTS, &ahead).expect("record"), 0);
        assert_eq!(record(&conn, EVENTS, &[1]).expect("record"), 1000);
    }

    #[test]
    fn settling_to_the_acknowledged_floor_passes_over_messages_never_applied() {
        let mut conn = model();
        record(&conn, EVENTS, &[1, 2, 4, 6]).expect("record");
        // 3 was unreadable and terminated; 5 and 7 are still ahead of the floor.
        assert_eq!(settle_through(&mut conn, EVENTS, 4).expect("settle"), 4);
        assert_eq!(position(&conn, EVENTS).expect("position"), Position { through: 4, ahead: vec![6] });
        assert_eq!(settle_through(&mut conn, EVENTS, 2).expect("settle"), 4, "never backwards");
        record(&conn, EVENTS, &[5]).expect("record");
        assert_eq!(through(&conn, EVENTS).expect("through"), 6);
    }
}
