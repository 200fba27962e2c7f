-- What the author sees of their page's life: its first open, the recipient's reply, the
-- address mails go to (never shown publicly), and views per day. All of it is erased with
-- the page's row.

ALTER TABLE pages ADD COLUMN first_opened_at TEXT;     -- RFC 3339, from the PageOpened event
ALTER TABLE pages ADD COLUMN answer          TEXT;     -- 'yes' or 'heart'
ALTER TABLE pages ADD COLUMN answer_dodges   INTEGER;
ALTER TABLE pages ADD COLUMN answered_at     TEXT;
ALTER TABLE pages ADD COLUMN notify_email    TEXT;

-- Views of a page per UTC day, by the time its tally reached the VIEWS stream. Only the
-- current life of a slug keeps rows.
CREATE TABLE page_views_by_day (
    slug_key TEXT    NOT NULL,
    page_id  INTEGER NOT NULL,
    day      TEXT    NOT NULL,  -- YYYY-MM-DD
    views    INTEGER NOT NULL,
    PRIMARY KEY (slug_key, page_id, day)
) WITHOUT ROWID;

-- The day each view message above the views position counted on (view checkpoints keep
-- counts per day too).
ALTER TABLE views_ahead ADD COLUMN day TEXT NOT NULL DEFAULT '';

-- A checkpoint's views per day, as a JSON object of day → views.
ALTER TABLE view_checkpoints ADD COLUMN by_day TEXT NOT NULL DEFAULT '{}';
