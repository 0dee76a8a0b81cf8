-- 0002: the company cache (CATS companies with their derived match keys), the names of the
-- users and statuses they refer to, recruiter-confirmed aliases, and the sync's own state.

CREATE TABLE companies (
    id                 INTEGER PRIMARY KEY NOT NULL,      -- the CATS id
    name               TEXT NOT NULL,
    website            TEXT,
    phones             TEXT NOT NULL DEFAULT '{}',        -- JSON object, kind -> number
    street             TEXT,
    city               TEXT,
    state              TEXT,
    postal_code        TEXT,
    country_code       TEXT,
    owner_id           INTEGER,
    status_id          INTEGER,
    billing_contact_id INTEGER,                           -- the key contact
    notes              TEXT,
    is_hot             INTEGER,                           -- 0/1, NULL when CATS sent none
    key_technologies   TEXT,
    social_media_urls  TEXT NOT NULL DEFAULT '[]',        -- JSON array
    custom_fields      TEXT NOT NULL DEFAULT '{}',        -- JSON object, definition id -> value
    date_created       TEXT,                              -- RFC 3339, normalised to UTC
    date_modified      TEXT,                              -- RFC 3339, normalised to UTC
    -- derived match keys (companion.matching), recomputed whenever the row is written
    name_key           TEXT NOT NULL,
    domain             TEXT,
    linkedin_slug      TEXT,
    synced_at          TEXT NOT NULL,
    -- the full-scan run that last saw this company; a finished run removes rows it did not see
    seen_run           INTEGER NOT NULL DEFAULT 0
);

CREATE INDEX companies_by_name_key ON companies (name_key);
CREATE INDEX companies_by_domain ON companies (domain) WHERE domain IS NOT NULL;
CREATE INDEX companies_by_linkedin_slug ON companies (linkedin_slug) WHERE linkedin_slug IS NOT NULL;

-- GET /users, refreshed once per full sync: the card shows owners by name.
CREATE TABLE cats_users (
    id           INTEGER PRIMARY KEY NOT NULL,
    display_name TEXT NOT NULL,
    username     TEXT,
    email        TEXT,
    synced_at    TEXT NOT NULL
);

-- GET /companies/statuses, refreshed once per full sync.
CREATE TABLE company_statuses (
    id        INTEGER PRIMARY KEY NOT NULL,
    title     TEXT NOT NULL,
    mapping   TEXT,
    synced_at TEXT NOT NULL
);

-- "This profile's company is CATS company N", confirmed by a recruiter. No foreign key: an alias
-- may name a company the cache has not seen yet; lookups ignore aliases to unknown companies.
CREATE TABLE company_aliases (
    kind         TEXT NOT NULL CHECK (kind IN ('name', 'domain', 'linkedin')),
    key          TEXT NOT NULL,
    company_id   INTEGER NOT NULL,
    confirmed_at TEXT NOT NULL,
    PRIMARY KEY (kind, key)
) WITHOUT ROWID;

CREATE INDEX company_aliases_by_company ON company_aliases (company_id);

-- One row: where the sync stands. A full scan's checkpoint (run, next link, pages done) is
-- written in the same transaction as each page's rows, so a stopped scan resumes after the
-- last page it stored.
CREATE TABLE company_sync_state (
    id                    INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
    last_run_id           INTEGER NOT NULL DEFAULT 0,
    -- the full scan in progress: idle, scanning (pages) or removing (deleting what it did not see)
    full_stage            TEXT NOT NULL DEFAULT 'idle' CHECK (full_stage IN ('idle', 'scanning', 'removing')),
    full_run_id           INTEGER,
    full_next_href        TEXT,
    full_pages_done       INTEGER NOT NULL DEFAULT 0,
    full_pages_total      INTEGER,
    full_started_at       TEXT,
    -- the newest date_modified the scan has seen
    full_max_modified     TEXT,
    last_full_success_at  TEXT,
    last_success_at       TEXT,
    -- incremental sync: which way works on this account, and how far it has got
    incremental_mode      TEXT NOT NULL DEFAULT 'unknown' CHECK (incremental_mode IN ('unknown', 'search', 'events')),
    high_water            TEXT,
    event_cursor          INTEGER,
    events_since          TEXT,
    last_error_code       TEXT,
    last_error_message    TEXT,
    last_error_at         TEXT
);

INSERT INTO company_sync_state (id) VALUES (1);
