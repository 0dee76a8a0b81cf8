"""Who may write the shared company cache: only the session holding the syncer lock, only through the
function; members read it, outsiders do not. Checked with plain asyncpg connections as each role."""

from __future__ import annotations

from datetime import UTC, datetime

import asyncpg
import pytest

from companion.team import company_log, lookup_log
from tests.team.conftest import MEMBER_PASSWORD, TeamDb, connect_as

ROW = {"id": 7, "name": "Acme", "name_key": "acme"}


async def test_only_the_lock_holder_publishes_and_its_changes_are_numbered_in_order(
    members: tuple[asyncpg.Connection, asyncpg.Connection],
) -> None:
    alice, bob = members
    with pytest.raises(asyncpg.InsufficientPrivilegeError, match="elected company syncer"):
        await company_log.publish(bob, [ROW], [], None)

    assert await company_log.try_lock(alice) and not await company_log.try_lock(bob)
    first = await company_log.publish(alice, [ROW], [], {"high_water": None})
    second = await company_log.publish(alice, [{**ROW, "name": "Acme Corp"}], [8], {"high_water": None})

    assert second > first
    changes = await company_log.changes_after(bob, 0)
    assert [(c.company_id, c.data["name"] if c.data else None) for c in changes] == [
        (7, "Acme Corp"),
        (8, None),
    ]
    assert await company_log.changes_after(bob, second) == []
    assert (await company_log.marks(bob)).change_no == second
    assert await company_log.syncer(bob) == (await alice.fetchval("SELECT current_user"))
    with pytest.raises(asyncpg.InsufficientPrivilegeError, match="elected company syncer"):
        await company_log.publish(bob, [ROW], [], None)


async def test_members_cannot_write_the_tables_directly(
    members: tuple[asyncpg.Connection, asyncpg.Connection],
) -> None:
    alice, _ = members
    assert await company_log.try_lock(alice)
    for statement in (
        "INSERT INTO cats_companion.companies (id, data, change_no) VALUES (1, '{}', 999)",
        "UPDATE cats_companion.companies SET data = NULL",
        "DELETE FROM cats_companion.companies",
        "UPDATE cats_companion.company_sync_marks SET change_no = 0",
        "SELECT nextval('cats_companion.change_number')",
    ):
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await alice.execute(statement)


async def test_a_role_outside_the_team_can_neither_read_nor_publish(
    team_db: TeamDb, members: tuple[asyncpg.Connection, asyncpg.Connection]
) -> None:
    outsider = team_db.server.create_role(MEMBER_PASSWORD, stem="mallory")
    conn = await connect_as(team_db, outsider)
    try:
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await company_log.changes_after(conn, 0)
        # Taking the lock is not refused to a role that may connect (PUBLIC's CONNECT: docs/teams.md),
        # but holding it gives no right to write.
        assert await company_log.try_lock(conn)
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await company_log.publish(conn, [ROW], [], None)
        # Nor the CATS users and company statuses shared beside the companies.
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await lookup_log.changed_after(conn, 0)
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await lookup_log.publish(
                conn, {"users": [{"id": 3, "display_name": "Mallory"}]}, datetime.now(UTC)
            )
    finally:
        await conn.close()
