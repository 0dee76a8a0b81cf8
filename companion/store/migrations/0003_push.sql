-- 0003: pushing people to CATS: campaigns, people and their CATS records, campaign members and
-- their events, the durable outbox (one row per CATS write to make), and the sync log.

CREATE TABLE campaigns (
    id            INTEGER PRIMARY KEY NOT NULL,
    name          TEXT NOT NULL,
    -- per-campaign overrides; NULL = the settings' value
    sync_trigger  TEXT CHECK (sync_trigger IN ('on_add', 'on_reply', 'when_interested', 'never')),
    record_type   TEXT CHECK (record_type IN ('candidates', 'contacts')),
    archived_at   TEXT,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL
);

-- Two live campaigns never share a name; an archived one frees its name.
CREATE UNIQUE INDEX campaigns_live_name ON campaigns (name COLLATE NOCASE) WHERE archived_at IS NULL;

-- A person as the extension collected them (and the user corrected): the rules' Person as JSON.
CREATE TABLE people (
    id            INTEGER PRIMARY KEY NOT NULL,
    identity_key  TEXT NOT NULL UNIQUE,
    display_name  TEXT NOT NULL,
    data          TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL
);

-- The CATS record a person has (or will have) of each type; cats_id is set once CATS gave it.
CREATE TABLE person_records (
    person_id     INTEGER NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    record_type   TEXT NOT NULL CHECK (record_type IN ('candidates', 'contacts')),
    cats_id       INTEGER,
    -- how the id was found: created, merged (an existing record), adopted (an uncertain create that landed)
    how           TEXT CHECK (how IN ('created', 'merged', 'adopted')),
    synced_at     TEXT,
    PRIMARY KEY (person_id, record_type)
) WITHOUT ROWID;

CREATE TABLE campaign_members (
    campaign_id   INTEGER NOT NULL REFERENCES campaigns (id),
    person_id     INTEGER NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    -- "sync as": the record type this member becomes in CATS
    record_type   TEXT NOT NULL CHECK (record_type IN ('candidates', 'contacts')),
    added_at      TEXT NOT NULL,
    -- the rules' PersonSyncState after the member's latest decision (JSON)
    state         TEXT NOT NULL DEFAULT '{}',
    PRIMARY KEY (campaign_id, person_id)
) WITHOUT ROWID;

CREATE INDEX campaign_members_by_person ON campaign_members (person_id);

-- Events on members, in the order recorded (rowid). `id` is the caller's (an outreach tool's) or a
-- generated one: the same id is recorded once, so an import can be re-run without doubling anything.
CREATE TABLE campaign_events (
    id            TEXT PRIMARY KEY NOT NULL,
    campaign_id   INTEGER NOT NULL REFERENCES campaigns (id),
    person_id     INTEGER NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    type          TEXT NOT NULL CHECK (type IN ('added', 'outreach', 'replied', 'interested', 'not_interested', 'meeting_booked')),
    outreach      TEXT,
    at            TEXT NOT NULL,
    text          TEXT,
    source        TEXT NOT NULL,
    recorded_at   TEXT NOT NULL
);

CREATE INDEX campaign_events_by_member ON campaign_events (campaign_id, person_id);

-- The outbox: every CATS write the companion has accepted, in order. A record item creates or
-- updates the person's record; a note item adds one activity to it. State changes are written
-- before and after each CATS call; `in_flight` names the create that was sent and not yet
-- answered, so after a crash the worker looks in CATS before sending it again.
CREATE TABLE outbox (
    id            INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    person_id     INTEGER NOT NULL REFERENCES people (id),
    person_key    TEXT NOT NULL,
    kind          TEXT NOT NULL CHECK (kind IN ('record', 'note')),
    record_type   TEXT NOT NULL CHECK (record_type IN ('candidates', 'contacts')),
    priority      TEXT NOT NULL CHECK (priority IN ('interactive', 'background')),
    -- record: {"company_id", "company_name", "reason", ...}; note: the rules' NoteSpec
    payload       TEXT NOT NULL,
    campaign_id   INTEGER,
    event_id      TEXT,
    status        TEXT NOT NULL DEFAULT 'queued'
                  CHECK (status IN ('queued', 'sending', 'waiting', 'synced', 'failed', 'cancelled')),
    wait_reason   TEXT CHECK (wait_reason IN ('network', 'rate', 'until')),
    not_before    TEXT,
    in_flight     TEXT CHECK (in_flight IN ('create', 'note')),
    attempts      INTEGER NOT NULL DEFAULT 0,
    attempt_at    TEXT,
    cats_id       INTEGER,
    error_code    TEXT,
    error_message TEXT,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL
);

CREATE INDEX outbox_pending ON outbox (status, id) WHERE status IN ('queued', 'sending', 'waiting');
CREATE INDEX outbox_by_person ON outbox (person_id, id);
-- An event becomes at most one note on a record.
CREATE UNIQUE INDEX outbox_note_once ON outbox (person_id, record_type, event_id)
    WHERE kind = 'note' AND status != 'cancelled';

-- What was sent to CATS and what came of it, newest last.
CREATE TABLE sync_log (
    id             INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    at             TEXT NOT NULL,
    outbox_id      INTEGER,
    person_id      INTEGER,
    record_type    TEXT,
    action         TEXT NOT NULL,
    outcome        TEXT NOT NULL CHECK (outcome IN ('ok', 'waiting', 'failed', 'cancelled', 'retry')),
    cats_id        INTEGER,
    changed_fields TEXT NOT NULL DEFAULT '[]',
    requests       INTEGER NOT NULL DEFAULT 0,
    code           TEXT,
    message        TEXT
);

CREATE INDEX sync_log_by_item ON sync_log (outbox_id);
