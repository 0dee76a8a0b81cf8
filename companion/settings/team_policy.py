"""The team policy from the team database as the settings see it, and how it combines with the site file.

The team database holds one policy document (companion.team.policy reads, writes and follows it);
a member's companion keeps the last one it received. The settings take it through a
`TeamPolicySource` (anything with `snapshot()`), so this package needs no database driver.

Combining it with the site policy file (companion.settings.policy): the layers are built-in <
team database < site file < the user's own values. Locks from EITHER policy bind: the locked set is
the union. Where both set a value, the site file's wins: it is the machine administrator's, who
can already override anything on that machine, while the team policy is the same for every member.
A combination that does not validate (e.g. the database's mandatory fields against the site's
mapping) drops the database's defaults, reported as a problem, and keeps both sets of locks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, Protocol

from companion.errors import PolicyInvalidError, SettingsInvalidError
from companion.settings import tree
from companion.settings.base import Problem
from companion.settings.policy import Policy

#: Where the policy in force was read: from the database while connected, or the cache at start.
TeamPolicyOrigin = Literal["database", "cache"]


@dataclass(frozen=True)
class TeamPolicySnapshot:
    """The team database's policy this companion holds now: None when it has received none."""

    policy: Policy | None = None
    #: The database's revision of it (0: the team's policy was never edited).
    revision: int | None = None
    changed_by: str | None = None
    changed_at: datetime | None = None
    origin: TeamPolicyOrigin | None = None
    problems: tuple[Problem, ...] = field(default=())


class TeamPolicySource(Protocol):
    """Where the settings read the team database's policy; called on every read, so it must be cheap.

    A new snapshot object means a change: the settings rebuild when `snapshot()` returns an object
    other than the one it returned last time.
    """

    def snapshot(self) -> TeamPolicySnapshot: ...


@dataclass(frozen=True)
class Combined:
    policy: Policy | None
    problems: tuple[Problem, ...] = ()


def combine(team: Policy | None, site: Policy | None) -> Combined:
    """The team layer in force: the site file's values over the database's, the union of their locks."""
    if team is None or site is None:
        return Combined(team if site is None else site)
    locked = team.locked | site.locked
    defaults = {**team.defaults, **site.defaults}
    try:
        tree.build(defaults)
    except SettingsInvalidError as exc:
        problem = Problem(
            code=PolicyInvalidError.code,
            message=(
                f"The team database's policy does not fit with the site policy file ({exc.message}); "
                "its defaults are not applied, the site file's are, and the locks of both are in force."
            ),
        )
        return Combined(Policy(defaults=dict(site.defaults), locked=locked), (problem,))
    return Combined(Policy(defaults=defaults, locked=locked))
