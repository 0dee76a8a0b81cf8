"""Opening the companion's SQLite database: file location, connection pragmas, migrations, transactions.

One `Database` per process holds one aiosqlite connection in autocommit mode
(`isolation_level=None`): a statement outside `transaction()` commits on its own, and
`transaction()` is the only way to group writes. WAL lets other processes (the CLI, a second
connection) read while the daemon writes.

Reads: `fetchall`/`fetchone` use `execute_fetchall`, one thread hop per query (~60 µs here;
`async with conn.execute()` + fetch costs three, see /work/shared/field-notes.md).

Writes: `async with db.transaction() as conn:` runs `BEGIN IMMEDIATE` ... `COMMIT` (or
`ROLLBACK` on any exception), one transaction at a time per process. Inside a `read_only()`
scope -- the server opens one around every GET/HEAD request -- `transaction()` refuses, so a
state-changing GET fails loudly instead of quietly writing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sqlite3
from collections.abc import AsyncIterator, Iterable, Iterator, Sequence
from contextvars import ContextVar
from pathlib import Path
from typing import Any, Final

import aiosqlite

from companion import paths
from companion.errors import ReadOnlyViolationError, StoreError
from companion.store.migrations import Migration, applied_versions, migrate

log = logging.getLogger(__name__)

DB_FILE_NAME: Final = "companion.db"
#: How long a writer waits for another process's write lock before SQLite gives up.
BUSY_TIMEOUT_MS: Final = 5000

_read_only_reason: ContextVar[str | None] = ContextVar("companion_store_read_only", default=None)


def default_path() -> Path:
    return paths.data_dir() / DB_FILE_NAME


@contextlib.contextmanager
def read_only(reason: str) -> Iterator[None]:
    """Within this scope (this task and the tasks it starts), `Database.transaction()` refuses."""
    token = _read_only_reason.set(reason)
    try:
        yield
    finally:
        _read_only_reason.reset(token)


class Database:
    """The open database. Build it with `open_database()`."""

    def __init__(self, conn: aiosqlite.Connection, path: Path) -> None:
        self.conn = conn
        self.path = path
        self._write_lock = asyncio.Lock()

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        rows: Iterable[sqlite3.Row] = await self.conn.execute_fetchall(sql, params)
        return list(rows)

    async def fetchone(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Row | None:
        rows = await self.fetchall(sql, params)
        return rows[0] if rows else None

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """`BEGIN IMMEDIATE` ... `COMMIT`; `ROLLBACK` and re-raise on any exception."""
        reason = _read_only_reason.get()
        if reason is not None:
            raise ReadOnlyViolationError(f"no writes allowed here: {reason}")
        async with self._write_lock:
            try:
                await self.conn.execute("BEGIN IMMEDIATE")
                yield self.conn
                await self.conn.execute("COMMIT")
            except BaseException:
                # A task cancelled inside BEGIN or COMMIT still has them run on aiosqlite's thread, in
                # order: a ROLLBACK queued behind them (shielded, so a second cancellation cannot drop
                # it) leaves no transaction open for the next writer, and finds none after a COMMIT
                # that went through or a statement SQLite already rolled back.
                with contextlib.suppress(sqlite3.OperationalError):
                    await asyncio.shield(self.conn.execute("ROLLBACK"))
                raise

    async def schema_version(self) -> int:
        versions = await applied_versions(self.conn)
        return versions[-1] if versions else 0

    async def close(self) -> None:
        await self.conn.close()


#: Bytes per page of a new database file.
PAGE_SIZE: Final = 16384
#: WAL bytes written between automatic checkpoints (SQLite counts them in pages).
WAL_CHECKPOINT_BYTES: Final = 40 * 2**20


async def open_database(
    path: Path | None = None,
    *,
    migrations: Sequence[Migration] | None = None,
    busy_timeout_ms: int = BUSY_TIMEOUT_MS,
) -> Database:
    """Open (creating if needed) the database at `path` (default: data_dir()/companion.db) and migrate it.

    `migrations` replaces the bundled list (tests). Raises SchemaTooNewError when the file was
    migrated by a newer companion, StoreError when it cannot be opened or migrated; the file is
    left as it was in both cases.
    """
    path = path if path is not None else default_path()
    paths.private_dir(path.parent)
    try:
        conn = await aiosqlite.connect(path, isolation_level=None)
    except sqlite3.Error as exc:
        raise StoreError(f"cannot open the database {path}: {exc}") from exc
    try:
        conn.row_factory = sqlite3.Row
        await _configure(conn, busy_timeout_ms)
        if os.name == "posix":
            # Recruiting data: readable by this user only (-wal/-shm copy these permissions).
            path.chmod(0o600)
        applied = await migrate(conn, migrations)
    except BaseException as exc:
        await conn.close()
        if isinstance(exc, sqlite3.Error):
            raise StoreError(f"cannot open the database {path}: {exc}") from exc
        raise
    if applied:
        log.info("database %s migrated to version %d", path, applied[-1])
    return Database(conn, path)


async def _configure(conn: aiosqlite.Connection, busy_timeout_ms: int) -> None:
    # busy_timeout first, so the journal-mode switch itself waits for other processes' locks.
    await conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
    # 16 KiB pages for a new file (an existing one keeps its size): the company cache's indexes are
    # written at random places, and bigger pages split and spill far less often (at a million
    # companies, 45k -> 52k rows/s for SQLite alone); a point read copies 16 KiB instead of 4 from the OS
    # page cache, a microsecond or two. Only takes effect before the first table exists.
    await conn.execute(f"PRAGMA page_size = {PAGE_SIZE}")
    rows = list(await conn.execute_fetchall("PRAGMA journal_mode = WAL"))
    mode = str(rows[0][0]).lower() if rows else ""
    if mode != "wal":
        raise StoreError(f"the database could not switch to WAL journaling (journal_mode is {mode!r})")
    await conn.execute("PRAGMA synchronous = NORMAL")
    await conn.execute("PRAGMA foreign_keys = ON")
    # Checkpoint every ~40 MB of WAL instead of ~4 MB: a full sync's page batches then write their
    # index pages far less often (measured 29k -> 37k rows/s at 1M companies); readers are unaffected.
    page_rows = list(await conn.execute_fetchall("PRAGMA page_size"))
    page_size = int(page_rows[0][0]) if page_rows else PAGE_SIZE
    await conn.execute(f"PRAGMA wal_autocheckpoint = {WAL_CHECKPOINT_BYTES // page_size}")
