"""The team's CATS rate budget: members' companions sharing one account stop background work at its reserve.

Real companions (companion.app.Companion, each with its own SQLite, config dir and keyring entry) on
the real PostgreSQL cluster, against the CATS sandbox over HTTP, which enforces the account's
rolling-hour limit (40 requests here, so the reserve is 8) and sends the rate headers.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from companion.app import Companion
from companion.cats.budget import Priority
from companion.errors import BudgetReservedError
from companion.services.push import PushRequest
from companion.services.sync_scheduler import SyncPolicy
from companion.team import admin
from companion.team.rate_budget import BudgetTuning, TeamBudget
from tests.fixtures.sandbox import SandboxFactory
from tests.services.pushenv import ada
from tests.team.conftest import TeamDb
from tests.team.test_shared_cache import Team, holds, until

LIMIT = 40
RESERVE = 8  # ceil(40 * 0.2)
#: Most background requests one loop may try before the test gives up on it stopping.
MOST = 200
QUICK = BudgetTuning(interval=0.1)


@pytest.fixture
async def team(team_db: TeamDb, sandbox_factory: SandboxFactory, tmp_path: Path) -> AsyncIterator[Team]:
    cats = await sandbox_factory(seed=3, seed_random=0, rate_limit=LIMIT)
    world = Team(team_db, cats, tmp_path)
    await admin.init_team(team_db.dsn(), team_db.admin_password, world.site, companion_version="test")
    yield world
    for opened in reversed(world.opened):
        await opened.close()


async def member(team: Team, name: str, display_name: str) -> Companion:
    role = await team.add(name)
    team.db.server.sql(
        "UPDATE cats_companion.members SET display_name = $1 WHERE role_name = $2",
        display_name,
        role,
        database=team.db.database,
    )
    # No company sync: the background work here is the test's, so its requests stay countable.
    return await team.companion(name, sync=SyncPolicy(automatic=False), team_budget_tuning=QUICK)


def shared(companion: Companion) -> TeamBudget:
    assert companion.team_budget is not None
    return companion.team_budget


async def background(companion: Companion) -> int:
    """Background requests (as the company sync sends) until the budget keeps the reserve; how many went."""
    assert companion.client is not None
    for sent in range(MOST):
        try:
            await companion.client.request(
                "GET", "/companies", params={"per_page": "1"}, priority=Priority.BACKGROUND, retries=False
            )
        except BudgetReservedError:
            return sent
        # Let the other member's companion and the team budget's loop run between requests.
        await asyncio.sleep(0)
    pytest.fail(f"background work did not stop within {MOST} requests")


async def remaining(team: Team) -> int:
    return int((await team.cats.control.rate_limit())["remaining"])


async def rate_limited(team: Team) -> int:
    return int((await team.cats.control.counters())["rate_limited"])


async def push_goes(companion: Companion) -> None:
    """A recruiter's push: accepted into the outbox and sent to CATS at interactive priority."""
    await companion.push.push(PushRequest(person=ada()))
    counts = await companion.outbox.drain(max_wait=5)
    assert counts == {"synced": 1}, counts


async def test_two_members_background_work_stops_at_the_teams_reserve_and_either_still_pushes(
    team: Team,
) -> None:
    # Slow answers, so both members' requests are in flight together, as on a real network.
    await team.cats.control.set_faults(probabilities={"slow": 1.0}, slow_seconds=0.02)
    alice = await member(team, "alice", "Alice Smith")
    bob = await member(team, "bob", "Bob Jones")
    # Each companion talks to CATS once, and each hears of the other through the team's ledger.
    for companion in (alice, bob):
        assert companion.client is not None
        await companion.client.check_connection()
    for _ in range(2):
        for companion in (alice, bob):
            await shared(companion).sync_now()

    spent = await asyncio.gather(background(alice), background(bob))
    await team.cats.control.clear_faults()

    assert await rate_limited(team) == 0
    left = await remaining(team)
    assert left >= RESERVE
    # Each alone would have gone on to the reserve; together they shared what background work may spend.
    allowed = LIMIT - 2 - RESERVE
    assert all(0 < n < allowed - 1 for n in spent), spent
    assert sum(spent) >= allowed - 2, (spent, left)
    # The reserve is there for a recruiter of either member.
    await push_goes(bob)
    assert alice.client is not None
    await alice.client.check_connection()
    assert await rate_limited(team) == 0


async def test_a_member_that_has_not_spoken_to_cats_yet_keeps_the_reserve_others_spent_down_to(
    team: Team,
) -> None:
    alice = await member(team, "alice", "Alice Smith")
    spent = await background(alice)
    assert await remaining(team) == RESERVE
    await shared(alice).sync_now()

    bob = await member(team, "bob", "Bob Jones")
    await shared(bob).sync_now()
    before = int((await team.cats.control.counters())["requests_total"])
    assert bob.client is not None
    with pytest.raises(BudgetReservedError):
        await bob.client.request("GET", "/companies", priority=Priority.BACKGROUND)
    # Refused from the team's figures alone: not one request reached CATS.
    assert int((await team.cats.control.counters())["requests_total"]) == before
    assert await remaining(team) == RESERVE

    budget = bob.status()["rate_budget"]
    assert isinstance(budget, dict)
    assert (budget["limit"], budget["remaining"], budget["reserve"]) == (LIMIT, RESERVE, RESERVE)
    assert budget["team"] == {
        "state": "connected",
        "reason": None,
        "synced_at": budget["team"]["synced_at"],
        "observed_by": "Alice Smith",
        "members": [{"name": "Alice Smith", "interactive": 0, "background": spent}],
    }
    await push_goes(bob)


async def test_the_window_meter_data_lists_what_each_member_spent_this_hour(team: Team) -> None:
    alice = await member(team, "alice", "Alice Smith")
    bob = await member(team, "bob", "")
    assert alice.client is not None and bob.client is not None
    for _ in range(3):
        await alice.client.request("GET", "/companies", priority=Priority.BACKGROUND)
    await alice.client.check_connection()
    await push_goes(bob)
    await shared(bob).sync_now()
    await shared(alice).sync_now()

    budget = alice.status()["rate_budget"]
    assert isinstance(budget, dict) and isinstance(budget["team"], dict)
    members = budget["team"]["members"]
    bob_role = team.members["bob"]
    # Most first; a member without a display name shows their role name.
    assert [m["name"] for m in members] == ["Alice Smith", bob_role]
    assert members[0] == {"name": "Alice Smith", "interactive": 1, "background": 3}
    assert members[1]["background"] == 0 and members[1]["interactive"] >= 1
    # The account's figures are the team's: what both sent, as CATS counts it.
    assert budget["used"] == LIMIT - await remaining(team)


async def test_with_the_team_database_down_the_local_budget_still_keeps_the_reserve(team: Team) -> None:
    alice = await member(team, "alice", "Alice Smith")
    bob = await member(team, "bob", "Bob Jones")
    server, database = team.db.server, team.db.database
    server.sql(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS false')
    try:
        server.sql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", database)
        await until(holds(lambda: shared(alice).state == "offline"), "alice's team budget is offline")

        spent = await background(alice)
        assert spent > 0 and await rate_limited(team) == 0
        assert await remaining(team) >= RESERVE
        team_status = alice.status()["rate_budget"]
        assert isinstance(team_status, dict) and isinstance(team_status["team"], dict)
        assert team_status["team"]["state"] == "offline" and team_status["team"]["reason"]
        await push_goes(alice)
        assert await rate_limited(team) == 0
    finally:
        server.sql(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS true')

    # Back online, what alice sent meanwhile reaches the team: nothing was lost.
    async def bob_sees_alices_spend() -> bool:
        members = shared(bob).status()["members"]
        assert isinstance(members, list)
        return any(m["name"] == "Alice Smith" and m["background"] == spent for m in members)

    await until(bob_sees_alices_spend, "alice's requests reach the team's ledger")
