"""The team schema's migration ledger: which versions a database holds, and applying the pending ones.

The ledger (`cats_companion.schema_migrations`) is created by `team init` before the first
migration, as for the SQLite store. `migrate` runs inside the caller's transaction, which holds the
init advisory lock and has switched to the admin group role: `team init` applies everything it
applies in one transaction, so a failure anywhere leaves the database as it was. A database at a
version this companion does not know is refused before anything changes.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Final

import asyncpg

from companion.errors import TeamSchemaError
from companion.team.migrations import TeamMigration, bundled_migrations, check_sequence
from companion.team.roles import SCHEMA, TeamRoles, quote_ident

log = logging.getLogger(__name__)

LEDGER: Final = "cats_companion.schema_migrations"
#: The advisory lock `team init` holds for its transaction (advisory locks are per database), so two
#: admins running init at once take turns instead of both creating the same objects.
INIT_LOCK: Final = 0x63617473_7465616D  # "catsteam"

CREATE_LEDGER: Final = """
CREATE TABLE IF NOT EXISTS cats_companion.schema_migrations (
    version    integer PRIMARY KEY,
    name       text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now(),
    applied_by text NOT NULL DEFAULT session_user
)
"""


async def schema_exists(conn: asyncpg.Connection) -> bool:
    return bool(await conn.fetchval("SELECT to_regnamespace($1) IS NOT NULL", SCHEMA))


async def applied_versions(conn: asyncpg.Connection) -> list[int]:
    """The versions recorded in the ledger, ascending; [] when there is no ledger yet."""
    if not await conn.fetchval("SELECT to_regclass($1) IS NOT NULL", LEDGER):
        return []
    rows = await conn.fetch("SELECT version FROM cats_companion.schema_migrations ORDER BY version")
    return [int(row["version"]) for row in rows]


async def schema_version(conn: asyncpg.Connection) -> int:
    versions = await applied_versions(conn)
    return versions[-1] if versions else 0


def refuse_newer(done: Sequence[int], newest_known: int) -> None:
    """TeamSchemaError when the database holds a version newer than this companion knows."""
    if done and done[-1] > newest_known:
        raise TeamSchemaError(
            f"the team database is at schema version {done[-1]} but this companion only knows up to "
            f"{newest_known}: a newer cats-companion migrated it. Upgrade cats-companion."
        )


async def migrate(
    conn: asyncpg.Connection, roles: TeamRoles, migrations: Sequence[TeamMigration] | None = None
) -> list[int]:
    """Apply the pending migrations in order, in the caller's transaction; return the versions applied.

    The caller holds INIT_LOCK and has run `SET LOCAL ROLE` to the admin group, so what the
    migrations create belongs to the admins.
    """
    if not conn.is_in_transaction():
        raise TeamSchemaError("team migrations must run inside init's transaction")
    known = check_sequence(migrations if migrations is not None else bundled_migrations())
    await conn.execute(CREATE_LEDGER)
    await conn.execute(f"GRANT SELECT ON cats_companion.schema_migrations TO {quote_ident(roles.member)}")
    done = await applied_versions(conn)
    refuse_newer(done, known[-1].version if known else 0)
    applied: list[int] = []
    for migration in known:
        if migration.version in done:
            continue
        try:
            # One simple-protocol call runs the whole script (asyncpg allows several statements then).
            await conn.execute(migration.render(roles))
        except asyncpg.PostgresError as exc:
            raise TeamSchemaError(
                f"team schema migration {migration.version:04d}_{migration.name} failed "
                f"({exc.sqlstate}: {exc}); nothing was changed"
            ) from None
        await conn.execute(
            "INSERT INTO cats_companion.schema_migrations (version, name) VALUES ($1, $2)",
            migration.version,
            migration.name,
        )
        log.info("applied team schema migration %04d_%s", migration.version, migration.name)
        applied.append(migration.version)
    return applied
