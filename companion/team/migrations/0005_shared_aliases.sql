-- Shared company aliases: a company one member confirmed for a profile's name, domain or LinkedIn
-- page is confirmed for the whole team, with who confirmed it and when, until it is undone.
--
-- One row per (kind, key), numbered by change like the shared company cache: a member that applied
-- up to N reads the rows with change_no > N in order. An undo keeps the row (undone_by, undone_at)
-- so that every member removes the alias from its own cache.
--
-- Unlike the companies, every member writes here, at any time. Change numbers are taken under a
-- transaction-scoped advisory lock held until commit (ALIAS_LOCK in companion/team/alias_log.py),
-- so the writers take turns and their numbers are in commit order: a reader never skips a change
-- that commits after a higher number was visible.
--
-- Members only read the table. They write through two SECURITY DEFINER functions owned by the
-- admin group, which record `session_user` as who confirmed or undid (no parameter to forge it),
-- and let a member undo only their own confirmation; undoing another member's takes an admin.

CREATE SEQUENCE cats_companion.alias_change_number;

CREATE TABLE cats_companion.company_aliases (
    kind         text NOT NULL CHECK (kind IN ('name', 'domain', 'linkedin')),
    key          text NOT NULL CHECK (key <> '' AND length(key) <= 2000),
    company_id   bigint NOT NULL CHECK (company_id > 0),
    -- The login role of the member who confirmed, as PostgreSQL authenticated it.
    confirmed_by text NOT NULL,
    confirmed_at timestamptz NOT NULL,
    undone_by    text,
    undone_at    timestamptz,
    change_no    bigint NOT NULL,
    changed_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (kind, key),
    CHECK ((undone_by IS NULL) = (undone_at IS NULL))
);
CREATE UNIQUE INDEX company_aliases_change_no ON cats_companion.company_aliases (change_no);

-- Confirm: (kind, key) is company_id, as the calling member, at `at` (when they confirmed, maybe
-- offline; never later than now). A confirmation or undo of the key made later than `at` stands:
-- the answer is then NULL, else the change number written.
CREATE FUNCTION cats_companion.confirm_company_alias(kind text, key text, company_id bigint, at timestamptz)
RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    stamp    timestamptz := least(coalesce(at, now()), now());
    existing cats_companion.company_aliases;
    number   bigint;
BEGIN
    PERFORM pg_advisory_xact_lock(1667329139);
    SELECT * INTO existing FROM cats_companion.company_aliases a
        WHERE a.kind = confirm_company_alias.kind AND a.key = confirm_company_alias.key;
    IF FOUND AND greatest(existing.confirmed_at, coalesce(existing.undone_at, '-infinity')) > stamp THEN
        RETURN NULL;
    END IF;
    number := nextval('cats_companion.alias_change_number');
    INSERT INTO cats_companion.company_aliases AS a
            (kind, key, company_id, confirmed_by, confirmed_at, change_no, changed_at)
        VALUES (confirm_company_alias.kind, confirm_company_alias.key, confirm_company_alias.company_id,
                session_user, stamp, number, now())
        ON CONFLICT ON CONSTRAINT company_aliases_pkey DO UPDATE SET
            company_id = excluded.company_id, confirmed_by = excluded.confirmed_by,
            confirmed_at = excluded.confirmed_at, undone_by = NULL, undone_at = NULL,
            change_no = excluded.change_no, changed_at = excluded.changed_at;
    PERFORM pg_notify('cats_companion_aliases', number::text);
    RETURN number;
END
$$;

-- Undo the confirmation of (kind, key) to company_id, if it was made no later than `at`. The
-- member who confirmed it may; anyone else must be a member of the team's admin group. NULL when
-- there is nothing to undo (already undone, another company, or confirmed again since).
CREATE FUNCTION cats_companion.undo_company_alias(kind text, key text, company_id bigint, at timestamptz)
RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    stamp    timestamptz := least(coalesce(at, now()), now());
    existing cats_companion.company_aliases;
    number   bigint;
BEGIN
    PERFORM pg_advisory_xact_lock(1667329139);
    SELECT * INTO existing FROM cats_companion.company_aliases a
        WHERE a.kind = undo_company_alias.kind AND a.key = undo_company_alias.key;
    IF NOT FOUND OR existing.undone_at IS NOT NULL OR existing.company_id <> undo_company_alias.company_id
            OR existing.confirmed_at > stamp THEN
        RETURN NULL;
    END IF;
    IF existing.confirmed_by <> session_user
            AND NOT pg_has_role(session_user, (SELECT t.admin_role FROM cats_companion.team t), 'MEMBER') THEN
        RAISE EXCEPTION 'only an admin of the team may undo another member''s confirmation'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    number := nextval('cats_companion.alias_change_number');
    UPDATE cats_companion.company_aliases a
        SET undone_by = session_user, undone_at = now(), change_no = number, changed_at = now()
        WHERE a.kind = undo_company_alias.kind AND a.key = undo_company_alias.key;
    PERFORM pg_notify('cats_companion_aliases', number::text);
    RETURN number;
END
$$;

REVOKE ALL ON FUNCTION cats_companion.confirm_company_alias(text, text, bigint, timestamptz) FROM PUBLIC;
REVOKE ALL ON FUNCTION cats_companion.undo_company_alias(text, text, bigint, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION cats_companion.confirm_company_alias(text, text, bigint, timestamptz)
    TO @member_role@;
GRANT EXECUTE ON FUNCTION cats_companion.undo_company_alias(text, text, bigint, timestamptz)
    TO @member_role@;

GRANT SELECT ON cats_companion.company_aliases TO @member_role@;
ALTER TABLE cats_companion.company_aliases ENABLE ROW LEVEL SECURITY;
CREATE POLICY company_aliases_read ON cats_companion.company_aliases FOR SELECT TO @member_role@ USING (true);
