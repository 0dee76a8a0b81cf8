"""The team policy file: the team's defaults and which settings are locked, where it is found, and admin mode.

Format (`policy.json`)::

    {"version": 1,
     "defaults": {"sync.candidates.campaign_sync_trigger": "when_interested", "mapping.contacts.title": null},
     "locked": ["sync.candidates.campaign_sync_trigger", "mapping.contacts"]}

A locked path may name a section (`mapping.contacts`): every setting under it is locked.

Where it is found: `policy.json` in the site config dirs (companion.paths.site_config_dirs(): on
Linux /etc/xdg/cats-companion and /etc/cats-companion, then each XDG_CONFIG_DIRS entry's
cats-companion; macOS /Library/Application Support/cats-companion; Windows %ProgramData%), which only
an administrator can write; the first found is in force, and any other is reported as not applied.
Else the file named by the environment variable CATS_COMPANION_POLICY. When a system-wide file is
installed the variable is ignored -- otherwise a user could escape a lock by pointing it at a policy
of their own -- and that fact is reported.

It fails closed: a policy file that cannot be applied (malformed, a version this companion does not
know, unreadable) leaves the last valid policy this machine read from that same file in force
(`SettingsService` keeps a copy), or, when there is none, locks every setting (built-in values,
all read-only) until an administrator fixes the file. Either way the problem names the file and says
which of the two holds. A lock never falls because a file broke.

Admin mode: the daemon is started with admin mode asked for (`DaemonConfig(admin=True)`, which the
CLI offers as `cats-companion serve --admin` / `settings --admin`) AND the OS lets this user write
the site config dir. Asking for admin mode without that right is refused with
`policy.admin_required` (the daemon does not start). In admin mode the API edits the policy,
writes it to the site config dir (mode 0644, so every user can read it) and exports it for
deployment on other machines. Locks bind the admin's own settings too: a locked value is the
team's, and the admin changes it through the policy.

The site config dirs deliberately ignore CATS_COMPANION_HOME: that variable is the user's to set,
and would otherwise be one more way around a lock (companion.paths says what moves them: nothing
a user controls).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Literal

from companion.errors import PolicyInvalidError, SettingsInvalidError, SettingsUnknownError
from companion.paths import POLICY_FILE_NAME
from companion.settings import tree
from companion.settings.base import Problem
from companion.settings.storage import atomic_write_json

POLICY_FILE: Final = POLICY_FILE_NAME
POLICY_ENV: Final = "CATS_COMPANION_POLICY"
POLICY_VERSION: Final = 1

PolicyOrigin = Literal["site", "env"]
#: How a policy file that cannot be applied is replaced: its last valid version, or every setting locked.
Fallback = Literal["last_valid", "read_only"]


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
    #: Set when the file at `path` could not be applied and `policy` is what holds in its place.
    fallback: Fallback | None = None


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


def load_policy(
    site_dirs: Path | Sequence[Path],
    environ: Mapping[str, str],
    *,
    last_valid: Mapping[Path, Policy] | None = None,
) -> PolicyLoad:
    """The policy in force: the first system-wide file found; else the environment variable's file.

    `last_valid`: the last valid policy read from each file, kept in force should that file break.
    """
    dirs = [site_dirs] if isinstance(site_dirs, Path) else list(site_dirs)
    installed = [path for path in map(site_policy_path, dirs) if path.exists()]
    named = environ.get(POLICY_ENV, "").strip()
    problems: list[Problem] = []
    if installed:
        site_path = installed[0]
        if named and not any(_same_file(Path(named), path) for path in installed):
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
        problems.extend(
            Problem(
                code=PolicyInvalidError.code,
                message=(
                    f"A team policy is also installed at {other}; only the one at {site_path}, found "
                    "first, is in force. Remove the one you do not mean."
                ),
                file=str(other),
            )
            for other in installed[1:]
            if not _same_file(other, site_path)
        )
        return _load(site_path, "site", problems, last_valid or {})
    if named:
        return _load(Path(named), "env", problems, last_valid or {})
    return PolicyLoad(None, None, None)


def _load(
    path: Path, origin: PolicyOrigin, problems: list[Problem], last_valid: Mapping[Path, Policy]
) -> PolicyLoad:
    try:
        policy = read_policy_file(path)
    except PolicyInvalidError as exc:
        where = "system-wide team policy" if origin == "site" else f"team policy named by {POLICY_ENV}"
        kept = last_valid.get(path)
        fallback: Fallback = "read_only" if kept is None else "last_valid"
        if kept is None:
            # Failing open would drop every lock; nothing valid was ever read from this file.
            kept = Policy(locked=frozenset(tree.leaf_paths()))
            holds = (
                "No valid version of it was ever read here, so every setting is read-only (built-in "
                "values) until an administrator fixes the file."
            )
        else:
            holds = "Its last valid version read here stays in force until an administrator fixes the file."
        problems.append(
            Problem(
                code=exc.code,
                message=f"The {where} {path} cannot be applied: {exc.message}. {holds}",
                file=str(path),
            )
        )
        return PolicyLoad(kept, path, origin, tuple(problems), fallback)
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
