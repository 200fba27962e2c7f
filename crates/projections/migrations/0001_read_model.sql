-- The read model: everything the API answers queries from. Built only by projecting the
-- event stream; a rebuild from the stream gives the same rows.

-- One row per slug ever used: its current (or last) page. A rowid table with a unique slug
-- index rather than a table keyed by slug: new rows append instead of landing at random
-- places in a B-tree that holds whole rows, which keeps bulk projection fast.
CREATE TABLE pages (
    slug_key             TEXT    NOT NULL UNIQUE,       -- lowercase slug, the aggregate id
    slug                 TEXT    NOT NULL,              -- the author's casing
    page_id              INTEGER NOT NULL,              -- stream sequence of this page's PageCreated
    title                TEXT    NOT NULL,
    message              TEXT    NOT NULL,
    sender_name          TEXT,
    recipient_name       TEXT,
    template_id          TEXT    NOT NULL,
    edit_token_hash      TEXT    NOT NULL,              -- SHA-256 hex; never the token
    created_at           TEXT    NOT NULL,              -- RFC 3339, from the event
    updated_at           TEXT    NOT NULL,
    deleted              INTEGER NOT NULL DEFAULT 0,
    view_count           INTEGER NOT NULL DEFAULT 0,
    created_command_id   TEXT    NOT NULL,              -- the command that created this page
    last_sequence        INTEGER NOT NULL,              -- aggregate sequence of the last event applied
    last_stream_sequence INTEGER NOT NULL               -- its stream sequence
);

-- Every event of every page, for the author's history and for job status. Keyed by stream
-- position, so projection appends in order; the slug index serves history queries.
CREATE TABLE page_events (
    stream_sequence INTEGER NOT NULL,
    sequence        INTEGER NOT NULL,  -- aggregate sequence
    slug_key        TEXT    NOT NULL,
    page_id         INTEGER NOT NULL,  -- which life of the slug it belongs to
    event_type      TEXT    NOT NULL,
    occurred_at     TEXT    NOT NULL,
    changed_fields  TEXT    NOT NULL,  -- JSON array of field names
    command_id      TEXT    NOT NULL,
    PRIMARY KEY (stream_sequence, sequence)
) WITHOUT ROWID;

CREATE UNIQUE INDEX page_events_by_slug ON page_events (slug_key, sequence);
CREATE INDEX page_events_by_command ON page_events (command_id);

-- View tallies already counted, by their sequence in the VIEWS stream, so a redelivered
-- tally is never counted twice.
CREATE TABLE view_tallies (
    stream_sequence INTEGER NOT NULL PRIMARY KEY
);
