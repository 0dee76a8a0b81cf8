"""The rate budget in a team: the freshest headers any member saw, the others' requests, local fallback."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from companion.cats.budget import Priority, RateBudget, TeamFigures
from companion.errors import BudgetReservedError, CatsRateLimitedError
from tests.cats.fakes import FakeClock
from tests.cats.test_budget import BACKGROUND, INTERACTIVE, headers


@dataclass
class FakeTeamView:
    """A TeamBudgetView whose figures the test sets, recording what the budget told it."""

    current: TeamFigures | None = None
    sends: list[tuple[float, Priority]] = field(default_factory=list)
    observations: list[tuple[int, int, float]] = field(default_factory=list)

    def figures(self) -> TeamFigures | None:
        return self.current

    def sent(self, at: float, priority: Priority) -> None:
        self.sends.append((at, priority))

    def observed(self, limit: int, remaining: int, at: float) -> None:
        self.observations.append((limit, remaining, at))


async def test_a_fresher_team_header_stops_background_work_at_the_teams_reserve() -> None:
    clock = FakeClock()
    view = FakeTeamView()
    budget = RateBudget(limit=100, reserve_fraction=0.2, clock=clock, team=view)
    budget.observe(headers(100, 90))
    clock.advance(10)
    # Another member saw the account later: only the reserve is left.
    view.current = TeamFigures(limit=100, remaining=20, observed_at=clock.now() - 1)
    with pytest.raises(BudgetReservedError):
        await budget.acquire(BACKGROUND, wait=False)
    await budget.acquire(INTERACTIVE, wait=False)
    snap = budget.snapshot()
    assert (snap.used, snap.remaining, snap.source) == (81, 19, "headers")


async def test_other_members_requests_after_the_freshest_header_count_against_it() -> None:
    clock = FakeClock()
    seen_at = clock.now()
    clock.advance(30)
    others = [seen_at - 5, seen_at + 1, seen_at + 2, seen_at + 3]
    view = FakeTeamView(TeamFigures(limit=50, remaining=14, observed_at=seen_at, others=others))
    budget = RateBudget(limit=50, reserve_fraction=0.2, clock=clock, team=view)
    # 36 used at the header, 3 sent by others since (the one before it is in the header already).
    assert budget.snapshot().used == 39
    await budget.acquire(BACKGROUND, wait=False)
    with pytest.raises(BudgetReservedError):
        await budget.acquire(BACKGROUND, wait=False)


async def test_a_later_header_of_our_own_wins_over_an_older_team_report() -> None:
    clock = FakeClock()
    view = FakeTeamView(TeamFigures(limit=100, remaining=21, observed_at=clock.now()))
    budget = RateBudget(limit=100, reserve_fraction=0.2, clock=clock, team=view)
    clock.advance(60)
    # The hour moved on: CATS now reports far more room than the team's older figure.
    budget.observe(headers(100, 70))
    await budget.acquire(BACKGROUND, wait=False)
    assert budget.snapshot().remaining == 69


async def test_background_keeps_one_request_in_hand_per_other_active_companion() -> None:
    clock = FakeClock()
    view = FakeTeamView(TeamFigures(limit=100, remaining=22, observed_at=clock.now(), others_active=2))
    budget = RateBudget(limit=100, reserve_fraction=0.2, clock=clock, team=view)
    # 22 left, reserve 20, two others may each have a request in flight: background stops now.
    with pytest.raises(BudgetReservedError):
        await budget.acquire(BACKGROUND, wait=False)
    view.current = TeamFigures(limit=100, remaining=23, observed_at=clock.now(), others_active=2)
    await budget.acquire(BACKGROUND, wait=False)


async def test_without_team_figures_the_budget_is_this_process_alone() -> None:
    clock = FakeClock()
    view = FakeTeamView(None)
    budget = RateBudget(limit=10, reserve_fraction=0.2, clock=clock, team=view)
    for _ in range(8):
        await budget.acquire(BACKGROUND, wait=False)
    with pytest.raises(BudgetReservedError):
        await budget.acquire(BACKGROUND, wait=False)
    await budget.acquire(INTERACTIVE, wait=False)
    await budget.acquire(INTERACTIVE, wait=False)
    with pytest.raises(CatsRateLimitedError):
        await budget.acquire(INTERACTIVE, wait=False)


async def test_every_send_and_header_reaches_the_team_view() -> None:
    clock = FakeClock()
    view = FakeTeamView()
    budget = RateBudget(limit=100, clock=clock, team=view)
    await budget.acquire(INTERACTIVE, wait=False)
    clock.advance(1)
    await budget.acquire(BACKGROUND, wait=False)
    budget.observe(headers(100, 98))
    budget.observe({"X-Rate-Limit-Limit": "100"})  # no remaining: nothing to report
    assert view.sends == [(clock.now() - 1, INTERACTIVE), (clock.now(), BACKGROUND)]
    assert view.observations == [(100, 98, clock.now())]


async def test_team_requests_leave_the_window_an_hour_after_they_were_sent() -> None:
    clock = FakeClock()
    start = clock.now()
    others = [start + i for i in range(10)]
    view = FakeTeamView(TeamFigures(others=others))
    budget = RateBudget(limit=10, reserve_fraction=0, clock=clock, team=view)
    clock.advance(20)
    with pytest.raises(CatsRateLimitedError) as refused:
        await budget.acquire(INTERACTIVE, wait=False)
    # The oldest of the others' requests frees the first slot.
    assert refused.value.retry_after == pytest.approx(3600 - 20)
    clock.advance(3600 - 20)
    await budget.acquire(INTERACTIVE, wait=False)
