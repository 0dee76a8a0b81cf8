"""The team tests' world: a database of the session's PostgreSQL cluster, owned by an admin login role.

The admin is what a managed PostgreSQL gives a customer: a LOGIN role with CREATEROLE that owns its
database, and no superuser. `team_db.dsn(role)` is the DSN a user would type.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import asyncpg
import pytest

from companion.secret import DatabasePassword
from companion.team import admin
from companion.team.dsn import TeamDsn, parse_dsn
from companion.team.site import CatsSite
from tests.fixtures.postgres import PostgresServer

ADMIN_PASSWORD = "admin-pa55word-7d1e"
MEMBER_PASSWORD = "member-pa55word-93af"
SITE = CatsSite("https://api.catsone.com/v3", "acme")


@dataclass
class TeamDb:
    server: PostgresServer
    database: str
    admin: str

    def dsn(self, user: str | None = None) -> TeamDsn:
        return parse_dsn(self.server.dsn(user or self.admin, self.database))

    @property
    def admin_password(self) -> DatabasePassword:
        return DatabasePassword(ADMIN_PASSWORD)


@pytest.fixture
def team_db(postgres: PostgresServer) -> TeamDb:
    admin = postgres.create_role(ADMIN_PASSWORD, stem="admin", attributes="CREATEROLE")
    return TeamDb(postgres, postgres.create_database(owner=admin), admin)


async def connect_as(team_db: TeamDb, role: str) -> asyncpg.Connection:
    """A plain asyncpg connection as a member (any client a member could use)."""
    return await asyncpg.connect(team_db.server.dsn(role, team_db.database), password=MEMBER_PASSWORD)


@pytest.fixture
async def members(team_db: TeamDb) -> AsyncIterator[tuple[asyncpg.Connection, asyncpg.Connection]]:
    """An initialised team with two members, alice and bob, connected as themselves."""
    await admin.init_team(team_db.dsn(), team_db.admin_password, SITE, companion_version="1")
    conns = []
    for stem in ("alice", "bob"):
        name = team_db.server.unique(stem)
        await admin.add_member(team_db.dsn(), team_db.admin_password, name, DatabasePassword(MEMBER_PASSWORD))
        conns.append(await connect_as(team_db, name))
    yield conns[0], conns[1]
    for conn in conns:
        await conn.close()
