-- What the winner of a person claim wrote: with its CATS id, the member that created the person
-- records a fingerprint of each field of its create (companion/rules/written.py: a salted hash per
-- field, not the values). A teammate that lost the claim compares its own fields with it: when
-- every one of them is a field the winner has just written with the same value, its merge could
-- change nothing, and it spends no request reading the record back (docs/teams.md, "How the outbox
-- uses it"). A teammate that reads no fingerprint (none written, or an older companion's claim)
-- merges as before: GET, then PUT only if something changes.
--
-- The fingerprint is written once, in the update that makes the claim `created`, and never changes
-- after; the row-level security of migration 0002 keeps it the claim's own member's.

ALTER TABLE cats_companion.person_claims
    ADD COLUMN written jsonb CHECK (
        written IS NULL OR (
            state = 'created'
            AND jsonb_typeof(written) = 'object'
            AND octet_length(written::text) <= 16384
        )
    );

CREATE FUNCTION cats_companion.check_person_claim_written() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.written IS DISTINCT FROM OLD.written
            AND NOT (OLD.state = 'claimed' AND NEW.state = 'created') THEN
        RAISE EXCEPTION 'a person claim''s fingerprint is written with its CATS id, once'
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER person_claim_written_check BEFORE UPDATE ON cats_companion.person_claims
    FOR EACH ROW EXECUTE FUNCTION cats_companion.check_person_claim_written();

GRANT UPDATE (written) ON cats_companion.person_claims TO @member_role@;
