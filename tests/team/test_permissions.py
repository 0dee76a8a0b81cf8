"""Permissions are PostgreSQL's own: a member's credentials, used with any client (asyncpg here, no
companion code in between), read the team but cannot change its policy or another member's data."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import asyncpg
import pytest

from companion.secret import DatabasePassword
from companion.team import admin
from companion.team.roles import roles_for
from tests.team.conftest import ADMIN_PASSWORD, MEMBER_PASSWORD, SITE, TeamDb


@dataclass
class Team:
    db: TeamDb
    alice: str
    bob: str


async def add(team_db: TeamDb, stem: str) -> str:
    name = team_db.server.unique(stem)
    await admin.add_member(
        team_db.dsn(),
        team_db.admin_password,
        name,
        DatabasePassword(MEMBER_PASSWORD),
        display_name=stem.title(),
    )
    return name


@pytest.fixture
async def team(team_db: TeamDb) -> Team:
    await admin.init_team(team_db.dsn(), team_db.admin_password, SITE, companion_version="1")
    return Team(team_db, await add(team_db, "alice"), await add(team_db, "bob"))


@pytest.fixture
async def alice(team: Team) -> AsyncIterator[asyncpg.Connection]:
    """Alice's own connection: her login role and password, straight through asyncpg."""
    conn = await asyncpg.connect(team.db.server.dsn(team.alice, team.db.database), password=MEMBER_PASSWORD)
    yield conn
    await conn.close()


@pytest.fixture
async def admin_conn(team: Team) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(team.db.server.dsn(team.db.admin, team.db.database), password=ADMIN_PASSWORD)
    yield conn
    await conn.close()


def policy_row(team: Team) -> tuple[str, int, str]:
    row = team.db.server.fetch(
        "SELECT document::text AS doc, revision, changed_by FROM cats_companion.policy",
        database=team.db.database,
    )[0]
    return row["doc"], row["revision"], row["changed_by"]


async def test_a_member_reads_the_policy_team_and_members(team: Team, alice: asyncpg.Connection) -> None:
    assert await alice.fetchval("SELECT document::text FROM cats_companion.policy") == "{}"
    assert await alice.fetchval("SELECT cats_subdomain FROM cats_companion.team") == "acme"
    names = {row["role_name"] for row in await alice.fetch("SELECT role_name FROM cats_companion.members")}
    assert names == {team.db.admin, team.alice, team.bob}


@pytest.mark.parametrize(
    "statement",
    [
        """UPDATE cats_companion.policy SET document = '{"locks": []}'""",
        "INSERT INTO cats_companion.policy (singleton) VALUES (true) ON CONFLICT DO NOTHING",
        "DELETE FROM cats_companion.policy",
        "TRUNCATE cats_companion.policy",
        "UPDATE cats_companion.team SET cats_subdomain = 'evil'",
        "ALTER TABLE cats_companion.policy DISABLE ROW LEVEL SECURITY",
        "CREATE TABLE cats_companion.mine (id int)",
        "INSERT INTO cats_companion.members (role_name) VALUES ('mallory')",
        "DELETE FROM cats_companion.members",
        "INSERT INTO cats_companion.schema_migrations (version, name) VALUES (2, 'fake')",
        "SELECT nextval('cats_companion.change_number')",
    ],
)
async def test_a_members_credentials_are_refused_by_postgresql_itself(
    team: Team, alice: asyncpg.Connection, statement: str
) -> None:
    before = policy_row(team)

    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await alice.execute(statement)

    assert policy_row(team) == before


async def test_a_member_cannot_become_the_admin_group(team: Team, alice: asyncpg.Connection) -> None:
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await alice.execute(f'SET ROLE "{roles_for(team.db.database).admin}"')


async def test_a_member_updates_their_own_row_and_no_one_elses(team: Team, alice: asyncpg.Connection) -> None:
    own = await alice.execute(
        "UPDATE cats_companion.members SET display_name = 'Alice S.', last_seen_at = now()"
        " WHERE role_name = $1",
        team.alice,
    )
    others = await alice.execute("UPDATE cats_companion.members SET display_name = 'hacked'")

    assert own == "UPDATE 1"
    # Row-level security hides every other row from her UPDATE: only her own matched.
    assert others == "UPDATE 1"
    rows = team.db.server.fetch(
        "SELECT role_name, display_name FROM cats_companion.members ORDER BY role_name",
        database=team.db.database,
    )
    names = {row["role_name"]: row["display_name"] for row in rows}
    assert names == {team.db.admin: "", team.alice: "hacked", team.bob: "Bob"}


async def test_a_member_cannot_rename_their_row_into_someone_else(
    team: Team, alice: asyncpg.Connection
) -> None:
    # The column grant keeps role_name out of reach; the policy's WITH CHECK would refuse it too.
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await alice.execute(
            "UPDATE cats_companion.members SET role_name = $1 WHERE role_name = $2", team.bob, team.alice
        )


async def test_the_admin_can_do_everything_and_the_server_stamps_who_changed_the_policy(
    team: Team, admin_conn: asyncpg.Connection
) -> None:
    await admin_conn.execute(
        """UPDATE cats_companion.policy SET document = '{"locks": ["cache"]}', changed_by = 'someone else'"""
    )
    changed = await admin_conn.execute(
        "UPDATE cats_companion.members SET display_name = 'Robert' WHERE role_name = $1", team.bob
    )

    assert policy_row(team) == ('{"locks": ["cache"]}', 1, team.db.admin)
    assert changed == "UPDATE 1"
