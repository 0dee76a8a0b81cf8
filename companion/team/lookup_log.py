"""The shared CATS users and company statuses on PostgreSQL: publishing the syncer's lists, reading them back.

See migrations/0009_shared_lookups.sql for the table. Each kind's list is replaced whole; every publish
takes a new version, so a member reads the kinds whose version is above the last one it applied.
Only the session holding company_log.SYNCER_LOCK may publish (the function checks).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, Literal

import asyncpg

LookupKind = Literal["users", "statuses"]
KINDS: Final[tuple[LookupKind, ...]] = ("users", "statuses")


@dataclass(frozen=True)
class Lookup:
    kind: LookupKind
    #: UserRow / StatusRow objects as JSON.
    items: list[dict[str, Any]]
    #: When the syncer read the list from CATS.
    read_at: datetime
    version: int


async def publish(
    conn: asyncpg.Connection, lookups: Mapping[LookupKind, Sequence[dict[str, Any]]], read_at: datetime
) -> int:
    """Replace the team's lists of these kinds with `lookups`, read from CATS at `read_at`; the version."""
    result = await conn.fetchval(
        "SELECT cats_companion.publish_lookups($1::jsonb, $2::timestamptz)",
        json.dumps({kind: list(items) for kind, items in lookups.items()}, ensure_ascii=False),
        read_at,
    )
    return int(result)


async def changed_after(conn: asyncpg.Connection, after: int) -> list[Lookup]:
    """The kinds published after version `after`, in version order."""
    rows = await conn.fetch(
        "SELECT kind, items, read_at, version FROM cats_companion.cats_lookups WHERE version > $1"
        " ORDER BY version",
        after,
    )
    return [Lookup(r["kind"], json.loads(r["items"]), r["read_at"], int(r["version"])) for r in rows]


async def read_at(conn: asyncpg.Connection) -> datetime | None:
    """When the team's lists were read from CATS (the older of the two); None until both are published."""
    found = await conn.fetchval(
        "SELECT min(read_at) FROM cats_companion.cats_lookups HAVING count(*) = $1", len(KINDS)
    )
    return found if isinstance(found, datetime) else None
