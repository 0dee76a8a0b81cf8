"""An admin removes a member from the team: no more login, no more rights, open sessions ended.

`remove_member` runs as the admin's own PostgreSQL user. One transaction, under an advisory lock so
that two admins removing at once take turns (neither can remove the other into a team without an
admin): it checks who asks and who is named, marks the member row removed (the server stamps when
and by whom, migrations/NNNN_member_removal.sql; the row stays, so the claims, the rate ledger and
the alias confirmations that name the role keep naming a member the team can look up), abandons
their live person claims (their keys freed, waiting teammates woken by the claims' NOTIFY), revokes
the team's group roles from the login role and makes it NOLOGIN. Only once that is committed, so
that no new session can start meanwhile, are the role's open sessions ended with
`pg_terminate_backend`, in every database of the cluster.

Why NOLOGIN rather than DROP ROLE: PostgreSQL tells a NOLOGIN role's own, correct password "not
permitted to log in" (anyone else gets the answer of a wrong password), which is how the removed
member's companion knows it was removed and stops reconnecting; a dropped role is told exactly
what a wrong password is. The name also stays taken in the cluster, so no one added later inherits
the history it names; and DROP ROLE fails as soon as the role holds anything in any database of
the cluster. A superuser can still drop it by hand (docs/teams.md).

Ending another role's sessions needs, on PostgreSQL 15, membership of that role or of
pg_signal_backend. An admin with the latter (many managed services give it to their admin user)
uses it; otherwise the admin's CREATEROLE lets it grant itself the removed role for the length of
one transaction (PostgreSQL 16+: the admin needs ADMIN OPTION on the role, which the admin who
created it has), and takes it back in the same transaction.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Final

import asyncpg

from companion.errors import (
    TeamPrivilegeError,
    TeamRemovalRefusedError,
    TeamUnknownMemberError,
)
from companion.secret import DatabasePassword
from companion.team.connection import connect
from companion.team.dsn import TeamDsn
from companion.team.roles import quote_ident, quote_literal
from companion.team.team_info import TeamInfo, read_team

log = logging.getLogger(__name__)

#: Removals take turns (transaction-scoped advisory lock; "catsrmvm").
REMOVAL_LOCK: Final = 0x63617473_726D766D
#: Passes over the removed role's sessions: one that was logging in as the removal committed shows
#: up in the second; each pass waits up to TERMINATE_WAIT_MS for every session it signalled to end.
TERMINATE_PASSES: Final = 3
TERMINATE_WAIT_MS: Final = 5000


@dataclass(frozen=True)
class Removal:
    team: TeamInfo
    role_name: str
    display_name: str
    removed_at: datetime
    removed_by: str
    #: False when the member was removed before (this run made sure of the rest: rights, sessions).
    newly_removed: bool
    #: Person claims in state `claimed` that were released (abandoned) for teammates.
    claims_released: int
    #: Open sessions of the role that were ended, and those that could not be (with why).
    sessions_ended: int
    sessions_left: int
    sessions_problem: str | None


@dataclass(frozen=True)
class _Target:
    role_name: str
    display_name: str
    removed_at: datetime | None
    removed_by: str | None
    oid: int | None
    superuser: bool
    admin: bool


async def remove_member(dsn: TeamDsn, password: DatabasePassword, role_name: str) -> Removal:
    """Remove `role_name` from the team in `dsn`'s database, as `dsn`'s user (an admin); see the module.

    Refused, changing nothing: a caller that is not an admin or lacks CREATEROLE (team.privileges),
    a name that is not a member (team.unknown_member), oneself or the last admin
    (team.removal_refused).
    """
    async with connect(dsn, password) as conn:
        async with conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1)", REMOVAL_LOCK)
            team = await read_team(conn, dsn)
            await _check_caller(conn, team)
            target = await _target(conn, team, role_name)
            await _check_target(conn, team, target)
            # As the group that owns the tables (the admin's login role may not inherit its rights).
            await conn.execute(f"SET LOCAL ROLE {quote_ident(team.roles.admin)}")
            stamped = await conn.fetchrow(
                "UPDATE cats_companion.members SET removed_at = coalesce(removed_at, now()),"
                " removed_by = coalesce(removed_by, session_user) WHERE role_name = $1"
                " RETURNING removed_at, removed_by",
                role_name,
            )
            released = await _release_claims(conn, role_name)
            await conn.execute("RESET ROLE")
            if target.oid is not None:
                await _disable_role(conn, team, target)
        ended, left, problem = (0, 0, None) if target.oid is None else await _end_sessions(conn, target)
    assert stamped is not None  # the row was read FOR UPDATE in this transaction
    log.info(
        "removed %s from team %s: %d claims released, %d sessions ended",
        role_name,
        team.team_id,
        released,
        ended,
    )
    return Removal(
        team=team,
        role_name=role_name,
        display_name=target.display_name,
        removed_at=stamped["removed_at"],
        removed_by=str(stamped["removed_by"]),
        newly_removed=target.removed_at is None,
        claims_released=released,
        sessions_ended=ended,
        sessions_left=left,
        sessions_problem=problem,
    )


async def _check_caller(conn: asyncpg.Connection, team: TeamInfo) -> None:
    me = await conn.fetchrow(
        "SELECT session_user AS name, r.rolsuper, r.rolcreaterole,"
        " pg_has_role(session_user, $1, 'MEMBER') AS admin FROM pg_roles r WHERE r.rolname = session_user",
        team.roles.admin,
    )
    if me is None or not me["admin"]:
        name = None if me is None else str(me["name"])
        raise TeamPrivilegeError(
            f"only the team's admins remove members, and {name!r} is not one (not in the group "
            f"{team.roles.admin})"
        )
    if not (me["rolsuper"] or me["rolcreaterole"]):
        name = str(me["name"])
        raise TeamPrivilegeError(
            f"{name!r} may not remove a member: it needs the CREATEROLE attribute to take away the "
            f"member's login and groups. A superuser grants it with ALTER ROLE {quote_ident(name)} CREATEROLE"
        )


async def _target(conn: asyncpg.Connection, team: TeamInfo, role_name: str) -> _Target:
    row = await conn.fetchrow(
        "SELECT m.role_name, m.display_name, m.removed_at, m.removed_by, r.oid::bigint AS oid,"
        " coalesce(r.rolsuper, false) AS superuser,"
        " coalesce(pg_has_role(r.oid, a.oid, 'MEMBER'), false) AS admin"
        " FROM cats_companion.members m"
        " LEFT JOIN pg_roles r ON r.rolname = m.role_name"
        " LEFT JOIN pg_roles a ON a.rolname = $2"
        " WHERE m.role_name = $1 FOR UPDATE OF m",
        role_name,
        team.roles.admin,
    )
    if row is None:
        raise TeamUnknownMemberError(
            f"{role_name!r} is not a member of the team; `cats-companion team members` lists who is"
        )
    return _Target(
        role_name=str(row["role_name"]),
        display_name=str(row["display_name"]),
        removed_at=row["removed_at"],
        removed_by=row["removed_by"],
        oid=None if row["oid"] is None else int(row["oid"]),
        superuser=bool(row["superuser"]),
        admin=bool(row["admin"]),
    )


async def _check_target(conn: asyncpg.Connection, team: TeamInfo, target: _Target) -> None:
    if target.role_name == await conn.fetchval("SELECT session_user"):
        raise TeamRemovalRefusedError(
            f"{target.role_name!r} is you: an admin does not remove themselves (another admin can; "
            "`cats-companion team leave` only makes this companion forget the team)"
        )
    if target.superuser:
        raise TeamRemovalRefusedError(
            f"{target.role_name!r} is a PostgreSQL superuser, whom no team admin can lock out; "
            "a superuser removes that role's LOGIN by hand"
        )
    if not target.admin or target.removed_at is not None:
        return
    others = await conn.fetchval(
        "SELECT count(*) FROM cats_companion.members m JOIN pg_roles r ON r.rolname = m.role_name"
        " WHERE m.removed_at IS NULL AND m.role_name <> $1 AND r.rolcanlogin"
        " AND pg_has_role(r.oid, $2, 'MEMBER')",
        target.role_name,
        team.roles.admin,
    )
    if not others:
        raise TeamRemovalRefusedError(
            f"{target.role_name!r} is the team's last admin: removed, no one could add or remove "
            "members or edit the team policy any more"
        )


async def _release_claims(conn: asyncpg.Connection, role_name: str) -> int:
    """Abandon the member's `claimed` person claims and free their keys, as claims.abandon does.

    Teammates waiting on one are woken by its NOTIFY and claim the person themselves at once,
    rather than after the lease. `created` claims stay: they record a CATS record that exists.
    """
    released = await conn.fetch(
        "UPDATE cats_companion.person_claims SET state = 'abandoned'"
        " WHERE claimed_by = $1 AND state = 'claimed' RETURNING claim_id",
        role_name,
    )
    ids = [int(row["claim_id"]) for row in released]
    if ids:
        await conn.execute(
            "DELETE FROM cats_companion.person_claim_keys WHERE claim_id = ANY($1::bigint[])", ids
        )
    return len(ids)


async def _disable_role(conn: asyncpg.Connection, team: TeamInfo, target: _Target) -> None:
    """Take the team's groups from the login role and its LOGIN; its password stays (see the module)."""
    granted = await conn.fetch(
        "SELECT g.rolname FROM pg_auth_members am JOIN pg_roles g ON g.oid = am.roleid"
        " WHERE am.member = $1 AND g.rolname = ANY($2::text[])",
        target.oid,
        [team.roles.admin, team.roles.member],
    )
    for row in granted:
        await conn.execute(f"REVOKE {quote_ident(str(row['rolname']))} FROM {quote_ident(target.role_name)}")
    await conn.execute(f"ALTER ROLE {quote_ident(target.role_name)} NOLOGIN")


async def _end_sessions(conn: asyncpg.Connection, target: _Target) -> tuple[int, int, str | None]:
    """End the role's open sessions: (ended, left, why some were left)."""
    signal = bool(await conn.fetchval("SELECT pg_has_role(current_user, 'pg_signal_backend', 'USAGE')"))
    name = quote_ident(target.role_name)
    ended = 0
    try:
        async with conn.transaction():
            if not signal:
                # For this transaction only: the REVOKE below takes it back before the commit.
                await conn.execute(f"GRANT {name} TO CURRENT_USER")
            for _ in range(TERMINATE_PASSES):
                done = await conn.fetch(
                    "SELECT pg_terminate_backend(pid, $2) AS ended FROM pg_stat_activity"
                    " WHERE usesysid = $1 AND pid <> pg_backend_pid()",
                    target.oid,
                    TERMINATE_WAIT_MS,
                )
                if not done:
                    break
                ended += sum(1 for row in done if row["ended"])
            if not signal:
                await conn.execute(f"REVOKE {name} FROM CURRENT_USER")
    except asyncpg.InsufficientPrivilegeError as exc:
        # Shown to the admin to run by hand, never executed here.
        by_hand = "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = "
        by_hand += quote_literal(target.role_name)
        why = (
            f"PostgreSQL did not let this admin end them ({exc}): grant it pg_signal_backend, or end them "
            f"as a superuser ({by_hand}). They can no longer read or write the team's data meanwhile"
        )
        return ended, await _open_sessions(conn, target), why
    return ended, await _open_sessions(conn, target), None


async def _open_sessions(conn: asyncpg.Connection, target: _Target) -> int:
    return int(await conn.fetchval("SELECT count(*) FROM pg_stat_activity WHERE usesysid = $1", target.oid))
