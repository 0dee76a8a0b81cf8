"""Reading the team a database holds (its id, CATS site, group roles, schema version) and who we are in it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import asyncpg

from companion.errors import TeamPrivilegeError, TeamSchemaError
from companion.team import schema
from companion.team.dsn import TeamDsn
from companion.team.roles import SCHEMA, TeamRoles, quote_ident
from companion.team.site import CatsSite

Access = Literal["admin", "member", "none"]


@dataclass(frozen=True)
class TeamInfo:
    team_id: str
    site: CatsSite
    roles: TeamRoles
    schema_version: int


@dataclass(frozen=True)
class MemberRow:
    role_name: str
    display_name: str
    joined_at: datetime | None
    last_seen_at: datetime | None
    companion_version: str | None


async def read_team(conn: asyncpg.Connection, dsn: TeamDsn) -> TeamInfo:
    """The team in the connected database; TeamSchemaError when there is none, TeamPrivilegeError
    when the user may not read it (not a member)."""
    if not await schema.schema_exists(conn):
        raise TeamSchemaError(
            f"the database {dsn.database!r} at {dsn.host}:{dsn.port} holds no CATS Companion team; "
            "its admin creates one with `cats-companion team init`"
        )
    try:
        row = await conn.fetchrow(
            "SELECT team_id::text, cats_base_url, cats_subdomain, admin_role, member_role"
            " FROM cats_companion.team"
        )
        version = await schema.schema_version(conn)
    except asyncpg.InsufficientPrivilegeError:
        raise TeamPrivilegeError(
            f"{dsn.user!r} is not a member of the team in {dsn.database!r} at {dsn.host}:{dsn.port}; "
            f"the team's admin adds members with `cats-companion team add-member {dsn.user}`"
        ) from None
    except asyncpg.UndefinedTableError:
        row = None
    if row is None:
        raise TeamSchemaError(
            f"the database {dsn.database!r} has a {SCHEMA} schema but no team in it; its admin runs "
            "`cats-companion team init` to finish it"
        )
    return TeamInfo(
        team_id=str(row["team_id"]),
        site=CatsSite(str(row["cats_base_url"]), row["cats_subdomain"]),
        roles=TeamRoles(admin=str(row["admin_role"]), member=str(row["member_role"])),
        schema_version=version,
    )


async def access_of(conn: asyncpg.Connection, roles: TeamRoles) -> Access:
    """What the connected user is in the team: an admin, a member, or neither (by role membership)."""
    row = await conn.fetchrow(
        "SELECT pg_has_role(current_user, $1, 'USAGE') AS admin,"
        " pg_has_role(current_user, $2, 'USAGE') AS member",
        roles.admin,
        roles.member,
    )
    if row is not None and row["admin"]:
        return "admin"
    if row is not None and row["member"]:
        return "member"
    return "none"


async def own_member_row(conn: asyncpg.Connection) -> MemberRow | None:
    row = await conn.fetchrow(
        "SELECT role_name, display_name, joined_at, last_seen_at, companion_version"
        " FROM cats_companion.members WHERE role_name = current_user"
    )
    if row is None:
        return None
    return MemberRow(
        role_name=str(row["role_name"]),
        display_name=str(row["display_name"]),
        joined_at=row["joined_at"],
        last_seen_at=row["last_seen_at"],
        companion_version=row["companion_version"],
    )


def not_a_member(dsn: TeamDsn, roles: TeamRoles) -> TeamPrivilegeError:
    return TeamPrivilegeError(
        f"{dsn.user!r} is not in the team's member group {roles.member} in {dsn.database!r}; the team's "
        f"admin adds members with `cats-companion team add-member {dsn.user}` (or GRANT "
        f"{quote_ident(roles.member)} TO {quote_ident(dsn.user)})"
    )
