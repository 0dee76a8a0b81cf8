"""The merge: built-in, then team defaults, then the user's choices where not locked; changes all or none."""

from __future__ import annotations

from typing import Any

import pytest

from companion.errors import SettingsInvalidError, SettingsLockedError, SettingsUnknownError
from companion.settings.base import Source
from companion.settings.effective import Effective, patched, reset, resolve
from companion.settings.policy import Policy

TRIGGER = "sync.candidates.campaign_sync_trigger"
BUILTIN, TEAM, USER = "on_reply", "when_interested", "on_add"


def _policy(team_sets: bool, locked: bool) -> Policy:
    return Policy(
        defaults={TRIGGER: TEAM} if team_sets else {}, locked=frozenset({TRIGGER}) if locked else frozenset()
    )


@pytest.mark.parametrize(
    ("team_sets", "user_sets", "locked", "value", "source"),
    [
        (False, False, False, BUILTIN, "builtin"),
        (False, False, True, BUILTIN, "builtin"),
        (True, False, False, TEAM, "team"),
        (True, False, True, TEAM, "team"),
        (False, True, False, USER, "user"),
        (False, True, True, BUILTIN, "builtin"),
        (True, True, False, USER, "user"),
        (True, True, True, TEAM, "team"),
    ],
)
def test_each_layer_applies_unless_a_lock_stops_the_user(
    team_sets: bool, user_sets: bool, locked: bool, value: str, source: Source
) -> None:
    effective = resolve(
        _policy(team_sets, locked), {TRIGGER: USER} if user_sets else None, user_file="s.json"
    )
    assert effective.settings.sync.candidates.campaign_sync_trigger == value
    described = effective.describe()[TRIGGER]
    assert described == {"value": value, "source": source, "locked": locked}
    ignored = user_sets and locked
    assert [p.code for p in effective.problems] == (["settings.locked"] if ignored else [])


def test_without_a_policy_every_setting_is_built_in_and_unlocked() -> None:
    described = resolve(None, None).describe()
    assert {entry["source"] for entry in described.values()} == {"builtin"}
    assert not any(entry["locked"] for entry in described.values())


def test_a_user_value_that_breaks_the_team_settings_drops_the_user_layer_whole() -> None:
    team = Policy(
        defaults={
            "sync.candidates.mandatory_fields": ["first_name", "custom:7"],
            "mapping.candidates.headline": "custom:7",
        }
    )
    effective = resolve(
        team, {"mapping.candidates.headline": None, "general.do_not_merge": True}, user_file="u"
    )
    assert effective.user == {}
    assert effective.settings.general.do_not_merge is False
    assert effective.settings.mapping.candidates.headline == "custom:7"
    [problem] = effective.problems
    assert problem.path == "sync.candidates.mandatory_fields"
    assert "team and built-in settings are in force" in problem.message


def test_a_user_file_with_an_unknown_key_is_not_applied_and_names_the_key() -> None:
    effective = resolve(None, {"general.do_not_merge": True, "general.colour": "red"}, user_file="u.json")
    assert effective.settings.general.do_not_merge is False
    assert "general.colour" in effective.problems[0].message


def _current(locked: frozenset[str] = frozenset()) -> Effective:
    return resolve(Policy(defaults={TRIGGER: TEAM}, locked=locked), {"general.do_not_merge": True})


def test_a_change_to_a_locked_setting_refuses_the_whole_request() -> None:
    current = _current(frozenset({TRIGGER}))
    with pytest.raises(SettingsLockedError) as caught:
        patched(current, {"general.company_warning_level": "off", TRIGGER: USER})
    assert caught.value.paths == [TRIGGER]
    assert caught.value.http_status == 403


def test_a_locked_setting_sent_with_its_value_in_force_is_no_change_and_is_accepted() -> None:
    current = _current(frozenset({TRIGGER}))
    # A client that saves the whole form sends the locked setting as it shows it.
    updated = patched(current, {"general.company_warning_level": "off", TRIGGER: TEAM})
    assert updated.settings.general.company_warning_level == "off"
    assert TRIGGER not in updated.user and updated.source(TRIGGER) == "team"
    section = patched(current, {"sync.candidates": {"campaign_sync_trigger": TEAM}})
    assert TRIGGER not in section.user


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"general.company_warning_level": "off", "general.volume": 11}, SettingsUnknownError),
        ({"general.company_warning_level": "off", TRIGGER: "someday"}, SettingsInvalidError),
    ],
)
def test_an_unknown_or_invalid_change_refuses_the_whole_request(changes: dict[str, Any], error: type) -> None:
    with pytest.raises(error):
        patched(_current(), changes)


def test_a_change_adds_to_the_users_own_choices_only() -> None:
    updated = patched(_current(), {"general.company_warning_level": "off"})
    assert updated.user == {"general.do_not_merge": True, "general.company_warning_level": "off"}
    assert updated.source(TRIGGER) == "team"


def test_a_section_change_sets_each_of_its_settings() -> None:
    updated = patched(_current(), {"general.notes_upon.call": {"activity_type": "call_lvm"}})
    assert updated.user["general.notes_upon.call.activity_type"] == "call_lvm"
    assert updated.settings.general.notes_upon.call.create_note is True


def test_reset_returns_settings_to_the_team_or_built_in_value() -> None:
    current = patched(_current(), {TRIGGER: USER, "general.company_warning_level": "off"})
    after = reset(current, [TRIGGER])
    assert after.settings.sync.candidates.campaign_sync_trigger == TEAM
    assert after.user == {"general.do_not_merge": True, "general.company_warning_level": "off"}
    assert reset(current, ["general"]).user == {TRIGGER: USER}
    assert reset(current, None).user == {}
    with pytest.raises(SettingsUnknownError):
        reset(current, ["general.volume"])
