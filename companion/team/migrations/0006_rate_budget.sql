-- The team's CATS rate budget: every member's companion spends the one account's hourly allowance,
-- so each records what it sent and the account's rate headers it saw, and reads everyone's.
--
-- `rate_requests` is an append-only log, one row per request sent to CATS, kept for an hour. CATS
-- allows about 500 requests an hour per account, so the whole team writes at most that many rows
-- an hour; a companion inserts its requests in batches every few seconds. `rate_headers` holds,
-- per member, the latest `X-Rate-Limit-Limit` / `X-Rate-Limit-Remaining` its companion saw: the
-- account's truth at that moment. A member's budget takes the freshest of these and adds the
-- requests logged after it (companion/team/rate_budget.py).
--
-- Times are the server's: a companion measures its clock's offset from the server's and converts
-- with it, so members' clocks need not agree. The triggers below refuse a time in the future
-- (which would make one member's report look freshest forever).
--
-- Members read every row and write only their own (row-level security by session_user: the login
-- role PostgreSQL authenticated, which SET ROLE cannot change); a member may delete only its own
-- rows older than an hour (the pruning its companion does).

CREATE TABLE cats_companion.rate_requests (
    member   text NOT NULL DEFAULT session_user,
    -- The companion process that sent it: two companions of one member count each other's requests.
    origin   uuid NOT NULL,
    sent_at  timestamptz NOT NULL,
    priority text NOT NULL CHECK (priority IN ('interactive', 'background'))
);
CREATE INDEX rate_requests_sent_at ON cats_companion.rate_requests (sent_at);

CREATE TABLE cats_companion.rate_headers (
    member      text PRIMARY KEY DEFAULT session_user,
    rate_limit  integer NOT NULL CHECK (rate_limit > 0),
    remaining   integer NOT NULL CHECK (remaining >= 0),
    observed_at timestamptz NOT NULL
);

CREATE FUNCTION cats_companion.check_rate_time() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    -- The column to check is the trigger's argument: one function for both tables.
    at timestamptz := (to_jsonb(NEW) ->> TG_ARGV[0])::timestamptz;
BEGIN
    -- A little slack for the time between the client's now() and the statement's.
    IF at > now() + interval '5 seconds' THEN
        RAISE EXCEPTION 'a rate budget time cannot be in the future' USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER rate_requests_time BEFORE INSERT OR UPDATE ON cats_companion.rate_requests
    FOR EACH ROW EXECUTE FUNCTION cats_companion.check_rate_time('sent_at');
CREATE TRIGGER rate_headers_time BEFORE INSERT OR UPDATE ON cats_companion.rate_headers
    FOR EACH ROW EXECUTE FUNCTION cats_companion.check_rate_time('observed_at');

GRANT SELECT, INSERT, DELETE ON cats_companion.rate_requests TO @member_role@;
GRANT SELECT, INSERT ON cats_companion.rate_headers TO @member_role@;
GRANT UPDATE (rate_limit, remaining, observed_at) ON cats_companion.rate_headers TO @member_role@;

ALTER TABLE cats_companion.rate_requests ENABLE ROW LEVEL SECURITY;
ALTER TABLE cats_companion.rate_headers ENABLE ROW LEVEL SECURITY;

CREATE POLICY rate_requests_read ON cats_companion.rate_requests FOR SELECT TO @member_role@
    USING (true);
CREATE POLICY rate_requests_insert_own ON cats_companion.rate_requests FOR INSERT TO @member_role@
    WITH CHECK (member = session_user);
CREATE POLICY rate_requests_prune_own ON cats_companion.rate_requests FOR DELETE TO @member_role@
    USING (member = session_user AND sent_at < now() - interval '1 hour');

CREATE POLICY rate_headers_read ON cats_companion.rate_headers FOR SELECT TO @member_role@
    USING (true);
CREATE POLICY rate_headers_insert_own ON cats_companion.rate_headers FOR INSERT TO @member_role@
    WITH CHECK (member = session_user);
CREATE POLICY rate_headers_update_own ON cats_companion.rate_headers FOR UPDATE TO @member_role@
    USING (member = session_user) WITH CHECK (member = session_user);
