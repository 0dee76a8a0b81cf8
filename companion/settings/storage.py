"""The user's settings file `settings.json`: versioned, written atomically with mode 0600, migrated on read.

The file holds only the user's own choices, as dotted setting paths:

    {"version": 1, "values": {"general.do_not_merge": true, "mapping.contacts.title": "custom:88004"}}

Reading never raises for a bad file: it answers the values (or None) and the problem, so the
daemon keeps running on built-in and team settings and shows what is wrong. Whether each path and
value is valid is decided later, by companion.settings.effective, against the settings models.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from companion.errors import SettingsInvalidError
from companion.files import write_atomic_json
from companion.settings.base import Problem

SETTINGS_FILE: Final = "settings.json"
CURRENT_VERSION: Final = 1

#: `MIGRATIONS[n]` turns the `values` of a version-n file into version n+1's. When a setting is
#: renamed or reshaped, bump CURRENT_VERSION and add the step here; old files upgrade on read
#: and are written back in the new version on the next change.
Migration = Callable[[dict[str, Any]], dict[str, Any]]
MIGRATIONS: dict[int, Migration] = {}


@dataclass(frozen=True)
class UserFile:
    """What was read: the values (None when the file could not be used) and the problem, if any."""

    path: Path
    values: dict[str, Any] | None
    problem: Problem | None = None

    @property
    def exists(self) -> bool:
        return self.values is not None or self.problem is not None


#: Settings, policy and catalogue files are written with companion.files (atomic, mode first).
atomic_write_json = write_atomic_json


def read_user_file(path: Path) -> UserFile:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return UserFile(path, None)
    except (OSError, UnicodeDecodeError) as exc:
        return _bad(path, f"cannot be read ({exc})")
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        return _bad(path, f"is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})")
    try:
        values = parse_document(document, CURRENT_VERSION)
    except SettingsInvalidError as exc:
        return _bad(path, exc.message)
    return UserFile(path, values)


def parse_document(
    document: object, current: int, migrations: Mapping[int, Migration] = MIGRATIONS
) -> dict[str, Any]:
    """The `values` of a `{"version", "values"}` document, migrated to `current`.

    SettingsInvalidError says why the document cannot be used.
    """
    if not isinstance(document, dict):
        raise SettingsInvalidError("must be a JSON object with 'version' and 'values'")
    unknown = sorted(set(document) - {"version", "values"})
    if unknown:
        raise SettingsInvalidError(f"has unknown top-level keys {', '.join(map(repr, unknown))}")
    version = document.get("version")
    if isinstance(version, bool) or not isinstance(version, int):
        raise SettingsInvalidError("needs a whole-number 'version' (this companion writes version 1)")
    if version > current:
        raise SettingsInvalidError(
            f"is version {version}, written by a newer companion; this one reads up to version {current}"
        )
    if version < 1 or any(step not in migrations for step in range(version, current)):
        raise SettingsInvalidError(f"has version {version}, which this companion cannot read")
    values = document.get("values", {})
    if not isinstance(values, dict):
        raise SettingsInvalidError("'values' must be an object of setting paths to values")
    for step in range(version, current):
        values = migrations[step](values)
    return dict(values)


def write_user_values(path: Path, values: Mapping[str, Any]) -> None:
    atomic_write_json(path, {"version": CURRENT_VERSION, "values": dict(values)}, mode=0o600)


def _bad(path: Path, what: str) -> UserFile:
    return UserFile(
        path,
        None,
        Problem(
            code=SettingsInvalidError.code,
            message=(
                f"Your settings file {path} {what}; it is not applied "
                "(team and built-in settings are in force)."
            ),
            file=str(path),
        ),
    )
