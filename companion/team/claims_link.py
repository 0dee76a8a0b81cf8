"""The connection to the team's person claims (the outbox worker's), shared with the team rate budget.

One connection, opened at the first use and kept, LISTENing on the claims channel so the worker's
items waiting for a teammate wake as soon as that teammate records its CATS id or gives up. Every
operation is bounded (`ClaimsTuning`): connecting and each operation take a few seconds at most, so
a database that went away stalls a push by that much once, not for minutes. After a failure the
connection is dropped and, for `retry_after` seconds, every operation fails at once with
TeamUnavailableError: the worker falls back to CATS's duplicate check without waiting again for each
item. One operation runs at a time (asyncpg runs one statement at a time on a connection anyway).

The team rate budget (companion.team.rate_budget) takes its turns on the same connection
(`borrowed()`), so a member's companion holds one session for both rather than two. A claim then
may wait behind one budget turn, never more: turns are taken one at a time under the same guard,
and each budget turn is one short transaction (its batch of request rows) or one read of the team's
last hour, bounded like a claim operation (`operation_timeout`). Measured on a loopback PostgreSQL
(tests/team/test_claims_budget_share.py, the budget turning every 10 ms rather than 2 s) a budget
turn takes 0.7 ms (p50; 12 ms at most) and a claim 1.3 ms beside it against 1.0 ms alone; on a
distant database both grow with the round trip alike, so a claim waits at most about its own
duration again, far under the seconds the worker allows it. Two sessions would spare that wait
and cost one of the few dozen a small managed PostgreSQL allows the whole team.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Final, TypeVar

import asyncpg

from companion.errors import TeamError, TeamUnavailableError
from companion.secret import DatabasePassword
from companion.settings.fields import RecordType
from companion.team.claims import CHANNEL, Claim, ClaimResult, PersonClaims
from companion.team.connection import CLOSE_TIMEOUT, postgres_errors
from companion.team.dsn import TeamDsn

log = logging.getLogger(__name__)

T = TypeVar("T")
PasswordSource = Callable[[], Awaitable[DatabasePassword | None]]
#: Called with a claim's id when the database announces a change of it.
ClaimChanged = Callable[[int], None]


@dataclass(frozen=True)
class ClaimsTuning:
    """The claims' bounds, in seconds."""

    #: Connecting to the team database for claims; past it the push goes ahead without a claim.
    connect_timeout: float = 3.0
    #: One claim operation (a claim is one short transaction; renew and record likewise).
    operation_timeout: float = 5.0
    #: After a failure, operations fail at once for this long before connecting is tried again.
    retry_after: float = 15.0


#: What a lost connection raises (a refused statement is the caller's answer, not the connection's).
_CONNECTION_LOST: Final = (OSError, asyncpg.InterfaceError, asyncpg.PostgresConnectionError)

#: The defaults, as the daemon uses them.
DEFAULT_TUNING: Final = ClaimsTuning()


class TeamClaimsLink:
    """companion.services.team_claims.TeamClaims on this member's own connection to its team database."""

    def __init__(
        self, dsn: TeamDsn, password: PasswordSource, *, tuning: ClaimsTuning = DEFAULT_TUNING
    ) -> None:
        self._dsn = dsn
        self._password = password
        self.tuning = tuning
        self._conn: asyncpg.Connection | None = None
        self._claims: PersonClaims | None = None
        self._callback: ClaimChanged | None = None
        self._guard = asyncio.Lock()
        self._down_until = 0.0
        #: Why the last operation could not reach the database (status, logs); None once it answers.
        self.reason: str | None = None

    @property
    def member(self) -> str:
        return self._dsn.user

    @property
    def state(self) -> str:
        """`offline` since an operation could not reach the database (`reason` says why) until one
        does, `connected` while the connection is open, else `idle` (not opened yet, or closed)."""
        if self.reason is not None:
            return "offline"
        return "connected" if self._conn is not None and not self._conn.is_closed() else "idle"

    def on_change(self, callback: ClaimChanged | None) -> None:
        self._callback = callback

    async def claim(self, keys: Iterable[str], record_type: RecordType) -> ClaimResult:
        wanted = tuple(keys)
        return await self._run(lambda claims: claims.claim(wanted, record_type))

    async def get(self, claim_id: int) -> Claim | None:
        return await self._run(lambda claims: claims.get(claim_id))

    async def renew(self, claim: Claim) -> Claim:
        return await self._run(lambda claims: claims.renew(claim))

    async def record_created(
        self, claim: Claim, cats_id: int, written: Mapping[str, str] | None = None
    ) -> bool:
        return await self._run(lambda claims: claims.record_created(claim, cats_id, written))

    async def abandon(self, claim: Claim) -> None:
        await self._run(lambda claims: claims.abandon(claim))

    async def close(self) -> None:
        async with self._guard:
            await self._drop()

    @contextlib.asynccontextmanager
    async def borrowed(self) -> AsyncIterator[asyncpg.Connection]:
        """The connection for one turn of another user of it (the team rate budget), bounded by
        `operation_timeout`; claims wait meanwhile, and the turn waits for a claim operation.

        TeamUnavailableError at once while the connection is set aside; a turn that loses the
        connection or overruns its bound sets it aside for the claims too (the database is the same).
        """
        async with self._guard:
            if time.monotonic() < self._down_until:
                raise TeamUnavailableError(
                    f"the team database did not answer a moment ago ({self.reason}); trying again shortly"
                )
            try:
                await self._connected()
            except TeamError as exc:
                raise await self._failed(exc.message) from None
            assert self._conn is not None
            try:
                async with asyncio.timeout(self.tuning.operation_timeout):
                    yield self._conn
            except TimeoutError:
                raise await self._failed(f"no answer within {self.tuning.operation_timeout:g} s") from None
            except _CONNECTION_LOST as exc:
                raise await self._failed(f"the connection failed ({type(exc).__name__})") from None
            # The database answered: the claims may use it again too (the status says so at once).
            self.reason = None

    # --- the connection -----------------------------------------------------------------------------

    async def _run(self, operation: Callable[[PersonClaims], Awaitable[T]]) -> T:
        async with self._guard:
            if time.monotonic() < self._down_until:
                raise TeamUnavailableError(
                    f"the team database did not answer a moment ago ({self.reason}); trying again shortly"
                )
            # A kept connection may have died unnoticed (a restarted server): one more try on a new one.
            for fresh in (self._claims is None, True):
                try:
                    claims = await self._connected()
                except TeamError as exc:
                    # Whatever kept us out (network, credentials, the database's state): not usable now.
                    raise await self._failed(exc.message) from None
                try:
                    async with asyncio.timeout(self.tuning.operation_timeout):
                        result = await operation(claims)
                except TeamUnavailableError as exc:
                    if fresh:
                        raise await self._failed(exc.message) from None
                    await self._drop(politely=False)
                    continue
                except TimeoutError:
                    silent = f"no answer within {self.tuning.operation_timeout:g} s"
                    raise await self._failed(silent) from None
                # Any other TeamError is the database's answer (a claim taken over, refused): as it is.
                self.reason = None
                return result
            raise AssertionError("unreachable: the fresh connection's try returns or raises")

    async def _connected(self) -> PersonClaims:
        if self._claims is not None and self._conn is not None and not self._conn.is_closed():
            return self._claims
        await self._drop()
        password = await self._password()
        if password is None:
            raise TeamError(
                "the team database's password is not in the keyring; run `cats-companion team join` again"
            )
        with postgres_errors(self._dsn, password, "connect to"):
            conn = await asyncpg.connect(
                self._dsn.url,
                password=password.reveal(),
                timeout=self.tuning.connect_timeout,
                command_timeout=self.tuning.operation_timeout,
                server_settings={"application_name": "cats-companion claims and budget"},
            )
        try:
            with postgres_errors(self._dsn, password, "use"):
                await conn.add_listener(CHANNEL, self._notified)
        except BaseException:
            conn.terminate()
            raise
        self._conn = conn
        self._claims = PersonClaims(conn, self._dsn, password)
        return self._claims

    def _notified(self, _conn: object, _pid: int, _channel: str, payload: object) -> None:
        callback = self._callback
        if callback is None or not isinstance(payload, str) or not payload.isdigit():
            return
        try:
            callback(int(payload))
        except Exception:
            log.exception("a person claim's change could not be handed on")

    async def _failed(self, reason: str) -> TeamUnavailableError:
        """Set the connection aside for `retry_after`; the error to raise."""
        if self.reason != reason:
            log.warning("team person claims unavailable: %s", reason)
        self.reason = reason
        self._down_until = time.monotonic() + self.tuning.retry_after
        # A connection that failed mid-transaction is not worth a polite close: it may never answer.
        await self._drop(politely=False)
        return TeamUnavailableError(f"the team's person claims are unavailable: {reason}")

    async def _drop(self, *, politely: bool = True) -> None:
        conn, self._conn, self._claims = self._conn, None, None
        if conn is None or conn.is_closed():
            return
        if politely:
            with contextlib.suppress(OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError):
                await conn.close(timeout=CLOSE_TIMEOUT)
                return
        conn.terminate()
