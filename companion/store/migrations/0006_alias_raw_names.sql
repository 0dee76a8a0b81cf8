-- 0006: a name alias keeps the name as the recruiter confirmed it (the profile's text), so that a new
-- normaliser can re-key it (AliasStore.rekey_names): the key alone cannot be re-normalised exactly.
-- NULL for domain and LinkedIn aliases (their keys do not depend on the normaliser), for aliases
-- replicated from a team (the team's database carries keys only) and for aliases saved before this
-- migration; those are re-keyed from their key.
ALTER TABLE company_aliases ADD COLUMN raw_name TEXT;
