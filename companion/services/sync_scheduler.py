"""When the daemon syncs the company cache: every few minutes, fully once a day, on request, backing off.

One loop task per daemon. A cache that was never synced is synced at once (there is nothing to look
up until it is); otherwise the first run waits `SyncPolicy.start_delay`. The loop sleeps until the
next run is due or someone asks for a sync now,
runs one sync (full or incremental, see `CompanySync.run`) and schedules the next: after a
success one interval later; after a failure later and later (doubling, up to `max_backoff`), or
when the budget frees up if the failure was the rate budget. The cache stays readable throughout.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from companion.errors import CatsRateLimitedError, CompanionError
from companion.services.company_sync import CompanySync, SyncOutcome
from companion.services.sync_state import SyncState, build_state
from companion.waiting import wait_event

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SyncPolicy:
    """How often the daemon syncs, in seconds."""

    #: Between incremental syncs.
    interval: float = 600.0
    #: Between full scans (the only way deletions are seen when CATS's date search is used).
    full_interval: float = 86_400.0
    #: After the daemon starts, before its first sync: start-up and the first lookups go first. Not
    #: when the cache was never synced: then the first sync starts at once.
    start_delay: float = 30.0
    #: The longest wait after repeated failures.
    max_backoff: float = 3600.0
    #: False: no automatic runs, only "sync now".
    automatic: bool = True

    def __post_init__(self) -> None:
        if min(self.interval, self.full_interval, self.max_backoff) <= 0 or self.start_delay < 0:
            raise ValueError("sync intervals must be positive and the start delay not negative")


def retry_delay(policy: SyncPolicy, failures: int, error: BaseException) -> float:
    """Seconds to wait after `failures` failures in a row, the last being `error`."""
    if isinstance(error, CatsRateLimitedError):
        # The budget (or CATS's Retry-After) says exactly when a request is possible again.
        return max(1.0, error.retry_after)
    return float(min(policy.max_backoff, policy.interval * 2 ** max(0, failures - 1)))


ErrorListener = Callable[[CompanionError], None]
SuccessListener = Callable[[SyncOutcome], None]


class SyncScheduler:
    """Runs `engine` on `policy`'s schedule and on request; `start()` it, `await close()` it."""

    def __init__(
        self,
        engine: CompanySync,
        policy: SyncPolicy | Callable[[], SyncPolicy] | None = None,
        *,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        on_error: ErrorListener | None = None,
        on_success: SuccessListener | None = None,
    ) -> None:
        self.engine = engine
        # A callable is asked again before every wait, so a changed setting applies from the next one.
        if callable(policy):
            self._policy = policy
        else:
            fixed = policy or SyncPolicy()
            self._policy = lambda: fixed
        self._now = now
        self._on_error = on_error
        self._on_success = on_success
        self._wake = asyncio.Event()
        self._requested_full: bool | None = None
        self._task: asyncio.Task[None] | None = None
        self._failures = 0
        #: Set from a request until its run ends, so a second request is refused meanwhile.
        self._busy = False
        self.next_run_at: datetime | None = None
        #: What the last successful run did (its CATS requests for `cats-companion sync`'s summary).
        self.last_outcome: SyncOutcome | None = None
        #: How many runs have ended (either way): lets a caller wait for the run it asked for.
        self.runs_ended = 0
        self._ended = asyncio.Condition()

    @property
    def policy(self) -> SyncPolicy:
        return self._policy()

    @property
    def running(self) -> bool:
        return self._busy or self.engine.running

    def start(self) -> None:
        if self._task is None:
            delay = self.policy.start_delay if self.policy.automatic else None
            self.next_run_at = self._now() + timedelta(seconds=delay) if delay is not None else None
            self._task = asyncio.create_task(self._loop(), name="company-sync")

    async def close(self) -> None:
        """Stop the loop, cancelling a run in progress (its finished pages stay stored)."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def request(self, *, full: bool = False) -> bool:
        """Ask for a sync now; False (nothing changes) when one is already running or asked for."""
        if self.running:
            return False
        self._busy = True
        self._requested_full = full
        self._wake.set()
        return True

    async def wait_for_run(self, after: int) -> None:
        """Return once more than `after` runs have ended (bound the wait with asyncio.timeout)."""
        async with self._ended:
            await self._ended.wait_for(lambda: self.runs_ended > after)

    async def state(self) -> SyncState:
        return await build_state(
            self.engine.cache,
            now=self._now(),
            configured=True,
            progress=self.engine.progress,
            running=self.running,
            next_run_at=None if self.running else self.next_run_at,
            last_run_requests=self.last_outcome.requests if self.last_outcome is not None else None,
        )

    async def _loop(self) -> None:
        if self.policy.automatic and (await self.engine.cache.sync_record()).last_success_at is None:
            # An empty cache answers no lookup: waiting would only delay the first useful answer.
            self.next_run_at = self._now()
        while True:
            await self._sleep_until_due()
            self._wake.clear()
            full = bool(self._requested_full)
            self._requested_full = None
            self._busy = True
            try:
                delay = await self._run_once(full)
            finally:
                self._busy = False
            self.next_run_at = self._now() + timedelta(seconds=delay) if self.policy.automatic else None
            async with self._ended:
                self.runs_ended += 1
                self._ended.notify_all()

    async def _sleep_until_due(self) -> None:
        if self._requested_full is not None:
            return
        timeout = None
        if self.next_run_at is not None:
            timeout = max(0.0, (self.next_run_at - self._now()).total_seconds())
        await wait_event(self._wake, timeout)

    async def _run_once(self, full: bool) -> float:
        """One sync; returns the seconds until the next one."""
        try:
            outcome = await self.engine.run(full=full, full_interval=self.policy.full_interval)
        except CompanionError as exc:
            self._failures += 1
            delay = retry_delay(self.policy, self._failures, exc)
            log.warning("company sync failed (%s); next try in %.0f s", exc.code, delay)
            if self._on_error is not None:
                self._on_error(exc)
            return delay
        except Exception as exc:
            # A bug must not end the loop: the cache would silently stop being synced.
            self._failures += 1
            log.exception("company sync failed unexpectedly")
            return retry_delay(self.policy, self._failures, exc)
        self._failures = 0
        self.last_outcome = outcome
        if self._on_success is not None:
            self._on_success(outcome)
        return self.policy.interval
