-- 0005: the team's person claim behind a record item's create (docs/teams.md, "Each person created
-- once"). `team_claim_id` is the claim in the team database this item created under (state
-- `claimed`), or the teammate's claim it waits for or joined (`waiting`, `teammate`); it is stored in
-- the same transaction that marks the create in flight, so a restarted worker resumes that claim.
-- `team_claim` is what the card shows: NULL when no team decided anything.
ALTER TABLE outbox ADD COLUMN team_claim_id INTEGER;
ALTER TABLE outbox ADD COLUMN team_claim TEXT
    CHECK (team_claim IN ('claimed', 'waiting', 'teammate', 'unavailable', 'no_keys', 'stale'));
