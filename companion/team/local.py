"""This companion's record of the team it belongs to: `team.json` in the config dir, holding no secret.

The file says which team database to use (its DSN without password), the team's id and CATS site,
and this user's role in it; the password is in the OS keyring (companion.team.credentials). It is
written atomically and readable by this user only (companion.files), and only after the database
accepted the password and the checks passed, so a refused join leaves nothing behind.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Final, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from companion import paths
from companion.errors import ConfigError, describe_validation
from companion.files import write_atomic_json
from companion.team.dsn import TeamDsn, parse_dsn
from companion.team.site import CatsSite

TEAM_FILE: Final = "team.json"
FORMAT: Final = 1


class TeamRecord(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    format: Literal[1] = FORMAT
    #: The canonical DSN, without password (companion.team.dsn.TeamDsn.url).
    dsn: str
    team_id: str
    cats_base_url: str
    cats_subdomain: str | None
    #: The PostgreSQL login role this companion connects as.
    role: str
    access: Literal["admin", "member"]
    joined_at: datetime

    def team_dsn(self) -> TeamDsn:
        return parse_dsn(self.dsn)

    def site(self) -> CatsSite:
        return CatsSite(self.cats_base_url, self.cats_subdomain)


def default_path() -> Path:
    return paths.config_dir() / TEAM_FILE


def load(path: Path | None = None) -> TeamRecord | None:
    """The recorded team, or None when this companion belongs to none; ConfigError for a broken file."""
    path = path if path is not None else default_path()
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ConfigError(f"cannot read the team record {path}: {exc.strerror or exc}") from None
    try:
        return TeamRecord.model_validate(json.loads(raw))
    except ValueError as exc:
        detail = describe_validation(exc, whole="file") if isinstance(exc, ValidationError) else "not JSON"
        raise ConfigError(
            f"the team record {path} is damaged ({detail}); run `cats-companion team leave` and join again"
        ) from None


def save(record: TeamRecord, path: Path | None = None) -> Path:
    path = path if path is not None else default_path()
    paths.private_dir(path.parent)
    write_atomic_json(path, record.model_dump(mode="json"))
    return path


def forget(path: Path | None = None) -> bool:
    """Remove the record; True if there was one."""
    path = path if path is not None else default_path()
    try:
        path.unlink()
    except FileNotFoundError:
        return False
    return True
