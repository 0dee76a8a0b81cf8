"""The database's numbered schema migrations (the NNNN_name.sql files beside this module) and applying them.

Adding a migration is adding one file: `0002_companies.sql`, `0003_outbox.sql`, ... Versions start
at 1 and have no gaps. Each migration runs in its own `BEGIN IMMEDIATE` transaction together with
the `schema_migrations` row that records it, so a failing migration leaves no trace and two
processes opening the same database at once cannot both apply it.
"""

from __future__ import annotations

import logging
import re
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources

import aiosqlite

from companion.errors import SchemaTooNewError, StoreError

log = logging.getLogger(__name__)

_FILE_NAME = re.compile(r"^(?P<version>\d{4})_(?P<name>[a-z0-9_]+)\.sql$")

_CREATE_LEDGER = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version    INTEGER PRIMARY KEY NOT NULL,
    name       TEXT NOT NULL,
    applied_at TEXT NOT NULL
)
"""


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


def bundled_migrations() -> tuple[Migration, ...]:
    """The migrations shipped with this package, in version order."""
    found = []
    for entry in resources.files(__name__).iterdir():
        match = _FILE_NAME.match(entry.name)
        if match:
            found.append(Migration(int(match["version"]), match["name"], entry.read_text(encoding="utf-8")))
        elif entry.name.endswith(".sql"):
            raise StoreError(f"migration file {entry.name!r} is not named NNNN_lowercase_name.sql")
    return check_sequence(found)


def check_sequence(migrations: Iterable[Migration]) -> tuple[Migration, ...]:
    """Sort and check that versions run 1, 2, 3, ... without gaps or repeats."""
    ordered = tuple(sorted(migrations, key=lambda m: m.version))
    for expected, migration in enumerate(ordered, start=1):
        if migration.version != expected:
            raise StoreError(
                f"migrations must be numbered 1, 2, 3, ... without gaps or repeats; "
                f"expected version {expected}, found {migration.version} ({migration.name})"
            )
    return ordered


def split_statements(script: str) -> list[str]:
    """Split an SQL script into complete statements (semicolons in strings, comments, triggers are fine).

    `executescript` would do this for us but commits any open transaction first, which would
    break the one-transaction-per-migration rule.
    """
    statements: list[str] = []
    buffer = ""
    *pieces, tail = script.split(";")
    for piece in pieces:
        buffer += piece + ";"
        if sqlite3.complete_statement(buffer):
            statements.append(buffer.strip())
            buffer = ""
    buffer += tail
    if _strip_comments(buffer).strip():
        raise StoreError(f"incomplete SQL statement at the end of a migration: {buffer.strip()[:80]!r}")
    return [s for s in statements if _strip_comments(s).strip(" \n\t;")]


def _strip_comments(sql: str) -> str:
    return "\n".join(line.split("--", 1)[0] for line in sql.splitlines())


async def applied_versions(conn: aiosqlite.Connection) -> list[int]:
    rows = await conn.execute_fetchall("SELECT version FROM schema_migrations ORDER BY version")
    return [int(row[0]) for row in rows]


async def migrate(
    conn: aiosqlite.Connection,
    migrations: Sequence[Migration] | None = None,
    *,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> list[int]:
    """Apply the pending migrations in order; return the versions applied now.

    Raises SchemaTooNewError, changing nothing, when the database holds a version this code does
    not know (it was opened by a newer companion). `conn` must be in autocommit mode
    (`isolation_level=None`) so the explicit transactions below are the only ones.
    """
    known = check_sequence(migrations if migrations is not None else bundled_migrations())
    await conn.execute(_CREATE_LEDGER)
    newest_known = known[-1].version if known else 0
    done = await applied_versions(conn)
    if done and done[-1] > newest_known:
        raise SchemaTooNewError(
            f"the database is at schema version {done[-1]} but this companion only knows up to "
            f"{newest_known}: it was used by a newer version. Upgrade cats-companion."
        )
    applied: list[int] = []
    for migration in known:
        if migration.version in done:
            continue
        if await _apply(conn, migration, now()):
            applied.append(migration.version)
    return applied


async def _apply(conn: aiosqlite.Connection, migration: Migration, when: datetime) -> bool:
    await conn.execute("BEGIN IMMEDIATE")
    try:
        # Another process may have applied it between our read and our lock.
        rows = await conn.execute_fetchall(
            "SELECT 1 FROM schema_migrations WHERE version = ?", (migration.version,)
        )
        if rows:
            await conn.execute("ROLLBACK")
            return False
        for statement in split_statements(migration.sql):
            await conn.execute(statement)
        await conn.execute(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
            (migration.version, migration.name, when.isoformat()),
        )
        await conn.execute("COMMIT")
    except BaseException as exc:
        if conn.in_transaction:
            await conn.execute("ROLLBACK")
        if isinstance(exc, sqlite3.Error):
            raise StoreError(
                f"schema migration {migration.version:04d}_{migration.name} failed: {exc}"
            ) from exc
        raise
    log.info("applied schema migration %04d_%s", migration.version, migration.name)
    return True
