-- 0007: the CATS account profile (`cats-companion cats probe`): what the probe found out about the
-- account at `base_url`, as the JSON of companion/cats/profile.py's AccountProfile. One row per
-- account; a later probe replaces it (keeping the write probes' answers a read-only probe lacks).
CREATE TABLE cats_profiles (
    base_url     TEXT PRIMARY KEY NOT NULL,
    answers      TEXT NOT NULL,
    requests     INTEGER NOT NULL CHECK (requests >= 0),
    write_probes INTEGER NOT NULL CHECK (write_probes IN (0, 1)),
    probed_at    TEXT NOT NULL
);
