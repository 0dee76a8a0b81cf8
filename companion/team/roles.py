"""The team's PostgreSQL names: its schema, its two group roles, member login names, and SQL quoting.

Roles belong to the whole PostgreSQL cluster, databases do not: two teams in two databases of one
cluster must not share a member group, or a member of one team could read the other's data. So the
group roles carry the database's name (`cats_companion_<db>_admin`, `..._member`), with a short hash
in place of a name that is not a plain lower-case identifier. `team init` records the names it
chose in the team row; everything after reads them from there.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Final

from companion.errors import ConfigError

SCHEMA: Final = "cats_companion"
_PREFIX: Final = "cats_companion_"
#: Database names used as they are in the group role names; anything else is hashed.
_PLAIN_DB: Final = re.compile(r"^[a-z_][a-z0-9_]{0,29}$")
#: Login roles `team add-member` creates: plain lower-case identifiers, so that the name typed in a
#: DSN and the name PostgreSQL stores are the same without quoting.
_LOGIN: Final = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


@dataclass(frozen=True)
class TeamRoles:
    """The team's two NOLOGIN group roles."""

    admin: str
    member: str


def roles_for(database: str) -> TeamRoles:
    """The group role names a new team in `database` gets (at most 52 characters, under the 63 limit)."""
    if _PLAIN_DB.match(database):
        stem = database
    else:
        cleaned = re.sub(r"[^a-z0-9_]+", "_", database.lower()).strip("_")[:20]
        digest = hashlib.sha256(database.encode("utf-8")).hexdigest()[:8]
        stem = f"{cleaned}_{digest}" if cleaned else digest
    return TeamRoles(admin=f"{_PREFIX}{stem}_admin", member=f"{_PREFIX}{stem}_member")


def check_login_name(name: str) -> str:
    """`name` when it can be a member's login role; ConfigError saying why not otherwise."""
    if not _LOGIN.match(name):
        raise ConfigError(
            f"{name!r} cannot be a member's role name: use lower-case letters, digits and _, starting "
            "with a letter or _, at most 63 characters (e.g. alice or recruiter_bob)"
        )
    if name.startswith(("pg_", _PREFIX)) or name in {"public", "postgres"}:
        raise ConfigError(f"{name!r} is reserved (pg_*, cats_companion_*, public, postgres); pick another")
    return name


def quote_ident(name: str) -> str:
    """`name` as a quoted SQL identifier (for the statements that take no parameters: CREATE ROLE...)."""
    if "\x00" in name:
        raise ConfigError("an SQL identifier cannot contain a NUL character")
    return '"' + name.replace('"', '""') + '"'


def quote_literal(text: str) -> str:
    """`text` as an SQL string literal (standard_conforming_strings, on since PostgreSQL 9.1)."""
    if "\x00" in text:
        raise ConfigError("an SQL string cannot contain a NUL character")
    return "'" + text.replace("'", "''") + "'"
