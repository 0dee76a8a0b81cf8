"""The rolling-hour request budget: the limiter itself, and what a client sees over HTTP."""

from __future__ import annotations

from datetime import UTC, datetime

import aiohttp
import pytest

from companion.sandbox.ratelimit import RollingWindowLimiter, SandboxClock
from tests.fixtures.sandbox import SandboxFactory, SandboxHandle

FROZEN = datetime(2025, 5, 1, 12, 0, tzinfo=UTC)


class Seconds:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


# --- the limiter ---------------------------------------------------------------------------------


def test_limiter_admits_up_to_the_limit_then_refuses() -> None:
    limiter = RollingWindowLimiter(3, clock=Seconds())
    assert [limiter.acquire().remaining for _ in range(3)] == [2, 1, 0]
    refused = limiter.acquire()
    assert not refused.allowed
    assert refused.remaining == 0


def test_window_is_rolling_not_fixed() -> None:
    clock = Seconds()
    limiter = RollingWindowLimiter(2, clock=clock, window=3600)
    limiter.acquire()  # t=1000
    clock.now += 1800
    limiter.acquire()  # t=2800
    assert limiter.acquire().retry_after == 1800  # the first leaves at 4600
    clock.now = 4600.0
    assert limiter.acquire().allowed  # one slot freed, not the whole budget
    assert not limiter.acquire().allowed


def test_retry_after_rounds_up_to_whole_seconds_and_is_never_zero() -> None:
    clock = Seconds()
    limiter = RollingWindowLimiter(1, clock=clock, window=10)
    limiter.acquire()
    clock.now += 9.99
    assert limiter.acquire().retry_after == 1
    clock.now -= 9.99 - 0.5
    assert limiter.acquire().retry_after == 10


def test_refused_requests_do_not_use_the_budget() -> None:
    clock = Seconds()
    limiter = RollingWindowLimiter(1, clock=clock, window=60)
    limiter.acquire()
    for _ in range(5):
        assert not limiter.acquire().allowed
    clock.now += 60
    assert limiter.acquire().allowed


def test_lowering_the_limit_counts_requests_already_in_the_window() -> None:
    clock = Seconds()
    limiter = RollingWindowLimiter(10, clock=clock, window=100)
    for step in range(4):
        clock.now = 1000.0 + step
        limiter.acquire()  # at 1000, 1001, 1002, 1003
    limiter.set_limit(2)
    decision = limiter.acquire()
    assert not decision.allowed
    # Three of the four must leave before one more fits: the third (1002) leaves at 1102.
    assert decision.retry_after == 1102 - 1003


def test_limit_zero_turns_the_limiter_off() -> None:
    limiter = RollingWindowLimiter(0, clock=Seconds())
    assert all(limiter.acquire().allowed for _ in range(1000))
    assert limiter.used() == 0


def test_negative_limit_is_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        RollingWindowLimiter(-1, clock=Seconds())


def test_sandbox_clock_moves_only_forward() -> None:
    clock = SandboxClock(lambda: FROZEN)
    clock.advance(90)
    assert clock.now() == datetime(2025, 5, 1, 12, 1, 30, tzinfo=UTC)
    with pytest.raises(ValueError):
        clock.advance(-1)
    with pytest.raises(ValueError):
        clock.advance(float("nan"))


def test_naive_base_clock_is_read_as_utc() -> None:
    assert SandboxClock(lambda: datetime(2025, 1, 1)).now().tzinfo is UTC


# --- over HTTP -----------------------------------------------------------------------------------


@pytest.fixture
async def limited(sandbox_factory: SandboxFactory) -> SandboxHandle:
    return await sandbox_factory(rate_limit=3, clock=lambda: FROZEN)


async def _get(http: aiohttp.ClientSession, handle: SandboxHandle) -> tuple[int, dict[str, str], str]:
    async with http.get(handle.url_for("companies")) as response:
        headers = {k.lower(): v for k, v in response.headers.items()}
        return response.status, headers, await response.text()


async def test_authenticated_answers_carry_limit_and_remaining(limited: SandboxHandle) -> None:
    async with limited.session() as http:
        remaining = []
        for _ in range(3):
            status, headers, _ = await _get(http, limited)
            assert status == 200
            assert headers["x-rate-limit-limit"] == "3"
            remaining.append(headers["x-rate-limit-remaining"])
    assert remaining == ["2", "1", "0"]


async def test_unauthenticated_answers_carry_no_rate_headers_and_use_no_budget(
    limited: SandboxHandle,
) -> None:
    async with aiohttp.ClientSession() as http:
        for _ in range(5):
            status, headers, _ = await _get(http, limited)
            assert status == 401
            assert "x-rate-limit-limit" not in headers
            assert "x-rate-limit-remaining" not in headers
    assert (await limited.control.rate_limit())["used"] == 0


async def test_spent_budget_gets_429_with_retry_after_until_the_oldest_request_leaves(
    limited: SandboxHandle,
) -> None:
    async with limited.session() as http:
        for _ in range(3):
            await _get(http, limited)
        status, headers, body = await _get(http, limited)
        assert status == 429
        assert headers["retry-after"] == "3600"  # the frozen clock: all three were just now
        assert headers["x-rate-limit-remaining"] == "0"
        assert "message" in body

        await limited.control.advance_clock(3599)
        status, headers, _ = await _get(http, limited)
        assert (status, headers["retry-after"]) == (429, "1")

        await limited.control.advance_clock(1)
        status, headers, _ = await _get(http, limited)
        assert status == 200
    counters = await limited.control.counters()
    assert counters["rate_limited"] == 2


async def test_limit_zero_means_no_rate_headers_and_no_429(sandbox_factory: SandboxFactory) -> None:
    handle = await sandbox_factory(rate_limit=0)
    async with handle.session() as http:
        for _ in range(5):
            status, headers, _ = await _get(http, handle)
            assert status == 200
            assert "x-rate-limit-limit" not in headers


async def test_default_budget_is_500_per_hour(sandbox_factory: SandboxFactory) -> None:
    handle = await sandbox_factory()
    async with handle.session() as http:
        _, headers, _ = await _get(http, handle)
    assert (headers["x-rate-limit-limit"], headers["x-rate-limit-remaining"]) == ("500", "499")
