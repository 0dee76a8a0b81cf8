"""The rate budget: rolling hour, CATS's headers, Retry-After, the interactive reserve, the snapshot."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from companion.cats.budget import Priority, RateBudget
from companion.errors import BudgetReservedError, CatsRateLimitedError
from tests.cats.fakes import FakeClock

INTERACTIVE = Priority.INTERACTIVE
BACKGROUND = Priority.BACKGROUND


def headers(limit: int, remaining: int) -> dict[str, str]:
    return {"X-Rate-Limit-Limit": str(limit), "X-Rate-Limit-Remaining": str(remaining)}


async def spend(budget: RateBudget, n: int, priority: Priority = INTERACTIVE) -> None:
    for _ in range(n):
        await budget.acquire(priority, wait=False)


async def test_local_count_refuses_the_request_past_the_hourly_limit() -> None:
    clock = FakeClock()
    budget = RateBudget(limit=5, reserve_fraction=0, clock=clock)
    await spend(budget, 5)
    with pytest.raises(CatsRateLimitedError) as refused:
        await budget.acquire(INTERACTIVE, wait=False)
    assert not isinstance(refused.value, BudgetReservedError)
    assert refused.value.retry_after == pytest.approx(3600)
    assert budget.snapshot().used == 5


async def test_requests_leave_the_rolling_hour_one_by_one() -> None:
    clock = FakeClock()
    budget = RateBudget(limit=3, reserve_fraction=0, clock=clock)
    for _ in range(3):
        await budget.acquire(INTERACTIVE, wait=False)
        clock.advance(600)
    # First request was sent 1800 s ago: it leaves the window 1800 s from now, not sooner.
    with pytest.raises(CatsRateLimitedError) as refused:
        await budget.acquire(INTERACTIVE, wait=False)
    assert refused.value.retry_after == pytest.approx(1800)
    clock.advance(1800)
    await budget.acquire(INTERACTIVE, wait=False)
    assert budget.snapshot().used == 3


async def test_waiting_acquire_sleeps_exactly_until_a_slot_frees() -> None:
    clock = FakeClock()
    budget = RateBudget(limit=2, reserve_fraction=0, max_wait=4000, clock=clock)
    await spend(budget, 2)
    clock.advance(100)
    await budget.acquire(INTERACTIVE)
    assert clock.sleeps == [pytest.approx(3500)]


async def test_wait_longer_than_the_bound_raises_without_sleeping() -> None:
    clock = FakeClock()
    budget = RateBudget(limit=1, reserve_fraction=0, max_wait=60, clock=clock)
    await spend(budget, 1)
    with pytest.raises(CatsRateLimitedError):
        await budget.acquire(INTERACTIVE)
    assert clock.sleeps == []


async def test_headers_override_the_local_count() -> None:
    clock = FakeClock()
    budget = RateBudget(limit=500, clock=clock)
    await spend(budget, 2)
    # Another client of the same account has been busy: CATS's figure wins over ours.
    budget.observe(headers(1500, 1000))
    snap = budget.snapshot()
    assert (snap.limit, snap.used, snap.remaining, snap.source) == (1500, 500, 1000, "headers")
    assert snap.reserve == 300
    await spend(budget, 1)
    assert budget.snapshot().remaining == 999


async def test_headers_announcing_nothing_left_hold_requests_back() -> None:
    clock = FakeClock()
    budget = RateBudget(limit=500, clock=clock)
    budget.observe(headers(500, 0))
    with pytest.raises(CatsRateLimitedError) as refused:
        await budget.acquire(INTERACTIVE, wait=False)
    # Usage we cannot attribute is gone one window after CATS reported it.
    assert refused.value.retry_after == pytest.approx(3600)
    clock.advance(3600)
    await budget.acquire(INTERACTIVE, wait=False)
    assert budget.snapshot().source == "local"


async def test_own_requests_counted_by_cats_expire_from_the_observed_figure() -> None:
    clock = FakeClock()
    budget = RateBudget(limit=10, reserve_fraction=0, clock=clock)
    await spend(budget, 4)
    clock.advance(10)
    budget.observe(headers(10, 6))
    clock.advance(3595)
    assert budget.snapshot().used == 0
    assert budget.snapshot().remaining == 10


async def test_garbled_or_missing_headers_are_ignored() -> None:
    budget = RateBudget(limit=50, clock=FakeClock())
    await spend(budget, 1)
    budget.observe({})
    budget.observe({"X-Rate-Limit-Limit": "lots", "X-Rate-Limit-Remaining": "-3"})
    budget.observe({"X-Rate-Limit-Limit": "0"})
    snap = budget.snapshot()
    assert (snap.limit, snap.used, snap.source) == (50, 1, "local")


async def test_retry_after_holds_back_every_request_until_it_passes() -> None:
    clock = FakeClock()
    budget = RateBudget(limit=500, clock=clock)
    budget.block(30)
    with pytest.raises(CatsRateLimitedError) as refused:
        await budget.acquire(INTERACTIVE, wait=False)
    assert refused.value.retry_after == pytest.approx(30)
    start = clock.now()
    await budget.acquire(INTERACTIVE)
    assert clock.now() - start == pytest.approx(30)


async def test_retry_after_beyond_the_wait_bound_raises_at_once() -> None:
    clock = FakeClock()
    budget = RateBudget(limit=500, max_wait=60, clock=clock)
    budget.block(3600)
    with pytest.raises(CatsRateLimitedError) as refused:
        await budget.acquire(INTERACTIVE)
    assert refused.value.retry_after == pytest.approx(3600)
    assert clock.sleeps == []


async def test_background_work_never_spends_the_reserve_but_interactive_does() -> None:
    clock = FakeClock()
    budget = RateBudget(limit=10, reserve_fraction=0.2, clock=clock)
    await spend(budget, 8, BACKGROUND)
    with pytest.raises(BudgetReservedError) as reserved:
        await budget.acquire(BACKGROUND, wait=False)
    assert reserved.value.retry_after == pytest.approx(3600)
    await spend(budget, 2, INTERACTIVE)
    with pytest.raises(CatsRateLimitedError) as spent:
        await budget.acquire(INTERACTIVE, wait=False)
    assert not isinstance(spent.value, BudgetReservedError)


async def test_background_waits_for_the_reserve_to_refill_when_allowed() -> None:
    clock = FakeClock()
    budget = RateBudget(limit=10, reserve_fraction=0.2, max_wait=7200, clock=clock)
    await spend(budget, 8, BACKGROUND)
    clock.advance(60)
    await budget.acquire(BACKGROUND)
    assert clock.sleeps == [pytest.approx(3540)]


async def test_background_gives_up_when_the_reserve_will_not_refill_in_time() -> None:
    clock = FakeClock()
    budget = RateBudget(limit=10, reserve_fraction=0.2, max_wait=30, clock=clock)
    await spend(budget, 8, BACKGROUND)
    with pytest.raises(BudgetReservedError):
        await budget.acquire(BACKGROUND)
    assert clock.sleeps == []


async def test_snapshot_reports_reset_and_block_times() -> None:
    clock = FakeClock(start=1_700_000_000)
    budget = RateBudget(limit=100, clock=clock)
    empty = budget.snapshot()
    assert (empty.used, empty.remaining, empty.reset_at, empty.blocked_until) == (0, 100, None, None)
    await spend(budget, 3)
    clock.advance(600)
    budget.block(45)
    snap = budget.snapshot()
    assert snap.used == 3
    assert snap.remaining == 97
    assert snap.reserve == 20
    assert snap.reset_in_seconds == pytest.approx(3000)
    assert snap.reset_at == datetime.fromtimestamp(1_700_003_600, UTC)
    assert snap.blocked_until == datetime.fromtimestamp(1_700_000_645, UTC)
    assert snap.source == "local"


@pytest.mark.parametrize(
    "kwargs",
    [{"limit": 0}, {"window": 0}, {"reserve_fraction": 1.0}, {"reserve_fraction": -0.1}, {"max_wait": -1}],
)
def test_nonsensical_settings_are_refused(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        RateBudget(**kwargs)  # type: ignore[arg-type]
