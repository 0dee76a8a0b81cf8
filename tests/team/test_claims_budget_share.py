"""The person claims and the team rate budget on one session: both work, a claim waits behind one budget turn
at most, and a lost connection is replaced for both (against the real server)."""

from __future__ import annotations

import asyncio
import contextlib
import statistics
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

import asyncpg
import pytest

from companion.cats.budget import Priority
from companion.errors import TeamUnavailableError
from companion.rules.claim_keys import email_claim_key
from companion.secret import DatabasePassword
from companion.team import admin
from companion.team.claims_link import ClaimsTuning, TeamClaimsLink
from companion.team.rate_budget import BudgetTuning, TeamBudget
from tests.team.conftest import MEMBER_PASSWORD, SITE, TeamDb

CLAIMS = 150
#: Every wait in these tests; far above what any of them takes.
WAIT = 20.0


@dataclass
class Member:
    db: TeamDb
    role: str
    claims: TeamClaimsLink
    budget: TeamBudget
    #: How long each of the budget's turns on the shared connection held it (seconds).
    turns: list[float]

    def sessions(self) -> int:
        rows = self.db.server.fetch("SELECT count(*) FROM pg_stat_activity WHERE usename = $1", self.role)
        return int(rows[0][0])

    def logged(self) -> int:
        rows = self.db.server.fetch(
            "SELECT count(*) FROM cats_companion.rate_requests WHERE origin = $1",
            self.budget.origin,
            database=self.db.database,
        )
        return int(rows[0][0])


@pytest.fixture
async def alice(team_db: TeamDb) -> AsyncIterator[Member]:
    await admin.init_team(team_db.dsn(), team_db.admin_password, SITE, companion_version="1")
    role = team_db.server.unique("alice")
    await admin.add_member(team_db.dsn(), team_db.admin_password, role, DatabasePassword(MEMBER_PASSWORD))

    async def password() -> DatabasePassword:
        return DatabasePassword(MEMBER_PASSWORD)

    claims = TeamClaimsLink(team_db.dsn(role), password, tuning=ClaimsTuning(retry_after=0.2))
    turns: list[float] = []

    @contextlib.asynccontextmanager
    async def timed_turn() -> AsyncIterator[asyncpg.Connection]:
        async with claims.borrowed() as conn:
            started = time.perf_counter()
            try:
                yield conn
            finally:
                turns.append(time.perf_counter() - started)

    # A budget far busier than the daemon's (every 10 ms rather than 2 s): the worst case for the claims.
    budget = TeamBudget(timed_turn, tuning=BudgetTuning(interval=0.01), backoff=lambda _n: 0.05)
    member = Member(team_db, role, claims, budget, turns)
    yield member
    await budget.close()
    await claims.close()


async def claim_times(member: Member, stem: str) -> list[float]:
    took = []
    for n in range(CLAIMS):
        key = email_claim_key(f"{stem}{n}@example.com")
        assert key is not None
        started = time.perf_counter()
        result = await member.claims.claim([key], "candidates")
        took.append(time.perf_counter() - started)
        assert result.won
    return took


async def test_claims_and_the_budget_share_one_session_and_a_claim_waits_one_turn_at_most(
    alice: Member,
) -> None:
    alone = await claim_times(alice, "alone")

    alice.budget.start()
    noting = True

    async def note() -> None:
        while noting:
            alice.budget.sent(time.time(), Priority.BACKGROUND)
            await asyncio.sleep(0.002)

    noter = asyncio.create_task(note())
    try:
        shared = await claim_times(alice, "shared")
    finally:
        noting = False
        await noter
    async with asyncio.timeout(WAIT):
        await alice.budget.sync_now()

    # One session for both, the budget logged every note, and every claim was won on the way.
    assert alice.sessions() == 1
    assert alice.budget.state == "connected" and alice.budget.figures() is not None
    assert alice.logged() > 0 and not alice.budget._pending
    assert len(alice.turns) > 10
    p = statistics.median
    print(
        f"\nclaims alone: p50 {p(alone) * 1e3:.1f} ms, max {max(alone) * 1e3:.1f} ms; "
        f"beside a budget turning every 10 ms: p50 {p(shared) * 1e3:.1f} ms, max {max(shared) * 1e3:.1f} ms "
        f"(ratio of p50 {p(shared) / p(alone):.2f}); budget turns: {len(alice.turns)}, "
        f"p50 {p(alice.turns) * 1e3:.1f} ms, max {max(alice.turns) * 1e3:.1f} ms"
    )


async def test_a_lost_shared_connection_is_replaced_for_the_claims_and_the_budget(alice: Member) -> None:
    alice.budget.start()
    async with asyncio.timeout(WAIT):
        await alice.budget.sync_now()
    alice.db.server.sql(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1", alice.role
    )

    alice.budget.sent(time.time(), Priority.INTERACTIVE)
    key = email_claim_key("after@example.com")
    assert key is not None
    async with asyncio.timeout(WAIT):
        while True:
            try:
                won = await alice.claims.claim([key], "candidates")
                break
            except TeamUnavailableError:
                await asyncio.sleep(0.05)  # set aside for retry_after (0.2 s), then a new connection
        await alice.budget.sync_now()
        while alice.budget.state != "connected":  # noqa: ASYNC110
            await asyncio.sleep(0.02)

    assert won.won and alice.logged() == 1 and alice.sessions() == 1
