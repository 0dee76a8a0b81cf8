"""One connection to the team database, and every driver failure turned into a TeamError that says why.

The password goes to asyncpg as its own argument, never inside the DSN string, and every message
built here has it cut out, in case a server or driver quoted it. The waits are bounded: connecting
and each statement time out.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Iterator
from typing import Final

import asyncpg

from companion.errors import (
    TeamAuthError,
    TeamError,
    TeamPrivilegeError,
    TeamRemovedError,
    TeamSchemaError,
    TeamUnavailableError,
)
from companion.secret import DatabasePassword
from companion.team.dsn import TeamDsn

log = logging.getLogger(__name__)

CONNECT_TIMEOUT: Final = 10.0
#: Any one statement; migrations are small, the later phases' bulk copies page their work.
COMMAND_TIMEOUT: Final = 60.0
CLOSE_TIMEOUT: Final = 5.0
#: What PostgreSQL answers (SQLSTATE 28000) the right password of a NOLOGIN role. Matched on the
#: server's English text: a server set to another lc_messages makes it a plain team.auth_failed.
_NOT_PERMITTED: Final = "is not permitted to log in"
#: What the driver and the network raise when a statement or a connection fails. InternalClientError
#: is what asyncpg raises on the next statement of a session the server ended (pg_terminate_backend,
#: idle_session_timeout) before the client read the news: a lost connection like any other.
DRIVER_ERRORS: Final = (
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,
    OSError,
    TimeoutError,
)


@contextlib.asynccontextmanager
async def connect(
    dsn: TeamDsn, password: DatabasePassword, *, connect_timeout: float = CONNECT_TIMEOUT
) -> AsyncIterator[asyncpg.Connection]:
    """An open connection as `dsn`'s user; closed on the way out. Raises TeamError subclasses only."""
    with postgres_errors(dsn, password, "connect to"):
        conn = await asyncpg.connect(
            dsn.url,
            password=password.reveal(),
            timeout=connect_timeout,
            command_timeout=COMMAND_TIMEOUT,
            server_settings={"application_name": "cats-companion"},
        )
    try:
        with postgres_errors(dsn, password, "use"):
            yield conn
    finally:
        try:
            await conn.close(timeout=CLOSE_TIMEOUT)
        except DRIVER_ERRORS as exc:
            # The work is done or has already failed; a connection that will not close cleanly is
            # dropped by the server when its socket goes.
            log.debug("closing the team database connection failed: %s", type(exc).__name__)
            conn.terminate()


@contextlib.contextmanager
def postgres_errors(dsn: TeamDsn, password: DatabasePassword | None, action: str) -> Iterator[None]:
    """Translate what asyncpg and the network raise into TeamError subclasses naming `dsn` (no password)."""
    try:
        yield
    except TeamError:
        raise
    except DRIVER_ERRORS as exc:
        # Not chained: the driver's exception could carry the password (a server echoing it).
        raise translate(exc, dsn, password, action) from None


def translate(exc: BaseException, dsn: TeamDsn, password: DatabasePassword | None, action: str) -> TeamError:
    where = f"{dsn.user}@{dsn.host}:{dsn.port}/{dsn.database}"
    detail = _redacted(str(exc) or type(exc).__name__, password)
    if isinstance(exc, asyncpg.InvalidPasswordError):
        return TeamAuthError(
            f"PostgreSQL at {dsn.host}:{dsn.port} refused the password for {dsn.user!r} ({detail}). "
            "Check the password the team's admin gave you."
        )
    if isinstance(exc, asyncpg.InvalidAuthorizationSpecificationError) and _NOT_PERMITTED in detail:
        # PostgreSQL says this only after the password was right, so it is the member themselves:
        # `team remove-member` keeps the role, NOLOGIN, so that its companion can tell (docs/teams.md).
        return TeamRemovedError(
            f"{dsn.user!r} was removed from the team in {dsn.database!r} at {dsn.host}:{dsn.port}: the "
            "database no longer lets that role log in (the team's admin ran `team remove-member`). "
            "This companion works alone now; `cats-companion team leave` forgets the team."
        )
    if isinstance(exc, asyncpg.InvalidAuthorizationSpecificationError):
        return TeamAuthError(
            f"PostgreSQL at {dsn.host}:{dsn.port} does not let {dsn.user!r} into {dsn.database!r} "
            f"({detail}). "
            "Check the user name, and ask the team's admin whether the role exists and may connect."
        )
    if isinstance(exc, asyncpg.InvalidCatalogNameError):
        return TeamSchemaError(f"there is no database {dsn.database!r} at {dsn.host}:{dsn.port} ({detail})")
    if isinstance(exc, asyncpg.InsufficientPrivilegeError):
        return TeamPrivilegeError(f"{dsn.user!r} may not do this in {where}: {detail}")
    if isinstance(exc, asyncpg.TooManyConnectionsError | asyncpg.CannotConnectNowError):
        return TeamUnavailableError(
            f"PostgreSQL at {dsn.host}:{dsn.port} cannot take the connection now ({detail})"
        )
    if isinstance(exc, OSError | TimeoutError | asyncio.TimeoutError | asyncpg.PostgresConnectionError):
        return TeamUnavailableError(
            f"could not {action} the team database at {dsn.host}:{dsn.port} ({detail}). "
            "Check the host, the port and your network."
        )
    if isinstance(exc, asyncpg.InterfaceError | asyncpg.InternalClientError):
        return TeamUnavailableError(f"the connection to the team database {where} failed ({detail})")
    sqlstate = getattr(exc, "sqlstate", None)
    return TeamError(f"the team database {where} answered with an error ({sqlstate}: {detail})")


def loop_failure(exc: Exception, what: str) -> str:
    """Why a daemon loop on a team connection went offline (`what` names the loop), for its status.

    TeamErrors say why themselves; driver errors raised where no translation wraps them (a call
    on a dead connection) name their type only; anything else is a bug, logged with its traceback,
    which must not end the loop.
    """
    if isinstance(exc, TeamError):
        return exc.message
    if isinstance(exc, DRIVER_ERRORS):
        return f"the team database connection failed ({type(exc).__name__})"
    log.exception("%s failed unexpectedly", what)
    return f"{what} failed unexpectedly; see the daemon's log"


def _redacted(text: str, password: DatabasePassword | None) -> str:
    if password is not None:
        text = text.replace(password.reveal(), repr(password))
    return text
