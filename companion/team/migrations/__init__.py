"""The team database's numbered schema migrations (the NNNN_name.sql files beside this module).

Adding a migration is adding one file, as for the SQLite store (companion/store/migrations):
versions start at 1 and have no gaps. Every object lives in the `cats_companion` schema and is
named with it, so nothing depends on a search_path a member could change. The group roles differ
per database (companion.team.roles), so a file names them `@admin_role@` and `@member_role@`, and
`render` puts in the quoted names. companion.team.schema applies them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources
from typing import Final

from companion.errors import TeamSchemaError
from companion.team.roles import TeamRoles, quote_ident

_FILE_NAME: Final = re.compile(r"^(?P<version>\d{4})_(?P<name>[a-z0-9_]+)\.sql$")
_PLACEHOLDER: Final = re.compile(r"@(admin_role|member_role)@")


@dataclass(frozen=True)
class TeamMigration:
    version: int
    name: str
    sql: str

    def render(self, roles: TeamRoles) -> str:
        """The script with the group role placeholders replaced by their quoted names."""
        names = {"admin_role": quote_ident(roles.admin), "member_role": quote_ident(roles.member)}
        return _PLACEHOLDER.sub(lambda match: names[match[1]], self.sql)


def bundled_migrations() -> tuple[TeamMigration, ...]:
    """The migrations shipped with this package, in version order."""
    found = []
    for entry in resources.files(__name__).iterdir():
        match = _FILE_NAME.match(entry.name)
        if match:
            found.append(
                TeamMigration(int(match["version"]), match["name"], entry.read_text(encoding="utf-8"))
            )
        elif entry.name.endswith(".sql"):
            raise TeamSchemaError(f"team migration file {entry.name!r} is not named NNNN_lowercase_name.sql")
    return check_sequence(found)


def check_sequence(migrations: Iterable[TeamMigration]) -> tuple[TeamMigration, ...]:
    """Sort and check that versions run 1, 2, 3, ... without gaps or repeats."""
    ordered = tuple(sorted(migrations, key=lambda m: m.version))
    for expected, migration in enumerate(ordered, start=1):
        if migration.version != expected:
            raise TeamSchemaError(
                f"team migrations must be numbered 1, 2, 3, ... without gaps or repeats; "
                f"expected version {expected}, found {migration.version} ({migration.name})"
            )
    return ordered


def latest_version(migrations: Iterable[TeamMigration] | None = None) -> int:
    """The schema version this companion knows up to (0 for no migrations)."""
    known = check_sequence(migrations if migrations is not None else bundled_migrations())
    return known[-1].version if known else 0
