"""`team init` against a real PostgreSQL: creating, migrating, refusing, and what it needs of the server."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence

import asyncpg
import pytest

from companion.errors import TeamPrivilegeError, TeamSchemaError, TeamSiteMismatchError
from companion.secret import DatabasePassword
from companion.team import admin
from companion.team.migrations import TeamMigration, bundled_migrations, latest_version
from companion.team.roles import roles_for
from companion.team.site import CatsSite
from tests.fixtures.postgres import PostgresServer
from tests.team.conftest import ADMIN_PASSWORD, SITE, TeamDb

VERSION = "9.9.9-test"


async def init(
    team_db: TeamDb, site: CatsSite = SITE, migrations: Sequence[TeamMigration] | None = None
) -> admin.InitOutcome:
    return await admin.init_team(
        team_db.dsn(), team_db.admin_password, site, companion_version=VERSION, migrations=migrations
    )


def tables(team_db: TeamDb) -> dict[str, bool]:
    """The team schema's tables and whether row-level security is on for each."""
    rows = team_db.server.fetch(
        "SELECT c.relname, c.relrowsecurity FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE n.nspname = 'cats_companion' AND c.relkind = 'r'",
        database=team_db.database,
    )
    return {row["relname"]: row["relrowsecurity"] for row in rows}


async def test_init_creates_the_schema_roles_and_team_as_a_managed_admin(team_db: TeamDb) -> None:
    outcome = await init(team_db)

    assert outcome.created and outcome.applied == [m.version for m in bundled_migrations()]
    roles = roles_for(team_db.database)
    assert outcome.team.roles == roles
    assert outcome.team.site == SITE and outcome.team.schema_version == latest_version() == len(
        bundled_migrations()
    )
    assert tables(team_db) == {
        "schema_migrations": False,
        "team": True,
        "members": True,
        "policy": True,
        "person_claims": True,
        "person_claim_keys": True,
        "companies": True,
        "company_sync_marks": True,
        "cats_lookups": True,
        "company_aliases": True,
        "rate_requests": True,
        "rate_headers": True,
    }
    groups = team_db.server.fetch(
        "SELECT rolname, rolcanlogin FROM pg_roles WHERE rolname = ANY($1::text[]) ORDER BY rolname",
        [roles.admin, roles.member],
    )
    assert [(g["rolname"], g["rolcanlogin"]) for g in groups] == sorted(
        [(roles.admin, False), (roles.member, False)]
    )
    # The schema and every table belong to the admin group, not to the person who ran init.
    owners = team_db.server.fetch(
        "SELECT DISTINCT pg_get_userbyid(c.relowner) AS owner FROM pg_class c"
        " JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'cats_companion'",
        database=team_db.database,
    )
    assert [row["owner"] for row in owners] == [roles.admin]
    assert team_db.server.fetch("SELECT pg_has_role($1, $2, 'MEMBER') AS yes", team_db.admin, roles.admin)[0][
        "yes"
    ]
    members = team_db.server.fetch(
        "SELECT role_name, companion_version, joined_at IS NOT NULL AS joined FROM cats_companion.members",
        database=team_db.database,
    )
    assert [tuple(row) for row in members] == [(team_db.admin, VERSION, True)]


async def test_init_again_migrates_nothing_and_keeps_everything(team_db: TeamDb) -> None:
    first = await init(team_db)
    team_db.server.sql(
        """UPDATE cats_companion.policy SET document = '{"locks": ["cache.ttl"]}'""",
        database=team_db.database,
    )

    again = await init(team_db)

    assert not again.created and again.applied == []
    assert again.team.team_id == first.team.team_id
    policy = team_db.server.fetch(
        "SELECT document::text AS doc FROM cats_companion.policy", database=team_db.database
    )
    assert policy[0]["doc"] == '{"locks": ["cache.ttl"]}'
    ledger = team_db.server.fetch(
        "SELECT version FROM cats_companion.schema_migrations", database=team_db.database
    )
    assert [row["version"] for row in ledger] == [m.version for m in bundled_migrations()]


async def test_two_admins_running_init_at_once_take_turns(team_db: TeamDb) -> None:
    outcomes = await asyncio.gather(init(team_db), init(team_db))

    assert sorted(o.created for o in outcomes) == [False, True]
    assert outcomes[0].team.team_id == outcomes[1].team.team_id


async def test_a_schema_newer_than_this_companion_knows_is_refused_and_left_alone(team_db: TeamDb) -> None:
    await init(team_db)
    team_db.server.sql(
        "INSERT INTO cats_companion.schema_migrations (version, name) VALUES (99, 'from_the_future')",
        database=team_db.database,
    )
    before = team_db.server.fetch(
        "SELECT last_seen_at FROM cats_companion.members", database=team_db.database
    )

    with pytest.raises(
        TeamSchemaError,
        match=rf"schema version 99 .* only knows up to {latest_version()}.*Upgrade cats-companion",
    ):
        await init(team_db)

    after = team_db.server.fetch("SELECT last_seen_at FROM cats_companion.members", database=team_db.database)
    assert before == after


async def test_a_failing_migration_leaves_no_trace_not_even_the_roles(team_db: TeamDb) -> None:
    broken = [
        *bundled_migrations(),
        TeamMigration(latest_version() + 1, "broken", "CREATE TABLE cats_companion.x (id nosuchtype)"),
    ]

    with pytest.raises(TeamSchemaError, match=f"migration {latest_version() + 1:04d}_broken failed"):
        await init(team_db, migrations=broken)

    roles = roles_for(team_db.database)
    assert team_db.server.fetch(
        "SELECT to_regnamespace('cats_companion') IS NULL AS gone", database=team_db.database
    )[0]["gone"]
    assert not team_db.server.fetch(
        "SELECT 1 FROM pg_roles WHERE rolname = ANY($1::text[])", [roles.admin, roles.member]
    )


async def test_init_without_createrole_names_the_missing_privilege_and_creates_nothing(
    postgres: PostgresServer,
) -> None:
    owner = postgres.create_role(ADMIN_PASSWORD, stem="owner_only")
    database = postgres.create_database(owner=owner)
    team_db = TeamDb(postgres, database, owner)

    with pytest.raises(
        TeamPrivilegeError, match=rf"'{owner}' may not create the team's group roles: it needs the CREATEROLE"
    ):
        await init(team_db)

    assert postgres.fetch("SELECT to_regnamespace('cats_companion') IS NULL AS gone", database=database)[0][
        "gone"
    ]


async def test_init_without_create_on_the_database_names_the_missing_privilege(
    postgres: PostgresServer, pg_database: str
) -> None:
    # CREATEROLE, but the database is the superuser's: no right to create a schema in it.
    user = postgres.create_role(ADMIN_PASSWORD, stem="no_create", attributes="CREATEROLE")
    team_db = TeamDb(postgres, pg_database, user)

    with pytest.raises(
        TeamPrivilegeError, match=r"needs the CREATE privilege on the database.*GRANT CREATE ON DATABASE"
    ):
        await init(team_db)


async def test_someone_outside_the_admin_group_cannot_take_over_an_existing_team(team_db: TeamDb) -> None:
    await init(team_db)
    intruder = team_db.server.create_role(ADMIN_PASSWORD, stem="other_admin")
    team_db.server.sql(f'GRANT CREATE ON DATABASE "{team_db.database}" TO "{intruder}"')

    with pytest.raises(TeamPrivilegeError, match=r"already holds a CATS Companion team.*is not one of them"):
        await admin.init_team(
            team_db.dsn(intruder), DatabasePassword(ADMIN_PASSWORD), SITE, companion_version=VERSION
        )


async def test_init_for_another_cats_site_is_refused_but_a_newly_known_subdomain_is_filled_in(
    team_db: TeamDb,
) -> None:
    await init(team_db, CatsSite(SITE.base_url, None))

    with pytest.raises(TeamSiteMismatchError, match=re.escape("https://other.example/v3")):
        await init(team_db, CatsSite("https://other.example/v3", "acme"))
    learnt = await init(team_db, SITE)
    assert learnt.team.site == SITE
    with pytest.raises(TeamSiteMismatchError, match=r"acme at .*but this companion works with globex"):
        await init(team_db, CatsSite(SITE.base_url, "globex"))


async def test_teams_in_two_databases_of_one_cluster_have_roles_of_their_own(
    postgres: PostgresServer,
) -> None:
    worlds = []
    for _ in range(2):
        owner = postgres.create_role(ADMIN_PASSWORD, stem="admin", attributes="CREATEROLE")
        worlds.append(TeamDb(postgres, postgres.create_database(owner=owner), owner))
    first, second = [(await init(world)).team.roles for world in worlds]
    assert first.admin != second.admin and first.member != second.member
    # The first team's admin cannot even see the second team's schema.
    conn = await asyncpg.connect(postgres.dsn(worlds[0].admin, worlds[1].database), password=ADMIN_PASSWORD)
    try:
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.fetch("SELECT * FROM cats_companion.policy")
    finally:
        await conn.close()


def test_group_role_names_fit_postgres_and_hash_unusual_database_names() -> None:
    assert roles_for("team").admin == "cats_companion_team_admin"
    odd = roles_for("Sales Team (EU) " + "x" * 60)
    assert odd.admin.startswith("cats_companion_sales_team_eu_") and len(odd.member) <= 63
    assert roles_for("Sales-Team") != roles_for("sales_team")
