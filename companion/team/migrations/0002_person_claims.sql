-- Person claims: before creating a person in CATS a member's companion claims the person's
-- identity keys (companion/rules/claim_keys.py), so that each person is created once across the
-- team. The UNIQUE (record_type, key) of person_claim_keys decides every race; companion/team/
-- claims.py is the only writer the companion has, and row-level security keeps a member's own
-- claims its own whatever client it uses.
--
-- A claim is live while it is `created`, or `claimed` with its lease in the future; an
-- `abandoned` claim, or a `claimed` one whose lease ran out (its member died between claim and
-- create), is dead, and any member may delete its keys to claim them anew.

CREATE TABLE cats_companion.person_claims (
    claim_id    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    record_type text NOT NULL CHECK (record_type IN ('candidates', 'contacts')),
    -- Who claimed, as PostgreSQL itself checked (the insert policy refuses any other name).
    claimed_by  text NOT NULL DEFAULT current_user,
    claimed_at  timestamptz NOT NULL DEFAULT now(),
    lease_until timestamptz NOT NULL,
    state       text NOT NULL DEFAULT 'claimed' CHECK (state IN ('claimed', 'created', 'abandoned')),
    cats_id     bigint CHECK (cats_id > 0),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CHECK ((state = 'created') = (cats_id IS NOT NULL)),
    -- The target of the keys' foreign key, which keeps a key's record type its claim's.
    UNIQUE (claim_id, record_type)
);

CREATE TABLE cats_companion.person_claim_keys (
    record_type text NOT NULL,
    -- Only normalised keys: a prefix, no whitespace, no ASCII capital, no trailing slash.
    key         text NOT NULL CHECK (
        key ~ '^(linkedin:linkedin\.com/(in|pub|sales/lead)/\S+|email:[^@\s]+@[^@\s]+)$'
        AND key !~ '[A-Z]' AND key !~ '/$'
    ),
    claim_id    bigint NOT NULL,
    PRIMARY KEY (record_type, key),
    FOREIGN KEY (claim_id, record_type)
        REFERENCES cats_companion.person_claims (claim_id, record_type) ON DELETE CASCADE
);
CREATE INDEX person_claim_keys_claim ON cats_companion.person_claim_keys (claim_id);

-- The server keeps the times and the life cycle honest, for members and admins alike: a claim
-- starts `claimed` now, its lease is at most an hour ahead, who and what it claimed never
-- change, and `created` and `abandoned` are final.
CREATE FUNCTION cats_companion.check_person_claim() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        NEW.claimed_at := now();
        IF NEW.state <> 'claimed' OR NEW.cats_id IS NOT NULL THEN
            RAISE EXCEPTION 'a new person claim must be in state claimed without a CATS id'
                USING ERRCODE = 'check_violation';
        END IF;
    ELSE
        IF NEW.claim_id <> OLD.claim_id OR NEW.claimed_by <> OLD.claimed_by
                OR NEW.record_type <> OLD.record_type OR NEW.claimed_at <> OLD.claimed_at THEN
            RAISE EXCEPTION 'a person claim''s id, member, record type and time never change'
                USING ERRCODE = 'check_violation';
        END IF;
        IF OLD.state <> 'claimed' AND (NEW.state, NEW.cats_id) IS DISTINCT FROM (OLD.state, OLD.cats_id) THEN
            RAISE EXCEPTION 'person claim % is already %', OLD.claim_id, OLD.state
                USING ERRCODE = 'check_violation';
        END IF;
    END IF;
    IF NEW.lease_until > now() + interval '1 hour' THEN
        RAISE EXCEPTION 'a person claim''s lease ends within an hour' USING ERRCODE = 'check_violation';
    END IF;
    NEW.updated_at := now();
    RETURN NEW;
END
$$;
CREATE TRIGGER person_claim_check BEFORE INSERT OR UPDATE ON cats_companion.person_claims
    FOR EACH ROW EXECUTE FUNCTION cats_companion.check_person_claim();

-- Members waiting for a winner's CATS id LISTEN here; the payload is the claim id. NOTIFY is
-- delivered at commit, so a waiter never reads the row before the change is visible.
CREATE FUNCTION cats_companion.notify_person_claim() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('cats_companion_person_claims', NEW.claim_id::text);
    RETURN NULL;
END
$$;
CREATE TRIGGER person_claim_notify AFTER UPDATE ON cats_companion.person_claims
    FOR EACH ROW WHEN ((OLD.state, OLD.cats_id) IS DISTINCT FROM (NEW.state, NEW.cats_id))
    EXECUTE FUNCTION cats_companion.notify_person_claim();

-- Members: read every claim and key; insert claims (as themselves) and keys (for live claims);
-- update their own claims' state, CATS id and lease only; delete only the keys of dead
-- claims, which is how a stale or abandoned claim is taken over. No DELETE of claims, no TRUNCATE.
GRANT SELECT ON cats_companion.person_claims, cats_companion.person_claim_keys TO @member_role@;
GRANT INSERT (record_type, claimed_by, lease_until) ON cats_companion.person_claims TO @member_role@;
GRANT UPDATE (state, cats_id, lease_until) ON cats_companion.person_claims TO @member_role@;
GRANT INSERT, DELETE ON cats_companion.person_claim_keys TO @member_role@;

ALTER TABLE cats_companion.person_claims ENABLE ROW LEVEL SECURITY;
ALTER TABLE cats_companion.person_claim_keys ENABLE ROW LEVEL SECURITY;

CREATE POLICY person_claims_read ON cats_companion.person_claims FOR SELECT TO @member_role@
    USING (true);
CREATE POLICY person_claims_insert_own ON cats_companion.person_claims FOR INSERT TO @member_role@
    WITH CHECK (claimed_by = current_user);
CREATE POLICY person_claims_update_own ON cats_companion.person_claims FOR UPDATE TO @member_role@
    USING (claimed_by = current_user) WITH CHECK (claimed_by = current_user);

CREATE POLICY person_claim_keys_read ON cats_companion.person_claim_keys FOR SELECT TO @member_role@
    USING (true);
-- A key may be added to any live claim: a member's own new one, or the winner of a race, which
-- the loser teaches the keys it knew and the winner did not (the URL for a claim made by email).
CREATE POLICY person_claim_keys_insert_live ON cats_companion.person_claim_keys FOR INSERT
    TO @member_role@
    WITH CHECK (EXISTS (
        SELECT 1 FROM cats_companion.person_claims AS c
        WHERE c.claim_id = person_claim_keys.claim_id
            AND (c.state = 'created' OR (c.state = 'claimed' AND c.lease_until > now()))
    ));
CREATE POLICY person_claim_keys_delete_dead ON cats_companion.person_claim_keys FOR DELETE
    TO @member_role@
    USING (EXISTS (
        SELECT 1 FROM cats_companion.person_claims AS c
        WHERE c.claim_id = person_claim_keys.claim_id
            AND (c.state = 'abandoned' OR (c.state = 'claimed' AND c.lease_until <= now()))
    ));
