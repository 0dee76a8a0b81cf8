"""The CATS request budget: a rolling hourly limit, Retry-After blocks and a reserve for interactive work.

CATS allows about 500 requests per rolling hour per account and reports the account-wide state in
`X-Rate-Limit-Limit` / `X-Rate-Limit-Remaining` on authenticated responses. The budget trusts those
headers when it has seen them (other clients of the same account spend the budget too) and keeps
its own count of what it sent for the time in between and for answers without the headers. The
last `reserve_fraction` of the hour is kept for requests a recruiter is waiting on: background
work (cache sync, event polling) waits for it to refill instead of spending it.

In a team several companions spend one account: a `TeamBudgetView` (implemented in
companion.team, which this layer never imports) tells the budget the freshest headers any member
saw and the other members' requests, so background work stops before the reserve for the whole
team. Without a view, or while it knows nothing, the budget is this process's alone.
"""

from __future__ import annotations

import asyncio
import math
import time
from bisect import bisect_right
from collections import deque
from collections.abc import Mapping, Sequence
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


@dataclass(frozen=True)
class _Observation:
    """The account-wide usage CATS reported (`limit - remaining`) at a moment, in this process's clock."""

    limit: int
    used: int
    at: float
    #: How many requests this process had sent when it saw them (None: a team member's report).
    own_count: int | None = None


@dataclass(frozen=True)
class TeamFigures:
    """What the team's ledger says about the account, with times in this process's clock."""

    #: The freshest `X-Rate-Limit-*` headers any member reported, and when it saw them (None: none).
    limit: int | None = None
    remaining: int | None = None
    observed_at: float | None = None
    #: When the other companions of the team sent their requests of the last hour, oldest first.
    others: Sequence[float] = ()
    #: Other companions that sent a request lately. Each may have one request in flight that no
    #: header or ledger shows yet, so background work keeps that many more requests in hand.
    others_active: int = 0


class TeamBudgetView(Protocol):
    """The team's side of the budget (companion.team.rate_budget): what others spent, what we spend.

    Called on every request, so each method answers from memory at once; the view syncs with the
    team in the background.
    """

    def figures(self) -> TeamFigures | None:
        """The team's latest figures, None when the view has never reached the team."""
        ...

    def sent(self, at: float, priority: Priority) -> None:
        """This process is sending one request now (`at`, its clock)."""
        ...

    def observed(self, limit: int, remaining: int, at: float) -> None:
        """This process saw the account's rate headers."""
        ...


@dataclass(frozen=True)
class _State:
    """The budget as one decision sees it: the limit, the usage, the unknown usage's expiry."""

    limit: int
    used: int
    #: Every known send still in the window (ours and the team's), oldest first.
    known: list[float]
    observed: _Observation | None
    #: Requests background work keeps in hand beyond the reserve (other members' in-flight ones).
    margin: int


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
        team: TeamBudgetView | None = None,
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
        #: Our own sends, oldest first, kept for two windows: one that leaves the window must be
        #: taken off a header observed up to a window earlier.
        self._sent: deque[float] = deque()
        self._observed: _Observation | None = None
        self._blocked_until = 0.0
        #: Every send ever counted: which of ours came after a header is a matter of order, not time.
        self._sent_total = 0
        #: The team's figures and ledger; None: this process spends the account alone.
        self.team = team

    # --- what the responses tell us ----------------------------------------------------------

    def observe(self, headers: Mapping[str, str]) -> None:
        """Take the account's state from a response's rate-limit headers (ignored when absent or garbled)."""
        limit = _header_int(headers, LIMIT_HEADER)
        if limit is None or limit < 1:
            return
        self._limit = limit
        remaining = _header_int(headers, REMAINING_HEADER)
        if remaining is not None:
            now = self.clock.now()
            self._observed = _Observation(
                limit=limit, used=max(0, limit - remaining), at=now, own_count=self._sent_total
            )
            if self.team is not None:
                self.team.observed(limit, remaining, now)

    def assume_limit(self, limit: int) -> None:
        """The account's limit as its profile knows it, until a response's header says otherwise."""
        if limit >= 1 and self._observed is None:
            self._limit = limit

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
            state = self._state(now)
            delay = self._delay_before_send(state, priority, now)
            if delay <= 0:
                self._record_send(now, priority)
                return
            if not wait or now + delay > deadline:
                raise self._refusal(state, priority, now, delay)
            await self.clock.sleep(delay)
        now = self.clock.now()
        state = self._state(now)
        raise self._refusal(state, priority, now, max(self._delay_before_send(state, priority, now), 1.0))

    def snapshot(self) -> BudgetSnapshot:
        now = self.clock.now()
        state = self._state(now)
        expiry = self._expiry_of(state, 1, now) if state.used else None
        return BudgetSnapshot(
            limit=state.limit,
            used=state.used,
            remaining=max(0, state.limit - state.used),
            reserve=self._reserve_of(state.limit),
            reset_at=_to_datetime(expiry) if expiry is not None else None,
            reset_in_seconds=max(0.0, expiry - now) if expiry is not None else None,
            blocked_until=_to_datetime(self._blocked_until) if self._blocked_until > now else None,
            source="headers" if state.observed is not None else "local",
        )

    @property
    def max_wait(self) -> float:
        """How long `acquire` waits by default before it raises."""
        return self._max_wait

    @property
    def reserve(self) -> int:
        return self._reserve_of(self._state(self.clock.now()).limit)

    # --- internals -----------------------------------------------------------------------------

    def _reserve_of(self, limit: int) -> int:
        return math.ceil(limit * self._reserve_fraction)

    def _record_send(self, now: float, priority: Priority) -> None:
        self._sent.append(now)
        self._sent_total += 1
        if self.team is not None:
            self.team.sent(now, priority)

    def _state(self, now: float) -> _State:
        """The account's usage now, from the freshest headers (ours or a team member's) and every send known.

        CATS's own figure is the base: it also counts what other clients of the account sent. Sends
        we know of after it are added; those it had counted that have left the window since are
        taken off. Without any headers the usage is the known sends of the last hour.
        """
        horizon = now - self._window
        while self._sent and self._sent[0] <= horizon - self._window:
            self._sent.popleft()
        if self._observed is not None and self._observed.at <= horizon:
            # Everything CATS counted back then has left the window since.
            self._observed = None
        figures = self.team.figures() if self.team is not None else None
        own = list(self._sent)
        known = list(own)
        others: Sequence[float] = ()
        observed = self._observed
        margin = 0
        if figures is not None:
            others = figures.others
            # Two sorted runs: Timsort merges them in one pass.
            known = sorted([*own, *others])
            margin = figures.others_active
            team_seen = _team_observation(figures)
            fresher = observed is None or (team_seen is not None and team_seen.at > observed.at)
            if team_seen is not None and team_seen.at > horizon and fresher:
                observed = team_seen
        in_window = known[bisect_right(known, horizon) :]
        used = len(in_window)
        limit = self._limit
        if observed is not None:
            limit = observed.limit
            # Known sends CATS had counted that left the window since, and those after its report.
            left = bisect_right(known, horizon) - bisect_right(known, observed.at - self._window)
            if observed.own_count is not None:
                ours_after = self._sent_total - observed.own_count
            else:
                ours_after = len(own) - bisect_right(own, observed.at)
            theirs_after = len(others) - bisect_right(others, observed.at)
            used = max(used, observed.used - left + ours_after + theirs_after)
        return _State(limit=limit, used=used, known=in_window, observed=observed, margin=margin)

    def _delay_before_send(self, state: _State, priority: Priority, now: float) -> float:
        if self._blocked_until > now:
            return self._blocked_until - now
        floor = self._reserve_of(state.limit) + state.margin if priority is Priority.BACKGROUND else 0
        remaining = state.limit - state.used
        if remaining > floor:
            return 0.0
        expiry = self._expiry_of(state, floor - remaining + 1, now)
        return max(expiry - now, 0.0)

    def _expiry_of(self, state: _State, nth: int, now: float) -> float:
        """When the `nth` oldest counted request leaves the window."""
        if nth <= len(state.known):
            return state.known[nth - 1] + self._window
        if state.observed is not None:
            # Usage we cannot attribute (other clients): it is all gone one window after CATS reported it.
            return state.observed.at + self._window
        return now + self._window

    def _refusal(self, state: _State, priority: Priority, now: float, delay: float) -> CatsRateLimitedError:
        if self._blocked_until > now:
            return CatsRateLimitedError(
                f"CATS asked for a pause; the next request is possible in {delay:.0f} s",
                retry_after=delay,
            )
        if priority is Priority.BACKGROUND and state.limit - state.used > 0:
            return BudgetReservedError(
                f"only the {self._reserve_of(state.limit)} requests kept for interactive work are left "
                f"this hour; background work resumes in {delay:.0f} s",
                retry_after=delay,
                status=None,
            )
        return CatsRateLimitedError(
            f"the hourly budget of {state.limit} CATS requests is spent; "
            f"the next is possible in {delay:.0f} s",
            retry_after=delay,
            status=None,
        )


def _team_observation(figures: TeamFigures) -> _Observation | None:
    if figures.limit is None or figures.remaining is None or figures.observed_at is None or figures.limit < 1:
        return None
    return _Observation(
        limit=figures.limit, used=max(0, figures.limit - figures.remaining), at=figures.observed_at
    )


def _to_datetime(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)
