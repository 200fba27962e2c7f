-- The read model: everything the API answers queries from. Built only by projecting the
-- event stream; a rebuild from the stream gives the same rows.

-- One row per slug ever used: its current (or last) page.
CREATE TABLE pages (
    slug_key             TEXT    NOT NULL PRIMARY KEY,  -- lowercase slug, the aggregate id
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
) WITHOUT ROWID;

-- Every event of every page, for the author's history and for job status.
CREATE TABLE page_events (
    slug_key        TEXT    NOT NULL,
    sequence        INTEGER NOT NULL,  -- aggregate sequence
    stream_sequence INTEGER NOT NULL,
    page_id         INTEGER NOT NULL,  -- which life of the slug it belongs to
    event_type      TEXT    NOT NULL,
    occurred_at     TEXT    NOT NULL,
    changed_fields  TEXT    NOT NULL,  -- JSON array of field names
    command_id      TEXT    NOT NULL,
    PRIMARY KEY (slug_key, sequence)
) WITHOUT ROWID;

CREATE INDEX page_events_by_command ON page_events (command_id);

-- View tallies already counted, by their sequence in the VIEWS stream, so a redelivered
-- tally is never counted twice.
CREATE TABLE view_tallies (
    stream_sequence INTEGER NOT NULL PRIMARY KEY
);
