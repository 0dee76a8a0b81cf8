"""The shared company cache's SQL on PostgreSQL: the syncer lock, publishing changes, reading them back.

See migrations/0004_company_changes.sql for the tables. Only the session holding SYNCER_LOCK may publish (the
function checks), so that session is the one writer and change numbers are taken in commit order:
reading `change_no > last applied` in order never skips a change that commits late.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

import asyncpg

#: pg_try_advisory_lock's key for "this session syncs the team's companies" ("csyc"); below 2**32,
#: so pg_locks shows it as classid 0, objid SYNCER_LOCK (what publish_companies checks).
SYNCER_LOCK: Final = 0x63737963
#: The NOTIFY channel publish_companies signals on commit, with the last change number as payload.
CHANNEL: Final = "cats_companion_companies"
#: Changes read per replication batch (one SQLite transaction each).
BATCH: Final = 1000


@dataclass(frozen=True)
class Change:
    change_no: int
    company_id: int
    #: The company as a CompanyRow's JSON; None: deleted in CATS.
    data: dict[str, Any] | None


@dataclass(frozen=True)
class Marks:
    #: SyncRecord fields (JSON values) the syncer last published.
    fields: dict[str, Any]
    change_no: int
    written_by: str


async def try_lock(conn: asyncpg.Connection) -> bool:
    """Take the syncer lock for `conn`'s session if no other session holds it; held until it ends."""
    return bool(await conn.fetchval("SELECT pg_try_advisory_lock($1::bigint)", SYNCER_LOCK))


async def unlock(conn: asyncpg.Connection) -> None:
    await conn.execute("SELECT pg_advisory_unlock($1::bigint)", SYNCER_LOCK)


async def syncer(conn: asyncpg.Connection) -> str | None:
    """The login role whose session holds the syncer lock now, None when nobody syncs."""
    found = await conn.fetchval(
        "SELECT a.usename FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
        " WHERE l.locktype = 'advisory' AND l.granted AND l.classid = 0 AND l.objid = $1::bigint::oid"
        " AND l.objsubid = 1"
        " AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())",
        SYNCER_LOCK,
    )
    return None if found is None else str(found)


async def publish(
    conn: asyncpg.Connection,
    rows: Sequence[dict[str, Any]],
    deleted: Sequence[int],
    marks: dict[str, Any] | None,
) -> int:
    """Append `rows` (CompanyRow JSON) and `deleted` ids, and the marks; the last change number written."""
    result = await conn.fetchval(
        "SELECT cats_companion.publish_companies($1::jsonb, $2::bigint[], $3::jsonb)",
        json.dumps(list(rows), ensure_ascii=False),
        list(deleted),
        None if marks is None else json.dumps(marks),
    )
    return int(result)


async def changes_after(conn: asyncpg.Connection, after: int, limit: int = BATCH) -> list[Change]:
    """The companies whose latest change is after `after`, in change order, `limit` at most."""
    rows = await conn.fetch(
        "SELECT change_no, id, data FROM cats_companion.companies WHERE change_no > $1"
        " ORDER BY change_no LIMIT $2",
        after,
        limit,
    )
    return [
        Change(int(r["change_no"]), int(r["id"]), None if r["data"] is None else json.loads(r["data"]))
        for r in rows
    ]


async def marks(conn: asyncpg.Connection) -> Marks:
    row = await conn.fetchrow("SELECT marks, change_no, written_by FROM cats_companion.company_sync_marks")
    if row is None:
        return Marks({}, 0, "")
    return Marks(json.loads(row["marks"]), int(row["change_no"]), str(row["written_by"]))


async def head(conn: asyncpg.Connection) -> int:
    """The newest change number committed (0: none)."""
    return int(await conn.fetchval("SELECT coalesce(max(change_no), 0) FROM cats_companion.companies"))
