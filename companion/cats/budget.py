"""The CATS request budget: a rolling hourly limit, Retry-After blocks and a reserve for interactive work.

CATS allows about 500 requests per rolling hour per account and reports the account-wide state in
`X-Rate-Limit-Limit` / `X-Rate-Limit-Remaining` on authenticated responses. The budget trusts those
headers when it has seen them (other clients of the same account spend the budget too) and keeps
its own count of what it sent for the time in between and for answers without the headers. The
last `reserve_fraction` of the hour is kept for requests a recruiter is waiting on: background
work (cache sync, event polling) waits for it to refill instead of spending it.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Final, Literal, Protocol

from pydantic import BaseModel, ConfigDict

from companion.errors import BudgetReservedError, CatsRateLimitedError

DEFAULT_LIMIT: Final = 500
DEFAULT_WINDOW: Final = 3600.0
DEFAULT_RESERVE_FRACTION: Final = 0.2
#: How long `acquire` may wait by default before it gives up and raises.
DEFAULT_MAX_WAIT: Final = 30.0
# Each round of `acquire` sleeps until the earliest moment a slot can free, so a handful of
# rounds always suffices; the cap only stops a misbehaving clock from spinning forever.
_MAX_ROUNDS: Final = 64

LIMIT_HEADER: Final = "X-Rate-Limit-Limit"
REMAINING_HEADER: Final = "X-Rate-Limit-Remaining"


class Priority(StrEnum):
    """Who is waiting for a request: a recruiter (interactive) or nobody in particular (background)."""

    INTERACTIVE = "interactive"
    BACKGROUND = "background"


class Clock(Protocol):
    """The budget's (and so the client's) sense of time; tests pass a fake one that never really sleeps."""

    def now(self) -> float:
        """Seconds since the Unix epoch."""
        ...

    async def sleep(self, seconds: float) -> None: ...


class SystemClock:
    """Wall-clock time and real sleeping."""

    def now(self) -> float:
        return time.time()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


class BudgetSnapshot(BaseModel):
    """What the settings window shows about the hourly budget."""

    model_config = ConfigDict(frozen=True)

    limit: int
    used: int
    remaining: int
    #: Requests kept for interactive work; background work stops when only these are left.
    reserve: int
    #: When the oldest counted request leaves the rolling hour (one more request becomes possible).
    reset_at: datetime | None
    reset_in_seconds: float | None
    #: Set while CATS's Retry-After forbids any request.
    blocked_until: datetime | None
    #: "headers" when CATS told us the account's state, "local" when only our own count is known.
    source: Literal["headers", "local"]


@dataclass
class _Observation:
    """The account-wide usage CATS last reported, kept current with what we sent and what expired since."""

    used: int
    at: float


def _header_int(headers: Mapping[str, str], name: str) -> int | None:
    raw = headers.get(name)
    if raw is None:
        return None
    try:
        value = int(raw.strip())
    except ValueError:
        return None
    return value if value >= 0 else None


class RateBudget:
    """Decides when the next request to CATS may be sent. One instance per CATS account and process."""

    def __init__(
        self,
        *,
        limit: int = DEFAULT_LIMIT,
        window: float = DEFAULT_WINDOW,
        reserve_fraction: float = DEFAULT_RESERVE_FRACTION,
        max_wait: float = DEFAULT_MAX_WAIT,
        clock: Clock | None = None,
    ) -> None:
        if limit < 1:
            raise ValueError("the rate limit must allow at least one request")
        if window <= 0:
            raise ValueError("the rate window must be positive")
        if not 0 <= reserve_fraction < 1:
            raise ValueError("the reserve fraction must be in [0, 1)")
        if max_wait < 0:
            raise ValueError("max_wait cannot be negative")
        self.clock: Clock = clock or SystemClock()
        self._limit = limit
        self._window = window
        self._reserve_fraction = reserve_fraction
        self._max_wait = max_wait
        self._sent: deque[float] = deque()
        self._observed: _Observation | None = None
        self._blocked_until = 0.0

    # --- what the responses tell us ----------------------------------------------------------

    def observe(self, headers: Mapping[str, str]) -> None:
        """Take the account's state from a response's rate-limit headers (ignored when absent or garbled)."""
        limit = _header_int(headers, LIMIT_HEADER)
        if limit is None or limit < 1:
            return
        self._limit = limit
        remaining = _header_int(headers, REMAINING_HEADER)
        if remaining is not None:
            self._observed = _Observation(used=max(0, limit - remaining), at=self.clock.now())

    def block(self, retry_after: float) -> None:
        """CATS said 429: send nothing for `retry_after` seconds."""
        if retry_after > 0:
            self._blocked_until = max(self._blocked_until, self.clock.now() + retry_after)

    # --- spending ------------------------------------------------------------------------------

    async def acquire(self, priority: Priority, *, wait: bool = True, max_wait: float | None = None) -> None:
        """Count one request about to be sent, first waiting (bounded) until the budget allows it.

        Raises `BudgetReservedError` when background work would have to spend the reserve and
        `CatsRateLimitedError` when the hour is spent or CATS asked us to wait; both carry
        `retry_after`. With `wait=False` they are raised instead of waiting at all.
        """
        bound = self._max_wait if max_wait is None else max_wait
        deadline = self.clock.now() + bound
        for _ in range(_MAX_ROUNDS):
            now = self.clock.now()
            self._forget_expired(now)
            delay = self._delay_before_send(priority, now)
            if delay <= 0:
                self._record_send(now)
                return
            if not wait or now + delay > deadline:
                raise self._refusal(priority, now, delay)
            await self.clock.sleep(delay)
        now = self.clock.now()
        raise self._refusal(priority, now, max(self._delay_before_send(priority, now), 1.0))

    def snapshot(self) -> BudgetSnapshot:
        now = self.clock.now()
        self._forget_expired(now)
        used = self._used()
        expiry = self._expiry_of(1, now) if used else None
        return BudgetSnapshot(
            limit=self._limit,
            used=used,
            remaining=max(0, self._limit - used),
            reserve=self.reserve,
            reset_at=_to_datetime(expiry) if expiry is not None else None,
            reset_in_seconds=max(0.0, expiry - now) if expiry is not None else None,
            blocked_until=_to_datetime(self._blocked_until) if self._blocked_until > now else None,
            source="headers" if self._observed is not None else "local",
        )

    @property
    def max_wait(self) -> float:
        """How long `acquire` waits by default before it raises."""
        return self._max_wait

    @property
    def reserve(self) -> int:
        return math.ceil(self._limit * self._reserve_fraction)

    # --- internals -----------------------------------------------------------------------------

    def _used(self) -> int:
        # CATS's own figure wins: it also counts what other clients of the account sent.
        return self._observed.used if self._observed is not None else len(self._sent)

    def _record_send(self, now: float) -> None:
        self._sent.append(now)
        if self._observed is not None:
            self._observed.used += 1

    def _forget_expired(self, now: float) -> None:
        horizon = now - self._window
        observed = self._observed
        while self._sent and self._sent[0] <= horizon:
            sent_at = self._sent.popleft()
            # A request of ours that CATS had counted leaves its window as well.
            if observed is not None and sent_at > observed.at - self._window:
                observed.used = max(0, observed.used - 1)
        if observed is not None and observed.at <= horizon:
            # Everything CATS counted back then has left the window since.
            self._observed = None

    def _delay_before_send(self, priority: Priority, now: float) -> float:
        if self._blocked_until > now:
            return self._blocked_until - now
        floor = self.reserve if priority is Priority.BACKGROUND else 0
        remaining = self._limit - self._used()
        if remaining > floor:
            return 0.0
        expiry = self._expiry_of(floor - remaining + 1, now)
        return max(expiry - now, 0.0)

    def _expiry_of(self, nth: int, now: float) -> float:
        """When the `nth` oldest counted request leaves the window."""
        if nth <= len(self._sent):
            return self._sent[nth - 1] + self._window
        if self._observed is not None:
            # Usage we cannot attribute (other clients): it is all gone one window after CATS reported it.
            return self._observed.at + self._window
        return now + self._window

    def _refusal(self, priority: Priority, now: float, delay: float) -> CatsRateLimitedError:
        if self._blocked_until > now:
            return CatsRateLimitedError(
                f"CATS asked for a pause; the next request is possible in {delay:.0f} s",
                retry_after=delay,
            )
        if priority is Priority.BACKGROUND and self._limit - self._used() > 0:
            return BudgetReservedError(
                f"only the {self.reserve} requests kept for interactive work are left this hour; "
                f"background work resumes in {delay:.0f} s",
                retry_after=delay,
                status=None,
            )
        return CatsRateLimitedError(
            f"the hourly budget of {self._limit} CATS requests is spent; "
            f"the next is possible in {delay:.0f} s",
            retry_after=delay,
            status=None,
        )


def _to_datetime(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)
