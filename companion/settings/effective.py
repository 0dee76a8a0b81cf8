"""The effective settings: built-in defaults, then team defaults, then the user's choices where not locked.

Each layer is validated on top of the layers below it. A team policy that cannot be applied was
already dropped whole by companion.settings.policy; a user file that cannot be applied (unknown
key, bad value, or a value that breaks the settings together with the team's) is dropped whole
here, and the problem is reported. A user value on a locked path is never applied, however it got
into the file. Changes (`patched`, `reset`) are all-or-nothing: a locked, unknown or invalid path
anywhere in the request raises before anything is built; a locked path sent with the value already
in force is not a change, and is accepted.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from companion.errors import SettingsInvalidError, SettingsLockedError, SettingsUnknownError
from companion.settings import tree
from companion.settings.base import Problem, Source
from companion.settings.models import Settings
from companion.settings.policy import Policy


@dataclass(frozen=True)
class Effective:
    settings: Settings
    #: Team defaults in force (leaf paths); empty without a valid policy.
    team: Mapping[str, Any]
    #: The user's choices in force (leaf paths): never a locked path.
    user: Mapping[str, Any]
    locked: frozenset[str]
    #: Why the team policy (or part of it) is not in force.
    policy_problems: tuple[Problem, ...] = ()
    #: Why the user's file (or part of it) is not in force.
    user_problems: tuple[Problem, ...] = ()

    @property
    def problems(self) -> tuple[Problem, ...]:
        return self.policy_problems + self.user_problems

    def source(self, path: str) -> Source:
        if path in self.user:
            return "user"
        if path in self.team:
            return "team"
        return "builtin"

    def describe(self) -> dict[str, dict[str, Any]]:
        """Every setting: its value, where the value comes from, and whether it is locked."""
        values = tree.flatten(self.settings)
        return {
            path: {"value": values[path], "source": self.source(path), "locked": path in self.locked}
            for path in tree.leaf_paths()
        }


def resolve(
    policy: Policy | None,
    user_values: Mapping[str, Any] | None,
    *,
    user_file: str | None = None,
    policy_problems: Iterable[Problem] = (),
    file_problems: Iterable[Problem] = (),
) -> Effective:
    """Merge the layers; never raises for bad input (it becomes a Problem and that layer is left out).

    `policy_problems` and `file_problems` are what reading the policy and the user's file found.
    """
    held = tuple(policy_problems)
    found: list[Problem] = list(file_problems)
    team = dict(policy.defaults) if policy is not None else {}
    locked = policy.locked if policy is not None else frozenset()
    # A valid policy was built on the built-in settings when it was read, so this cannot fail.
    base = tree.build(team)
    if not user_values:
        return Effective(base, team, {}, locked, held, tuple(found))
    try:
        leaves = tree.expand(user_values)
    except (SettingsUnknownError, SettingsInvalidError) as exc:
        found.append(_user_problem(exc.message, user_file))
        return Effective(base, team, {}, locked, held, tuple(found))
    ignored = sorted(path for path in leaves if path in locked)
    if ignored:
        found.append(
            Problem(
                code=SettingsLockedError.code,
                message=(
                    f"Your settings file sets {', '.join(ignored)}, which the team policy locks; "
                    "the team's value is in force."
                ),
                file=user_file,
                path=ignored[0],
            )
        )
    usable = {path: value for path, value in leaves.items() if path not in locked}
    try:
        settings = tree.build({**team, **usable})
    except SettingsInvalidError as exc:
        found.append(_user_problem(exc.message, user_file, exc.details[0]["path"] if exc.details else None))
        return Effective(base, team, {}, locked, held, tuple(found))
    return Effective(settings, team, usable, locked, held, tuple(found))


def _user_problem(what: str, user_file: str | None, path: str | None = None) -> Problem:
    where = f"Your settings file {user_file}" if user_file else "Your settings"
    return Problem(
        code=SettingsInvalidError.code,
        message=f"{where} cannot be applied ({what}); team and built-in settings are in force.",
        file=user_file,
        path=path,
    )


def patched(current: Effective, changes: Mapping[str, Any]) -> Effective:
    """`current` with the user's `changes` applied, or the error that refuses ALL of them."""
    leaves = tree.expand(changes)
    in_force = tree.flatten(current.settings)
    # A locked setting sent with the value in force is no change (a form saved whole while something is
    # locked): accepted, and not kept as the user's own choice.
    refused = sorted(path for path in leaves if path in current.locked and leaves[path] != in_force[path])
    leaves = {path: value for path, value in leaves.items() if path not in current.locked}
    if refused:
        raise SettingsLockedError(
            f"locked by the team policy: {', '.join(refused)}; nothing was changed", paths=refused
        )
    # Problems of the user's file are gone with it: after a change the file holds exactly `user`.
    user = {**current.user, **leaves}
    settings = tree.build({**current.team, **user})
    return Effective(settings, current.team, user, current.locked, current.policy_problems)


def reset(current: Effective, paths: Iterable[str] | None) -> Effective:
    """`current` without the user's values at `paths` (all when None), so team or built-in ones apply."""
    if paths is None:
        user: dict[str, Any] = {}
    else:
        unknown = []
        cleared: set[str] = set()
        for path in paths:
            try:
                cleared.update(tree.leaves_under(path))
            except SettingsUnknownError:
                unknown.append(path)
        if unknown:
            raise SettingsUnknownError(f"unknown settings: {', '.join(unknown)}", paths=unknown)
        user = {path: value for path, value in current.user.items() if path not in cleared}
    settings = tree.build({**current.team, **user})
    return Effective(settings, current.team, user, current.locked, current.policy_problems)
