-- Every change of the team policy is announced on the channel `cats_companion_policy`, with the new
-- revision as the payload, so each member's companion applies it within a second instead of at its
-- next poll. The document itself is not sent: NOTIFY payloads are limited to 8000 bytes, and a
-- member reads the row (which its SELECT grant allows) when the revision is newer than its own.
-- NOTIFY is delivered at commit, so a rolled-back change is never announced.

CREATE FUNCTION cats_companion.announce_policy() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('cats_companion_policy', NEW.revision::text);
    RETURN NULL;
END
$$;
CREATE TRIGGER policy_announce AFTER UPDATE ON cats_companion.policy
    FOR EACH ROW EXECUTE FUNCTION cats_companion.announce_policy();
