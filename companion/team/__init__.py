"""Team mode on PostgreSQL: the team database's schema, roles and migrations, joining it, the daemon's link.

A layer like companion.services: no aiohttp.web, nothing from companion.server or companion.cli.
Phase 1 is the foundation (docs/teams.md): `admin` creates or migrates a team and adds members,
`membership` joins one and looks at it, `local` and `credentials` keep this companion's record of
its team and the password, `connection` talks to PostgreSQL through asyncpg. Phase 2: `link` keeps
the running daemon connected and runs the syncer election, `company_log` is the shared company
cache's SQL and `lookup_log` that of its CATS users and statuses (their replication into SQLite is
companion.services.team_companies), `claims` the
person claims and `claims_link` the outbox worker's bounded connection to them.
"""
