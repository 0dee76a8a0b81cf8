"""Who may write the shared aliases: every member confirms as themselves (PostgreSQL says who), undoes
only their own, and an admin undoes anyone's; nobody writes the table directly. Checked with plain
asyncpg connections as each role."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from companion.secret import DatabasePassword
from companion.team import admin, alias_log
from tests.team.conftest import ADMIN_PASSWORD, MEMBER_PASSWORD, SITE, TeamDb


@pytest.fixture
async def members(team_db: TeamDb) -> AsyncIterator[dict[str, asyncpg.Connection]]:
    await admin.init_team(team_db.dsn(), team_db.admin_password, SITE, companion_version="1")
    conns = {}
    for stem in ("alice", "bob"):
        name = team_db.server.unique(stem)
        await admin.add_member(team_db.dsn(), team_db.admin_password, name, DatabasePassword(MEMBER_PASSWORD))
        dsn = team_db.server.dsn(name, team_db.database)
        conns[stem] = await asyncpg.connect(dsn, password=MEMBER_PASSWORD)
    conns["admin"] = await asyncpg.connect(
        team_db.server.dsn(team_db.admin, team_db.database), password=ADMIN_PASSWORD
    )
    yield conns
    for conn in conns.values():
        await conn.close()


async def role(conn: asyncpg.Connection) -> str:
    return str(await conn.fetchval("SELECT session_user"))


async def the_alias(conn: asyncpg.Connection, key: str) -> alias_log.SharedAlias:
    [found] = [a for a in await alias_log.changes_after(conn, 0) if a.key == key]
    return found


async def test_a_confirmation_is_recorded_as_the_member_postgresql_authenticated(
    members: dict[str, asyncpg.Connection],
) -> None:
    alice, bob = members["alice"], members["bob"]
    now = datetime.now(UTC)
    first = await alias_log.confirm(alice, "name", "acme", 7, now)
    # A time in the future is brought back to the server's now: nobody confirms ahead of time.
    second = await alias_log.confirm(bob, "domain", "acme.example", 7, now + timedelta(days=30))

    assert first is not None and second is not None and second > first
    acme = await the_alias(bob, "acme")
    assert (acme.company_id, acme.confirmed_by, acme.undone) == (7, await role(alice), False)
    domain = await the_alias(alice, "acme.example")
    assert domain.confirmed_by == await role(bob)
    assert domain.confirmed_at <= datetime.now(UTC) + timedelta(seconds=1)
    assert await alias_log.head(bob) == second


async def test_members_cannot_write_the_table_nor_forge_who_confirmed(
    members: dict[str, asyncpg.Connection],
) -> None:
    alice, bob = members["alice"], members["bob"]
    await alias_log.confirm(alice, "name", "acme", 7, datetime.now(UTC))
    for statement, *args in (
        (
            "INSERT INTO cats_companion.company_aliases (kind, key, company_id, confirmed_by, confirmed_at,"
            " change_no) VALUES ('name', 'globex', 8, $1, now(), 999)",
            await role(alice),
        ),
        ("UPDATE cats_companion.company_aliases SET confirmed_by = $1", await role(bob)),
        ("UPDATE cats_companion.company_aliases SET undone_by = 'x', undone_at = now()",),
        ("DELETE FROM cats_companion.company_aliases",),
        ("SELECT nextval('cats_companion.alias_change_number')",),
    ):
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await bob.execute(statement, *args)
    acme = await the_alias(bob, "acme")
    assert (acme.confirmed_by, acme.undone) == (await role(alice), False)


async def test_a_member_undoes_their_own_confirmation_but_not_another_members(
    members: dict[str, asyncpg.Connection],
) -> None:
    alice, bob = members["alice"], members["bob"]
    await alias_log.confirm(alice, "name", "acme", 7, datetime.now(UTC))
    await alias_log.confirm(bob, "name", "globex", 8, datetime.now(UTC))

    with pytest.raises(asyncpg.InsufficientPrivilegeError, match="only an admin"):
        await alias_log.undo(bob, "name", "acme", 7, datetime.now(UTC))
    assert not (await the_alias(alice, "acme")).undone

    assert await alias_log.undo(bob, "name", "globex", 8, datetime.now(UTC)) is not None
    globex = await the_alias(alice, "globex")
    assert globex.undone and globex.undone_by == await role(bob)
    # Nothing left to undo: already undone, or another company than the one confirmed.
    assert await alias_log.undo(bob, "name", "globex", 8, datetime.now(UTC)) is None
    assert await alias_log.undo(alice, "name", "acme", 99, datetime.now(UTC)) is None


async def test_an_admin_undoes_any_members_confirmation(members: dict[str, asyncpg.Connection]) -> None:
    alice, chief = members["alice"], members["admin"]
    await alias_log.confirm(alice, "linkedin", "acme-corp", 7, datetime.now(UTC))

    assert await alias_log.undo(chief, "linkedin", "acme-corp", 7, datetime.now(UTC)) is not None

    undone = await the_alias(alice, "acme-corp")
    assert undone.undone and undone.undone_by == await role(chief)
    assert [a.key for a in await alias_log.recent(alice, 10, include_undone=False)] == []
    assert [a.key for a in await alias_log.recent(alice, 10, include_undone=True)] == ["acme-corp"]


async def test_a_confirmation_sent_late_does_not_replace_a_later_one_or_a_later_undo(
    members: dict[str, asyncpg.Connection],
) -> None:
    alice, bob, chief = members["alice"], members["bob"], members["admin"]
    earlier = datetime.now(UTC) - timedelta(hours=2)
    await alias_log.confirm(alice, "name", "acme", 7, datetime.now(UTC) - timedelta(hours=1))

    # Bob confirmed another company two hours ago, offline; his companion sends it only now.
    assert await alias_log.confirm(bob, "name", "acme", 8, earlier) is None
    assert (await the_alias(bob, "acme")).company_id == 7

    await alias_log.undo(chief, "name", "acme", 7, datetime.now(UTC))
    assert await alias_log.confirm(bob, "name", "acme", 8, earlier) is None
    assert (await the_alias(bob, "acme")).undone
    # A confirmation made after the undo stands again.
    assert await alias_log.confirm(bob, "name", "acme", 8, datetime.now(UTC)) is not None
    acme = await the_alias(alice, "acme")
    assert (acme.company_id, acme.confirmed_by, acme.undone) == (8, await role(bob), False)


async def test_a_role_outside_the_team_can_neither_read_nor_confirm(
    team_db: TeamDb, members: dict[str, asyncpg.Connection]
) -> None:
    outsider = team_db.server.create_role(MEMBER_PASSWORD, stem="mallory")
    conn = await asyncpg.connect(team_db.server.dsn(outsider, team_db.database), password=MEMBER_PASSWORD)
    try:
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await alias_log.changes_after(conn, 0)
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await alias_log.confirm(conn, "name", "acme", 7, datetime.now(UTC))
    finally:
        await conn.close()


async def test_writers_take_turns_so_a_reader_never_skips_a_change_that_commits_late(
    members: dict[str, asyncpg.Connection],
) -> None:
    alice, bob, chief = members["alice"], members["bob"], members["admin"]
    # Alice's confirmation is numbered but not committed yet...
    transaction = alice.transaction()
    await transaction.start()
    first = await alias_log.confirm(alice, "name", "acme", 7, datetime.now(UTC))
    # ...so bob's waits for her turn rather than taking a higher number and committing first.
    second_task = asyncio.create_task(alias_log.confirm(bob, "name", "globex", 8, datetime.now(UTC)))
    bob_pid = bob.get_server_pid()
    for _ in range(500):
        waiting = await chief.fetchval(
            "SELECT count(*) FROM pg_locks WHERE pid = $1 AND locktype = 'advisory' AND NOT granted", bob_pid
        )
        if waiting:
            break
        await asyncio.sleep(0.01)
    assert waiting == 1 and not second_task.done()
    assert await alias_log.changes_after(chief, 0) == []

    await transaction.commit()
    second = await asyncio.wait_for(second_task, 10)
    assert first is not None and second is not None and second > first
    assert [a.change_no for a in await alias_log.changes_after(chief, 0)] == [first, second]
