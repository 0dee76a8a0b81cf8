"""The settings service on real files: policy location x locks x user file, changes, reloads, admin mode."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from unittest import mock

import pytest

from companion import paths
from companion.app import CompanionConfig
from companion.errors import (
    AdminRequiredError,
    PolicyInvalidError,
    SettingsInvalidError,
    SettingsLockedError,
    SettingsUnknownError,
)
from companion.nmhost.locations import HOME_ENV
from companion.settings import tree
from companion.settings.policy import POLICY_ENV
from companion.settings.service import REJECTED_FILE
from tests.settings.helpers import policy, service, write_json

TRIGGER = "sync.candidates.campaign_sync_trigger"
LOCKING = policy({TRIGGER: "never"}, [TRIGGER])


def _user_file(tmp_path: Path, values: dict[str, object]) -> Path:
    return write_json(tmp_path / "config" / "settings.json", {"version": 1, "values": values})


@pytest.mark.parametrize("where", ["site", "env", "both"])
def test_a_hand_edited_user_file_cannot_override_a_locked_setting(tmp_path: Path, where: str) -> None:
    environ: dict[str, str] = {}
    if where in ("site", "both"):
        write_json(tmp_path / "site" / "policy.json", LOCKING)
    if where in ("env", "both"):
        # With "both" the variable names a policy WITHOUT the lock: it must not be the one in force.
        team = write_json(tmp_path / "team.json", LOCKING if where == "env" else policy())
        environ[POLICY_ENV] = str(team)
    _user_file(tmp_path, {TRIGGER: "on_add", "general.do_not_merge": True})
    effective = service(tmp_path, environ=environ).effective
    assert effective.settings.sync.candidates.campaign_sync_trigger == "never"
    assert effective.describe()[TRIGGER] == {"value": "never", "source": "team", "locked": True}
    # The rest of the user's file still applies.
    assert effective.settings.general.do_not_merge is True
    codes = [problem.code for problem in effective.problems]
    assert "settings.locked" in codes
    assert ("policy.invalid" in codes) == (where == "both")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"version": 1, "defaults": {', "not valid JSON"),
        (json.dumps(policy({TRIGGER: "never"}, [TRIGGER], version=7)), "version 7 is unknown"),
    ],
)
def test_a_malformed_or_newer_policy_never_seen_valid_makes_every_setting_read_only(
    tmp_path: Path, text: str, expected: str
) -> None:
    site = tmp_path / "site" / "policy.json"
    site.parent.mkdir()
    site.write_text(text, encoding="utf-8")
    _user_file(tmp_path, {TRIGGER: "on_add"})
    settings = service(tmp_path)
    effective = settings.effective
    assert effective.locked == frozenset(tree.leaf_paths())
    assert effective.settings.sync.candidates.campaign_sync_trigger == "on_reply"  # built-in
    assert settings.view()["policy"]["fallback"] == "read_only"
    problem = next(p for p in effective.problems if p.code == "policy.invalid")
    assert problem.file == str(site) and expected in problem.message
    with pytest.raises(SettingsLockedError):
        settings.patch({"general.company_warning_level": "off"})


def test_a_policy_that_breaks_keeps_its_last_valid_version_across_restarts(tmp_path: Path) -> None:
    site = write_json(tmp_path / "site" / "policy.json", LOCKING)
    assert service(tmp_path).effective.locked == {TRIGGER}
    site.write_text('{"version": 1, "locked": [', encoding="utf-8")
    restarted = service(tmp_path)
    effective = restarted.effective
    assert effective.locked == {TRIGGER}
    assert effective.settings.sync.candidates.campaign_sync_trigger == "never"
    assert restarted.view()["policy"]["fallback"] == "last_valid"
    [problem] = effective.problems
    assert problem.file == str(site) and "Its last valid version" in problem.message
    # The unlocked rest stays the user's to change.
    assert (
        restarted.patch({"general.company_warning_level": "off"}).settings.general.company_warning_level
        == "off"
    )
    write_json(site, policy({TRIGGER: "on_add"}))
    assert restarted.effective.locked == frozenset() and restarted.effective.problems == ()


def test_a_bad_user_file_is_reported_naming_the_key_and_team_settings_apply(tmp_path: Path) -> None:
    write_json(tmp_path / "site" / "policy.json", policy({TRIGGER: "never"}))
    path = _user_file(tmp_path, {"general.company_warning_level": "loud", "general.do_not_merge": True})
    view = service(tmp_path).view()
    assert view["values"]["general"]["do_not_merge"] is False
    assert view["settings"][TRIGGER]["source"] == "team"
    [problem] = view["problems"]
    assert problem["file"] == str(path)
    assert problem["path"] == "general.company_warning_level"
    assert (
        "general.company_warning_level: must be 'off', 'exact' or 'similar' (got 'loud')"
        in problem["message"]
    )


def test_a_refused_change_leaves_the_file_and_the_settings_untouched(tmp_path: Path) -> None:
    write_json(tmp_path / "site" / "policy.json", LOCKING)
    path = _user_file(tmp_path, {"general.do_not_merge": True})
    before = path.read_bytes()
    settings = service(tmp_path)
    attempts: list[tuple[dict[str, object], type[Exception]]] = [
        ({"general.company_warning_level": "off", TRIGGER: "on_add"}, SettingsLockedError),
        ({"general.company_warning_level": "off", "general.volume": 3}, SettingsUnknownError),
        (
            {"general.company_warning_level": "off", "cache.full_scan_interval_hours": -1},
            SettingsInvalidError,
        ),
    ]
    for changes, error in attempts:
        with pytest.raises(error):
            settings.patch(changes)
        assert path.read_bytes() == before
        assert settings.effective.settings.general.company_warning_level == "similar"


def test_a_change_stores_only_the_users_choices_privately(tmp_path: Path) -> None:
    write_json(tmp_path / "site" / "policy.json", policy({TRIGGER: "never"}))
    settings = service(tmp_path)
    settings.patch({"general.company_warning_level": "exact"})
    path = tmp_path / "config" / "settings.json"
    assert json.loads(path.read_text()) == {
        "version": 1,
        "values": {"general.company_warning_level": "exact"},
    }
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert settings.effective.describe()["general.company_warning_level"]["source"] == "user"


def test_files_changed_on_disk_take_effect_without_a_restart(tmp_path: Path) -> None:
    settings = service(tmp_path)
    assert settings.effective.locked == frozenset()
    write_json(tmp_path / "site" / "policy.json", LOCKING)
    assert settings.effective.locked == {TRIGGER}
    _user_file(tmp_path, {"general.do_not_merge": True, "cache.incremental_interval_minutes": 5})
    assert settings.effective.settings.cache.incremental_interval_minutes == 5


def test_saving_over_a_file_that_could_not_be_applied_keeps_it_aside(tmp_path: Path) -> None:
    path = _user_file(tmp_path, {"general.volume": 11})
    broken = path.read_bytes()
    settings = service(tmp_path)
    settings.patch({"general.do_not_merge": True})
    assert (tmp_path / "config" / REJECTED_FILE).read_bytes() == broken
    assert json.loads(path.read_text())["values"] == {"general.do_not_merge": True}
    assert settings.effective.problems == ()


def test_reset_removes_the_users_values(tmp_path: Path) -> None:
    settings = service(tmp_path)
    settings.patch({"general.do_not_merge": True, TRIGGER: "on_add"})
    settings.reset([TRIGGER])
    assert json.loads((tmp_path / "config" / "settings.json").read_text())["values"] == {
        "general.do_not_merge": True
    }
    settings.reset(None)
    assert settings.effective.user == {}


def test_a_non_admin_cannot_read_or_change_the_policy(tmp_path: Path) -> None:
    settings = service(tmp_path)
    with pytest.raises(AdminRequiredError):
        settings.policy_document()
    with pytest.raises(AdminRequiredError):
        settings.put_policy(LOCKING)
    assert not (tmp_path / "site" / "policy.json").exists()


def test_admin_mode_is_refused_to_a_user_who_may_not_write_the_site_config_dir(tmp_path: Path) -> None:
    with (
        mock.patch("companion.settings.policy.os.access", return_value=False),
        pytest.raises(AdminRequiredError, match="permission to write the team policy"),
    ):
        service(tmp_path, admin=True)


def test_an_admin_installs_a_policy_that_then_binds_the_user(tmp_path: Path) -> None:
    _user_file(tmp_path, {TRIGGER: "on_add"})
    admin = service(tmp_path, admin=True)
    assert admin.policy_document() == policy()
    admin.put_policy(policy({TRIGGER: "never"}, ["sync.candidates"]))
    installed = tmp_path / "site" / "policy.json"
    assert stat.S_IMODE(installed.stat().st_mode) == 0o644
    assert admin.policy_document()["defaults"] == {TRIGGER: "never"}
    assert service(tmp_path).effective.describe()[TRIGGER] == {
        "value": "never",
        "source": "team",
        "locked": True,
    }


def test_an_invalid_policy_from_the_admin_changes_nothing(tmp_path: Path) -> None:
    admin = service(tmp_path, admin=True)
    with pytest.raises(PolicyInvalidError, match=r"general\.volume"):
        admin.put_policy(policy({"general.volume": 11}))
    assert not (tmp_path / "site" / "policy.json").exists()


@pytest.mark.skipif(os.name != "posix" or os.getuid() != 0, reason="needs files owned by root, made as root")
def test_a_user_pointing_xdg_config_dirs_or_the_policy_variable_elsewhere_keeps_the_admins_locks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    admins = write_json(tmp_path / "admin" / "policy.json", LOCKING).parent
    mine = write_json(tmp_path / "mine" / "cats-companion" / "policy.json", policy()).parent.parent
    monkeypatch.setenv(paths.SITE_CONFIG_ENV, str(admins))
    monkeypatch.setenv("XDG_CONFIG_DIRS", str(mine))
    monkeypatch.setenv(POLICY_ENV, str(mine / "cats-companion" / "policy.json"))
    monkeypatch.setenv(HOME_ENV, str(tmp_path / "home"))
    settings = CompanionConfig(config_dir=tmp_path / "config", data_dir=tmp_path / "data").settings_service()
    assert settings.effective.locked == {TRIGGER}
    with pytest.raises(SettingsLockedError):
        settings.patch({TRIGGER: "on_add"})
    # The locked value itself, sent back by a form saved whole, is no change.
    assert settings.patch({TRIGGER: "never", "general.company_warning_level": "off"}).locked == {TRIGGER}
