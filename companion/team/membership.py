"""What a member's companion does with the team database: join it (after the checks) and look at it.

Joining connects as the member's own login role, reads the team, and refuses, changing nothing, a
team whose schema version differs from this companion's, a team of another CATS site, and a user
who is not in the team. Then it stamps the member's own row (joined, last seen, companion version),
which is all a member may write there.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg

from companion.errors import TeamSchemaError
from companion.secret import DatabasePassword
from companion.team.connection import connect
from companion.team.dsn import TeamDsn
from companion.team.migrations import TeamMigration, latest_version
from companion.team.site import CatsSite, check_same_site
from companion.team.team_info import (
    Access,
    MemberRow,
    TeamInfo,
    access_of,
    not_a_member,
    own_member_row,
    read_team,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Membership:
    team: TeamInfo
    access: Access
    member: MemberRow | None


async def join_team(
    dsn: TeamDsn,
    password: DatabasePassword,
    site: CatsSite,
    *,
    companion_version: str,
    migrations: Sequence[TeamMigration] | None = None,
) -> Membership:
    """Check the team in `dsn`'s database and mark this member as joined; TeamError when refused."""
    known = latest_version(migrations)
    async with connect(dsn, password) as conn:
        team = await read_team(conn, dsn)
        check_schema_version(team.schema_version, known)
        check_same_site(team.site, site)
        access = await access_of(conn, team.roles)
        if access == "none":
            raise not_a_member(dsn, team.roles)
        async with conn.transaction():
            stamped = await conn.fetchval(
                "UPDATE cats_companion.members"
                " SET joined_at = coalesce(joined_at, now()), last_seen_at = now(),"
                " companion_version = $1 WHERE role_name = current_user RETURNING role_name",
                companion_version,
            )
            if stamped is None:
                raise TeamSchemaError(
                    f"{dsn.user!r} is in the team's group but has no member row; the team's admin adds it "
                    f"with `cats-companion team add-member` (or by inserting {dsn.user!r} into "
                    "cats_companion.members)"
                )
        member = await own_member_row(conn)
    log.info("joined team %s as %s (%s)", team.team_id, dsn.user, access)
    return Membership(team=team, access=access, member=member)


async def touch_member(conn: asyncpg.Connection, companion_version: str) -> None:
    """Stamp this member's row as seen now, with its companion's version (the admin's `team status`)."""
    await conn.execute(
        "UPDATE cats_companion.members SET last_seen_at = now(), companion_version = $1"
        " WHERE role_name = current_user",
        companion_version,
    )


async def look(dsn: TeamDsn, password: DatabasePassword) -> Membership:
    """The team as `dsn`'s user sees it now, changing nothing (for `team status`)."""
    async with connect(dsn, password) as conn:
        team = await read_team(conn, dsn)
        access = await access_of(conn, team.roles)
        member = await own_member_row(conn) if access != "none" else None
    return Membership(team=team, access=access, member=member)


def check_schema_version(found: int, known: int) -> None:
    """A member's companion works with exactly the schema it knows; say who must upgrade otherwise."""
    if found > known:
        raise TeamSchemaError(
            f"the team database is at schema version {found}, newer than the {known} this companion knows: "
            "upgrade cats-companion"
        )
    if found < known:
        raise TeamSchemaError(
            f"the team database is at schema version {found}, older than the {known} this companion needs: "
            "the team's admin migrates it with `cats-companion team init` (from an upgraded companion)"
        )
