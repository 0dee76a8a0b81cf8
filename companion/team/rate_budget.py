"""The team's CATS rate budget as this companion's RateBudget sees it: a TeamBudgetView synced with the team.

Every request the budget lets through and every rate header it sees is noted here at once (in
memory); a loop on a connection of its own logs them to the team's ledger every `interval`
seconds (one transaction per batch, companion.team.rate_ledger) and reads the team's last hour
back. The budget asks `figures()` on every request and gets the freshest headers any member saw
and the other companions' requests, so background work stops before the reserve for the whole
team. While the database cannot be reached the loop retries with backoff, notes keep
accumulating (an hour's worth at most) and are logged on return; the budget goes on with the
figures it had, its own count and the headers of its own responses.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final, Literal

import asyncpg

from companion.cats.budget import DEFAULT_WINDOW, Priority, TeamFigures
from companion.team import rate_ledger
from companion.team.connection import loop_failure
from companion.team.link import LinkTuning
from companion.waiting import wait_event

log = logging.getLogger(__name__)

#: A connection for one turn (companion.team.claims_link.TeamClaimsLink.borrowed).
ConnectionSource = Callable[[], AbstractAsyncContextManager[asyncpg.Connection]]
BudgetLinkState = Literal["connecting", "connected", "offline"]
#: Longest wait for one batch and read.
QUERY_TIMEOUT: Final = 10.0
#: How long `close()` may spend logging what is still unsent.
CLOSE_TIMEOUT: Final = 5.0
#: Notes kept while the team cannot be reached; more than CATS would ever allow in an hour.
MAX_PENDING: Final = 5000


@dataclass(frozen=True)
class BudgetTuning:
    """The team budget's waits, in seconds (reconnecting follows the link's backoff)."""

    #: Log our requests and read the team's this often.
    interval: float = 2.0
    #: Another companion that sent a request this recently may have one in flight.
    active_within: float = 60.0


@dataclass(frozen=True)
class MemberSpend:
    """What one member's companions sent in the last hour."""

    name: str
    interactive: int
    background: int


class TeamBudget:
    """This companion's side of the team rate budget; `start()` it, `await close()` it."""

    def __init__(
        self,
        connection: ConnectionSource,
        *,
        tuning: BudgetTuning | None = None,
        backoff: Callable[[int], float] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.tuning = tuning or BudgetTuning()
        #: How long to wait before reconnecting after `n` failures in a row.
        self._backoff = backoff or LinkTuning().backoff
        #: This process, as the ledger knows it: its own rows are not "others".
        self.origin = uuid.uuid4()
        self.state: BudgetLinkState = "connecting"
        self.reason: str | None = None
        #: When the team's figures were last read (this process's clock).
        self.synced_at: float | None = None
        #: Each member's spend of the last hour, as last read, most first.
        self.spend: list[MemberSpend] = []
        #: Whose companion saw the freshest headers.
        self.observed_by: str | None = None
        self._connection = connection
        self._clock = clock
        self._pending: list[tuple[float, str]] = []
        self._header: tuple[int, int, float] | None = None
        self._figures: TeamFigures | None = None
        self._wake = asyncio.Event()
        self._cycles = asyncio.Condition()
        self._started_cycles = 0
        self._finished_cycles = 0
        self._task: asyncio.Task[None] | None = None
        #: The server's clock minus ours, measured on each connection.
        self._offset = 0.0
        self._measured_on: asyncpg.Connection | None = None

    # --- TeamBudgetView: called by the RateBudget on every request, answers from memory ---------------

    def figures(self) -> TeamFigures | None:
        return self._figures

    def sent(self, at: float, priority: Priority) -> None:
        self._pending.append((at, priority.value))
        if len(self._pending) > MAX_PENDING:
            del self._pending[: len(self._pending) - MAX_PENDING]

    def observed(self, limit: int, remaining: int, at: float) -> None:
        if self._header is None or at >= self._header[2]:
            self._header = (limit, remaining, at)

    # --- life cycle ------------------------------------------------------------------------------------

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="team-rate-budget")

    async def close(self) -> None:
        """Log what is still unsent (bounded), then stop the loop."""
        if self._task is None:
            return
        if self.state == "connected" and (self._pending or self._header is not None):
            with contextlib.suppress(TimeoutError):
                await self.sync_now(CLOSE_TIMEOUT)
        task, self._task = self._task, None
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        self.state, self.reason = "offline", "closed"

    async def sync_now(self, bound: float = QUERY_TIMEOUT) -> None:
        """Log every note made so far and read the team's figures, within `bound` seconds (TimeoutError)."""
        async with asyncio.timeout(bound), self._cycles:
            # A cycle that starts from now on takes every note made before this call.
            wanted = self._started_cycles + 1
            self._wake.set()
            await self._cycles.wait_for(lambda: self._finished_cycles >= wanted)

    def status(self) -> dict[str, object]:
        """The team part of the status's rate budget: the link, who saw the headers, who spent what."""
        return {
            "state": self.state,
            "reason": self.reason,
            "synced_at": _iso(self.synced_at),
            "observed_by": self.observed_by,
            "members": [
                {"name": s.name, "interactive": s.interactive, "background": s.background} for s in self.spend
            ],
        }

    # --- the loop ------------------------------------------------------------------------------------------

    async def _run(self) -> None:
        failures = 0
        while True:
            try:
                while True:
                    await self._cycle()
                    failures = 0
                    self.state, self.reason = "connected", None
                    await wait_event(self._wake, self.tuning.interval)
            except Exception as exc:
                # Even a bug must not end the loop: the team would stop seeing this companion's requests.
                failures += 1
                self._offline(loop_failure(exc, "the team rate budget"))
            await asyncio.sleep(self._backoff(failures))

    async def _measured(self, conn: asyncpg.Connection) -> float:
        """The server's clock minus ours, measured once per connection (a lost one is replaced)."""
        if conn is not self._measured_on:
            self._offset = await rate_ledger.clock_offset(conn, self._clock)
            self._measured_on = conn
        return self._offset

    async def _cycle(self) -> None:
        async with self._cycles:
            # Under the lock: a sync_now() asked for after this point wakes the next cycle.
            self._started_cycles += 1
            self._wake.clear()
        now = self._clock()
        horizon = now - DEFAULT_WINDOW
        # Older notes are past CATS's window: nobody needs them any more.
        self._pending = [note for note in self._pending if note[0] > horizon]
        batch = list(self._pending)
        header = self._header
        # Two turns on the shared connection, the write and the read, so a claim waits behind one only.
        async with self._connection() as conn, asyncio.timeout(QUERY_TIMEOUT):
            offset = await self._measured(conn)
            seen = None if header is None else rate_ledger.Header(header[0], header[1], header[2] + offset)
            await rate_ledger.record(
                conn, self.origin, [(at + offset, priority) for at, priority in batch], seen
            )
        # Logged: notes made meanwhile stay for the next batch.
        del self._pending[: len(batch)]
        if self._header == header:
            self._header = None
        async with self._connection() as conn, asyncio.timeout(QUERY_TIMEOUT):
            offset = await self._measured(conn)
            ledger = await rate_ledger.read(conn)
        self._apply(ledger, offset, self._clock())
        async with self._cycles:
            self._finished_cycles += 1
            self._cycles.notify_all()

    def _apply(self, ledger: rate_ledger.TeamLedger, offset: float, now: float) -> None:
        others = sorted(r.at - offset for r in ledger.requests if r.origin != self.origin)
        active_since = now - self.tuning.active_within
        recent = {
            r.origin for r in ledger.requests if r.origin != self.origin and r.at - offset >= active_since
        }
        freshest = ledger.freshest
        self._figures = TeamFigures(
            limit=None if freshest is None else freshest.limit,
            remaining=None if freshest is None else freshest.remaining,
            observed_at=None if freshest is None else freshest.at - offset,
            others=others,
            others_active=len(recent),
        )
        self.observed_by = ledger.observed_by
        self.spend = _spend_by_member(ledger.requests)
        self.synced_at = now

    def _offline(self, reason: str) -> None:
        if self.state != "offline" or self.reason != reason:
            log.warning("team rate budget offline (the local budget decides alone): %s", reason)
        self.state, self.reason = "offline", reason


def _spend_by_member(requests: Sequence[rate_ledger.LoggedRequest]) -> list[MemberSpend]:
    names: dict[str, str] = {}
    counts: dict[str, list[int]] = {}
    for request in requests:
        names[request.member] = request.name
        pair = counts.setdefault(request.member, [0, 0])
        pair[0 if request.priority == Priority.INTERACTIVE.value else 1] += 1
    spend = [MemberSpend(names[member], pair[0], pair[1]) for member, pair in counts.items()]
    return sorted(spend, key=lambda s: (-(s.interactive + s.background), s.name))


def _iso(epoch: float | None) -> str | None:
    return None if epoch is None else datetime.fromtimestamp(epoch, UTC).isoformat()
