-- What may make a page special beyond its words: its song, the moment it opens, the PIN
-- that keeps it private (only its Argon2id hash), and its photo (the image itself lives in
-- the event store's object store; the row names it). All of it is erased with the row.

ALTER TABLE pages ADD COLUMN song_url     TEXT;     -- canonical link
ALTER TABLE pages ADD COLUMN reveal_at    TEXT;     -- RFC 3339, UTC
ALTER TABLE pages ADD COLUMN pin_hash     TEXT;     -- PHC string
ALTER TABLE pages ADD COLUMN photo_sha256 TEXT;     -- hex, of the stored image
ALTER TABLE pages ADD COLUMN photo_type   TEXT;     -- image/jpeg or image/png
ALTER TABLE pages ADD COLUMN photo_width  INTEGER;
ALTER TABLE pages ADD COLUMN photo_height INTEGER;
