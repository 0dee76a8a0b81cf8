-- The team's foundation: the team itself (the CATS site it belongs to), its members, the team
-- policy, and the sequence later phases number their changes from.
--
-- Run by `team init` as the admin group role (SET LOCAL ROLE), so every object below is owned by
-- it: an admin (any member of that group) can do everything, and owners bypass row-level
-- security. @admin_role@ and @member_role@ are replaced by the quoted group role names.
-- Members get SELECT where they need to read and nothing else, except their own member row's
-- personal columns; every table has row-level security on, so a grant made by mistake later still
-- lets a member write nothing the policies below do not allow.

CREATE TABLE cats_companion.team (
    -- One row: the team this database holds.
    singleton      boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    team_id        uuid NOT NULL DEFAULT gen_random_uuid(),
    cats_base_url  text NOT NULL CHECK (cats_base_url <> ''),
    -- NULL until some admin's companion knew it (GET /site); a later `team init` fills it in.
    cats_subdomain text CHECK (cats_subdomain ~ '^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$'),
    admin_role     text NOT NULL,
    member_role    text NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    created_by     text NOT NULL DEFAULT session_user
);

CREATE TABLE cats_companion.members (
    -- The PostgreSQL login role of the member: who they are, as PostgreSQL itself checked.
    role_name         text PRIMARY KEY CHECK (role_name <> ''),
    display_name      text NOT NULL DEFAULT '',
    added_at          timestamptz NOT NULL DEFAULT now(),
    added_by          text NOT NULL DEFAULT session_user,
    -- Written by the member's own companion when it joins and whenever it connects.
    joined_at         timestamptz,
    last_seen_at      timestamptz,
    companion_version text
);

CREATE TABLE cats_companion.policy (
    -- One row: the team policy document (companion.settings.policy's shape), edited by admins.
    singleton  boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    document   jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(document) = 'object'),
    revision   bigint NOT NULL DEFAULT 0,
    changed_at timestamptz NOT NULL DEFAULT now(),
    changed_by text NOT NULL DEFAULT session_user
);
INSERT INTO cats_companion.policy DEFAULT VALUES;

-- Who changed the policy and when is set by the server, not by the client that writes it, and
-- every change bumps the revision members compare against.
CREATE FUNCTION cats_companion.stamp_policy() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.revision := OLD.revision + 1;
    NEW.changed_at := now();
    NEW.changed_by := session_user;
    RETURN NEW;
END
$$;
CREATE TRIGGER policy_stamp BEFORE UPDATE ON cats_companion.policy
    FOR EACH ROW EXECUTE FUNCTION cats_companion.stamp_policy();

-- Numbers for the change log later phases replicate from (company cache, aliases, claims).
CREATE SEQUENCE cats_companion.change_number AS bigint;

-- Members: read the team, the policy and the member list; write only their own row's personal
-- columns (the column grant keeps role_name, added_at and added_by out of their reach).
GRANT SELECT ON cats_companion.team, cats_companion.policy, cats_companion.members TO @member_role@;
GRANT UPDATE (display_name, joined_at, last_seen_at, companion_version)
    ON cats_companion.members TO @member_role@;

ALTER TABLE cats_companion.team ENABLE ROW LEVEL SECURITY;
ALTER TABLE cats_companion.policy ENABLE ROW LEVEL SECURITY;
ALTER TABLE cats_companion.members ENABLE ROW LEVEL SECURITY;

CREATE POLICY team_read ON cats_companion.team FOR SELECT TO @member_role@ USING (true);
CREATE POLICY policy_read ON cats_companion.policy FOR SELECT TO @member_role@ USING (true);
CREATE POLICY members_read ON cats_companion.members FOR SELECT TO @member_role@ USING (true);
CREATE POLICY members_update_own ON cats_companion.members FOR UPDATE TO @member_role@
    USING (role_name = current_user) WITH CHECK (role_name = current_user);
