"""The team database's policy with the site file: site values win, locks from either bind, at once."""

from __future__ import annotations

from pathlib import Path

import pytest

from companion.errors import SettingsLockedError
from companion.settings.effective import patched, resolve
from companion.settings.policy import Policy
from companion.settings.team_policy import TeamPolicySnapshot, combine
from tests.settings.helpers import policy, service, write_json

TRIGGER = "sync.candidates.campaign_sync_trigger"
WARNING = "general.company_warning_level"
MERGE = "general.do_not_merge"


class HeldPolicy:
    """A TeamPolicySource holding what the test gives it, as a follower holds what it received."""

    def __init__(self, policy: Policy | None = None, revision: int = 1) -> None:
        self.current = TeamPolicySnapshot(policy, revision, "admin", None, "database")

    def snapshot(self) -> TeamPolicySnapshot:
        return self.current

    def receive(self, policy: Policy, revision: int) -> None:
        self.current = TeamPolicySnapshot(policy, revision, "admin", None, "database")


def test_where_both_set_a_value_the_site_files_wins_and_the_databases_fills_the_rest() -> None:
    database = Policy(defaults={TRIGGER: "never", WARNING: "off"})
    site = Policy(defaults={TRIGGER: "on_add"})

    combined = combine(database, site)

    assert combined.policy is not None and combined.problems == ()
    assert combined.policy.defaults == {TRIGGER: "on_add", WARNING: "off"}


def test_locks_are_the_union_of_both_policies() -> None:
    database = Policy(defaults={TRIGGER: "never"}, locked=frozenset({TRIGGER}))
    site = Policy(locked=frozenset({MERGE}))

    effective = resolve(combine(database, site).policy, {TRIGGER: "on_add", MERGE: True}, user_file="u")

    assert effective.locked == {TRIGGER, MERGE}
    assert effective.settings.sync.candidates.campaign_sync_trigger == "never"
    assert effective.settings.general.do_not_merge is False
    assert effective.user == {}
    with pytest.raises(SettingsLockedError) as refused:
        patched(effective, {TRIGGER: "on_add"})
    assert refused.value.paths == [TRIGGER]


@pytest.mark.parametrize("present", ["database", "site"])
def test_one_policy_alone_is_the_team_layer(present: str) -> None:
    only = Policy(defaults={TRIGGER: "never"}, locked=frozenset({TRIGGER}))
    combined = combine(only if present == "database" else None, only if present == "site" else None)
    assert combined.policy == only and combined.problems == ()
    assert combine(None, None).policy is None


def test_a_combination_that_does_not_validate_drops_the_databases_values_and_keeps_every_lock() -> None:
    database = Policy(
        defaults={
            "sync.candidates.mandatory_fields": ["first_name", "custom:7"],
            "mapping.candidates.headline": "custom:7",
        },
        locked=frozenset({"sync.candidates.mandatory_fields"}),
    )
    site = Policy(defaults={"mapping.candidates.headline": None}, locked=frozenset({MERGE}))

    combined = combine(database, site)

    assert combined.policy is not None
    assert combined.policy.defaults == {"mapping.candidates.headline": None}
    assert combined.policy.locked == {"sync.candidates.mandatory_fields", MERGE}
    [problem] = combined.problems
    assert problem.code == "policy.invalid" and "locks of both are in force" in problem.message


def test_the_service_applies_a_new_database_policy_on_the_next_read(tmp_path: Path) -> None:
    held = HeldPolicy(Policy(defaults={TRIGGER: "never"}))
    settings = service(tmp_path, team_policy=held)
    settings.patch({TRIGGER: "on_add"})
    assert settings.effective.settings.sync.candidates.campaign_sync_trigger == "on_add"

    held.receive(Policy(defaults={TRIGGER: "never"}, locked=frozenset({TRIGGER})), 2)

    described = settings.effective.describe()[TRIGGER]
    assert described == {"value": "never", "source": "team", "locked": True}
    view = settings.view()
    assert view["team_policy"]["revision"] == 2 and view["team_policy"]["locked"] == [TRIGGER]
    assert view["policy"]["locked"] == [TRIGGER]
    with pytest.raises(SettingsLockedError):
        settings.patch({TRIGGER: "on_add"})


def test_the_service_binds_the_site_files_locks_over_a_database_policy_that_leaves_it_open(
    tmp_path: Path,
) -> None:
    write_json(tmp_path / "site" / "policy.json", policy({TRIGGER: "on_add"}, [TRIGGER]))
    held = HeldPolicy(Policy(defaults={TRIGGER: "never", WARNING: "off"}, locked=frozenset({WARNING})))
    settings = service(tmp_path, team_policy=held)

    effective = settings.effective

    assert effective.settings.sync.candidates.campaign_sync_trigger == "on_add"
    assert effective.settings.general.company_warning_level == "off"
    assert effective.locked == {TRIGGER, WARNING}
    for path in (TRIGGER, WARNING):
        with pytest.raises(SettingsLockedError):
            settings.patch({path: "never" if path == TRIGGER else "exact"})


def test_outside_a_team_the_view_has_no_team_policy(tmp_path: Path) -> None:
    assert service(tmp_path).view()["team_policy"] is None


def test_a_setting_the_database_locks_and_the_site_file_sets_is_locked_at_the_site_files_value() -> None:
    database = Policy(defaults={TRIGGER: "never"}, locked=frozenset({TRIGGER}))
    site = Policy(defaults={TRIGGER: "on_add"})

    effective = resolve(combine(database, site).policy, {TRIGGER: "when_interested"}, user_file="u")

    assert effective.describe()[TRIGGER] == {"value": "on_add", "source": "team", "locked": True}
