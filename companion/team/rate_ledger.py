"""The team rate budget's SQL: logging this companion's CATS requests and headers, reading the team's.

See migrations/0006_rate_budget.sql for the tables. Times are the server's, as Unix epoch seconds:
a companion measures how far its clock is from the server's (`clock_offset`) and converts both
ways with that one figure, so the members' clocks never need to agree and the order of one
companion's own events (a request sent just before the header it got back) survives the trip. A
request counts for an hour (CATS's rolling window); a companion deletes its own rows past the
hour with each batch.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import asyncpg


@dataclass(frozen=True)
class Header:
    """Rate headers a companion saw, at `at` (the server's epoch seconds)."""

    limit: int
    remaining: int
    at: float


@dataclass(frozen=True)
class LoggedRequest:
    """One request of the last hour as the ledger holds it."""

    member: str
    #: The member's display name (their role name when they have none).
    name: str
    origin: uuid.UUID
    priority: str
    #: When it was sent, the server's epoch seconds.
    at: float


@dataclass(frozen=True)
class TeamLedger:
    """The team's last hour: every request logged and the freshest headers any member saw."""

    requests: list[LoggedRequest]
    freshest: Header | None
    #: Whose companion saw `freshest` (display name).
    observed_by: str | None


async def clock_offset(conn: asyncpg.Connection, local: Callable[[], float]) -> float:
    """How far the server's clock is ahead of `local` (seconds), measured across one round trip."""
    before = local()
    server = float(await conn.fetchval("SELECT extract(epoch FROM clock_timestamp())::float8"))
    after = local()
    return server - (before + after) / 2


async def record(
    conn: asyncpg.Connection,
    origin: uuid.UUID,
    requests: Sequence[tuple[float, str]],
    header: Header | None,
) -> None:
    """Log `requests` (server epoch seconds, priority) and the latest headers; forget our rows past the hour.

    One transaction, so a batch is logged whole or not at all (and then sent again).
    """
    async with conn.transaction():
        if requests:
            await conn.execute(
                "INSERT INTO cats_companion.rate_requests (origin, sent_at, priority)"
                " SELECT $1, to_timestamp(t.at), t.priority"
                " FROM unnest($2::float8[], $3::text[]) AS t(at, priority)",
                origin,
                [at for at, _ in requests],
                [priority for _, priority in requests],
            )
        if header is not None:
            # Only ever forward: a late batch must not replace a fresher report.
            await conn.execute(
                "INSERT INTO cats_companion.rate_headers AS h (rate_limit, remaining, observed_at)"
                " VALUES ($1, $2, to_timestamp($3::float8))"
                " ON CONFLICT (member) DO UPDATE SET rate_limit = excluded.rate_limit,"
                " remaining = excluded.remaining, observed_at = excluded.observed_at"
                " WHERE h.observed_at <= excluded.observed_at",
                header.limit,
                header.remaining,
                header.at,
            )
        await conn.execute(
            "DELETE FROM cats_companion.rate_requests"
            " WHERE member = session_user AND sent_at < now() - interval '1 hour'"
        )


async def read(conn: asyncpg.Connection) -> TeamLedger:
    """The team's requests of the last hour and its freshest rate headers, times by the server's clock."""
    rows = await conn.fetch(
        "SELECT r.member, coalesce(nullif(m.display_name, ''), r.member) AS name, r.origin, r.priority,"
        " extract(epoch FROM r.sent_at)::float8 AS at"
        " FROM cats_companion.rate_requests r"
        " LEFT JOIN cats_companion.members m ON m.role_name = r.member"
        " WHERE r.sent_at > now() - interval '1 hour' ORDER BY r.sent_at"
    )
    head = await conn.fetchrow(
        "SELECT h.rate_limit, h.remaining, extract(epoch FROM h.observed_at)::float8 AS at,"
        " coalesce(nullif(m.display_name, ''), h.member) AS name"
        " FROM cats_companion.rate_headers h"
        " LEFT JOIN cats_companion.members m ON m.role_name = h.member"
        " WHERE h.observed_at > now() - interval '1 hour' ORDER BY h.observed_at DESC LIMIT 1"
    )
    requests = [
        LoggedRequest(
            member=str(r["member"]),
            name=str(r["name"]),
            origin=r["origin"],
            priority=str(r["priority"]),
            at=float(r["at"]),
        )
        for r in rows
    ]
    if head is None:
        return TeamLedger(requests, None, None)
    freshest = Header(int(head["rate_limit"]), int(head["remaining"]), float(head["at"]))
    return TeamLedger(requests, freshest, str(head["name"]))
