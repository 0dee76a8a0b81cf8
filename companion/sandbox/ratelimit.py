"""The sandbox's movable clock and the rolling-hour request budget CATS enforces per account.

CATS allows about 500 requests in any rolling hour (REFERENCE.md section 3). The limiter keeps
the admission time of each request still inside the window, so "remaining" and "Retry-After"
are exact rather than estimated from a fixed reset time.

Only admitted requests use the budget: a request answered 429 is not recorded. The reference
does not say what CATS does here ([UNKNOWN]); this choice means a client that honours
Retry-After gets through exactly when Retry-After says, however often it asked before.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

DEFAULT_LIMIT = 500
WINDOW_SECONDS = 3600.0


def _utc_now() -> datetime:
    return datetime.now(UTC)


class SandboxClock:
    """Wall-clock time plus an offset that tests (and the control API) can move forward.

    Everything in the sandbox that reads time (the rate window, record timestamps) reads this,
    so advancing it by an hour empties the rate window without anybody sleeping.
    """

    def __init__(self, base: Callable[[], datetime] | None = None) -> None:
        self._base = base or _utc_now
        self._offset = timedelta()

    def now(self) -> datetime:
        current = self._base() + self._offset
        if current.tzinfo is None:
            # A naive base clock is taken as UTC, so timestamps stay RFC 3339 with an offset.
            current = current.replace(tzinfo=UTC)
        return current

    def timestamp(self) -> float:
        return self.now().timestamp()

    def advance(self, seconds: float) -> None:
        if seconds < 0 or not math.isfinite(seconds):
            raise ValueError("the sandbox clock only moves forward, by a finite number of seconds")
        self._offset += timedelta(seconds=seconds)

    @property
    def offset_seconds(self) -> float:
        return self._offset.total_seconds()


@dataclass(frozen=True)
class RateDecision:
    """The limiter's answer for one request, with the values of the rate-limit headers."""

    allowed: bool
    limit: int
    remaining: int
    #: Whole seconds until a slot frees up; 0 when the request was admitted.
    retry_after: int


class RollingWindowLimiter:
    """Admits at most `limit` requests in any `window` seconds; a limit of 0 turns it off."""

    def __init__(
        self, limit: int = DEFAULT_LIMIT, *, clock: Callable[[], float], window: float = WINDOW_SECONDS
    ) -> None:
        if window <= 0:
            raise ValueError("the rate window must be positive")
        self._clock = clock
        self._window = window
        self._admitted: deque[float] = deque()
        self._limit = 0
        self.set_limit(limit)

    @property
    def limit(self) -> int:
        return self._limit

    @property
    def enabled(self) -> bool:
        return self._limit > 0

    def set_limit(self, limit: int) -> None:
        """Change the budget; requests already in the window keep counting against the new one."""
        if limit < 0:
            raise ValueError("the rate limit cannot be negative (0 turns it off)")
        self._limit = limit

    def reset(self) -> None:
        """Forget every request in the window."""
        self._admitted.clear()

    def _expire(self, now: float) -> None:
        while self._admitted and self._admitted[0] <= now - self._window:
            self._admitted.popleft()

    def used(self) -> int:
        self._expire(self._clock())
        return len(self._admitted)

    def peek(self) -> RateDecision:
        """What `acquire` would answer now, without using the budget."""
        now = self._clock()
        self._expire(now)
        if not self.enabled:
            return RateDecision(allowed=True, limit=0, remaining=0, retry_after=0)
        if len(self._admitted) < self._limit:
            return RateDecision(True, self._limit, self._limit - len(self._admitted), 0)
        # The window frees a slot when the request that made it full leaves; with a lowered
        # limit that is not the oldest one, hence the index.
        frees_at = self._admitted[len(self._admitted) - self._limit] + self._window
        return RateDecision(False, self._limit, 0, max(1, math.ceil(frees_at - now)))

    def acquire(self) -> RateDecision:
        """Admit one request if the budget allows; the decision's `remaining` counts it."""
        decision = self.peek()
        if not decision.allowed or not self.enabled:
            return decision
        self._admitted.append(self._clock())
        return RateDecision(True, self._limit, decision.remaining - 1, 0)
