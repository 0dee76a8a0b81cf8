-- The CATS users and company statuses the team's syncer read at the start of its last full scan,
-- shared so that every member shows owners' and statuses' names instead of ids without asking CATS.
--
-- One row per kind ('users', 'statuses') holding the whole list as a JSON array (a full list read
-- in one go and replaced at each scan: a few hundred rows, not a change log), when the syncer read
-- it from CATS, and a version taken from cats_companion.lookup_version at each publish. A member
-- that applied up to version N reads the rows with version > N; one joining late reads from 0.
--
-- Members only read the table. They write through cats_companion.publish_lookups, a SECURITY
-- DEFINER function owned by the admin group which, like publish_companies, refuses a caller whose
-- session does not hold the syncer advisory lock (SYNCER_LOCK in companion/team/company_log.py), and
-- NOTIFYs the companies' channel on commit, so members are woken (or poll) as for the companies.

CREATE SEQUENCE cats_companion.lookup_version AS bigint;

CREATE TABLE cats_companion.cats_lookups (
    kind       text PRIMARY KEY CHECK (kind IN ('users', 'statuses')),
    -- UserRow / StatusRow objects (companion.store.companies) as JSON.
    items      jsonb NOT NULL CHECK (jsonb_typeof(items) = 'array'),
    -- When the syncer read the list from CATS (its scan's start).
    read_at    timestamptz NOT NULL,
    version    bigint NOT NULL UNIQUE,
    written_at timestamptz NOT NULL DEFAULT now(),
    written_by text NOT NULL DEFAULT session_user
);

-- `lookups` maps kinds to their whole lists: {"users": [...], "statuses": [...]}. Returns the last
-- version written (the newest one held when `lookups` is empty).
CREATE FUNCTION cats_companion.publish_lookups(lookups jsonb, read_at timestamptz)
RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    kind_name text;
    list      jsonb;
    last_no   bigint;
BEGIN
    -- The syncer lock, taken with pg_try_advisory_lock(bigint) on this database by this session.
    IF NOT EXISTS (
        SELECT 1 FROM pg_catalog.pg_locks
        WHERE locktype = 'advisory' AND granted AND pid = pg_catalog.pg_backend_pid()
          AND database = (SELECT oid FROM pg_catalog.pg_database WHERE datname = current_database())
          AND classid = 0 AND objid = 1668512099 AND objsubid = 1
    ) THEN
        RAISE EXCEPTION 'only the team''s elected company syncer may publish CATS users and statuses'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF jsonb_typeof(lookups) IS DISTINCT FROM 'object' THEN
        RAISE EXCEPTION 'lookups must be a JSON object' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF publish_lookups.read_at IS NULL THEN
        RAISE EXCEPTION 'read_at is required' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    FOR kind_name, list IN SELECT key, value FROM jsonb_each(lookups) ORDER BY key LOOP
        IF kind_name NOT IN ('users', 'statuses') THEN
            RAISE EXCEPTION 'unknown lookup kind %', kind_name USING ERRCODE = 'invalid_parameter_value';
        END IF;
        IF jsonb_typeof(list) <> 'array' OR EXISTS (
            SELECT 1 FROM jsonb_array_elements(list) AS e
            WHERE jsonb_typeof(e.value) <> 'object' OR jsonb_typeof(e.value -> 'id') IS DISTINCT FROM 'number'
        ) THEN
            RAISE EXCEPTION 'every % row needs a numeric id', kind_name
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
        last_no := nextval('cats_companion.lookup_version');
        INSERT INTO cats_companion.cats_lookups AS l (kind, items, read_at, version, written_at, written_by)
            VALUES (kind_name, list, publish_lookups.read_at, last_no, now(), session_user)
            ON CONFLICT (kind) DO UPDATE SET items = excluded.items, read_at = excluded.read_at,
                version = excluded.version, written_at = excluded.written_at,
                written_by = excluded.written_by;
    END LOOP;
    IF last_no IS NULL THEN
        RETURN coalesce((SELECT max(version) FROM cats_companion.cats_lookups), 0);
    END IF;
    -- The companies' channel: the link wakes every member's replication on it (the payload is unused).
    PERFORM pg_notify('cats_companion_companies', 'lookups');
    RETURN last_no;
END
$$;
REVOKE ALL ON FUNCTION cats_companion.publish_lookups(jsonb, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION cats_companion.publish_lookups(jsonb, timestamptz) TO @member_role@;

GRANT SELECT ON cats_companion.cats_lookups TO @member_role@;
ALTER TABLE cats_companion.cats_lookups ENABLE ROW LEVEL SECURITY;
CREATE POLICY cats_lookups_read ON cats_companion.cats_lookups FOR SELECT TO @member_role@ USING (true);
