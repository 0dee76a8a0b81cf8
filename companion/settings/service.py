"""The settings as the daemon holds them: the files on disk, the effective merge, changes and admin edits.

The service re-reads the user's file and the policy whenever one of them changes on disk (checked
cheaply with stat on every access), so a policy an admin deploys or a file a user edits by hand
takes effect without a restart. In a team, the team database's policy comes from a
TeamPolicySource (companion.settings.team_policy) and is combined with the site file there; a new
snapshot from it takes effect on the next read as well. Every change is validated completely
before the user's file is replaced (atomically), so a refused change leaves the file and the
settings in force untouched.

Each valid policy read from a file is kept in `policy.last-valid.json` beside the user's settings,
so that, should that file break, its last valid version stays in force (companion.settings.policy:
the policy fails closed) across restarts too.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from companion.errors import AdminRequiredError, PolicyInvalidError
from companion.settings.base import SettingsWarning
from companion.settings.catalogue_store import CatalogueStore
from companion.settings.checks import settings_warnings
from companion.settings.effective import Effective, patched, reset, resolve
from companion.settings.policy import (
    POLICY_ENV,
    Policy,
    PolicyLoad,
    load_policy,
    parse_policy,
    site_dir_writable,
    site_policy_path,
    write_site_policy,
)
from companion.settings.storage import (
    CURRENT_VERSION,
    SETTINGS_FILE,
    atomic_write_json,
    read_user_file,
    write_user_values,
)
from companion.settings.team_policy import TeamPolicySnapshot, TeamPolicySource, combine

log = logging.getLogger(__name__)

#: Where a user's settings file that could not be applied is kept when the user saves new settings.
REJECTED_FILE = "settings.rejected.json"
#: The last valid policy read from each policy file, beside the user's settings.
LAST_VALID_FILE = "policy.last-valid.json"

_Fingerprint = tuple[object, ...]


class SettingsService:
    def __init__(
        self,
        *,
        config_dir: Path,
        site_dir: Path | Sequence[Path],
        catalogue: CatalogueStore,
        admin: bool = False,
        environ: Mapping[str, str] | None = None,
        team_policy: TeamPolicySource | None = None,
    ) -> None:
        """`environ` None = the process environment, read afresh on every reload.

        `site_dir`: where the team policy is looked for, in order (companion.paths.site_config_dirs());
        admin mode writes it in the first. `team_policy`: the team database's policy, for a companion
        in a team (None: not in one).
        """
        self.user_path = config_dir / SETTINGS_FILE
        self.site_dirs = [site_dir] if isinstance(site_dir, Path) else list(site_dir)
        self.site_dir = self.site_dirs[0]
        # As strings, once: the files are stat'ed on every read of the settings (every company lookup
        # reads them), and building the paths each time cost more than the stat calls.
        self._watched = (str(self.user_path), *(str(site_policy_path(d)) for d in self.site_dirs))
        self._last_valid_path = config_dir / LAST_VALID_FILE
        self._last_valid = _read_last_valid(self._last_valid_path)
        self.catalogue = catalogue
        self.admin = admin
        self._environ = environ
        self._team_source = team_policy
        self._team = TeamPolicySnapshot()
        if admin:
            self.require_admin()
        self._fingerprint: _Fingerprint | None = None
        self._policy = PolicyLoad(None, None, None)
        self._effective = resolve(None, None)
        self._reload_if_changed()

    # --- reading -------------------------------------------------------------------------------

    @property
    def effective(self) -> Effective:
        self._reload_if_changed()
        return self._effective

    @property
    def policy_load(self) -> PolicyLoad:
        self._reload_if_changed()
        return self._policy

    @property
    def team_policy(self) -> TeamPolicySnapshot:
        """The team database's policy held now (an empty snapshot outside a team)."""
        self._reload_if_changed()
        return self._team

    def warnings(self) -> list[SettingsWarning]:
        return settings_warnings(self.effective.settings, self.catalogue.current)

    def view(self) -> dict[str, Any]:
        """GET /api/settings: values, each setting's source and lock, problems, warnings, catalogue."""
        effective = self.effective
        policy = self._policy
        return {
            "version": CURRENT_VERSION,
            "admin": self.admin,
            "values": effective.settings.model_dump(mode="json"),
            "settings": effective.describe(),
            "problems": [problem.model_dump(mode="json") for problem in effective.problems],
            "warnings": [warning.model_dump(mode="json") for warning in self.warnings()],
            "policy": {
                "path": str(policy.path) if policy.path else None,
                "origin": policy.origin,
                "in_force": policy.policy is not None,
                "fallback": policy.fallback,
                "locked": sorted(effective.locked),
            },
            "team_policy": self._team_view(),
            "catalogue": self.catalogue.current.summary(now=self.catalogue.now(), ttl=self.catalogue.ttl),
            "file": str(self.user_path),
        }

    def _team_view(self) -> dict[str, Any] | None:
        if self._team_source is None:
            return None
        team = self._team
        return {
            "in_force": team.policy is not None,
            "revision": team.revision,
            "changed_by": team.changed_by,
            "changed_at": team.changed_at.isoformat() if team.changed_at else None,
            "origin": team.origin,
            "locked": sorted(team.policy.locked) if team.policy else [],
        }

    # --- the user's changes ----------------------------------------------------------------------

    def patch(self, changes: Mapping[str, Any]) -> Effective:
        """Apply `changes` ({path: value}) or refuse all of them (locked, unknown, invalid)."""
        return self._commit(patched(self.effective, changes))

    def reset(self, paths: Iterable[str] | None) -> Effective:
        """Drop the user's own values at `paths` (all when None), so the team's or built-in ones apply."""
        return self._commit(reset(self.effective, paths))

    def _commit(self, updated: Effective) -> Effective:
        if self._effective.user_problems and self.user_path.exists():
            # The file was not in force; keep it for the user rather than overwrite their hand edits.
            rejected = self.user_path.with_name(REJECTED_FILE)
            os.replace(self.user_path, rejected)
            log.info("kept the settings file that could not be applied as %s", rejected)
        write_user_values(self.user_path, updated.user)
        self._effective = updated
        self._fingerprint = self._current_fingerprint()
        return updated

    # --- admin -----------------------------------------------------------------------------------

    def require_admin(self) -> None:
        """AdminRequiredError unless admin mode was asked for and this user may write the site config dir."""
        if not self.admin:
            raise AdminRequiredError(
                "this needs admin mode: start the companion with --admin as a user who may write "
                f"{self.site_dir}"
            )
        if not site_dir_writable(self.site_dir):
            raise AdminRequiredError(
                f"admin mode needs permission to write the team policy in {self.site_dir}, which this "
                "user does not have; run as an administrator (or ask one to deploy the policy)"
            )

    def policy_document(self) -> dict[str, Any]:
        """The policy in force (an empty one when none is), in the file's form."""
        self.require_admin()
        load = self.policy_load
        if load.policy is not None:
            return load.policy.document()
        return {"version": 1, "defaults": {}, "locked": []}

    def put_policy(self, document: object) -> Effective:
        """Validate an admin's policy and install it system-wide; PolicyInvalidError changes nothing."""
        self.require_admin()
        policy = parse_policy(document)
        # A user's file that no longer fits under the new team layer is not an error here: like any
        # user file that cannot be applied, it is reported to that user and team settings apply.
        write_site_policy(self.site_dir, policy)
        self._fingerprint = None
        return self.effective

    # --- files -----------------------------------------------------------------------------------

    def _env(self) -> Mapping[str, str]:
        return self._environ if self._environ is not None else os.environ

    def _current_fingerprint(self) -> _Fingerprint:
        named = self._env().get(POLICY_ENV, "").strip()
        # The snapshot object itself: a source hands out a new one for each policy it receives.
        team = self._team_source.snapshot() if self._team_source is not None else None
        return (named, *map(_stat, self._watched), _stat(named) if named else None, team)

    def _reload_if_changed(self) -> None:
        fingerprint = self._current_fingerprint()
        if fingerprint == self._fingerprint:
            return
        self._policy = load_policy(self.site_dirs, self._env(), last_valid=self._last_valid)
        self._keep_if_valid(self._policy)
        team = fingerprint[-1]
        self._team = team if isinstance(team, TeamPolicySnapshot) else TeamPolicySnapshot()
        combined = combine(self._team.policy, self._policy.policy)
        user = read_user_file(self.user_path)
        effective = resolve(
            combined.policy,
            user.values,
            user_file=str(self.user_path),
            policy_problems=(*self._team.problems, *self._policy.problems, *combined.problems),
            file_problems=(user.problem,) if user.problem else (),
        )
        for problem in effective.problems:
            log.warning("settings problem: %s", problem.message)
        self._effective = effective
        self._fingerprint = fingerprint

    def _keep_if_valid(self, load: PolicyLoad) -> None:
        """Remember a policy read whole from its file, for when that file breaks (fail closed)."""
        if load.policy is None or load.path is None or load.fallback is not None:
            return
        if self._last_valid.get(load.path) == load.policy:
            return
        self._last_valid = {**self._last_valid, load.path: load.policy}
        document = {str(path): policy.document() for path, policy in self._last_valid.items()}
        try:
            atomic_write_json(self._last_valid_path, document)
        except OSError as exc:
            # Still kept in memory for as long as the daemon runs.
            log.warning("could not keep a copy of the team policy in %s: %s", self._last_valid_path, exc)


def _read_last_valid(path: Path) -> dict[Path, Policy]:
    """The kept copies; a damaged copy file is ignored (a broken policy then locks everything)."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    kept: dict[Path, Policy] = {}
    if isinstance(document, dict):
        for name, policy in document.items():
            try:
                kept[Path(name)] = parse_policy(policy)
            except PolicyInvalidError:
                continue
    return kept


def _stat(path: str) -> tuple[int, int, int] | None:
    try:
        info = os.stat(path)
    except OSError:
        return None
    return (info.st_mtime_ns, info.st_size, info.st_ino)
