-- Where the read model stands on each stream it projects, written in the same transaction as
-- the rows it describes, so a copy of the file knows where to resume and a status never
-- guesses.

-- Every message of `stream` at or below `through` is settled here: applied, or known to
-- count for nothing.
CREATE TABLE stream_positions (
    stream          TEXT    NOT NULL PRIMARY KEY,  -- 'events' or 'views'
    through         INTEGER NOT NULL,
    -- Views only: checkpoints are written once `through` reaches this (tallies counted before
    -- positions were recorded say nothing about which pages they counted).
    checkpoint_from INTEGER NOT NULL DEFAULT 0,
    -- Views only: when (Unix seconds) a projector last claimed the checkpoint run.
    checkpointed_at INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;

-- Messages settled above `through`: projectors share the work and commit in any order, so a
-- message can be settled before one below it. Rows leave as `through` passes them, so the
-- table holds only the messages in flight, never the history.
CREATE TABLE applied_ahead (
    stream   TEXT    NOT NULL,
    sequence INTEGER NOT NULL,
    PRIMARY KEY (stream, sequence)
) WITHOUT ROWID;

-- What each view message settled above the views position added to which page, so the count
-- a page had at exactly the position can be told (view checkpoints).
CREATE TABLE views_ahead (
    sequence INTEGER NOT NULL,
    slug_key TEXT    NOT NULL,
    page_id  INTEGER NOT NULL,
    count    INTEGER NOT NULL,
    PRIMARY KEY (sequence, slug_key)
) WITHOUT ROWID;
CREATE INDEX views_ahead_by_slug ON views_ahead (slug_key);

-- Pages counted since their count was last checkpointed, with the latest view message that
-- counted them.
CREATE TABLE views_unsaved (
    slug_key      TEXT    NOT NULL PRIMARY KEY,
    last_sequence INTEGER NOT NULL
) WITHOUT ROWID;

-- Checkpointed counts a rebuild starts from: filled by the rebuild, empty in live use.
CREATE TABLE view_checkpoints (
    slug_key TEXT    NOT NULL PRIMARY KEY,
    page_id  INTEGER NOT NULL,
    count    INTEGER NOT NULL,
    through  INTEGER NOT NULL
) WITHOUT ROWID;

INSERT INTO stream_positions (stream, through) VALUES ('events', 0);
-- A read model from before positions: its counted tallies move to `applied_ahead` and leave
-- as the position passes them; every counted page awaits its first checkpoint.
INSERT INTO stream_positions (stream, through, checkpoint_from)
    SELECT 'views', 0, coalesce(max(stream_sequence), 0) FROM view_tallies;
INSERT INTO applied_ahead (stream, sequence) SELECT 'views', stream_sequence FROM view_tallies;
INSERT INTO views_unsaved (slug_key, last_sequence) SELECT slug_key, 0 FROM pages WHERE view_count > 0;
DROP TABLE view_tallies;
