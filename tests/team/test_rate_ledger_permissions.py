"""Who may write the team's rate ledger: every member logs and reads, but writes only their own rows.

Checked with plain asyncpg connections as each member (PostgreSQL enforces it, whatever the client).
"""

from __future__ import annotations

import uuid

import asyncpg
import pytest

from companion.team import rate_ledger
from tests.team.conftest import TeamDb


async def role_of(conn: asyncpg.Connection) -> str:
    return str(await conn.fetchval("SELECT session_user"))


async def ago(conn: asyncpg.Connection, seconds: float) -> float:
    """The server's epoch time `seconds` ago."""
    return float(await conn.fetchval("SELECT extract(epoch FROM now())::float8")) - seconds


async def test_each_member_logs_its_requests_and_headers_and_reads_the_whole_teams(
    members: tuple[asyncpg.Connection, asyncpg.Connection],
) -> None:
    alice, bob = members
    alice_origin, bob_origin = uuid.uuid4(), uuid.uuid4()
    sent = [(await ago(alice, 3), "background"), (await ago(alice, 2), "interactive")]
    await rate_ledger.record(alice, alice_origin, sent, None)
    header = rate_ledger.Header(500, 321, await ago(bob, 0.5))
    await rate_ledger.record(bob, bob_origin, [(await ago(bob, 1), "background")], header)
    # A late batch of alice's with an older header does not replace bob's fresher one as the freshest.
    await rate_ledger.record(alice, alice_origin, [], rate_ledger.Header(500, 400, await ago(alice, 30)))

    ledger = await rate_ledger.read(alice)
    by_origin = sorted((r.origin == alice_origin, r.priority) for r in ledger.requests)
    assert by_origin == [(False, "background"), (True, "background"), (True, "interactive")]
    assert {r.member for r in ledger.requests} == {await role_of(alice), await role_of(bob)}
    assert ledger.freshest is not None and (ledger.freshest.limit, ledger.freshest.remaining) == (500, 321)
    assert ledger.observed_by == await role_of(bob)
    # Times are the server's, as sent (to the microsecond), oldest first.
    assert [r.at for r in ledger.requests[:2]] == pytest.approx([at for at, _ in sent], abs=1e-5)


async def test_a_member_cannot_write_or_delete_another_members_rows(
    members: tuple[asyncpg.Connection, asyncpg.Connection],
) -> None:
    alice, bob = members
    now = await ago(alice, 0)
    await rate_ledger.record(
        alice, uuid.uuid4(), [(now - 1, "background")], rate_ledger.Header(500, 450, now)
    )
    alice_role = await role_of(alice)

    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await bob.execute(
            "INSERT INTO cats_companion.rate_requests (member, origin, sent_at, priority)"
            " VALUES ($1, gen_random_uuid(), now(), 'background')",
            alice_role,
        )
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await bob.execute(
            "INSERT INTO cats_companion.rate_headers (member, rate_limit, remaining, observed_at)"
            " VALUES ($1, 500, 0, now()) ON CONFLICT (member) DO UPDATE SET remaining = 0",
            alice_role,
        )
    # Row-level security hides alice's rows from bob's writes: nothing changes.
    assert await bob.execute("UPDATE cats_companion.rate_headers SET remaining = 0") == "UPDATE 0"
    assert await bob.execute("DELETE FROM cats_companion.rate_requests") == "DELETE 0"
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await bob.execute("UPDATE cats_companion.rate_requests SET priority = 'interactive'")
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await bob.execute("TRUNCATE cats_companion.rate_requests")
    # Alice cannot hide her own spend of the hour either: only rows past the hour may go.
    assert await alice.execute("DELETE FROM cats_companion.rate_requests") == "DELETE 0"

    ledger = await rate_ledger.read(bob)
    assert [r.member for r in ledger.requests] == [alice_role]
    assert ledger.freshest is not None and ledger.freshest.remaining == 450


async def test_a_time_in_the_future_is_refused(
    members: tuple[asyncpg.Connection, asyncpg.Connection],
) -> None:
    alice, _ = members
    with pytest.raises(asyncpg.CheckViolationError):
        await alice.execute(
            "INSERT INTO cats_companion.rate_headers (rate_limit, remaining, observed_at)"
            " VALUES (500, 500, now() + interval '1 day')"
        )
    with pytest.raises(asyncpg.CheckViolationError):
        await rate_ledger.record(alice, uuid.uuid4(), [(await ago(alice, -3600), "background")], None)
    assert (await rate_ledger.read(alice)).requests == []


async def test_a_members_rows_past_the_hour_are_pruned_by_its_next_batch(
    team_db: TeamDb, members: tuple[asyncpg.Connection, asyncpg.Connection]
) -> None:
    alice, bob = members
    origin = uuid.uuid4()
    old, recent = await ago(alice, 3700), await ago(alice, 10)
    await rate_ledger.record(alice, origin, [(old, "background"), (recent, "background")], None)
    # A row of bob's from before the hour, as a companion offline since then would have left it.
    team_db.server.sql(
        "INSERT INTO cats_companion.rate_requests (member, origin, sent_at, priority)"
        " VALUES ($1, gen_random_uuid(), now() - interval '2 hours', 'interactive')",
        await role_of(bob),
        database=team_db.database,
    )
    assert len((await rate_ledger.read(bob)).requests) == 1  # reads see the hour only

    await rate_ledger.record(alice, origin, [], None)
    left = team_db.server.fetch(
        "SELECT member, count(*) FROM cats_companion.rate_requests GROUP BY member ORDER BY member",
        database=team_db.database,
    )
    # Alice's old row went with her batch; bob's old row waits for his own next batch.
    expected = sorted([(await role_of(alice), 1), (await role_of(bob), 1)])
    assert sorted((str(m), int(n)) for m, n in left) == expected
    await rate_ledger.record(bob, uuid.uuid4(), [], None)
    assert await bob.fetchval("SELECT count(*) FROM cats_companion.rate_requests") == 1
