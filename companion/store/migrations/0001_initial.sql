-- 0001: what the daemon skeleton needs: a key/value table for facts about this database.
-- (schema_migrations itself is created by companion.store.migrations before any migration runs.)

CREATE TABLE meta (
    key   TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
) WITHOUT ROWID;

INSERT INTO meta (key, value) VALUES ('created_at', strftime('%Y-%m-%dT%H:%M:%fZ', 'now'));
