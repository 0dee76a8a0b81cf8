"""The shared company aliases' SQL on PostgreSQL: confirming, undoing, and reading the changes back.

See migrations/0005_shared_aliases.sql for the table and the two functions every write goes through:
they record the caller's login role as who confirmed or undid (PostgreSQL's, not the client's word)
and number each change under ALIAS_LOCK, so numbers are taken in commit order.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Final

import asyncpg

#: pg_advisory_xact_lock's key ("cals") the two functions take: one aliases writer at a time.
ALIAS_LOCK: Final = 0x63616C73
#: The NOTIFY channel the functions signal on commit, with the change number as payload.
CHANNEL: Final = "cats_companion_aliases"
#: Changes read per replication batch (one SQLite transaction each).
BATCH: Final = 1000


@dataclass(frozen=True)
class SharedAlias:
    """One row of the team's aliases: a confirmation, or one undone (undone_by and undone_at set)."""

    kind: str
    key: str
    company_id: int
    confirmed_by: str
    confirmed_at: datetime
    undone_by: str | None
    undone_at: datetime | None
    change_no: int

    @property
    def undone(self) -> bool:
        return self.undone_at is not None


_COLUMNS: Final = "kind, key, company_id, confirmed_by, confirmed_at, undone_by, undone_at, change_no"


def _alias(row: asyncpg.Record) -> SharedAlias:
    return SharedAlias(
        kind=str(row["kind"]),
        key=str(row["key"]),
        company_id=int(row["company_id"]),
        confirmed_by=str(row["confirmed_by"]),
        confirmed_at=row["confirmed_at"],
        undone_by=row["undone_by"],
        undone_at=row["undone_at"],
        change_no=int(row["change_no"]),
    )


async def confirm(conn: asyncpg.Connection, kind: str, key: str, company_id: int, at: datetime) -> int | None:
    """Confirm (kind, key) as `company_id` for the team; None when a later confirmation or undo stands."""
    number = await conn.fetchval(
        "SELECT cats_companion.confirm_company_alias($1, $2, $3, $4)", kind, key, company_id, at
    )
    return None if number is None else int(number)


async def undo(conn: asyncpg.Connection, kind: str, key: str, company_id: int, at: datetime) -> int | None:
    """Undo the team's confirmation of (kind, key) as `company_id`; None when there was none to undo.

    Raises asyncpg.InsufficientPrivilegeError when it is another member's and the caller is no admin.
    """
    number = await conn.fetchval(
        "SELECT cats_companion.undo_company_alias($1, $2, $3, $4)", kind, key, company_id, at
    )
    return None if number is None else int(number)


async def changes_after(conn: asyncpg.Connection, after: int, limit: int = BATCH) -> list[SharedAlias]:
    """The aliases whose latest change is after `after`, in change order, `limit` at most."""
    rows = await conn.fetch(
        f"SELECT {_COLUMNS} FROM cats_companion.company_aliases WHERE change_no > $1"  # noqa: S608
        " ORDER BY change_no LIMIT $2",
        after,
        limit,
    )
    return [_alias(row) for row in rows]


async def recent(conn: asyncpg.Connection, limit: int, *, include_undone: bool) -> list[SharedAlias]:
    """The team's aliases, the latest change first (for the settings window's list)."""
    rows = await conn.fetch(
        f"SELECT {_COLUMNS} FROM cats_companion.company_aliases"  # noqa: S608
        " WHERE $1 OR undone_at IS NULL ORDER BY change_no DESC LIMIT $2",
        include_undone,
        limit,
    )
    return [_alias(row) for row in rows]


async def head(conn: asyncpg.Connection) -> int:
    """The newest alias change number committed (0: none)."""
    return int(await conn.fetchval("SELECT coalesce(max(change_no), 0) FROM cats_companion.company_aliases"))
