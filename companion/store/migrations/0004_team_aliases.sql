-- 0004: aliases shared with a team (companion/services/team_aliases.py). An alias replicated from
-- the team says who confirmed it; a confirmation or undo made here in team mode waits in
-- team_alias_outbox until the team's database has it (it may be down or unreachable meanwhile).

-- The team member's login role who confirmed; NULL: confirmed on this companion outside a team.
ALTER TABLE company_aliases ADD COLUMN confirmed_by TEXT;

CREATE TABLE team_alias_outbox (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    action     TEXT NOT NULL CHECK (action IN ('confirm', 'undo')),
    kind       TEXT NOT NULL CHECK (kind IN ('name', 'domain', 'linkedin')),
    key        TEXT NOT NULL,
    company_id INTEGER NOT NULL,
    -- When the recruiter confirmed or undid it here (the team keeps the later of two).
    at         TEXT NOT NULL
);
