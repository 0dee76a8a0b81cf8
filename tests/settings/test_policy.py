"""The team policy: where it is found, what makes it invalid (then nothing applies), who may install it."""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any
from unittest import mock

import pytest

from companion.errors import PolicyInvalidError
from companion.settings import tree
from companion.settings.policy import (
    POLICY_ENV,
    Policy,
    load_policy,
    parse_policy,
    site_dir_writable,
    write_site_policy,
)
from tests.settings.helpers import policy, write_json

TRIGGER = "sync.candidates.campaign_sync_trigger"


def test_without_any_policy_nothing_is_in_force(tmp_path: Path) -> None:
    load = load_policy(tmp_path / "site", {})
    assert (load.policy, load.path, load.origin, load.problems) == (None, None, None, ())


def test_the_system_wide_policy_is_found_in_the_site_config_dir(tmp_path: Path) -> None:
    path = write_json(tmp_path / "site" / "policy.json", policy({TRIGGER: "never"}, [TRIGGER]))
    load = load_policy(tmp_path / "site", {})
    assert load.policy == Policy(defaults={TRIGGER: "never"}, locked=frozenset({TRIGGER}))
    assert (load.path, load.origin, load.problems) == (path, "site", ())


def test_without_a_system_wide_policy_the_environment_variable_names_one(tmp_path: Path) -> None:
    path = write_json(tmp_path / "team.json", policy({TRIGGER: "on_add"}))
    load = load_policy(tmp_path / "site", {POLICY_ENV: str(path)})
    assert load.policy is not None and load.policy.defaults == {TRIGGER: "on_add"}
    assert (load.path, load.origin, load.problems) == (path, "env", ())


def test_a_system_wide_policy_wins_and_the_variable_is_reported_as_ignored(tmp_path: Path) -> None:
    site = write_json(tmp_path / "site" / "policy.json", policy({TRIGGER: "never"}, [TRIGGER]))
    escape = write_json(tmp_path / "mine.json", policy())
    load = load_policy(tmp_path / "site", {POLICY_ENV: str(escape)})
    assert load.policy is not None and load.policy.locked == {TRIGGER}
    assert load.path == site
    [problem] = load.problems
    assert problem.code == "policy.invalid"
    assert "variable is ignored" in problem.message and str(escape) in problem.message


def test_the_variable_naming_the_installed_policy_itself_is_no_problem(tmp_path: Path) -> None:
    site = write_json(tmp_path / "site" / "policy.json", policy())
    assert load_policy(tmp_path / "site", {POLICY_ENV: str(site)}).problems == ()


def test_a_malformed_system_wide_policy_fails_closed_and_still_ignores_the_variable(
    tmp_path: Path,
) -> None:
    site = tmp_path / "site" / "policy.json"
    site.parent.mkdir()
    site.write_text('{"version": 1, "defaults": {', encoding="utf-8")
    other = write_json(tmp_path / "mine.json", policy({TRIGGER: "on_add"}))
    load = load_policy(tmp_path / "site", {POLICY_ENV: str(other)})
    # Never read valid here: every setting is locked at its built-in value.
    assert load.policy == Policy(defaults={}, locked=frozenset(tree.leaf_paths()))
    assert (load.origin, load.fallback) == ("site", "read_only")
    assert [p.file for p in load.problems] == [str(other), str(site)]
    assert "not valid JSON" in load.problems[1].message
    assert "every setting is read-only" in load.problems[1].message


def test_a_broken_policy_file_keeps_the_last_valid_version_read_from_that_file(tmp_path: Path) -> None:
    site = write_json(tmp_path / "site" / "policy.json", policy({TRIGGER: "never"}, [TRIGGER], version=2))
    kept = Policy(defaults={TRIGGER: "never"}, locked=frozenset({TRIGGER}))
    load = load_policy(tmp_path / "site", {}, last_valid={site: kept})
    assert (load.policy, load.fallback) == (kept, "last_valid")
    [problem] = load.problems
    assert problem.file == str(site) and "version 2 is unknown" in problem.message
    assert "Its last valid version" in problem.message
    # A copy of another file is no stand-in for this one.
    other = load_policy(tmp_path / "site", {}, last_valid={tmp_path / "elsewhere.json": kept})
    assert other.fallback == "read_only"


def test_a_variable_naming_a_missing_file_is_reported_and_fails_closed(tmp_path: Path) -> None:
    load = load_policy(tmp_path / "site", {POLICY_ENV: str(tmp_path / "nowhere.json")})
    assert load.policy is not None and load.policy.locked == frozenset(tree.leaf_paths())
    assert "does not exist" in load.problems[0].message


def test_every_site_config_dir_is_searched_and_the_first_policy_found_is_in_force(tmp_path: Path) -> None:
    fixed, extra = tmp_path / "etc-xdg", tmp_path / "xdg-ubuntu"
    found = write_json(extra / "policy.json", policy({TRIGGER: "never"}, [TRIGGER]))
    load = load_policy([fixed, extra], {})
    assert (load.path, load.origin) == (found, "site")
    assert load.policy is not None and load.policy.locked == {TRIGGER}
    first = write_json(fixed / "policy.json", policy({TRIGGER: "on_add"}))
    both = load_policy([fixed, extra], {})
    assert both.path == first and both.policy is not None and both.policy.locked == frozenset()
    [problem] = both.problems
    assert problem.file == str(found) and "found first, is in force" in problem.message


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        ([], "must be a JSON object"),
        ({"version": 2, "defaults": {}, "locked": []}, "version 2 is unknown"),
        ({"defaults": {}}, "whole-number 'version'"),
        ({"version": 1, "defaults": {}, "owner": "me"}, "unknown top-level keys 'owner'"),
        ({"version": 1, "defaults": []}, "'defaults' must be an object"),
        ({"version": 1, "locked": "general"}, "'locked' must be a list"),
        ({"version": 1, "defaults": {"general.colour": "red"}}, "unknown setting: general.colour"),
        ({"version": 1, "defaults": {TRIGGER: "sometimes"}}, f"{TRIGGER}: must be"),
        (
            {"version": 1, "locked": ["sync.candidates.speed"]},
            "'sync.candidates.speed', which is not a setting",
        ),
    ],
)
def test_an_invalid_policy_is_refused_saying_what_is_wrong(document: Any, expected: str) -> None:
    with pytest.raises(PolicyInvalidError) as caught:
        parse_policy(document)
    assert expected in caught.value.message


def test_a_locked_section_locks_every_setting_under_it() -> None:
    parsed = parse_policy(policy(locked=["general.notes_upon.call", "cache"]))
    assert parsed.locked == {
        "general.notes_upon.call.create_note",
        "general.notes_upon.call.activity_type",
        "cache.incremental_interval_minutes",
        "cache.full_scan_interval_hours",
    }


def test_an_admin_is_whoever_may_write_the_site_config_dir(tmp_path: Path) -> None:
    assert site_dir_writable(tmp_path / "not" / "yet" / "created")
    blocker = tmp_path / "a-file"
    blocker.write_text("", encoding="utf-8")
    assert not site_dir_writable(blocker / "site")
    # The OS edge: os.access is what says "this user may not write there".
    with mock.patch("companion.settings.policy.os.access", return_value=False):
        assert not site_dir_writable(tmp_path)


def test_an_installed_policy_is_readable_by_every_user_and_reads_back_the_same(tmp_path: Path) -> None:
    installed = parse_policy(policy({TRIGGER: "never"}, ["mapping.contacts.title"]))
    path = write_site_policy(tmp_path / "site", installed)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    assert load_policy(tmp_path / "site", {}).policy == installed
