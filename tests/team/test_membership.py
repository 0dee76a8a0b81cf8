"""Joining and looking at a team as a member, against the real server: the refusals change nothing."""

from __future__ import annotations

import socket

import pytest

from companion.errors import TeamAuthError, TeamSchemaError, TeamUnavailableError
from companion.secret import DatabasePassword
from companion.team import admin, membership
from companion.team.dsn import parse_dsn
from companion.team.migrations import TeamMigration, bundled_migrations, latest_version
from tests.team.conftest import MEMBER_PASSWORD, SITE, TeamDb

WRONG = "wrong-pa55word-5c2a"
#: A schema version one past the newest this companion ships.


async def team_with_alice(team_db: TeamDb) -> str:
    await admin.init_team(team_db.dsn(), team_db.admin_password, SITE, companion_version="1")
    alice = team_db.server.unique("alice")
    await admin.add_member(team_db.dsn(), team_db.admin_password, alice, DatabasePassword(MEMBER_PASSWORD))
    return alice


def last_seen(team_db: TeamDb, role: str) -> object:
    rows = team_db.server.fetch(
        "SELECT last_seen_at FROM cats_companion.members WHERE role_name = $1",
        role,
        database=team_db.database,
    )
    return rows[0]["last_seen_at"]


async def test_joining_stamps_the_members_own_row(team_db: TeamDb) -> None:
    alice = await team_with_alice(team_db)

    joined = await membership.join_team(
        team_db.dsn(alice), DatabasePassword(MEMBER_PASSWORD), SITE, companion_version="2.0"
    )

    assert joined.access == "member" and joined.team.site == SITE
    assert joined.member is not None and joined.member.companion_version == "2.0"
    assert joined.member.joined_at is not None and last_seen(team_db, alice) is not None


async def test_a_team_at_a_newer_schema_is_refused_asking_for_an_upgrade(team_db: TeamDb) -> None:
    alice = await team_with_alice(team_db)
    team_db.server.sql(
        "INSERT INTO cats_companion.schema_migrations (version, name) VALUES ($1, 'next')",
        latest_version() + 1,
        database=team_db.database,
    )

    newer = f"version {latest_version() + 1}, newer than the {latest_version()} this companion knows: upgrade"
    with pytest.raises(TeamSchemaError, match=newer):
        await membership.join_team(
            team_db.dsn(alice), DatabasePassword(MEMBER_PASSWORD), SITE, companion_version="1"
        )

    assert last_seen(team_db, alice) is None


async def test_a_team_at_an_older_schema_is_refused_asking_the_admin_to_migrate(team_db: TeamDb) -> None:
    alice = await team_with_alice(team_db)
    next_version = latest_version() + 1
    newer = [
        *bundled_migrations(),
        TeamMigration(next_version, "next", "CREATE TABLE cats_companion.next (id int)"),
    ]

    with pytest.raises(
        TeamSchemaError, match=rf"older than the {next_version} this companion needs.*team init"
    ):
        await membership.join_team(
            team_db.dsn(alice),
            DatabasePassword(MEMBER_PASSWORD),
            SITE,
            companion_version="1",
            migrations=newer,
        )


async def test_a_database_without_a_team_says_the_admin_creates_one(team_db: TeamDb) -> None:
    with pytest.raises(TeamSchemaError, match=r"holds no CATS Companion team.*team init"):
        await membership.look(team_db.dsn(), team_db.admin_password)


async def test_a_wrong_password_and_an_unknown_database_are_told_apart_without_the_password(
    team_db: TeamDb,
) -> None:
    alice = await team_with_alice(team_db)

    with pytest.raises(TeamAuthError) as refused:
        await membership.look(team_db.dsn(alice), DatabasePassword(WRONG))
    missing = parse_dsn(team_db.server.dsn(alice, "no_such_database"))
    with pytest.raises(TeamSchemaError, match="no database 'no_such_database'"):
        await membership.look(missing, DatabasePassword(MEMBER_PASSWORD))

    assert WRONG not in refused.value.message and refused.value.__cause__ is None
    assert f"refused the password for '{alice}'" in refused.value.message


async def test_a_server_that_does_not_answer_is_unavailable_not_a_bad_password() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    dsn = parse_dsn(f"postgresql://alice@127.0.0.1:{closed}/team")

    with pytest.raises(
        TeamUnavailableError, match=rf"could not connect to the team database at 127.0.0.1:{closed}"
    ):
        await membership.look(dsn, DatabasePassword(MEMBER_PASSWORD))
