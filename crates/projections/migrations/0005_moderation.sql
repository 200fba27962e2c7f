-- Moderation: whether a moderator took the page down (and why, and when), and the reports
-- people sent about it. Reports are erased with the page: their notes may name people.

ALTER TABLE pages ADD COLUMN taken_down_at     TEXT;   -- RFC 3339, while the page is down
ALTER TABLE pages ADD COLUMN taken_down_reason TEXT;   -- the moderator's reason

CREATE TABLE page_reports (
    slug_key        TEXT    NOT NULL,
    page_id         INTEGER NOT NULL,
    stream_sequence INTEGER NOT NULL,
    sequence        INTEGER NOT NULL,
    reason          TEXT    NOT NULL,  -- spam, harassment, hate, sexual, personal_info, illegal, other
    note            TEXT,
    reported_at     TEXT    NOT NULL,  -- RFC 3339
    PRIMARY KEY (stream_sequence, sequence)
) WITHOUT ROWID;

CREATE INDEX page_reports_by_slug ON page_reports (slug_key, page_id);
