"""The team policy file: the team's defaults and which settings are locked, where it is found, and admin mode.

Format (`policy.json`)::

    {"version": 1,
     "defaults": {"sync.candidates.campaign_sync_trigger": "when_interested", "mapping.contacts.title": null},
     "locked": ["sync.candidates.campaign_sync_trigger", "mapping.contacts"]}

A locked path may name a section (`mapping.contacts`): every setting under it is locked.

Where it is found: `<site config dir>/policy.json` (companion.paths.site_config_dir(), e.g.
/etc/xdg/cats-companion on Linux), which only an administrator can write; else the file named by
the environment variable CATS_COMPANION_POLICY. When a system-wide file is installed the variable
is ignored -- otherwise a user could escape a lock by pointing it at a policy of their own -- and
that fact is reported. A malformed or unknown-version policy applies nothing (no defaults, no
locks): built-in settings are in force and the problem is reported.

Admin mode: the daemon is started with admin mode asked for (`DaemonConfig(admin=True)`, which the
CLI offers as `cats-companion serve --admin` / `settings --admin`) AND the OS lets this user write
the site config dir. Asking for admin mode without that right is refused with
`policy.admin_required` (the daemon does not start). In admin mode the API edits the policy,
writes it to the site config dir (mode 0644, so every user can read it) and exports it for
deployment on other machines. Locks bind the admin's own settings too: a locked value is the
team's, and the admin changes it through the policy.

The site config dir deliberately ignores CATS_COMPANION_HOME: that variable is the user's to set,
and would otherwise be one more way around a lock.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Literal

from companion.errors import PolicyInvalidError, SettingsInvalidError, SettingsUnknownError
from companion.settings import tree
from companion.settings.base import Problem
from companion.settings.storage import atomic_write_json

POLICY_FILE: Final = "policy.json"
POLICY_ENV: Final = "CATS_COMPANION_POLICY"
POLICY_VERSION: Final = 1

PolicyOrigin = Literal["site", "env"]


@dataclass(frozen=True)
class Policy:
    """A valid policy: team defaults and locks, both as leaf setting paths."""

    defaults: dict[str, Any] = field(default_factory=dict)
    locked: frozenset[str] = frozenset()

    def document(self) -> dict[str, Any]:
        """The file form, ready to write or to download."""
        return {
            "version": POLICY_VERSION,
            "defaults": dict(sorted(self.defaults.items())),
            "locked": sorted(self.locked),
        }


@dataclass(frozen=True)
class PolicyLoad:
    """What was found: the policy in force (None: none), from which file, and what went wrong."""

    policy: Policy | None
    path: Path | None
    origin: PolicyOrigin | None
    problems: tuple[Problem, ...] = ()


def site_policy_path(site_dir: Path) -> Path:
    return site_dir / POLICY_FILE


def parse_policy(document: object) -> Policy:
    """A Policy from the parsed JSON; PolicyInvalidError saying what is wrong (and nothing is applied)."""
    if not isinstance(document, dict):
        raise PolicyInvalidError("it must be a JSON object with 'version', 'defaults' and 'locked'")
    unknown = sorted(set(document) - {"version", "defaults", "locked"})
    if unknown:
        raise PolicyInvalidError(f"it has unknown top-level keys {', '.join(map(repr, unknown))}")
    version = document.get("version")
    if isinstance(version, bool) or not isinstance(version, int):
        raise PolicyInvalidError(
            f"it needs a whole-number 'version' (this companion reads version {POLICY_VERSION})"
        )
    if version != POLICY_VERSION:
        raise PolicyInvalidError(
            f"its version {version} is unknown; this companion reads policy version {POLICY_VERSION}"
        )
    defaults = document.get("defaults", {})
    locked = document.get("locked", [])
    if not isinstance(defaults, dict):
        raise PolicyInvalidError("'defaults' must be an object of setting paths to values")
    if not isinstance(locked, list) or not all(isinstance(path, str) for path in locked):
        raise PolicyInvalidError("'locked' must be a list of setting paths")
    try:
        values = tree.expand(defaults)
        locked_leaves = frozenset(leaf for path in locked for leaf in _leaves(path))
        tree.build(values)
    except (SettingsUnknownError, SettingsInvalidError) as exc:
        raise PolicyInvalidError(exc.message) from None
    return Policy(defaults=values, locked=locked_leaves)


def _leaves(path: str) -> list[str]:
    try:
        return tree.leaves_under(path)
    except SettingsUnknownError:
        raise SettingsUnknownError(f"'locked' names {path!r}, which is not a setting", paths=[path]) from None


def read_policy_file(path: Path) -> Policy:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PolicyInvalidError("the file does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise PolicyInvalidError(f"it cannot be read ({exc})") from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise PolicyInvalidError(
            f"it is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"
        ) from None
    return parse_policy(document)


def load_policy(site_dir: Path, environ: Mapping[str, str]) -> PolicyLoad:
    """The policy in force: the system-wide file first; the environment variable only when there is none."""
    site_path = site_policy_path(site_dir)
    named = environ.get(POLICY_ENV, "").strip()
    problems: list[Problem] = []
    if site_path.exists():
        if named and not _same_file(Path(named), site_path):
            problems.append(
                Problem(
                    code=PolicyInvalidError.code,
                    message=(
                        f"{POLICY_ENV} names {named}, but a system-wide team policy is installed at "
                        f"{site_path}; the system-wide policy is in force and the variable is ignored."
                    ),
                    file=named,
                )
            )
        return _load(site_path, "site", problems)
    if named:
        return _load(Path(named), "env", problems)
    return PolicyLoad(None, None, None)


def _load(path: Path, origin: PolicyOrigin, problems: list[Problem]) -> PolicyLoad:
    try:
        policy = read_policy_file(path)
    except PolicyInvalidError as exc:
        where = "system-wide team policy" if origin == "site" else f"team policy named by {POLICY_ENV}"
        problems.append(
            Problem(
                code=exc.code,
                message=(
                    f"The {where} {path} is not applied: {exc.message}. "
                    "Nothing from it is in force (no team defaults, no locks); built-in settings apply."
                ),
                file=str(path),
            )
        )
        return PolicyLoad(None, path, origin, tuple(problems))
    return PolicyLoad(policy, path, origin, tuple(problems))


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.samefile(b)
    except OSError:
        return False


def site_dir_writable(site_dir: Path) -> bool:
    """Whether this process may create or replace the policy in `site_dir` (the test of an admin)."""
    target = site_dir
    while not target.exists():
        if target.parent == target:
            return False
        target = target.parent
    return target.is_dir() and os.access(target, os.W_OK | os.X_OK)


def write_site_policy(site_dir: Path, policy: Policy) -> Path:
    """Install `policy` system-wide: readable by every user, replaced atomically."""
    site_dir.mkdir(parents=True, exist_ok=True, mode=0o755)
    path = site_policy_path(site_dir)
    atomic_write_json(path, policy.document(), mode=0o644)
    return path
