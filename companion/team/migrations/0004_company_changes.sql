-- The shared company cache: the companies the team's syncer read from CATS, numbered by change so
-- every member replicates what it has not applied yet, and the syncer's marks (high-water mark,
-- last full scan) so the next syncer continues where the last one stopped.
--
-- `companies` is a compacted change log: one row per CATS company ever seen, carrying the number of
-- its latest change; a deletion keeps the row as a tombstone (data NULL). A member that applied up
-- to N reads the rows with change_no > N in change_no order; a member joining late reads from 0
-- and gets one row per company instead of the whole history.
--
-- Members only read these tables. They write through cats_companion.publish_companies, a SECURITY
-- DEFINER function owned by the admin group, which refuses a caller whose session does not hold
-- the syncer advisory lock (SYNCER_LOCK in companion/team/company_log.py). So one session at a
-- time writes, its transactions commit one after another, and the change numbers it takes are in
-- commit order: a reader never skips a change that commits after a higher number was visible.

CREATE TABLE cats_companion.companies (
    id         bigint PRIMARY KEY,
    -- The CompanyRow as JSON; NULL once CATS deleted the company (a tombstone).
    data       jsonb CHECK (data IS NULL OR jsonb_typeof(data) = 'object'),
    change_no  bigint NOT NULL,
    changed_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX companies_change_no ON cats_companion.companies (change_no);

CREATE TABLE cats_companion.company_sync_marks (
    -- One row: where the team's company sync stands (companion.store.companies.SyncRecord's fields).
    singleton  boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    marks      jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(marks) = 'object'),
    -- The change number current when the marks were written: they cover every change up to it.
    change_no  bigint NOT NULL DEFAULT 0,
    written_at timestamptz NOT NULL DEFAULT now(),
    written_by text NOT NULL DEFAULT session_user
);
INSERT INTO cats_companion.company_sync_marks DEFAULT VALUES;

CREATE FUNCTION cats_companion.publish_companies(rows jsonb, deleted bigint[], marks jsonb)
RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    row_data jsonb;
    company  bigint;
    last_no  bigint;
BEGIN
    -- The syncer lock, taken with pg_try_advisory_lock(bigint) on this database by this session.
    IF NOT EXISTS (
        SELECT 1 FROM pg_catalog.pg_locks
        WHERE locktype = 'advisory' AND granted AND pid = pg_catalog.pg_backend_pid()
          AND database = (SELECT oid FROM pg_catalog.pg_database WHERE datname = current_database())
          AND classid = 0 AND objid = 1668512099 AND objsubid = 1
    ) THEN
        RAISE EXCEPTION 'only the team''s elected company syncer may publish companies'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF jsonb_typeof(rows) <> 'array' THEN
        RAISE EXCEPTION 'rows must be a JSON array' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    FOR row_data IN SELECT value FROM jsonb_array_elements(rows) LOOP
        company := (row_data ->> 'id')::bigint;
        IF company IS NULL OR jsonb_typeof(row_data) <> 'object' THEN
            RAISE EXCEPTION 'every row needs an id' USING ERRCODE = 'invalid_parameter_value';
        END IF;
        last_no := nextval('cats_companion.change_number');
        INSERT INTO cats_companion.companies AS c (id, data, change_no, changed_at)
            VALUES (company, row_data, last_no, now())
            ON CONFLICT (id) DO UPDATE SET data = excluded.data, change_no = excluded.change_no,
                changed_at = excluded.changed_at;
    END LOOP;
    FOREACH company IN ARRAY coalesce(deleted, '{}'::bigint[]) LOOP
        last_no := nextval('cats_companion.change_number');
        INSERT INTO cats_companion.companies AS c (id, data, change_no, changed_at)
            VALUES (company, NULL, last_no, now())
            ON CONFLICT (id) DO UPDATE SET data = NULL, change_no = excluded.change_no,
                changed_at = excluded.changed_at;
    END LOOP;
    IF last_no IS NULL THEN
        last_no := coalesce((SELECT max(change_no) FROM cats_companion.companies), 0);
    END IF;
    IF marks IS NOT NULL THEN
        UPDATE cats_companion.company_sync_marks
            SET marks = publish_companies.marks, change_no = last_no, written_at = now(),
                written_by = session_user;
    END IF;
    -- Delivered when the transaction commits, to every member LISTENing.
    PERFORM pg_notify('cats_companion_companies', last_no::text);
    RETURN last_no;
END
$$;
REVOKE ALL ON FUNCTION cats_companion.publish_companies(jsonb, bigint[], jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION cats_companion.publish_companies(jsonb, bigint[], jsonb) TO @member_role@;

GRANT SELECT ON cats_companion.companies, cats_companion.company_sync_marks TO @member_role@;
ALTER TABLE cats_companion.companies ENABLE ROW LEVEL SECURITY;
ALTER TABLE cats_companion.company_sync_marks ENABLE ROW LEVEL SECURITY;
CREATE POLICY companies_read ON cats_companion.companies FOR SELECT TO @member_role@ USING (true);
CREATE POLICY company_sync_marks_read ON cats_companion.company_sync_marks
    FOR SELECT TO @member_role@ USING (true);
