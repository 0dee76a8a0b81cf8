"""What a team's admin does to its database: create or migrate the team (`init`), add a member.

`init_team` runs as the admin's own PostgreSQL user, in one transaction under an advisory lock: it
checks the privileges it needs (and names the missing one), creates the two NOLOGIN group roles
and makes its user a member of the admin group, creates the `cats_companion` schema owned by that
group, applies the pending migrations as that group (so the admins own every table), records the
team's CATS site and the admin's member row. Run again, it migrates and never destroys; a database
whose schema is newer than this companion knows, or that belongs to another CATS site, is refused
before anything changes.

What it needs from PostgreSQL, the first time: CREATEROLE (or superuser) to create the group roles,
and CREATE on the database (its owner has it) to create the schema. Later runs need only membership
of the admin group. `add_member` needs CREATEROLE and the admin group.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg

from companion.errors import ConfigError, TeamPrivilegeError, TeamSchemaError
from companion.secret import DatabasePassword
from companion.team import schema
from companion.team.connection import connect
from companion.team.dsn import TeamDsn
from companion.team.migrations import TeamMigration, bundled_migrations, check_sequence
from companion.team.roles import SCHEMA, TeamRoles, check_login_name, quote_ident, quote_literal, roles_for
from companion.team.scram import member_password_problem, scram_verifier
from companion.team.site import CatsSite, check_same_site
from companion.team.team_info import TeamInfo, read_team

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class InitOutcome:
    team: TeamInfo
    #: True when this run created the team; False when it found one and migrated it.
    created: bool
    #: The migration versions this run applied.
    applied: list[int]


@dataclass(frozen=True)
class _Me:
    name: str
    superuser: bool
    createrole: bool


async def init_team(
    dsn: TeamDsn,
    password: DatabasePassword,
    site: CatsSite,
    *,
    companion_version: str,
    migrations: Sequence[TeamMigration] | None = None,
) -> InitOutcome:
    """Create or migrate the team in `dsn`'s database for the CATS `site`; see the module docstring."""
    known = check_sequence(migrations if migrations is not None else bundled_migrations())
    async with connect(dsn, password) as conn, conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", schema.INIT_LOCK)
        me = await _whoami(conn)
        owner = await conn.fetchval(
            "SELECT pg_get_userbyid(nspowner) FROM pg_namespace WHERE nspname = $1", SCHEMA
        )
        created = owner is None
        if created:
            roles = roles_for(await conn.fetchval("SELECT current_database()"))
            await _create_team_schema(conn, me, roles, dsn.database)
        else:
            newest = known[-1].version if known else 0
            roles = await _existing_roles(conn, me, str(owner), dsn.database, newest)
        await conn.execute(f"SET LOCAL ROLE {quote_ident(roles.admin)}")
        applied = await schema.migrate(conn, roles, known)
        await _record_site(conn, roles, site)
        await conn.execute(
            "INSERT INTO cats_companion.members (role_name, joined_at, last_seen_at, companion_version)"
            " VALUES (session_user, now(), now(), $1)"
            " ON CONFLICT (role_name) DO UPDATE SET joined_at = coalesce(members.joined_at, now()),"
            " last_seen_at = now(), companion_version = excluded.companion_version",
            companion_version,
        )
        team = await read_team(conn, dsn)
    log.info("team %s %s; migrations applied: %s", team.team_id, "created" if created else "checked", applied)
    return InitOutcome(team=team, created=created, applied=applied)


async def add_member(
    dsn: TeamDsn,
    password: DatabasePassword,
    role_name: str,
    member_password: DatabasePassword,
    *,
    display_name: str = "",
    as_admin: bool = False,
) -> TeamInfo:
    """Create the LOGIN role `role_name` in the team's member group, with its member row.

    `as_admin`: in the admin group instead, with CREATEROLE, so that the new admin can add and
    remove members, edit the team policy and undo any alias like the first one. The new role's
    password reaches the server only as a SCRAM verifier (companion.team.scram).
    """
    check_login_name(role_name)
    problem = member_password_problem(member_password)
    if problem is not None:
        raise ConfigError(f"the new member's password is not accepted: {problem}")
    async with connect(dsn, password) as conn, conn.transaction():
        team = await read_team(conn, dsn)
        me = await _whoami(conn)
        if not await _member_of(conn, team.roles.admin):
            raise TeamPrivilegeError(
                f"only the team's admins add members, and {me.name!r} is not one (not in the group "
                f"{team.roles.admin}); an admin grants it with GRANT {quote_ident(team.roles.admin)} "
                f"TO {quote_ident(me.name)}"
            )
        if not (me.superuser or me.createrole):
            raise TeamPrivilegeError(_needs_createrole(me.name, "create the member's login role"))
        removed = await conn.fetchrow(
            "SELECT removed_at, removed_by FROM cats_companion.members WHERE role_name = $1", role_name
        )
        if removed is not None and removed["removed_at"] is not None:
            # Their role may have been dropped by hand since: the team's history still names them.
            raise TeamPrivilegeError(
                f"{role_name!r} was a member of the team, removed {removed['removed_at']:%Y-%m-%d %H:%M} UTC "
                f"by {removed['removed_by']}; their claims and confirmations keep that name: pick another one"
            )
        if await conn.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", role_name):
            raise TeamPrivilegeError(
                f"a PostgreSQL role named {role_name!r} already exists; pick another name for the member "
                "(adding an existing role to the team is not supported yet)"
            )
        # No bind parameters in CREATE ROLE: the verifier is inlined, never the password itself.
        # An admin is in the admin group only, as the first one is: the group owns every table, so
        # row-level security written for members does not narrow what an admin may do.
        group = team.roles.admin if as_admin else team.roles.member
        createrole = " CREATEROLE" if as_admin else ""
        await conn.execute(
            f"CREATE ROLE {quote_ident(role_name)} LOGIN{createrole}"
            f" PASSWORD {quote_literal(scram_verifier(member_password))}"
            f" IN ROLE {quote_ident(group)}"
        )
        await conn.execute(f"SET LOCAL ROLE {quote_ident(team.roles.admin)}")
        await conn.execute(
            "INSERT INTO cats_companion.members (role_name, display_name) VALUES ($1, $2)",
            role_name,
            display_name,
        )
    log.info("added %s %s to team %s", "admin" if as_admin else "member", role_name, team.team_id)
    return team


async def _whoami(conn: asyncpg.Connection) -> _Me:
    row = await conn.fetchrow(
        "SELECT rolname, rolsuper, rolcreaterole FROM pg_roles WHERE rolname = current_user"
    )
    if row is None:  # a role cannot log in and not exist, but the type says it may
        raise TeamPrivilegeError("PostgreSQL does not know the current user")
    return _Me(
        name=str(row["rolname"]), superuser=bool(row["rolsuper"]), createrole=bool(row["rolcreaterole"])
    )


async def _member_of(conn: asyncpg.Connection, role: str) -> bool:
    # MEMBER: may SET ROLE to it (superusers are members of every role).
    return bool(await conn.fetchval("SELECT pg_has_role(current_user, $1, 'MEMBER')", role))


async def _create_team_schema(conn: asyncpg.Connection, me: _Me, roles: TeamRoles, database: str) -> None:
    """A new team: the group roles, the admin's membership, the schema owned by the admin group."""
    if not await conn.fetchval("SELECT has_database_privilege(current_database(), 'CREATE')"):
        raise TeamPrivilegeError(
            f"{me.name!r} may not create the schema {SCHEMA} in the database {database!r}: it needs the "
            "CREATE privilege on the database. The database's owner has it; run `team init` as the owner, "
            f"or have the owner run GRANT CREATE ON DATABASE {quote_ident(database)} "
            f"TO {quote_ident(me.name)}."
        )
    existing = {
        str(row["rolname"]): bool(row["rolcanlogin"])
        for row in await conn.fetch(
            "SELECT rolname, rolcanlogin FROM pg_roles WHERE rolname = ANY($1::text[])",
            [roles.admin, roles.member],
        )
    }
    for name, can_login in existing.items():
        if can_login:
            raise TeamPrivilegeError(
                f"a login role named {name!r} already exists; the team's group roles must be NOLOGIN "
                "roles of their own. Rename or drop that role first."
            )
    missing = [name for name in (roles.admin, roles.member) if name not in existing]
    if missing and not (me.superuser or me.createrole):
        raise TeamPrivilegeError(_needs_createrole(me.name, "create the team's group roles"))
    for name in missing:
        await conn.execute(f"CREATE ROLE {quote_ident(name)} NOLOGIN")
    if not await _member_of(conn, roles.admin):
        if not (me.superuser or me.createrole):
            raise TeamPrivilegeError(_needs_createrole(me.name, f"join the admin group {roles.admin}"))
        await conn.execute(f"GRANT {quote_ident(roles.admin)} TO CURRENT_USER")
    await conn.execute(f"CREATE SCHEMA {SCHEMA} AUTHORIZATION {quote_ident(roles.admin)}")
    await conn.execute(f"GRANT USAGE ON SCHEMA {SCHEMA} TO {quote_ident(roles.member)}")


async def _existing_roles(
    conn: asyncpg.Connection, me: _Me, owner: str, database: str, newest_known: int
) -> TeamRoles:
    """The roles of the team already in the database; only one of its admins may migrate it."""
    if not await _member_of(conn, owner):
        raise TeamPrivilegeError(
            f"the database {database!r} already holds a CATS Companion team, whose admins are the members "
            f"of {owner!r}, and {me.name!r} is not one of them. An admin can grant it: "
            f"GRANT {quote_ident(owner)} TO {quote_ident(me.name)}"
        )
    await conn.execute(f"SET LOCAL ROLE {quote_ident(owner)}")
    if not await conn.fetchval("SELECT to_regclass($1) IS NOT NULL", "cats_companion.team"):
        raise TeamSchemaError(
            f"the database {database!r} has a {SCHEMA} schema without a team in it; it was not made by "
            f"`team init` (or was damaged): drop the schema {SCHEMA} and run `team init` again"
        )
    schema.refuse_newer(await schema.applied_versions(conn), newest_known)
    member = await conn.fetchval("SELECT member_role FROM cats_companion.team")
    await conn.execute("RESET ROLE")
    if member is None:
        raise TeamSchemaError(f"the team schema in {database!r} has no team row; drop {SCHEMA} and run init")
    return TeamRoles(admin=owner, member=str(member))


async def _record_site(conn: asyncpg.Connection, roles: TeamRoles, site: CatsSite) -> None:
    """The team's CATS site: recorded the first time, then checked (its subdomain filled in once known)."""
    row = await conn.fetchrow("SELECT cats_base_url, cats_subdomain FROM cats_companion.team FOR UPDATE")
    if row is None:
        await conn.execute(
            "INSERT INTO cats_companion.team (cats_base_url, cats_subdomain, admin_role, member_role)"
            " VALUES ($1, $2, $3, $4)",
            site.base_url,
            site.subdomain,
            roles.admin,
            roles.member,
        )
        return
    recorded = CatsSite(str(row["cats_base_url"]), row["cats_subdomain"])
    check_same_site(recorded, site)
    if recorded.subdomain is None and site.subdomain is not None:
        await conn.execute("UPDATE cats_companion.team SET cats_subdomain = $1", site.subdomain)


def _needs_createrole(user: str, what: str) -> str:
    return (
        f"{user!r} may not {what}: it needs the CREATEROLE attribute. A superuser grants it with "
        f"ALTER ROLE {quote_ident(user)} CREATEROLE; on a managed PostgreSQL, use the administrator user "
        "the provider created (it usually has CREATEROLE)"
    )
