"""The running daemon's link to its team database: staying connected, following changes, the syncer election.

Two connections, each in a loop of its own that reconnects with bounded exponential backoff when
the database goes away:

- the follower LISTENs on the company channel and calls `participant.follow(conn)` when connected,
  on every NOTIFY and at least every `poll_interval` seconds (NOTIFY is lost while disconnected;
  the poll is the fallback), and reads who syncs and the newest change number for the status;
- the elector tries the session-level syncer advisory lock every `lock_retry` seconds; holding it,
  it calls `participant.elected(conn)` with that connection (the syncer publishes on it: the
  database checks the lock holder's session), checks the session every `heartbeat` seconds and calls
  `participant.deposed()` when it ends. A companion that dies or goes offline loses its session, so
  PostgreSQL releases the lock and the next elector to try takes over.

Other followers (the team policy, the shared aliases) ride on the follower's connection: each
LISTENs on a channel of its own, is called after the participant whenever it is, and is told when
the connection is lost. One session serves them all: a small managed PostgreSQL allows only a few
dozen, shared by the whole team.

What to do with a connection is the participant's business (companion.services.team_companies);
this module only keeps the connections and the state: not_joined, connecting, connected, offline,
and removed: the team's admin removed this member (companion.team.removal), which the database says
at the next login; then both loops end for good instead of reconnecting, and `on_removed` lets the
companion go on alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Final, Literal, Protocol

import asyncpg

from companion.errors import TeamError, TeamRemovedError
from companion.secret import DatabasePassword
from companion.team import company_log, membership
from companion.team.connection import DRIVER_ERRORS, connect, loop_failure, postgres_errors
from companion.team.local import TeamRecord
from companion.waiting import wait_event

log = logging.getLogger(__name__)

LinkState = Literal["not_joined", "connecting", "connected", "offline", "removed"]
PasswordSource = Callable[[], Awaitable[DatabasePassword | None]]
#: Longest wait for one heartbeat or status query before the connection counts as gone.
QUERY_TIMEOUT: Final = 10.0


@dataclass(frozen=True)
class LinkTuning:
    """The link's waits, in seconds; every one bounded."""

    #: Follow the change log at least this often even when no NOTIFY came.
    poll_interval: float = 30.0
    #: How often a companion that is not the syncer tries the syncer lock again.
    lock_retry: float = 10.0
    #: How often an open connection is checked (a dead one is noticed within this plus QUERY_TIMEOUT).
    heartbeat: float = 5.0
    #: The server ends the elector's session after this long without a query from it (whole seconds,
    #: at least 1; keep it several heartbeats long). See TeamLink._bound_silence.
    silent_session: int = 30
    backoff_first: float = 0.5
    backoff_max: float = 30.0
    connect_timeout: float = 5.0

    def backoff(self, failures: int) -> float:
        return float(min(self.backoff_max, self.backoff_first * 2 ** max(0, failures - 1)))


class Participant(Protocol):
    """What the link drives (the shared company cache)."""

    async def follow(self, conn: asyncpg.Connection) -> None: ...

    async def elected(self, conn: asyncpg.Connection, guard: asyncio.Lock) -> None:
        """`conn` holds the syncer lock; hold `guard` while using it (the link's heartbeat shares it)."""

    async def deposed(self) -> None: ...


class Follower(Protocol):
    """Something else replicated on the follower's connection, woken by NOTIFY on `channel`."""

    @property
    def channel(self) -> str: ...

    async def follow(self, conn: asyncpg.Connection) -> None: ...

    def lost(self, reason: str) -> None:
        """The follower's connection ended (`reason`, for the follower's status); it comes back later."""


class TeamLink:
    """This companion's connections to its team; `start()` it, `await close()` it."""

    def __init__(
        self,
        record: TeamRecord,
        password: PasswordSource,
        participant: Participant,
        *,
        tuning: LinkTuning | None = None,
        may_sync: Callable[[], bool] = lambda: True,
        version: str = "",
        followers: Sequence[Follower] = (),
    ) -> None:
        self.record = record
        self.tuning = tuning or LinkTuning()
        self._password = password
        self._participant = participant
        self._followers = tuple(followers)
        #: Asked before each try for the lock: without a CATS key a companion cannot sync, must not hold it.
        self._may_sync = may_sync
        #: This companion's version, written to its member row whenever it connects.
        self.version = version
        self.state: LinkState = "connecting"
        self.reason: str | None = None
        self.is_syncer = False
        #: Who holds the syncer lock, as last read (the login role), and the newest change number.
        self.syncer: str | None = None
        self.head: int | None = None
        self.connected_at: float | None = None
        #: Called once when the database says this member was removed, after both loops stopped.
        self.on_removed: Callable[[], Awaitable[None]] | None = None
        #: How many times the follower's connection was lost (status, tests).
        self.disconnects = 0
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        if not self._tasks:
            self._tasks = [
                asyncio.create_task(self._follower(), name="team-follower"),
                asyncio.create_task(self._elector(), name="team-elector"),
            ]

    async def close(self) -> None:
        """Stop both loops; their connections close, so the syncer lock (if held) is released."""
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self.state != "removed":
            self.state = "offline"
            self.reason = "closed"
            for follower in self._followers:
                follower.lost("closed")

    async def resign(self) -> None:
        """Give up the syncer lock if held (this companion can no longer sync: its CATS key is gone).

        The elector's session ends, which releases the lock; a new elector starts and tries again
        only once `may_sync` allows it.
        """
        if len(self._tasks) < 2 or not self.is_syncer:
            return
        elector = self._tasks[1]
        elector.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await elector
        self._tasks[1] = asyncio.create_task(self._elector(), name="team-elector")

    @property
    def running(self) -> bool:
        """Whether a loop still runs (False before start, after close, and once removed)."""
        return any(not task.done() for task in self._tasks)

    def wake(self) -> None:
        """Follow the change log now (a NOTIFY arrived, or a test asks)."""
        self._wake.set()

    # --- the follower ------------------------------------------------------------------------------

    async def _follower(self) -> None:
        failures = 0
        while True:
            self.state = "connecting"
            try:
                async with self._connection() as conn:
                    await conn.add_listener(company_log.CHANNEL, self._notified)
                    for follower in self._followers:
                        await conn.add_listener(follower.channel, self._notified)
                    async with asyncio.timeout(QUERY_TIMEOUT):
                        await membership.touch_member(conn, self.version)
                    self.state, self.reason = "connected", None
                    self.connected_at = time.monotonic()
                    failures = 0
                    log.info("connected to the team database %s", self.record.team_id)
                    await self._follow(conn)
            except TeamRemovedError as exc:
                await self._removed(exc.message)
                return
            except Exception as exc:
                # Even a bug must not end the loop: the cache would silently stop following the team.
                failures += 1
                self._offline(loop_failure(exc, "following the team"))
            await asyncio.sleep(self.tuning.backoff(failures))

    async def _follow(self, conn: asyncpg.Connection) -> None:
        while True:
            self._wake.clear()
            await self._participant.follow(conn)
            for follower in self._followers:
                await follower.follow(conn)
            async with asyncio.timeout(QUERY_TIMEOUT):
                self.syncer = await company_log.syncer(conn)
                self.head = await company_log.head(conn)
            # Wake on NOTIFY, else poll; check the connection at the heartbeat meanwhile.
            deadline = time.monotonic() + self.tuning.poll_interval
            while not self._wake.is_set():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                await wait_event(self._wake, min(remaining, self.tuning.heartbeat))
                if not self._wake.is_set():
                    async with asyncio.timeout(QUERY_TIMEOUT):
                        await conn.fetchval("SELECT 1")

    def _notified(self, _conn: object, _pid: int, _channel: str, _payload: object) -> None:
        self._wake.set()

    # --- the elector -------------------------------------------------------------------------------

    async def _elector(self) -> None:
        failures = 0
        while True:
            try:
                async with self._connection() as conn:
                    failures = 0
                    await self._bound_silence(conn)
                    await self._campaign(conn)
            except TeamRemovedError as exc:
                await self._removed(exc.message)
                return
            except TeamError as exc:
                failures += 1
                log.info("syncer election: %s", exc.message)
            except DRIVER_ERRORS as exc:
                failures += 1
                log.info("syncer election: the connection failed (%s)", type(exc).__name__)
            except Exception:
                failures += 1
                log.exception("the syncer election failed unexpectedly")
            await asyncio.sleep(self.tuning.backoff(failures))

    async def _bound_silence(self, conn: asyncpg.Connection) -> None:
        """Make the server end this session soon after this companion falls silent.

        A companion that vanishes without closing (laptop asleep, network gone) leaves a session
        the server would keep until TCP keepalive gives up, hours by default, holding the syncer
        lock all along. The heartbeat queries every few seconds, so a session idle for
        `tuning.silent_session` seconds has lost its companion: PostgreSQL 14+ ends it (idle_session_timeout)
        and the lock goes to the next member. Both settings are per session and need no privilege.
        """
        idle = max(1, int(self.tuning.silent_session))
        for statement in (
            f"SET idle_session_timeout = '{idle}s'",
            f"SET tcp_keepalives_idle = {idle}",
            "SET tcp_keepalives_interval = 5",
            "SET tcp_keepalives_count = 3",
        ):
            try:
                async with asyncio.timeout(QUERY_TIMEOUT):
                    await conn.execute(statement)
            except asyncpg.UndefinedObjectError:
                # An older PostgreSQL without the setting: the lock then waits for TCP keepalive.
                log.info("the team database does not support %r", statement)

    async def _campaign(self, conn: asyncpg.Connection) -> None:
        while True:
            async with asyncio.timeout(QUERY_TIMEOUT):
                won = self._may_sync() and await company_log.try_lock(conn)
            if won:
                break
            # Waiting for the next try, the session still checks in at the heartbeat: an idle one
            # would be ended by the server (idle_session_timeout, set above).
            deadline = time.monotonic() + self.tuning.lock_retry
            while (remaining := deadline - time.monotonic()) > 0:
                await asyncio.sleep(min(remaining, self.tuning.heartbeat))
                async with asyncio.timeout(QUERY_TIMEOUT):
                    await conn.fetchval("SELECT 1")
        log.info("this companion is now the team's company syncer")
        self.is_syncer = True
        try:
            # One operation at a time on a connection: the publishes and the heartbeat take turns.
            guard = asyncio.Lock()
            await self._participant.elected(conn, guard)
            while True:
                await asyncio.sleep(self.tuning.heartbeat)
                async with guard, asyncio.timeout(QUERY_TIMEOUT):
                    await conn.fetchval("SELECT 1")
        finally:
            self.is_syncer = False
            # Awaited even when cancelled (close): the sync publishing on `conn` stops before it closes.
            await self._participant.deposed()
            log.info("this companion no longer syncs the team's companies")

    # --- shared --------------------------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def connection(self) -> AsyncIterator[asyncpg.Connection]:
        """A connection of its own to the team's database, as this member, for one bounded operation.

        What the driver and the network raise inside comes out as TeamError subclasses (a refused
        privilege as team.privileges, a lost connection as team.unavailable).
        """
        async with self._connection() as conn:
            with postgres_errors(self.record.team_dsn(), None, "use"):
                async with asyncio.timeout(QUERY_TIMEOUT):
                    yield conn

    @contextlib.asynccontextmanager
    async def _connection(self) -> AsyncIterator[asyncpg.Connection]:
        password = await self._password()
        if password is None:
            raise TeamError(
                "the team database's password is not in the keyring; run `cats-companion team join` again"
            )
        async with connect(
            self.record.team_dsn(), password, connect_timeout=self.tuning.connect_timeout
        ) as conn:
            yield conn

    async def _removed(self, reason: str) -> None:
        """The admin removed this member: stop the other loop (a syncer is deposed first), say so, once."""
        if self.state == "removed":
            return
        log.warning("removed from the team: %s", reason)
        self.state, self.reason = "removed", reason
        self.connected_at = None
        current = asyncio.current_task()
        for task in self._tasks:
            if task is not current:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        for follower in self._followers:
            follower.lost(reason)
        if self.on_removed is not None:
            await self.on_removed()

    def _offline(self, reason: str) -> None:
        if self.state == "connected":
            self.disconnects += 1
        if self.state != "offline" or self.reason != reason:
            log.warning("team database offline: %s", reason)
        self.state, self.reason = "offline", reason
        self.connected_at = None
        for follower in self._followers:
            follower.lost(reason)
