"""Who is in the team: every member row with what PostgreSQL says of its login role now (`team members`).

Readable by admins and members alike: members have SELECT on the member rows (row-level security
lets them read every row), and pg_roles and pg_auth_members are readable by any role. Removed
members are listed too, with who removed them and when: the team's history names them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from companion.secret import DatabasePassword
from companion.team.connection import connect
from companion.team.dsn import TeamDsn
from companion.team.team_info import Access, TeamInfo, access_of, not_a_member, read_team


@dataclass(frozen=True)
class TeamMember:
    role_name: str
    display_name: str
    #: What the role is in the team now: admin, member, or none (removed, or its groups taken away).
    access: Access
    added_at: datetime
    added_by: str
    joined_at: datetime | None
    last_seen_at: datetime | None
    removed_at: datetime | None
    removed_by: str | None
    #: Whether PostgreSQL lets the role log in now (False: removed, or the role no longer exists).
    can_login: bool
    role_exists: bool


async def list_members(dsn: TeamDsn, password: DatabasePassword) -> tuple[TeamInfo, list[TeamMember]]:
    """The team and its members, admins first, then by when they were added."""
    async with connect(dsn, password) as conn:
        team = await read_team(conn, dsn)
        if await access_of(conn, team.roles) == "none":
            raise not_a_member(dsn, team.roles)
        rows = await conn.fetch(
            "SELECT m.role_name, m.display_name, m.added_at, m.added_by, m.joined_at, m.last_seen_at,"
            " m.removed_at, m.removed_by, r.oid IS NOT NULL AS role_exists,"
            " coalesce(r.rolcanlogin, false) AS can_login,"
            " coalesce(pg_has_role(r.oid, a.oid, 'USAGE'), false) AS admin,"
            " coalesce(pg_has_role(r.oid, g.oid, 'USAGE'), false) AS member"
            " FROM cats_companion.members m"
            " LEFT JOIN pg_roles r ON r.rolname = m.role_name"
            " LEFT JOIN pg_roles a ON a.rolname = $1"
            " LEFT JOIN pg_roles g ON g.rolname = $2"
            " ORDER BY m.removed_at IS NOT NULL, m.added_at, m.role_name",
            team.roles.admin,
            team.roles.member,
        )
    members = [
        TeamMember(
            role_name=str(row["role_name"]),
            display_name=str(row["display_name"]),
            access="admin" if row["admin"] else "member" if row["member"] else "none",
            added_at=row["added_at"],
            added_by=str(row["added_by"]),
            joined_at=row["joined_at"],
            last_seen_at=row["last_seen_at"],
            removed_at=row["removed_at"],
            removed_by=row["removed_by"],
            can_login=bool(row["can_login"]),
            role_exists=bool(row["role_exists"]),
        )
        for row in rows
    ]
    members.sort(key=lambda m: (m.removed_at is not None, m.access != "admin"))
    return team, members
