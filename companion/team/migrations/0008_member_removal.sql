-- Removing a member (`team remove-member`, companion/team/removal.py): the member row stays, so
-- the team's history (claims, the rate ledger, alias confirmations, all naming login roles) keeps
-- naming someone the team can look up; it is marked removed, by whom and when.
--
-- Only admins write the two columns: members have no grant on them (their column grants of 0001
-- are display_name, joined_at, last_seen_at and companion_version). The server stamps them, and a
-- removal is final, for admins too: a removed role's name is never handed to someone else.

ALTER TABLE cats_companion.members
    ADD COLUMN removed_at timestamptz,
    ADD COLUMN removed_by text,
    ADD CHECK ((removed_at IS NULL) = (removed_by IS NULL));

CREATE FUNCTION cats_companion.stamp_member_removal() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.removed_at IS NOT NULL THEN
        IF (NEW.removed_at, NEW.removed_by) IS DISTINCT FROM (OLD.removed_at, OLD.removed_by) THEN
            RAISE EXCEPTION 'member % was removed; a removal is final', OLD.role_name
                USING ERRCODE = 'check_violation';
        END IF;
    ELSIF NEW.removed_at IS NOT NULL OR NEW.removed_by IS NOT NULL THEN
        NEW.removed_at := now();
        NEW.removed_by := session_user;
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER member_removal_stamp BEFORE UPDATE ON cats_companion.members
    FOR EACH ROW EXECUTE FUNCTION cats_companion.stamp_member_removal();
